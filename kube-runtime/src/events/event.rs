//! What a controller records: an event's fields, who reports it, the object it is about, and how
//! they become an `events.k8s.io/v1` Event within the API's length limits.

use k8s_openapi::{
    api::{core::v1::ObjectReference, events::v1 as api},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube_core::{ObjectMeta, Resource};

/// The API's limit on `note` (bytes).
pub const NOTE_LIMIT: usize = 1024;
/// The API's limit on `reason` and `action` (bytes).
pub const REASON_LIMIT: usize = 128;
/// Appended to a note that was cut to fit [`NOTE_LIMIT`].
pub const TRUNCATED_MARKER: &str = "... (truncated)";

/// Whether an event is routine or calls for attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something may need a human's attention.
    Warning,
}

impl EventType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// One occurrence to record about an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Normal or Warning.
    pub type_: EventType,
    /// Why the action was taken, in UpperCamelCase (`ScalingReplicaSet`); at most 128 bytes.
    pub reason: String,
    /// What was done or failed (`Scaling`, `Reconciling`); at most 128 bytes.
    pub action: String,
    /// A human-readable description; cut to 1 KiB with a marker when longer.
    pub note: Option<String>,
    /// A second object involved (e.g. the Pod a ReplicaSet created).
    pub related: Option<ObjectReference>,
}

impl Event {
    /// A Normal event.
    pub fn normal(reason: &str, action: &str) -> Self {
        Self {
            type_: EventType::Normal,
            reason: reason.into(),
            action: action.into(),
            note: None,
            related: None,
        }
    }

    /// A Warning event.
    pub fn warning(reason: &str, action: &str) -> Self {
        Self { type_: EventType::Warning, ..Self::normal(reason, action) }
    }

    /// Sets the note.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Sets the related object.
    #[must_use]
    pub fn related(mut self, related: ObjectReference) -> Self {
        self.related = Some(related);
        self
    }
}

/// Who reports events: `reportingController` (e.g. `example.com/my-operator`) and
/// `reportingInstance` (this replica; defaults to the hostname).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter {
    /// The controller's name.
    pub controller: String,
    /// This instance's name.
    pub instance: String,
}

impl Reporter {
    /// A reporter named `controller`, instance the hostname.
    pub fn new(controller: &str) -> Self {
        let instance =
            hostname::get().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| controller.to_string());
        Self { controller: controller.into(), instance }
    }

    /// Sets the instance.
    #[must_use]
    pub fn instance(mut self, instance: &str) -> Self {
        self.instance = instance.into();
        self
    }
}

/// An `ObjectReference` to `obj` (kind, apiVersion, namespace, name, uid, resourceVersion), for
/// the `regarding` or `related` object of an event.
pub fn reference<K: Resource>(obj: &K, dyntype: &K::DynamicType) -> ObjectReference {
    let meta = obj.meta();
    ObjectReference {
        api_version: Some(K::api_version(dyntype).into_owned()),
        kind: Some(K::kind(dyntype).into_owned()),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

/// Cuts `s` to at most `limit` bytes on a character boundary, appending `marker` when cut.
pub(crate) fn truncate(s: &str, limit: usize, marker: &str) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let mut end = limit.saturating_sub(marker.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &s[..end])
}

/// The series key: events that agree on it are one series (the note is not part of it).
pub(crate) fn series_key(event: &Event, reporter: &Reporter, regarding: &ObjectReference) -> String {
    let key = (
        event.type_.as_str(),
        &event.action,
        &event.reason,
        &reporter.controller,
        &reporter.instance,
        regarding,
        &event.related,
    );
    // Serializing plain strings and references cannot fail; an empty key only merges nothing.
    serde_json::to_string(&key).unwrap_or_default()
}

/// The Event object for a first occurrence at `now`.
pub(crate) fn build(
    event: &Event,
    reporter: &Reporter,
    regarding: &ObjectReference,
    now: jiff::Timestamp,
) -> api::Event {
    let namespace = regarding.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    let base = regarding.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("event");
    // Unique per occurrence, like client-go's `<name>.<unix nanos in hex>`, plus a random tail.
    let name = format!("{base}.{:x}{:04x}", now.as_nanosecond(), rand::random::<u16>());
    api::Event {
        metadata: ObjectMeta { name: Some(name), namespace: Some(namespace), ..ObjectMeta::default() },
        event_time: Some(MicroTime(now)),
        type_: Some(event.type_.as_str().into()),
        reason: Some(truncate(&event.reason, REASON_LIMIT, "")),
        action: Some(truncate(&event.action, REASON_LIMIT, "")),
        note: event.note.as_deref().map(|n| truncate(n, NOTE_LIMIT, TRUNCATED_MARKER)),
        regarding: Some(regarding.clone()),
        related: event.related.clone(),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(reporter.instance.clone()),
        ..api::Event::default()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;

    use super::*;

    #[test]
    fn notes_are_cut_on_a_character_boundary_with_a_marker() {
        assert_eq!(truncate("short", NOTE_LIMIT, TRUNCATED_MARKER), "short");
        let long = "é".repeat(1000);
        let cut = truncate(&long, NOTE_LIMIT, TRUNCATED_MARKER);
        assert!(cut.len() <= NOTE_LIMIT && cut.len() > NOTE_LIMIT - 4, "{}", cut.len());
        assert!(cut.ends_with(TRUNCATED_MARKER));
        assert_eq!(truncate(&"x".repeat(200), REASON_LIMIT, "").len(), REASON_LIMIT);
    }

    #[test]
    fn the_note_is_not_part_of_the_series_key() {
        let cm: ConfigMap = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "cm", "namespace": "ns", "uid": "u1"}}),
        )
        .unwrap();
        let regarding = reference(&cm, &());
        assert_eq!(
            (regarding.kind.as_deref(), regarding.api_version.as_deref()),
            (Some("ConfigMap"), Some("v1"))
        );
        let reporter = Reporter::new("ctl").instance("i");
        let a = Event::normal("Synced", "Sync").note("one");
        let key = series_key(&a, &reporter, &regarding);
        assert_eq!(key, series_key(&a.clone().note("two"), &reporter, &regarding));
        assert_ne!(key, series_key(&Event::warning("Synced", "Sync"), &reporter, &regarding));
        assert_ne!(key, series_key(&a, &Reporter::new("ctl").instance("j"), &regarding));
        assert_ne!(key, series_key(&a.clone().related(regarding.clone()), &reporter, &regarding));

        let built = build(&a, &reporter, &regarding, jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(built.metadata.namespace.as_deref(), Some("ns"));
        assert!(built.metadata.name.unwrap().starts_with("cm."));
        let other = ObjectReference { namespace: None, ..regarding };
        let built = build(&a, &reporter, &other, jiff::Timestamp::UNIX_EPOCH);
        assert_eq!(built.metadata.namespace.as_deref(), Some("default"));
    }
}
