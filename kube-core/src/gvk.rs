//! Group, version, kind and resource names: `GroupVersion`, `GroupVersionKind`, `GroupVersionResource`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A string that is not a valid group/version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseGroupVersionError {
    /// The string was empty.
    #[error("empty group/version: expected \"v1\" or \"group/version\"")]
    Empty,
    /// The string had the wrong shape.
    #[error("invalid group/version {0:?}: expected \"v1\" or \"group/version\" with non-empty parts")]
    Invalid(String),
}

/// An API group and version, printed as `v1` for the core group and `apps/v1` otherwise.
///
/// ```
/// use kube_core::GroupVersion;
/// let gv: GroupVersion = "apps/v1".parse().unwrap();
/// assert_eq!((gv.group.as_str(), gv.version.as_str()), ("apps", "v1"));
/// assert_eq!("v1".parse::<GroupVersion>().unwrap().to_string(), "v1");
/// assert!("apps/".parse::<GroupVersion>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct GroupVersion {
    /// The API group; empty for the core group.
    pub group: String,
    /// The API version, such as `v1` or `v1beta1`.
    pub version: String,
}

impl GroupVersion {
    /// A group/version from its parts.
    pub fn gv(group: impl Into<String>, version: impl Into<String>) -> Self {
        Self { group: group.into(), version: version.into() }
    }

    /// The `apiVersion` string: `version` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        self.to_string()
    }

    /// This group/version with a kind.
    pub fn with_kind(self, kind: impl Into<String>) -> GroupVersionKind {
        GroupVersionKind { group: self.group, version: self.version, kind: kind.into() }
    }

    /// This group/version with a resource (plural name).
    pub fn with_resource(self, resource: impl Into<String>) -> GroupVersionResource {
        GroupVersionResource { group: self.group, version: self.version, resource: resource.into() }
    }
}

impl FromStr for GroupVersion {
    type Err = ParseGroupVersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ParseGroupVersionError::Empty);
        }
        let valid_part = |p: &str| !p.is_empty() && !p.contains(char::is_whitespace);
        match s.split_once('/') {
            None if valid_part(s) => Ok(Self::gv("", s)),
            Some((g, v)) if valid_part(g) && valid_part(v) && !v.contains('/') => Ok(Self::gv(g, v)),
            _ => Err(ParseGroupVersionError::Invalid(s.to_string())),
        }
    }
}

impl fmt::Display for GroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.version)
        } else {
            write!(f, "{}/{}", self.group, self.version)
        }
    }
}

impl Serialize for GroupVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GroupVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A group, version and kind: the type of an object, as in its `apiVersion` and `kind` fields.
///
/// ```
/// use kube_core::GroupVersionKind;
/// let gvk = GroupVersionKind::from_api_version_kind("apps/v1", "Deployment").unwrap();
/// assert_eq!(gvk.api_version(), "apps/v1");
/// assert_eq!(gvk.to_string(), "apps/v1, Kind=Deployment");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct GroupVersionKind {
    /// The API group; empty for the core group.
    pub group: String,
    /// The API version.
    pub version: String,
    /// The kind, such as `Pod`.
    pub kind: String,
}

impl GroupVersionKind {
    /// A group/version/kind from its parts.
    pub fn gvk(group: impl Into<String>, version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { group: group.into(), version: version.into(), kind: kind.into() }
    }

    /// A group/version/kind from an object's `apiVersion` and `kind`.
    pub fn from_api_version_kind(api_version: &str, kind: &str) -> Result<Self, ParseGroupVersionError> {
        let gv: GroupVersion = api_version.parse()?;
        Ok(gv.with_kind(kind))
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        self.group_version().to_string()
    }

    /// The group/version part.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::gv(&self.group, &self.version)
    }
}

impl fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, Kind={}", self.group_version(), self.kind)
    }
}

/// A group, version and resource: the plural name a resource is served under, as in its URL.
///
/// ```
/// use kube_core::GroupVersionResource;
/// let gvr = GroupVersionResource::gvr("apps", "v1", "deployments");
/// assert_eq!(gvr.to_string(), "apps/v1, Resource=deployments");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct GroupVersionResource {
    /// The API group; empty for the core group.
    pub group: String,
    /// The API version.
    pub version: String,
    /// The resource's plural name, such as `pods`.
    pub resource: String,
}

impl GroupVersionResource {
    /// A group/version/resource from its parts.
    pub fn gvr(group: impl Into<String>, version: impl Into<String>, resource: impl Into<String>) -> Self {
        Self { group: group.into(), version: version.into(), resource: resource.into() }
    }

    /// The `apiVersion` string of this resource's group/version.
    pub fn api_version(&self) -> String {
        self.group_version().to_string()
    }

    /// The group/version part.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::gv(&self.group, &self.version)
    }
}

impl fmt::Display for GroupVersionResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, Resource={}", self.group_version(), self.resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_versions_parse_and_print() {
        for (s, group, version) in
            [("v1", "", "v1"), ("apps/v1", "apps", "v1"), ("a.b.io/v1beta2", "a.b.io", "v1beta2")]
        {
            let gv: GroupVersion = s.parse().unwrap();
            assert_eq!((gv.group.as_str(), gv.version.as_str()), (group, version));
            assert_eq!(gv.to_string(), s);
        }
    }

    #[test]
    fn bad_group_versions_are_errors() {
        assert_eq!("".parse::<GroupVersion>(), Err(ParseGroupVersionError::Empty));
        for s in ["/v1", "apps/", "a/b/c", "apps v1", "/"] {
            let err = s.parse::<GroupVersion>().unwrap_err();
            assert_eq!(err, ParseGroupVersionError::Invalid(s.to_string()), "{s}");
            assert!(err.to_string().contains(s));
        }
    }

    #[test]
    fn gvk_from_api_version() {
        let gvk = GroupVersionKind::from_api_version_kind("v1", "Pod").unwrap();
        assert_eq!(gvk, GroupVersionKind::gvk("", "v1", "Pod"));
        assert_eq!(gvk.api_version(), "v1");
        assert!(GroupVersionKind::from_api_version_kind("a/b/c", "X").is_err());
    }

    #[test]
    fn group_version_serde_is_a_string() {
        let gv: GroupVersion = serde_json::from_str("\"batch/v1\"").unwrap();
        assert_eq!(gv, GroupVersion::gv("batch", "v1"));
        assert_eq!(serde_json::to_string(&gv).unwrap(), "\"batch/v1\"");
        assert!(serde_json::from_str::<GroupVersion>("\"a/\"").is_err());
    }
}
