//! Query parameters of every verb: list, watch, get, create/replace, patch (with the patch kinds)
//! delete and logs. Each is a builder with public fields; `validate` rejects combinations the API
//! server would refuse, before anything is sent.

use serde::Serialize;

use crate::error::{Error, invalid};

/// How a list treats the given resourceVersion (`resourceVersionMatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMatch {
    /// Any data at least as new as the given resourceVersion (served from cache when possible).
    NotOlderThan,
    /// Exactly the given resourceVersion (fails with 410 when it was compacted).
    Exact,
}

impl VersionMatch {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotOlderThan => "NotOlderThan",
            Self::Exact => "Exact",
        }
    }
}

/// Which objects a list or watch selects: a label and a field selector. [`ListParams`],
/// [`WatchParams`] and the runtime's watcher configuration all hold one, and share its builder
/// methods (`labels`, `labels_from`, `fields`, `fields_from`, `shard`).
///
/// ```
/// use kube_core::params::{ListParams, Selectors};
/// let lp = ListParams::default().labels("app=web").fields("metadata.name=a");
/// assert_eq!(lp.selectors.labels.as_deref(), Some("app=web"));
/// assert_eq!(lp.selectors.fields.as_deref(), Some("metadata.name=a"));
/// assert!(ListParams::default().labels("a in b").validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors {
    /// Only objects whose labels match (`app=web,tier!=db`).
    pub labels: Option<String>,
    /// Only objects whose fields match (`metadata.name=x`).
    pub fields: Option<String>,
    /// Only objects in these hash ranges (`shardSelector`, see
    /// [`ShardSelector`](crate::selector::ShardSelector)); an apiserver without the
    /// `ShardedListAndWatch` feature ignores it and serves every object.
    pub shard: Option<String>,
}

impl Selectors {
    /// Rejects selectors the API server would refuse (they are parsed with this crate's parsers).
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(s) = &self.labels {
            s.parse::<crate::selector::LabelSelector>()
                .map_err(|source| Error::Selector { which: "label", source })?;
        }
        if let Some(s) = &self.fields {
            s.parse::<crate::selector::FieldSelector>()
                .map_err(|source| Error::Selector { which: "field", source })?;
        }
        Ok(())
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        q.opt("labelSelector", self.labels.as_deref());
        q.opt("fieldSelector", self.fields.as_deref());
        q.opt("shardSelector", self.shard.as_deref());
    }
}

/// Implements the selector builder methods on a type with a `selectors: Selectors` field, so
/// every type that selects objects has the same selector methods from one definition.
#[doc(hidden)]
#[macro_export]
macro_rules! selector_builders {
    ($ty:ty) => {
        impl $ty {
            /// Only objects whose labels match the selector (`app=web,tier!=db`).
            #[must_use]
            pub fn labels(mut self, selector: &str) -> Self {
                self.selectors.labels = Some(selector.to_string());
                self
            }

            /// Only objects whose labels match the typed selector.
            #[must_use]
            pub fn labels_from(mut self, selector: &$crate::selector::LabelSelector) -> Self {
                self.selectors.labels = Some(selector.to_string());
                self
            }

            /// Only objects whose fields match the selector (`metadata.name=x`).
            #[must_use]
            pub fn fields(mut self, selector: &str) -> Self {
                self.selectors.fields = Some(selector.to_string());
                self
            }

            /// Only objects whose fields match the typed selector.
            #[must_use]
            pub fn fields_from(mut self, selector: &$crate::selector::FieldSelector) -> Self {
                self.selectors.fields = Some(selector.to_string());
                self
            }

            /// Only objects in the shard's hash ranges (the apiserver's `shardSelector`;
            /// Kubernetes 1.36+ with the `ShardedListAndWatch` feature gate).
            #[must_use]
            pub fn shard(mut self, selector: &$crate::selector::ShardSelector) -> Self {
                self.selectors.shard = Some(selector.to_string());
                self
            }
        }
    };
}

/// Parameters of a list (and of `delete_collection`'s selection).
///
/// ```
/// use kube_core::params::ListParams;
/// let lp = ListParams::default().labels("app=web").limit(50);
/// assert_eq!(lp.limit, Some(50));
/// assert!(ListParams::default().continue_token("abc").at("12").validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListParams {
    /// Which objects: label and field selectors.
    pub selectors: Selectors,
    /// Server-side timeout in seconds.
    pub timeout: Option<u32>,
    /// The page size; the server returns a continue token when there is more.
    pub limit: Option<u32>,
    /// The continue token of the previous page.
    pub continue_token: Option<String>,
    /// How to interpret `resource_version`.
    pub version_match: Option<VersionMatch>,
    /// The resourceVersion to read at: unset for the newest data (a quorum read), `"0"` for any
    /// data (usually from the cache), or a version with `version_match`.
    pub resource_version: Option<String>,
}

crate::selector_builders!(ListParams);

impl ListParams {
    /// Server-side timeout in seconds.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// At most this many objects per page.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continue from a previous page.
    #[must_use]
    pub fn continue_token(mut self, token: &str) -> Self {
        self.continue_token = Some(token.to_string());
        self
    }

    /// Any data is fine, possibly stale (`resourceVersion=0`): cheapest for the server.
    #[must_use]
    pub fn match_any(mut self) -> Self {
        self.resource_version = Some("0".into());
        self.version_match = Some(VersionMatch::NotOlderThan);
        self
    }

    /// Data at least as new as `resource_version`.
    #[must_use]
    pub fn at(mut self, resource_version: &str) -> Self {
        self.resource_version = Some(resource_version.to_string());
        self.version_match = Some(VersionMatch::NotOlderThan);
        self
    }

    /// Sets how `resource_version` is matched.
    #[must_use]
    pub fn matching(mut self, version_match: VersionMatch) -> Self {
        self.version_match = Some(version_match);
        self
    }

    /// Rejects combinations the API server refuses.
    pub fn validate(&self) -> Result<(), Error> {
        self.selectors.validate()?;
        let rv = self.resource_version.as_deref().filter(|v| !v.is_empty());
        if let Some(vm) = self.version_match {
            match (vm, rv) {
                (_, None) => return Err(invalid("resourceVersionMatch", "it needs a resourceVersion")),
                (VersionMatch::Exact, Some("0")) => {
                    return Err(invalid(
                        "resourceVersionMatch",
                        "Exact is not allowed with resourceVersion \"0\"",
                    ));
                }
                _ => {}
            }
        }
        if self.continue_token.as_deref().is_some_and(|t| !t.is_empty()) && rv.is_some() {
            return Err(invalid(
                "continue",
                "a continue token carries its own resourceVersion; leave resourceVersion unset",
            ));
        }
        if self.limit == Some(0) {
            return Err(invalid("limit", "must be at least 1 (leave it unset for no limit)"));
        }
        Ok(())
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        self.selectors.append_query(q);
        q.opt_num("timeoutSeconds", self.timeout);
        q.opt_num("limit", self.limit);
        q.opt("continue", self.continue_token.as_deref().filter(|t| !t.is_empty()));
        q.opt("resourceVersion", self.resource_version.as_deref());
        q.opt("resourceVersionMatch", self.version_match.map(VersionMatch::as_str));
    }
}

/// Parameters of a watch. The resourceVersion to start from is passed to the call itself.
///
/// ```
/// use kube_core::params::WatchParams;
/// let wp = WatchParams::default().labels("app=web").timeout(290).streaming_lists();
/// assert!(wp.bookmarks && wp.send_initial_events);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WatchParams {
    /// Which objects: label and field selectors.
    pub selectors: Selectors,
    /// Server-side timeout in seconds: the server ends the watch after it.
    pub timeout: Option<u32>,
    /// Ask for BOOKMARK events (on by default).
    pub bookmarks: bool,
    /// Start with the current state as ADDED events, ended by a bookmark annotated
    /// `k8s.io/initial-events-end` (a streaming list).
    pub send_initial_events: bool,
}

impl Default for WatchParams {
    fn default() -> Self {
        Self { selectors: Selectors::default(), timeout: None, bookmarks: true, send_initial_events: false }
    }
}

crate::selector_builders!(WatchParams);

impl WatchParams {
    /// Server-side timeout in seconds.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Turn BOOKMARK events off.
    #[must_use]
    pub fn disable_bookmarks(mut self) -> Self {
        self.bookmarks = false;
        self
    }

    /// Start with the current state (a streaming list); needs bookmarks.
    #[must_use]
    pub fn streaming_lists(mut self) -> Self {
        self.send_initial_events = true;
        self.bookmarks = true;
        self
    }

    /// Rejects combinations the API server refuses.
    pub fn validate(&self) -> Result<(), Error> {
        self.selectors.validate()?;
        if self.send_initial_events && !self.bookmarks {
            return Err(invalid("sendInitialEvents", "it needs bookmarks (allowWatchBookmarks=true)"));
        }
        if self.timeout == Some(0) {
            return Err(invalid(
                "timeoutSeconds",
                "must be at least 1 (leave it unset for the server's default)",
            ));
        }
        Ok(())
    }

    pub(crate) fn append_query(&self, q: &mut Query, resource_version: &str) {
        q.pair("watch", "true");
        self.selectors.append_query(q);
        q.opt_num("timeoutSeconds", self.timeout);
        if self.bookmarks {
            q.pair("allowWatchBookmarks", "true");
        }
        if self.send_initial_events {
            q.pair("sendInitialEvents", "true");
            q.pair("resourceVersionMatch", VersionMatch::NotOlderThan.as_str());
        }
        if !resource_version.is_empty() {
            q.pair("resourceVersion", resource_version);
        }
    }
}

/// Parameters of a get.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetParams {
    /// Unset for the newest data; `"0"` for any (possibly cached) data.
    pub resource_version: Option<String>,
}

impl GetParams {
    /// Any data is fine, possibly stale (`resourceVersion=0`).
    #[must_use]
    pub fn any() -> Self {
        Self { resource_version: Some("0".into()) }
    }

    /// Data at least as new as `resource_version`.
    #[must_use]
    pub fn at(resource_version: &str) -> Self {
        Self { resource_version: Some(resource_version.to_string()) }
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        q.opt("resourceVersion", self.resource_version.as_deref());
    }
}

/// What the server does with unknown or duplicate fields in a write (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationDirective {
    /// Drop them silently.
    Ignore,
    /// Drop them and return a warning header.
    Warn,
    /// Fail the request.
    Strict,
}

impl ValidationDirective {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ignore => "Ignore",
            Self::Warn => "Warn",
            Self::Strict => "Strict",
        }
    }
}

/// Parameters of a create or replace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostParams {
    /// Validate and admit, but do not persist.
    pub dry_run: bool,
    /// The field manager recorded in `managedFields`.
    pub field_manager: Option<String>,
    /// What to do with unknown or duplicate fields.
    pub field_validation: Option<ValidationDirective>,
}

impl PostParams {
    /// Validate and admit, but do not persist.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Records writes under this field manager.
    #[must_use]
    pub fn field_manager(mut self, manager: &str) -> Self {
        self.field_manager = Some(manager.to_string());
        self
    }

    /// Sets the field validation.
    #[must_use]
    pub fn validation(mut self, directive: ValidationDirective) -> Self {
        self.field_validation = Some(directive);
        self
    }

    /// Rejects values the API server refuses.
    pub fn validate(&self) -> Result<(), Error> {
        validate_field_manager(self.field_manager.as_deref())
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        if self.dry_run {
            q.pair("dryRun", "All");
        }
        q.opt("fieldManager", self.field_manager.as_deref());
        q.opt("fieldValidation", self.field_validation.map(ValidationDirective::as_str));
    }
}

/// A patch and its kind; the kind decides the content type.
///
/// ```
/// use kube_core::params::Patch;
/// let p = Patch::Merge(serde_json::json!({"metadata": {"labels": {"a": "b"}}}));
/// assert_eq!(p.content_type(), "application/merge-patch+json");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T: Serialize> {
    /// Server-side apply: the full intent of one field manager.
    Apply(T),
    /// A JSON patch (RFC 6902): a list of operations (`add`, `remove`, `replace`, `test`, ...).
    Json(T),
    /// A JSON merge patch (RFC 7386).
    Merge(T),
    /// A strategic merge patch: lists merge by their keys (built-in types only).
    Strategic(T),
}

impl<T: Serialize> Patch<T> {
    /// The content type for this kind of patch.
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Apply(_) => "application/apply-patch+yaml",
            Self::Json(_) => "application/json-patch+json",
            Self::Merge(_) => "application/merge-patch+json",
            Self::Strategic(_) => "application/strategic-merge-patch+json",
        }
    }

    /// Whether this is server-side apply.
    pub fn is_apply(&self) -> bool {
        matches!(self, Self::Apply(_))
    }

    /// The body as JSON (apply bodies are JSON too: JSON is YAML).
    pub fn serialize_body(&self) -> Result<Vec<u8>, Error> {
        let (Self::Apply(p) | Self::Json(p) | Self::Merge(p) | Self::Strategic(p)) = self;
        serde_json::to_vec(p).map_err(Error::Serialize)
    }
}

/// Parameters of a patch.
///
/// ```
/// use kube_core::params::{Patch, PatchParams};
/// let pp = PatchParams::apply("my-controller").force();
/// assert!(pp.validate(&Patch::Apply(())).is_ok());
/// assert!(PatchParams::default().force().validate(&Patch::Merge(())).is_err());
/// assert!(PatchParams::default().validate(&Patch::Apply(())).is_err()); // no field manager
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatchParams {
    /// Validate and admit, but do not persist.
    pub dry_run: bool,
    /// Server-side apply only: take ownership of fields other managers own.
    pub force: bool,
    /// The field manager; required for server-side apply.
    pub field_manager: Option<String>,
    /// What to do with unknown or duplicate fields.
    pub field_validation: Option<ValidationDirective>,
}

impl PatchParams {
    /// Parameters for server-side apply as `manager`.
    pub fn apply(manager: &str) -> Self {
        Self { field_manager: Some(manager.to_string()), ..Self::default() }
    }

    /// Take ownership of conflicting fields (server-side apply only).
    #[must_use]
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }

    /// Validate and admit, but do not persist.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Sets the field validation.
    #[must_use]
    pub fn validation(mut self, directive: ValidationDirective) -> Self {
        self.field_validation = Some(directive);
        self
    }

    /// Rejects combinations the API server refuses, for this kind of patch.
    pub fn validate<P: Serialize>(&self, patch: &Patch<P>) -> Result<(), Error> {
        validate_field_manager(self.field_manager.as_deref())?;
        if self.force && !patch.is_apply() {
            return Err(invalid("force", "only server-side apply patches can be forced"));
        }
        if patch.is_apply() && self.field_manager.is_none() {
            return Err(invalid("fieldManager", "server-side apply needs a field manager"));
        }
        Ok(())
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        if self.dry_run {
            q.pair("dryRun", "All");
        }
        if self.force {
            q.pair("force", "true");
        }
        q.opt("fieldManager", self.field_manager.as_deref());
        q.opt("fieldValidation", self.field_validation.map(ValidationDirective::as_str));
    }
}

/// What happens to an object's dependents when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PropagationPolicy {
    /// Leave dependents behind, without owner references to the deleted object.
    Orphan,
    /// Delete the object now and its dependents in the background.
    Background,
    /// Delete dependents first; the object stays (with a `foregroundDeletion` finalizer) until then.
    Foreground,
}

/// Conditions a delete must meet, or it fails with 409.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The object must have this uid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The object must be at this resourceVersion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Parameters of a delete, sent as a `DeleteOptions` body.
///
/// ```
/// use kube_core::params::{DeleteParams, PropagationPolicy};
/// let dp = DeleteParams::foreground().grace_period(0);
/// assert_eq!(dp.propagation_policy, Some(PropagationPolicy::Foreground));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteParams {
    /// Validate and admit, but do not persist.
    pub dry_run: bool,
    /// Seconds before the object is deleted; 0 deletes immediately.
    pub grace_period_seconds: Option<u32>,
    /// What happens to dependents.
    pub propagation_policy: Option<PropagationPolicy>,
    /// Conditions on uid and resourceVersion.
    pub preconditions: Option<Preconditions>,
}

impl DeleteParams {
    /// Delete dependents in the background.
    pub fn background() -> Self {
        Self { propagation_policy: Some(PropagationPolicy::Background), ..Self::default() }
    }

    /// Delete dependents first.
    pub fn foreground() -> Self {
        Self { propagation_policy: Some(PropagationPolicy::Foreground), ..Self::default() }
    }

    /// Orphan dependents.
    pub fn orphan() -> Self {
        Self { propagation_policy: Some(PropagationPolicy::Orphan), ..Self::default() }
    }

    /// Validate and admit, but do not persist.
    #[must_use]
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Sets the grace period.
    #[must_use]
    pub fn grace_period(mut self, seconds: u32) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }

    /// Only delete if the object still has this uid.
    #[must_use]
    pub fn precondition_uid(mut self, uid: &str) -> Self {
        self.preconditions.get_or_insert_with(Default::default).uid = Some(uid.to_string());
        self
    }

    /// Only delete if the object is still at this resourceVersion.
    #[must_use]
    pub fn precondition_resource_version(mut self, resource_version: &str) -> Self {
        self.preconditions.get_or_insert_with(Default::default).resource_version =
            Some(resource_version.to_string());
        self
    }

    /// The `DeleteOptions` body.
    pub fn body(&self) -> Result<Vec<u8>, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct DeleteOptions<'a> {
            kind: &'static str,
            api_version: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            grace_period_seconds: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            propagation_policy: Option<PropagationPolicy>,
            #[serde(skip_serializing_if = "Option::is_none")]
            preconditions: Option<&'a Preconditions>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            dry_run: Vec<&'static str>,
        }
        let body = DeleteOptions {
            kind: "DeleteOptions",
            api_version: "v1",
            grace_period_seconds: self.grace_period_seconds,
            propagation_policy: self.propagation_policy,
            preconditions: self.preconditions.as_ref(),
            dry_run: if self.dry_run { vec!["All"] } else { vec![] },
        };
        serde_json::to_vec(&body).map_err(Error::Serialize)
    }
}

/// Parameters of a container log request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogParams {
    /// The container; needed when the Pod has more than one.
    pub container: Option<String>,
    /// Keep streaming new lines.
    pub follow: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<u64>,
    /// Logs of the previous, terminated container instance.
    pub previous: bool,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<u64>,
    /// Only lines after this RFC 3339 time.
    pub since_time: Option<String>,
    /// Only the last this many lines.
    pub tail_lines: Option<u64>,
    /// Prefix each line with its RFC 3339 timestamp.
    pub timestamps: bool,
}

impl LogParams {
    /// Rejects combinations the API server refuses.
    pub fn validate(&self) -> Result<(), Error> {
        if self.since_seconds.is_some() && self.since_time.is_some() {
            return Err(invalid("sinceSeconds", "sinceSeconds and sinceTime cannot both be set"));
        }
        if self.since_seconds == Some(0) {
            return Err(invalid("sinceSeconds", "must be at least 1"));
        }
        if self.limit_bytes == Some(0) {
            return Err(invalid("limitBytes", "must be at least 1"));
        }
        Ok(())
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        q.opt("container", self.container.as_deref());
        if self.follow {
            q.pair("follow", "true");
        }
        q.opt_num("limitBytes", self.limit_bytes);
        if self.previous {
            q.pair("previous", "true");
        }
        q.opt_num("sinceSeconds", self.since_seconds);
        q.opt("sinceTime", self.since_time.as_deref());
        q.opt_num("tailLines", self.tail_lines);
        if self.timestamps {
            q.pair("timestamps", "true");
        }
    }
}

/// Parameters of exec and attach: which streams to open.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachParams {
    /// The container; needed when the Pod has more than one.
    pub container: Option<String>,
    /// Open stdin.
    pub stdin: bool,
    /// Open stdout.
    pub stdout: bool,
    /// Open stderr (not with a TTY).
    pub stderr: bool,
    /// Allocate a TTY.
    pub tty: bool,
}

impl Default for AttachParams {
    fn default() -> Self {
        Self { container: None, stdin: false, stdout: true, stderr: true, tty: false }
    }
}

impl AttachParams {
    /// Rejects combinations the API server refuses.
    pub fn validate(&self) -> Result<(), Error> {
        if !(self.stdin || self.stdout || self.stderr) {
            return Err(invalid("attach streams", "at least one of stdin, stdout and stderr must be open"));
        }
        if self.tty && self.stderr {
            return Err(invalid("stderr", "a TTY merges stderr into stdout; turn stderr off"));
        }
        Ok(())
    }

    pub(crate) fn append_query(&self, q: &mut Query) {
        q.opt("container", self.container.as_deref());
        for (key, on) in
            [("stdin", self.stdin), ("stdout", self.stdout), ("stderr", self.stderr), ("tty", self.tty)]
        {
            if on {
                q.pair(key, "true");
            }
        }
    }
}

fn validate_field_manager(manager: Option<&str>) -> Result<(), Error> {
    match manager {
        Some("") => Err(invalid("fieldManager", "must not be empty")),
        Some(m) if m.len() > 128 => Err(invalid("fieldManager", "must be at most 128 characters")),
        Some(m) if m.chars().any(char::is_control) => Err(invalid("fieldManager", "must be printable")),
        _ => Ok(()),
    }
}

/// A query string under construction.
pub(crate) struct Query {
    inner: form_urlencoded::Serializer<'static, String>,
    empty: bool,
}

impl Query {
    pub(crate) fn new() -> Self {
        Self { inner: form_urlencoded::Serializer::new(String::new()), empty: true }
    }

    pub(crate) fn pair(&mut self, key: &str, value: &str) {
        self.inner.append_pair(key, value);
        self.empty = false;
    }

    pub(crate) fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.pair(key, v);
        }
    }

    pub(crate) fn opt_num<N: std::fmt::Display>(&mut self, key: &str, value: Option<N>) {
        if let Some(v) = value {
            self.pair(key, &v.to_string());
        }
    }

    /// `path` with `?query` appended when there is a query.
    pub(crate) fn finish(mut self, path: &str) -> String {
        if self.empty { path.to_string() } else { format!("{path}?{}", self.inner.finish()) }
    }
}
