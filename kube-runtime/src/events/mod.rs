//! An event recorder for `events.k8s.io/v1`, with client-go's series: repeats of one event are
//! counted on one object instead of flooding the API, and recording never blocks or fails a
//! reconcile. See [`Recorder`].

mod event;
mod recorder;
mod series;

pub use event::{Event, EventType, NOTE_LIMIT, REASON_LIMIT, Reporter, TRUNCATED_MARKER, reference};
pub use recorder::{Recorder, RecorderConfig};
