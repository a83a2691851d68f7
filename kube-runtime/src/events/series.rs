//! The series cache, free of IO: decides which occurrences are written (the first creates an
//! Event, the second patches a `series`, later ones only count in memory), and when counts are
//! flushed (a heartbeat, an idle series' final write, an explicit flush).

use std::{collections::HashMap, time::Duration};

use k8s_openapi::{
    api::events::v1::{Event, EventSeries},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use tokio::time::Instant;

/// A write to send to the API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Write {
    /// Create this Event.
    Create(Event),
    /// Patch the series of the Event already written as `event` (created anew if it is gone).
    Series { event: Event, series: EventSeries },
}

#[derive(Debug)]
struct Entry {
    /// The Event as first written.
    event: Event,
    count: i32,
    last_observed: jiff::Timestamp,
    /// Local instants of the first and of the latest occurrence.
    first_seen: Instant,
    last_seen: Instant,
    /// The count grew since it was last written.
    dirty: bool,
}

impl Entry {
    fn series(&self) -> Option<Write> {
        (self.count >= 2).then(|| Write::Series {
            event: self.event.clone(),
            series: EventSeries { count: self.count, last_observed_time: MicroTime(self.last_observed) },
        })
    }
}

/// Timing of the cache (client-go: heartbeat 30 min, series finished after 6 idle minutes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) heartbeat: Duration,
    pub(crate) finish_after: Duration,
}

/// Occurrences by series key.
#[derive(Debug)]
pub(crate) struct SeriesCache {
    entries: HashMap<String, Entry>,
    timing: Timing,
    last_heartbeat: Instant,
}

impl SeriesCache {
    pub(crate) fn new(timing: Timing, now: Instant) -> Self {
        Self { entries: HashMap::new(), timing, last_heartbeat: now }
    }

    /// One occurrence of the series `key`; `build` makes its Event when it is the first.
    pub(crate) fn observe(
        &mut self,
        key: String,
        build: impl FnOnce() -> Event,
        wall: jiff::Timestamp,
        now: Instant,
    ) -> Option<Write> {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.count = entry.count.saturating_add(1);
            entry.last_observed = wall;
            entry.last_seen = now;
            // The second occurrence turns the Event into a series at once; later ones wait.
            if entry.count == 2 {
                return entry.series();
            }
            entry.dirty = true;
            return None;
        }
        let event = build();
        let write = Write::Create(event.clone());
        self.entries.insert(
            key,
            Entry { event, count: 1, last_observed: wall, first_seen: now, last_seen: now, dirty: false },
        );
        Some(write)
    }

    /// The writes due at `now`: every series on the heartbeat, idle series a final time (when
    /// their count changed); idle entries are forgotten.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Write> {
        let mut writes = Vec::new();
        if now.duration_since(self.last_heartbeat) >= self.timing.heartbeat {
            self.last_heartbeat = now;
            for entry in self.entries.values_mut() {
                writes.extend(entry.series());
                entry.dirty = false;
            }
        }
        let finish = self.timing.finish_after;
        self.entries.retain(|_, entry| {
            let idle = if entry.count >= 2 { entry.last_seen } else { entry.first_seen };
            if now.duration_since(idle) < finish {
                return true;
            }
            if entry.dirty {
                writes.extend(entry.series());
            }
            false
        });
        writes
    }

    /// The series whose counts changed since they were last written.
    pub(crate) fn flush(&mut self) -> Vec<Write> {
        self.entries
            .values_mut()
            .filter_map(|e| if std::mem::take(&mut e.dirty) { e.series() } else { None })
            .collect()
    }

    /// How many series are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing { heartbeat: Duration::from_secs(1800), finish_after: Duration::from_secs(360) }
    }

    fn count(write: &Write) -> i32 {
        match write {
            Write::Series { series, .. } => series.count,
            Write::Create(_) => 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hot_loop_is_one_create_one_patch_then_counted_in_memory() {
        let mut cache = SeriesCache::new(timing(), Instant::now());
        let wall = jiff::Timestamp::UNIX_EPOCH;
        let mut writes = Vec::new();
        for _ in 0..20 {
            writes.extend(cache.observe("k".into(), Event::default, wall, Instant::now()));
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(writes.iter().map(count).collect::<Vec<_>>(), vec![1, 2]);
        assert!(cache.due(Instant::now()).is_empty(), "nothing is due before the heartbeat");
        let flushed = cache.flush();
        assert_eq!(flushed.iter().map(count).collect::<Vec<_>>(), vec![20]);
        assert!(cache.flush().is_empty(), "a flush writes only what changed");

        // Another key is its own series.
        assert!(matches!(
            cache.observe("other".into(), Event::default, wall, Instant::now()),
            Some(Write::Create(_))
        ));
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeat_rewrites_series_and_idle_ones_are_written_once_more_then_forgotten() {
        let mut cache = SeriesCache::new(timing(), Instant::now());
        let wall = jiff::Timestamp::UNIX_EPOCH;
        for _ in 0..3 {
            cache.observe("busy".into(), Event::default, wall, Instant::now());
        }
        cache.observe("single".into(), Event::default, wall, Instant::now());
        // Idle for 6 minutes: "busy" is written with its count 3, both are forgotten.
        tokio::time::advance(Duration::from_secs(360)).await;
        let writes = cache.due(Instant::now());
        assert_eq!(writes.iter().map(count).collect::<Vec<_>>(), vec![3]);
        assert_eq!(cache.len(), 0);
        // Forgotten: the next occurrence is a new Event.
        assert!(matches!(
            cache.observe("busy".into(), Event::default, wall, Instant::now()),
            Some(Write::Create(_))
        ));

        // A series kept busy is rewritten on the heartbeat, with its count.
        let mut occurrences = 1;
        for _ in 0..40 {
            occurrences += 1;
            cache.observe("busy".into(), Event::default, wall, Instant::now());
            tokio::time::advance(Duration::from_secs(60)).await;
            let due = cache.due(Instant::now());
            if !due.is_empty() {
                assert_eq!(due.iter().map(count).collect::<Vec<_>>(), vec![occurrences]);
                return;
            }
        }
        panic!("no heartbeat within 40 minutes");
    }
}
