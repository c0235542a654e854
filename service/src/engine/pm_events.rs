//! The engine's source of MPTCP events: the `mptcp_pm_events` subscription,
//! kept alive. Lost events (`ENOBUFS`) and a socket that failed — after
//! which the source subscribes again, backing off — both come out as
//! [`PmInput::Lost`]: the engine then re-reads the kernel (the same resync).
//! Losses are logged here, once per storm, not once per overflow.

use std::time::{Duration, Instant};

use mptcp_policy_netlink::pm::{self, PmError, PmEvent, PmEventStream};
use mptcp_policy_netlink::PmHandle;

/// First wait before subscribing again after the socket failed; doubles
/// up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Losses within this long of the last logged one are counted, not logged.
const LOSS_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the engine gets.
#[derive(Debug)]
pub enum PmInput {
    Event(PmEvent),
    /// Events were (or may have been) lost: resync from dumps.
    Lost,
    /// A message that could not be decoded (logged by the engine).
    Error(PmError),
}

pub struct PmEventSource {
    stream: Option<PmEventStream>,
    rcvbuf: usize,
    /// When to subscribe again, and the wait after that.
    retry: Option<(Instant, Duration)>,
    /// Losses since the last logged one, and when that was.
    unlogged_losses: u64,
    loss_logged: Option<Instant>,
}

impl PmEventSource {
    /// Subscribes with a socket receive buffer of `rcvbuf` bytes, with the
    /// family `pm` resolved. Without the subscription (no `CAP_NET_ADMIN`,
    /// say) the source stays silent.
    pub fn open(pm: &PmHandle, rcvbuf: usize) -> PmEventSource {
        let stream = match pm.subscribe_events_with_rcvbuf(rcvbuf) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(
                    "cannot subscribe to MPTCP events ({e}); connection events will not be logged"
                );
                None
            }
        };
        PmEventSource {
            stream,
            rcvbuf,
            retry: None,
            unlogged_losses: 0,
            loss_logged: None,
        }
    }

    /// Whether events arrive now (false without the subscription or while
    /// it is being renewed).
    pub fn is_subscribed(&self) -> bool {
        self.stream.is_some()
    }

    /// The next input. Cancel-safe at every await (used in `select!`).
    pub async fn next(&mut self) -> PmInput {
        loop {
            if let Some(stream) = self.stream.as_mut() {
                match stream.next().await {
                    Some(Ok(e)) => return PmInput::Event(e),
                    Some(Err(PmError::Overflow)) => {
                        // Older events still queued would land on top of
                        // the fresher dumps the resync reads: drop them.
                        let dropped = stream.drain();
                        self.log_loss(&format!(
                            "MPTCP events were lost (ENOBUFS; {dropped} queued dropped)"
                        ));
                        return PmInput::Lost;
                    }
                    Some(Err(PmError::Io(e))) => self.failed(&e.to_string()),
                    None => self.failed("the socket is gone"),
                    Some(Err(e)) => return PmInput::Error(e),
                }
            } else if let Some((at, wait)) = self.retry {
                tokio::time::sleep_until(at.into()).await;
                match pm::subscribe_events_with_rcvbuf(self.rcvbuf).await {
                    Ok(s) => {
                        tracing::info!("subscribed to MPTCP events again");
                        self.stream = Some(s);
                        self.retry = None;
                        return PmInput::Lost;
                    }
                    Err(e) => {
                        if wait == RETRY_FIRST {
                            tracing::warn!("cannot subscribe to MPTCP events again ({e}); retrying with back-off");
                        }
                        let wait = (wait * 2).min(RETRY_MAX);
                        self.retry = Some((Instant::now() + wait, wait));
                    }
                }
            } else {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The socket failed for good: drop it, subscribe again shortly.
    fn failed(&mut self, why: &str) {
        tracing::error!(
            "MPTCP event socket failed ({why}): subscribing again, then re-reading the kernel"
        );
        self.stream = None;
        self.retry = Some((Instant::now() + RETRY_FIRST, RETRY_FIRST));
    }

    /// Logs a loss unless one was logged within [`LOSS_LOG_INTERVAL`]; the
    /// next logged one says how many were not.
    fn log_loss(&mut self, what: &str) {
        let now = Instant::now();
        if self
            .loss_logged
            .is_some_and(|t| now.duration_since(t) < LOSS_LOG_INTERVAL)
        {
            self.unlogged_losses += 1;
            tracing::debug!("{what}");
            return;
        }
        let more = std::mem::take(&mut self.unlogged_losses);
        let since = if more > 0 {
            format!(" ({more} more loss(es) since the last report)")
        } else {
            String::new()
        };
        tracing::warn!("{what}: re-reading endpoints and connections{since}");
        self.loss_logged = Some(now);
    }
}
