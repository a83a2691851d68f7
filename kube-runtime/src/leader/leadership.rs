//! The leadership state an elector publishes: read it, follow its changes as a stream, or run a
//! task only while leading.

use std::future::Future;

use futures::{Stream, stream};
use tokio::sync::watch;

/// Whether this process leads, as its elector last decided. Cheap to clone; every clone follows
/// the same elector. When the elector stops (shut down, or its task dropped) it reads `false`.
#[derive(Debug, Clone)]
pub struct Leadership {
    rx: watch::Receiver<bool>,
}

impl Leadership {
    pub(crate) fn new(rx: watch::Receiver<bool>) -> Self {
        Self { rx }
    }

    /// Whether this process leads now.
    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    /// The underlying channel, e.g. for `Controller::gate`: the controller then starts
    /// reconciles only while this replica leads, and its stores stay synced while it follows, so
    /// a new leader starts reconciling at once. A reconcile already running when leadership is
    /// lost is not cancelled by the gate; for work that must stop, use [`lead`](Self::lead), or
    /// exit the process on the first `false` from [`changes`](Self::changes) as
    /// controller-runtime does.
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.rx.clone()
    }

    /// The current state, then every change (`true` on acquiring, `false` on losing or giving
    /// up). Ends when the elector is gone.
    pub fn changes(&self) -> impl Stream<Item = bool> + Send + 'static {
        let mut rx = self.rx.clone();
        let first = *rx.borrow_and_update();
        // (receiver, last value yielded, whether it is still to be yielded)
        stream::unfold((rx, first, true), |(mut rx, last, pending)| async move {
            if pending {
                return Some((last, (rx, last, false)));
            }
            // The channel keeps only the latest value: skip wake-ups that bring no change.
            loop {
                rx.changed().await.ok()?;
                let now = *rx.borrow_and_update();
                if now != last {
                    return Some((now, (rx, now, false)));
                }
            }
        })
    }

    /// Whether the elector has stopped (its loop ended or its task was dropped).
    pub fn is_stopped(&self) -> bool {
        self.rx.has_changed().is_err()
    }

    /// Waits until this process leads; `false` if the elector stopped first.
    pub async fn acquired(&self) -> bool {
        let mut rx = self.rx.clone();
        rx.wait_for(|leading| *leading).await.is_ok()
    }

    /// Waits until this process no longer leads (returns at once when it does not).
    pub async fn lost(&self) {
        let mut rx = self.rx.clone();
        // An error means the elector is gone, which ends leadership too.
        let _ = rx.wait_for(|leading| !*leading).await;
    }

    /// Waits until this process leads, then runs `task` until it finishes (`Some(output)`) or
    /// leadership is lost (`None`: the task is dropped, at the latest at the renew deadline after
    /// the last successful renewal). Returns `None` at once if the elector stopped.
    ///
    /// ```no_run
    /// # async fn run(leadership: kube_runtime::leader::Leadership) {
    /// loop {
    ///     // Work only the leader may do; started again whenever leadership comes back.
    ///     let done = leadership.lead(async { /* reconcile, ... */ }).await;
    ///     if done.is_some() { break; }
    /// #   break;
    /// }
    /// # }
    /// ```
    pub async fn lead<F: Future>(&self, task: F) -> Option<F::Output> {
        if !self.acquired().await {
            return None;
        }
        tokio::select! {
            biased;
            () = self.lost() => None,
            out = task => Some(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn lead_runs_only_while_leading() {
        let (tx, rx) = watch::channel(false);
        let leadership = Leadership::new(rx);
        let mut changes = Box::pin(leadership.changes());
        assert_eq!(changes.next().await, Some(false));

        let task = tokio::spawn({
            let l = leadership.clone();
            async move { l.lead(tokio::time::sleep(Duration::from_secs(3600))).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send_replace(true);
        assert_eq!(changes.next().await, Some(true));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!task.is_finished());
        tx.send_replace(false);
        assert_eq!(task.await.unwrap(), None, "the task is cancelled when leadership is lost");
        assert_eq!(changes.next().await, Some(false));

        tx.send_replace(true);
        assert_eq!(leadership.lead(async { 7 }).await, Some(7));
        tx.send_replace(false);
        tx.send_replace(true);
        tx.send_replace(false);
        drop(tx);
        assert_eq!(changes.next().await, None, "no change is seen in the end, and the stream ends");
        assert_eq!(leadership.lead(async { 7 }).await, None, "nothing runs once the elector is gone");
    }
}
