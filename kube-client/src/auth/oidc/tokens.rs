//! The OIDC provider's current tokens, and whether at a given time the id-token is used as it
//! is, refreshed first, or cannot be had.

use std::time::{Duration, SystemTime};

use super::jwt::jwt_expiry;
use super::{OidcConfig, OidcError};
use crate::config::SecretString;

/// The current tokens.
#[derive(Clone)]
pub(super) struct Tokens {
    pub(super) id_token: Option<SecretString>,
    pub(super) refresh_token: Option<SecretString>,
    /// Set by [`OidcAuth::invalidate`](super::OidcAuth::invalidate): refresh even if `exp` says
    /// the token is valid.
    pub(super) stale: bool,
    /// The issuer handed out this id-token: use it even if its expiry cannot be read.
    from_issuer: bool,
}

/// What to do with the current tokens.
pub(super) enum Decision {
    Use(SecretString),
    Refresh,
    Fail(OidcError),
}

impl Tokens {
    /// The initial tokens of `config`; empty strings count as absent.
    pub(super) fn new(config: &OidcConfig) -> Self {
        Tokens {
            id_token: config.id_token.clone().filter(|t| !t.is_empty()),
            refresh_token: config.refresh_token.clone().filter(|t| !t.is_empty()),
            stale: false,
            from_issuer: false,
        }
    }

    /// What to do at `now`, counting id-tokens as expired `skew` before their `exp`.
    pub(super) fn decide(&self, now: SystemTime, skew: Duration) -> Decision {
        let can_refresh = self.refresh_token.is_some();
        let Some(id_token) = &self.id_token else {
            return if can_refresh { Decision::Refresh } else { Decision::Fail(OidcError::NoToken) };
        };
        if self.stale {
            // nothing better to offer without a refresh-token
            return if can_refresh { Decision::Refresh } else { Decision::Use(id_token.clone()) };
        }
        match jwt_expiry(id_token.expose()) {
            Some(exp) if exp.checked_sub(skew).is_some_and(|limit| now < limit) => {
                Decision::Use(id_token.clone())
            }
            Some(_) if can_refresh => Decision::Refresh,
            Some(_) => Decision::Fail(OidcError::Expired),
            None if can_refresh && !self.from_issuer => Decision::Refresh,
            None => Decision::Use(id_token.clone()),
        }
    }

    /// Takes what the issuer answered: the new id-token, and the new refresh-token when it sent
    /// one (else the current one is kept).
    pub(super) fn refreshed(&mut self, id_token: SecretString, refresh_token: Option<SecretString>) {
        self.id_token = Some(id_token);
        if let Some(refresh_token) = refresh_token {
            self.refresh_token = Some(refresh_token);
        }
        self.stale = false;
        self.from_issuer = true;
    }
}
