//! Requests to the engine from other tasks (the D-Bus adapter): typed
//! commands, each carrying a oneshot for its answer. The engine stays the
//! one owner of state; callers only hold an [`EngineHandle`].

use tokio::sync::{mpsc, oneshot};

/// Why the engine refused or failed a request. Mapped to D-Bus errors in
/// one place (`bus::errors`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    InvalidPolicy(String),
    #[error("{0}")]
    UnknownInterface(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Kernel(String),
    #[error("{0}")]
    Failed(String),
}

pub type Reply<T> = oneshot::Sender<Result<T, CommandError>>;

/// What the engine can be asked.
#[derive(Debug)]
pub enum Command {
    GetPolicy {
        reply: Reply<String>,
    },
    ValidatePolicy {
        text: String,
        reply: Reply<Vec<String>>,
    },
    SetPolicy {
        text: String,
        /// The caller's uid (recorded with the change), when the bus knows it.
        by: Option<u32>,
        reply: Reply<()>,
    },
    SetRole {
        target: String,
        role: String,
        by: Option<u32>,
        reply: Reply<()>,
    },
    SetMetered {
        interface: String,
        metered: bool,
        by: Option<u32>,
        reply: Reply<()>,
    },
    SetBudget {
        interface: String,
        bytes: u64,
        period: String,
        by: Option<u32>,
        reply: Reply<()>,
    },
    /// One setting of an interface (or a type's role) back to the files.
    RevertInterface {
        target: String,
        setting: String,
        by: Option<u32>,
        reply: Reply<()>,
    },
    /// Drops the whole D-Bus layer.
    ResetPolicy {
        by: Option<u32>,
        reply: Reply<()>,
    },
    ResetUsage {
        interface: String,
        reply: Reply<()>,
    },
    Reload {
        reply: Reply<()>,
    },
    /// Puts a cgroup's processes on MPTCP through the BPF hook.
    EnableCgroup {
        path: String,
        reply: Reply<()>,
    },
    DisableCgroup {
        path: String,
        reply: Reply<()>,
    },
    /// A NetworkManager dispatcher event from the hook; answers what was done.
    NotifyNetworkManager {
        interface: String,
        action: String,
        hints: std::collections::HashMap<String, String>,
        reply: Reply<String>,
    },
}

/// Cloneable sender side of the engine's command queue.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Command>,
}

impl EngineHandle {
    pub fn new(capacity: usize) -> (EngineHandle, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(capacity);
        (EngineHandle { tx }, rx)
    }

    /// Sends a command built around a fresh reply channel and awaits the answer.
    pub async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| CommandError::Failed("the daemon is shutting down".into()))?;
        answer
            .await
            .map_err(|_| CommandError::Failed("the daemon dropped the request".into()))?
    }
}
