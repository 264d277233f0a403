//! Logout tokens (OpenID Connect Back-Channel Logout 1.0, §2.4 and §2.6):
//! a JWS signed by the provider with one of its keys and an algorithm it
//! advertises for id tokens (never `none`, never a shared secret), with
//! `iss`, `aud`, `iat`, `exp`, `jti`, the back-channel logout event, `sub`
//! or `sid`, and no `nonce`. Checking each `jti` once is the caller's (it
//! needs the database).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JwsSigningAlgorithm};
use serde::Deserialize;
use serde_json::Value;

/// The event member a logout token must carry.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Oldest `iat` accepted, and how long a `jti` is remembered.
pub const MAX_AGE_SECS: i64 = 300;

/// Clock difference tolerated between Vigil and the provider.
pub const SKEW_SECS: i64 = 60;

#[derive(Deserialize)]
struct Header {
    // An algorithm name openidconnect does not know fails to parse: refused.
    alg: CoreJwsSigningAlgorithm,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
    iat: i64,
    exp: i64,
    jti: String,
    sub: Option<String>,
    sid: Option<String>,
    events: serde_json::Map<String, Value>,
    nonce: Option<Value>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(s) => vec![s],
        Aud::Many(v) => v,
    })
}

/// A logout token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    /// Its id, to accept once.
    pub jti: String,
    /// When it was issued (Unix seconds).
    pub iat: i64,
    /// Whose sessions.
    pub sub: Option<String>,
    /// Which provider session.
    pub sid: Option<String>,
}

/// Why a logout token was refused (logged, never sent back in detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoutError {
    /// Not a JWS with a readable header and claims.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// No key of the provider's has the token's `kid`.
    #[error("signed with a key the provider does not list")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A claim or header breaks the rules.
    #[error("{0}")]
    Invalid(&'static str),
}

/// The claims without checking anything: which issuer and audiences the
/// token names, to find the connection whose keys then check it.
pub fn peek_issuer(token: &str) -> Option<(String, Vec<String>)> {
    #[derive(Deserialize)]
    struct Peek {
        iss: String,
        #[serde(deserialize_with = "one_or_many")]
        aud: Vec<String>,
    }
    let payload = token.split('.').nth(1)?;
    let p: Peek = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    Some((p.iss, p.aud))
}

/// What a token is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The provider's keys.
    pub keys: &'a CoreJsonWebKeySet,
    /// Algorithms the provider advertises for id tokens.
    pub algs: &'a [CoreJwsSigningAlgorithm],
    /// The issuer, exactly.
    pub issuer: &'a str,
    /// Vigil's client id at the provider.
    pub client_id: &'a str,
    /// Now, in Unix seconds.
    pub now: i64,
}

/// Checks a logout token.
pub fn verify(token: &str, expect: Expect<'_>) -> Result<LogoutToken, LogoutError> {
    use LogoutError::{BadSignature, Invalid, Malformed, UnknownKey};
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed("not a signed JWT"));
    };
    let header: Header = serde_json::from_slice(&B64.decode(h).map_err(|_| Malformed("header"))?)
        .map_err(|_| Malformed("header"))?;
    let signature = B64.decode(s).map_err(|_| Malformed("signature"))?;
    if header.alg == CoreJwsSigningAlgorithm::None
        || header.alg.uses_shared_secret()
        || !expect.algs.contains(&header.alg)
    {
        return Err(Invalid(
            "an algorithm the provider does not use for id tokens",
        ));
    }
    if header.crit.is_some() || header.cty.is_some() {
        return Err(Invalid("crit or cty in the header"));
    }
    if let Some(typ) = header.typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        if typ != "logout+jwt" && typ != "jwt" {
            return Err(Invalid("typ is neither logout+jwt nor jwt"));
        }
    }
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    let candidates: Vec<_> = expect
        .keys
        .keys()
        .iter()
        .filter(|k| match (&header.kid, k.key_id()) {
            (Some(kid), Some(key)) => kid.as_str() == key.as_str(),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .collect();
    if candidates.is_empty() {
        return Err(UnknownKey);
    }
    if !candidates.iter().any(|k| {
        k.verify_signature(&header.alg, signing_input, &signature)
            .is_ok()
    }) {
        return Err(BadSignature);
    }
    let c: Claims = serde_json::from_slice(&B64.decode(p).map_err(|_| Malformed("claims"))?)
        .map_err(|_| Malformed("claims (iss, aud, iat, exp, jti and events are required)"))?;
    if c.iss != expect.issuer {
        return Err(Invalid("iss is not the connection's issuer"));
    }
    if !c.aud.iter().any(|a| a == expect.client_id) {
        return Err(Invalid("aud does not name Vigil's client id"));
    }
    if c.iat > expect.now + SKEW_SECS || c.iat < expect.now - MAX_AGE_SECS {
        return Err(Invalid("iat is too old or in the future"));
    }
    if c.exp <= expect.now - SKEW_SECS {
        return Err(Invalid("expired"));
    }
    if c.sub.is_none() && c.sid.is_none() {
        return Err(Invalid("neither sub nor sid"));
    }
    if !c.events.get(EVENT).is_some_and(Value::is_object) {
        return Err(Invalid("no back-channel logout event"));
    }
    if c.nonce.is_some() {
        return Err(Invalid("a nonce (logout tokens must not carry one)"));
    }
    if c.jti.is_empty() {
        return Err(Invalid("empty jti"));
    }
    Ok(LogoutToken {
        jti: c.jti,
        iat: c.iat,
        sub: c.sub,
        sid: c.sid,
    })
}
