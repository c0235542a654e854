//! The engine's side of the bus: what is to be shown goes through a channel
//! to the bus task, so the engine never waits for D-Bus (a slow client or a
//! full socket cannot delay the reaction to a link going away). A command's
//! answer goes through the same channel, after the publications it caused:
//! a caller reads the properties of its change as soon as its call returns.

use mptcp_policy_dbus::signals::Signal;
use tokio::sync::mpsc;

use crate::connections::ConnChange;
use crate::views::{ConnectionView, InterfaceView, ManagerView};

/// One thing for the bus task to publish, in order.
/// Boxed where large: under a storm of connections the queue holds
/// thousands of entries, each as large as the largest variant.
pub enum Publication {
    Manager(Box<ManagerView>),
    Interfaces(Vec<InterfaceView>),
    /// A connection event and, where the object is refreshed from it, the
    /// connection's state after it.
    Connection(Box<ConnChange>, Option<Box<ConnectionView>>),
    /// One of the manager's own signals (`HealthChanged`, `BudgetWarning`,
    /// `BudgetExhausted`, `PolicyChanged`), as the contract types it.
    Signal(Box<Signal>),
    /// Runs when everything queued before it has been published.
    Then(Box<dyn FnOnce() + Send>),
}

/// Cloneable sender side; never blocks. Unbounded because every entry is
/// small and the engine must not wait: under a connection storm the queue
/// holds what the bus has not sent yet, nothing more.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Publication>,
}

impl Publisher {
    pub(super) fn new() -> (Publisher, mpsc::UnboundedReceiver<Publication>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Publisher { tx }, rx)
    }

    pub fn send(&self, p: Publication) {
        // The bus task is gone (only at exit): answers still reach callers.
        if let Err(mpsc::error::SendError(Publication::Then(f))) = self.tx.send(p) {
            f();
        }
    }

    /// Runs `f` once the publications queued so far are on the bus.
    pub fn then(&self, f: impl FnOnce() + Send + 'static) {
        self.send(Publication::Then(Box::new(f)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_after_what_was_queued_before_them() {
        let (publisher, mut queue) = Publisher::new();
        publisher.send(Publication::Signal(Box::new(Signal::PolicyChanged)));
        publisher.then(|| {});
        assert!(matches!(
            queue.try_recv(),
            Ok(Publication::Signal(s)) if matches!(*s, Signal::PolicyChanged)
        ));
        assert!(matches!(queue.try_recv(), Ok(Publication::Then(_))));
    }

    #[test]
    fn an_answer_still_reaches_its_caller_when_the_bus_task_is_gone() {
        let (publisher, queue) = Publisher::new();
        drop(queue);
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        publisher.then(move || {
            let _ = tx.send(7);
        });
        assert_eq!(rx.try_recv(), Ok(7));
    }
}
