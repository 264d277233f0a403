//! API tokens on the wire: `Authorization: Bearer vigil_…` (RFC 6750).
//!
//! A token is `vigil_` and 256 random bits in hex; the database keeps only
//! the SHA-256 of the whole string (a secret that random needs no slow
//! hash, and a lookup by hash compares nothing secret byte by byte). Every
//! presented token is hashed and looked up the same way whatever its shape,
//! so an answer's timing says nothing about which tokens exist. Wrong
//! tokens are counted per client network (see
//! [`throttle::token_check`]); past the budget the network gets 429 before
//! any lookup, right token or not, so guessing has no oracle.

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use vigil_policy::api::UnauthenticatedReason;
use vigil_policy::tokens::TOKEN_PREFIX;

use crate::auth::throttle::{self, Decision};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::tokens::{self, Token};

/// `last_used_at` is written at most this often per token.
pub const LAST_USED_EVERY_MS: i64 = 60_000;

/// Longest `Authorization` value read; a real token is 70 characters.
const PRESENTED_MAX: usize = 512;

/// A new secret: `vigil_` and 256 random bits in hex.
pub fn new_secret() -> String {
    format!("{TOKEN_PREFIX}{}", crate::random::random_hex(32))
}

/// The stored form of a secret: its SHA-256, hex.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The credential of a request that carries `Authorization: Bearer …`
/// (the scheme in any case, RFC 9110), whatever follows: such a request is
/// a token's, and its cookies are not read; on the paths tokens may call,
/// it needs no CSRF header (no browser sends one on its own). `None`
/// without one. The scheme is read from the bytes, so a bearer header
/// whose credential is not visible ASCII is still a token's (an invalid
/// one, presented as ""), never a request whose cookies count.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(at) => (&value[..at], &value[at + 1..]),
        None => (value, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    Some(std::str::from_utf8(rest).map_or("", str::trim))
}

/// The live token behind `secret`, presented from `ip`; 401
/// `invalid_token` for an unknown, expired or malformed one, 429 with
/// Retry-After once this network's wrong tokens spent the budget. Records
/// the use (at most once a minute per token).
pub async fn authenticate(
    state: &AppState,
    secret: &str,
    ip: &str,
    now: OffsetDateTime,
) -> Result<Token, ApiError> {
    let key = throttle::token_key(ip);
    if let Decision::Refused { retry_after_secs } =
        throttle::token_check(&state.store, &key, now).await?
    {
        return Err(ApiError::TooManyAttempts { retry_after_secs });
    }
    let secret = if secret.len() > PRESENTED_MAX {
        ""
    } else {
        secret
    };
    let found = tokens::by_hash(&state.store, &hash(secret))
        .await?
        .filter(|f| f.creator_may_act && f.token.expires_at.is_none_or(|at| at > now))
        .map(|f| f.token);
    let Some(token) = found else {
        tracing::info!(
            "refused: an API token that is unknown, expired or revoked, or whose creator was deactivated or no longer manages security"
        );
        return Err(
            match throttle::token_failed(&state.store, &key, now).await? {
                Decision::Allowed => ApiError::Unauthenticated(UnauthenticatedReason::InvalidToken),
                Decision::Refused { retry_after_secs } => {
                    ApiError::TooManyAttempts { retry_after_secs }
                }
            },
        );
    };
    let due = token
        .last_used_at
        .is_none_or(|at| crate::store::to_ms(now) - crate::store::to_ms(at) >= LAST_USED_EVERY_MS);
    if due {
        tokens::touch(&state.store, &token.id, now, LAST_USED_EVERY_MS).await?;
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn secrets_are_prefixed_random_and_hashed_to_hex() {
        let a = new_secret();
        let b = new_secret();
        assert!(a.starts_with("vigil_") && a.len() == 6 + 64, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(hash(&a), hash(&a));
    }

    #[test]
    fn only_the_bearer_scheme_is_a_token() {
        let cases = [
            ("Bearer vigil_x", Some("vigil_x")),
            ("bearer  vigil_x ", Some("vigil_x")),
            ("BEARER", Some("")),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearervigil_x", None),
        ];
        for (value, expected) in cases {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(presented(&h), expected, "{value}");
        }
        assert_eq!(presented(&HeaderMap::new()), None);
        // Bytes that are not visible ASCII: still a bearer header, with a
        // credential that matches nothing.
        for bytes in [&b"Bearer vigil_\xff\xfe"[..], b"bEaReR caf\xc3\xa9"] {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_bytes(bytes).unwrap());
            assert!(presented(&h).is_some(), "{bytes:?}");
        }
    }
}
