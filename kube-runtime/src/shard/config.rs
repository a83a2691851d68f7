//! Sharding settings, the labels they name, the key an object is hashed by, and the module's error.

use std::{collections::BTreeMap, time::Duration};

use kube_core::{ObjectMeta, selector::ShardField};

use crate::leader;

/// Label on each member's Lease naming its group.
pub const GROUP_LABEL: &str = "shard.kube.rs/group";

/// What went wrong in sharding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The settings cannot work (a name the API would refuse, timings that break the rules).
    #[error("invalid sharding settings for group {group}: {reason}")]
    InvalidConfig {
        /// The group.
        group: String,
        /// What is wrong.
        reason: String,
    },
    /// The membership or assigner election failed to give up its Lease on shutdown.
    #[error("sharding group {group}: {source}")]
    Lease {
        /// The group.
        group: String,
        /// The election's error.
        #[source]
        source: leader::Error,
    },
}

/// What an object's owner is computed from. Either way, an object with a controller owner
/// reference is hashed by its owner's key, so owned objects land with their owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Key {
    /// `namespace/name` (the default): stable across delete and re-create.
    #[default]
    NamespaceName,
    /// `metadata.uid`: a re-created object may move.
    Uid,
    /// The namespace: every object of a namespace on one replica.
    Namespace,
}

impl Key {
    /// The hash key of the object with this metadata, or `None` when the field it needs is missing.
    pub fn of(self, meta: &ObjectMeta) -> Option<String> {
        let owner = meta.owner_references.iter().flatten().find(|o| o.controller == Some(true));
        let ns = meta.namespace.as_deref().unwrap_or_default();
        match (self, owner) {
            (Key::Uid, Some(o)) => Some(o.uid.clone()),
            (Key::Uid, None) => meta.uid.clone(),
            (Key::NamespaceName, Some(o)) => Some(format!("{ns}/{}", o.name)),
            (Key::NamespaceName, None) => meta.name.as_ref().map(|n| format!("{ns}/{n}")),
            (Key::Namespace, _) => Some(ns.to_string()),
        }
    }
}

/// How objects are assigned to the members of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Assignment {
    /// An elected [`Assigner`](super::Assigner) labels each object with its owner (by the
    /// config's [`Key`]; owned objects follow their owner), and each member watches its label:
    /// works on every apiserver, costs a write per assignment and per move.
    #[default]
    Labels,
    /// The apiserver splits the watches: each member claims slots of the hash space of `field`
    /// in its Lease and watches them through a `shardSelector` (Kubernetes 1.36+, feature gate
    /// `ShardedListAndWatch`). No object is written, there is no assigner, and moves cost a
    /// relist of the new share; owned objects do not follow their owner.
    Server(ShardField),
}

/// Settings of one replica in a shard group.
///
/// Timings are leader election's (each member holds its own Lease the same way): a member that
/// cannot renew within `renew_deadline` stops reconciling and cancels running reconciles, and the
/// others take its objects over once its Lease has not changed for `lease_duration` on their own
/// clocks. So an object is owned by a live replica again within about `lease_duration` plus one
/// `retry_period` after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The group's name: a DNS label (`[a-z0-9-]`, at most 63 characters). It names the Leases
    /// (`<group>-member-<identity>`, `<group>-assigner`) and the object labels
    /// (`shard.kube.rs/<group>`, `drain.shard.kube.rs/<group>`).
    pub group: String,
    /// This replica's identity, unique in the group, written as a label value (at most 63
    /// characters of `[A-Za-z0-9_.-]`, alphanumeric at both ends).
    pub identity: String,
    /// What objects are hashed by (with [`Assignment::Labels`]).
    pub key: Key,
    /// Labels written by an assigner (the default), or the apiserver's shard selectors.
    pub assignment: Assignment,
    /// See [`leader::Config::lease_duration`].
    pub lease_duration: Duration,
    /// See [`leader::Config::renew_deadline`].
    pub renew_deadline: Duration,
    /// See [`leader::Config::retry_period`]; also how often members are listed.
    pub retry_period: Duration,
}

impl Config {
    /// Defaults for `group`: leader election's timings (15 s, 10 s, 2 s), its default identity,
    /// objects hashed by namespace and name.
    pub fn new(group: &str) -> Self {
        let l = leader::Config::new(group);
        Self {
            group: group.to_string(),
            identity: l.identity,
            key: Key::default(),
            assignment: Assignment::default(),
            lease_duration: l.lease_duration,
            renew_deadline: l.renew_deadline,
            retry_period: l.retry_period,
        }
    }

    /// Sets the identity.
    #[must_use]
    pub fn identity(mut self, identity: &str) -> Self {
        self.identity = identity.to_string();
        self
    }

    /// Sets what objects are hashed by.
    #[must_use]
    pub fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// Lets the apiserver split the watches by the hash of `field` (see
    /// [`Assignment::Server`]); check first that it serves shard selectors, with
    /// [`Shard::server_side_supported`](super::Shard::server_side_supported).
    #[must_use]
    pub fn server_side(mut self, field: ShardField) -> Self {
        self.assignment = Assignment::Server(field);
        self
    }

    /// Sets the lease duration, renew deadline and retry period.
    #[must_use]
    pub fn timing(
        mut self,
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Self {
        self.lease_duration = lease_duration;
        self.renew_deadline = renew_deadline;
        self.retry_period = retry_period;
        self
    }

    /// Checks the names and the timings (leader election's rules).
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |reason: String| Err(Error::InvalidConfig { group: self.group.clone(), reason });
        let g = &self.group;
        if g.is_empty()
            || g.len() > 63
            || !g.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || g.starts_with('-')
            || g.ends_with('-')
        {
            return fail("the group must be a DNS label: 1-63 characters of a-z, 0-9 and '-'".into());
        }
        let id = &self.identity;
        let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if id.len() > 63
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || !edge_ok(id.chars().next())
            || !edge_ok(id.chars().last())
        {
            return fail(format!(
                "the identity {id:?} must be a label value: 1-63 characters of A-Z, a-z, 0-9, '-', '_' and '.', alphanumeric at both ends"
            ));
        }
        self.election(&self.member_lease())
            .validate()
            .map_err(|source| Error::Lease { group: g.clone(), source })
    }

    /// The label naming an object's owner: `shard.kube.rs/<group>`.
    pub fn owner_label(&self) -> String {
        format!("shard.kube.rs/{}", self.group)
    }

    /// The label asking an object's owner to let it go: `drain.shard.kube.rs/<group>`.
    pub fn drain_label(&self) -> String {
        format!("drain.shard.kube.rs/{}", self.group)
    }

    /// This member's Lease: `<group>-member-<identity>`, lower-cased, other characters as `-`.
    pub fn member_lease(&self) -> String {
        let id: String =
            self.identity
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
        format!("{}-member-{id}", self.group)
    }

    /// The Lease of the election of the group's assigner for objects of `kind`.
    pub(crate) fn assigner_lease(&self, kind: &str) -> String {
        format!("{}-assigner-{}", self.group, kind.to_ascii_lowercase())
    }

    /// Leader election settings for one of the group's Leases.
    pub(crate) fn election(&self, lease: &str) -> leader::Config {
        let mut c = leader::Config::new(lease).identity(&self.identity).timing(
            self.lease_duration,
            self.renew_deadline,
            self.retry_period,
        );
        c.labels = BTreeMap::from([(GROUP_LABEL.to_string(), self.group.clone())]);
        c
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    #[test]
    fn names_follow_the_group_and_identity() {
        let c = Config::new("foo-ctl").identity("host-1_ab");
        c.validate().unwrap();
        assert_eq!(c.owner_label(), "shard.kube.rs/foo-ctl");
        assert_eq!(c.drain_label(), "drain.shard.kube.rs/foo-ctl");
        assert_eq!(c.member_lease(), "foo-ctl-member-host-1-ab");
        assert_eq!(c.assigner_lease("Foo"), "foo-ctl-assigner-foo");
        // The default identity (hostname, `_`, hex) is a valid label value.
        Config::new("g").validate().unwrap();
    }

    #[test]
    fn bad_names_and_timings_are_refused() {
        let msg = |c: Config| c.validate().unwrap_err().to_string();
        assert!(msg(Config::new("Foo")).contains("DNS label"));
        assert!(msg(Config::new("")).contains("DNS label"));
        assert!(msg(Config::new("g").identity("-x")).contains("label value"));
        assert!(msg(Config::new("g").identity(&"x".repeat(64))).contains("label value"));
        let slow =
            Config::new("g").timing(Duration::from_secs(2), Duration::from_secs(3), Duration::from_secs(1));
        assert!(msg(slow).contains("greater than the renew deadline"));
    }

    #[test]
    fn owned_objects_hash_like_their_owner() {
        let owner = ObjectMeta {
            name: Some("web".into()),
            namespace: Some("ns".into()),
            uid: Some("u-1".into()),
            ..ObjectMeta::default()
        };
        let owned = ObjectMeta {
            name: Some("web-config".into()),
            namespace: Some("ns".into()),
            uid: Some("u-2".into()),
            owner_references: Some(vec![OwnerReference {
                controller: Some(true),
                name: "web".into(),
                uid: "u-1".into(),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        };
        for key in [Key::NamespaceName, Key::Uid, Key::Namespace] {
            assert_eq!(key.of(&owner), key.of(&owned), "{key:?}");
        }
        assert_eq!(Key::NamespaceName.of(&owner).as_deref(), Some("ns/web"));
        assert_eq!(Key::Uid.of(&owner).as_deref(), Some("u-1"));
        assert_eq!(Key::Uid.of(&ObjectMeta::default()), None);
    }
}
