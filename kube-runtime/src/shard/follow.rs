//! A sharded member's watch: with labels, a watch of the objects labelled for it; with the
//! apiserver's shard selectors, a watch restarted on the member's active slots whenever they
//! change (each restart relists, so the store holds exactly the new share, and every object of
//! a slot just taken over is reconciled).

use futures::{Stream, StreamExt, stream::BoxStream};
use kube_client::Api;
use kube_core::{PartialObjectMetadata, Resource};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::watch;

use super::{Assignment, Shard, slots::Slots};
use crate::watcher::{self, Event};

type Events<K> = BoxStream<'static, Result<Event<K>, watcher::Error>>;

impl Shard {
    /// Watches this member's share of `api`'s objects, narrowing `config`: by the member's label
    /// ([`Assignment::Labels`], see [`watcher_config`](Self::watcher_config)) or by a shard
    /// selector on its active slots, restarted when they change ([`Assignment::Server`]). Feed it
    /// to a reflector and the controller ([`Controller::for_stream`](crate::Controller::for_stream))
    /// run with [`Controller::shard`](crate::Controller::shard).
    pub fn watcher<K>(&self, api: Api<K>, config: watcher::Config) -> Events<K>
    where
        K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
    {
        self.follow(config, move |c| watcher::watcher(api.clone(), c).boxed())
    }

    /// [`watcher`](Self::watcher) for the objects' metadata only.
    pub fn metadata_watcher<K>(
        &self,
        api: Api<K>,
        config: watcher::Config,
    ) -> Events<PartialObjectMetadata<K>>
    where
        K: Resource + Clone + Send + Sync + 'static,
    {
        self.follow(config, move |c| watcher::metadata_watcher(api.clone(), c).boxed())
    }

    fn follow<K: Send + 'static>(
        &self,
        config: watcher::Config,
        mut start: impl FnMut(watcher::Config) -> Events<K> + Send + 'static,
    ) -> Events<K> {
        let Assignment::Server(field) = self.config().assignment else {
            return start(self.watcher_config(config));
        };
        let slots = self.claims().subscribe();
        following(slots, move |active: Slots| {
            active.selector(field).map(|s| {
                let mut c = config.clone();
                c.selectors.shard = Some(s.to_string());
                start(c)
            })
        })
        .boxed()
    }
}

/// The events of `start(slots)` for the latest `slots`, started afresh on each change; an empty
/// share (`start` gives `None`) is an empty initial state.
fn following<K: Send + 'static>(
    slots: watch::Receiver<Slots>,
    start: impl FnMut(Slots) -> Option<Events<K>> + Send + 'static,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static {
    struct State<K, F> {
        slots: watch::Receiver<Slots>,
        start: F,
        current: Option<Events<K>>,
        queued: Vec<Event<K>>,
        first: bool,
    }
    let state = State { slots, start, current: None, queued: Vec::new(), first: true };
    enum Step<K> {
        Changed,
        Next(Option<Result<Event<K>, watcher::Error>>),
        Closed,
    }
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(e) = s.queued.pop() {
                return Some((Ok(e), s));
            }
            let step = if s.first {
                s.first = false;
                Step::Changed
            } else {
                let changed = |c: Result<(), watch::error::RecvError>| match c {
                    Ok(()) => Step::Changed,
                    Err(_) => Step::Closed,
                };
                match s.current.as_mut() {
                    Some(events) => tokio::select! {
                        biased;
                        c = s.slots.changed() => changed(c),
                        e = events.next() => Step::Next(e),
                    },
                    None => changed(s.slots.changed().await),
                }
            };
            match step {
                // The member is gone, or the watch ended (it never does by itself).
                Step::Closed | Step::Next(None) => return None,
                Step::Next(Some(e)) => return Some((e, s)),
                Step::Changed => {
                    let slots = *s.slots.borrow_and_update();
                    tracing::debug!(?slots, "the shard's slots changed: watching the new share");
                    s.current = (s.start)(slots);
                    if s.current.is_none() {
                        // Popped from the end: Init first.
                        s.queued = vec![Event::InitDone, Event::Init];
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn restarts_on_each_change_and_an_empty_share_is_an_empty_state() {
        let (tx, rx) = watch::channel(Slots::NONE);
        let started = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = started.clone();
        let mut events = Box::pin(following(rx, move |slots: Slots| {
            log.lock().unwrap().push(slots);
            (!slots.is_empty()).then(|| {
                futures::stream::iter([Ok(Event::Init), Ok(Event::InitApply(slots.0)), Ok(Event::InitDone)])
                    .chain(futures::stream::pending())
                    .boxed()
            })
        }));
        let next = |e: Option<Result<Event<u64>, watcher::Error>>| match e {
            Some(Ok(Event::Init)) => "init".to_string(),
            Some(Ok(Event::InitApply(n))) => format!("apply {n}"),
            Some(Ok(Event::InitDone)) => "done".to_string(),
            _ => "other".to_string(),
        };
        assert_eq!(next(events.next().await), "init");
        assert_eq!(next(events.next().await), "done");
        tx.send_replace(Slots(5));
        for want in ["init", "apply 5", "done"] {
            assert_eq!(next(events.next().await), want);
        }
        tx.send_replace(Slots(7));
        for want in ["init", "apply 7", "done"] {
            assert_eq!(next(events.next().await), want);
        }
        tx.send_replace(Slots::NONE);
        assert_eq!(next(events.next().await), "init");
        assert_eq!(next(events.next().await), "done");
        assert_eq!(*started.lock().unwrap(), vec![Slots::NONE, Slots(5), Slots(7), Slots::NONE]);
        drop(tx);
        assert!(events.next().await.is_none(), "the stream ends with the member");
    }
}
