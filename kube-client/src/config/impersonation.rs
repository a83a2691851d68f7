//! Whom the client acts as: [`Impersonation`].

use std::collections::BTreeMap;

/// Whom to act as (`Impersonate-User`, `Impersonate-Uid`, `Impersonate-Group` and
/// `Impersonate-Extra-<key>` headers). Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    /// The user.
    pub user: Option<String>,
    /// The user's UID.
    pub uid: Option<String>,
    /// The groups.
    pub groups: Vec<String>,
    /// Extra user fields.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl Impersonation {
    /// Whether nothing is impersonated.
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.uid.is_none() && self.groups.is_empty() && self.extra.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impersonation_is_empty() {
        assert!(Impersonation::default().is_empty());
        assert!(!Impersonation { groups: vec!["g".into()], ..Default::default() }.is_empty());
    }
}
