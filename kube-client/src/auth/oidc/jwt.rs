//! Reading the expiry of an id-token (a JWT) without checking its signature.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// The `exp` claim of a JWT, read without checking its signature; `None` when the token is not
/// a JWT or has no numeric `exp`.
pub(super) fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    if !exp.is_finite() || exp < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(exp).ok()?)
}

#[cfg(test)]
mod tests {
    use super::super::test_issuer::jwt;
    use super::*;

    #[test]
    fn jwt_expiry_is_read_from_the_payload() {
        assert_eq!(
            jwt_expiry(&jwt(Some(2_000_000_000), "a")),
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        assert_eq!(jwt_expiry(&jwt(Some(1), "a")), Some(UNIX_EPOCH + Duration::from_secs(1)));
        // padded base64 and fractional exp are tolerated
        let padded =
            format!("e30.{}.x", base64::engine::general_purpose::URL_SAFE.encode(r#"{"exp": 1700000000.5}"#));
        assert_eq!(jwt_expiry(&padded), Some(UNIX_EPOCH + Duration::from_secs_f64(1_700_000_000.5)));
        for garbage in [
            "opaque",
            "a.b",
            "a.b.c.d",
            "e30.!!!.x",
            "e30.bm90IGpzb24.x", // "not json"
            &jwt(None, "no-exp"),
            &format!(
                "e30.{}.x",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":"soon"}"#)
            ),
            &format!("e30.{}.x", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"exp":-5}"#)),
        ] {
            assert_eq!(jwt_expiry(garbage), None, "{garbage}");
        }
    }
}
