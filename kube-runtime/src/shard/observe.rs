//! What sharding reports as it works (for metrics): the assigner's writes, this replica's
//! drains and its slot moves.

use std::time::Duration;

/// Receives sharding's events; every method does nothing by default.
/// [`ShardMetrics`](crate::metrics::ShardMetrics) implements it.
pub trait ObserveShard: Send + Sync + 'static {
    /// The elected assigner of `kind` in `group` wrote `step` for an object: `assign` (it had no
    /// owner), `take_over` (its owner had left), `drain` (asked its owner to let go) or `keep`
    /// (a move called off).
    fn assigned(&self, group: &str, kind: &str, step: &'static str) {
        let _ = (group, kind, step);
    }

    /// This replica let go of an object of `group`, `took` after it first saw the request.
    fn let_go(&self, group: &str, took: Duration) {
        let _ = (group, took);
    }

    /// Under server-side assignment, this replica took over a slot of `group` (`step`
    /// `take_over`) or gave one up (`give_up`, `drained` after it stopped reconciling it).
    fn slot_moved(&self, group: &str, step: &'static str, drained: Option<Duration>) {
        let _ = (group, step, drained);
    }
}

/// Observes nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserveShard;

impl ObserveShard for NoObserveShard {}
