//! The CAEP format of a webhook endpoint: each `session.ended` as an
//! OpenID CAEP 1.0 `session-revoked` Security Event Token (RFC 8417, in
//! the profile of OpenID Shared Signals 1.0 and the CAEP interoperability
//! profile: RS256 with a 2048-bit key, explicit `typ` `secevent+jwt`, one
//! event, `sub_id` in the `email` format, no `sub`, no `exp`), pushed as
//! RFC 8935 says (POST `application/secevent+jwt`, 202 when accepted).
//!
//! The SETs go through the same outbox, retries, delivery log and
//! dispatcher as Standard Webhooks deliveries: the event's stored body is
//! turned into the SET's claims and signed at each attempt (`jti` is the
//! event id, the same on every attempt).
//!
//! Signing keys (`caep_signing_keys`) are made on first need (the first
//! CAEP endpoint added, the JWKS asked for, a SET to sign), one generation
//! at a time: in a process one request makes it while the others wait for
//! it, and generation 1 is inserted with ON CONFLICT DO NOTHING, so
//! replicas making it at once keep one. The newest signs; the newest two
//! are published at [`JWKS_PATH`]. `vigil rotate-caep-key` adds the next
//! generation. The private key stays in the database: no API returns it,
//! and [`SigningKey`]'s Debug hides it.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::random::random_hex;
use crate::store::webhooks::{insert_signing_key, signing_keys, SigningKeyRow};
use crate::store::{Result, Store, StoreError};

/// The CAEP 1.0 event type the SETs carry.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// Where the signing keys are published (a JWK Set).
pub const JWKS_PATH: &str = "/api/caep/jwks.json";

/// The media type of a pushed SET (RFC 8935).
pub const CONTENT_TYPE: &str = "application/secevent+jwt";

/// RSA modulus size (the CAEP interoperability profile asks for at least
/// 2048 bits).
const KEY_BITS: usize = 2048;

/// How many generations the JWKS publishes: the current key and the one
/// before it.
const PUBLISHED: i64 = 2;

/// A JWK Set (RFC 7517).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Jwks {
    /// The keys, newest first.
    pub keys: Vec<Jwk>,
}

/// One public RSA key.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// `RSA`.
    pub kty: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `RS256`.
    pub alg: String,
    /// The key's id: a SET's header names it.
    pub kid: String,
    /// Modulus, base64url.
    pub n: String,
    /// Exponent, base64url.
    pub e: String,
}

/// A private signing key, parsed. Its Debug shows the `kid` only.
pub struct SigningKey {
    kid: String,
    key: CoreRsaPrivateSigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_row(row: &SigningKeyRow) -> Result<SigningKey> {
        let key = CoreRsaPrivateSigningKey::from_pem(
            &row.private_key,
            Some(JsonWebKeyId::new(row.kid.clone())),
        )
        .map_err(|_| StoreError::Corrupt(format!("CAEP signing key {} is unreadable", row.kid)))?;
        Ok(SigningKey {
            kid: row.kid.clone(),
            key,
        })
    }

    /// `claims` as a compact JWS: header `{"alg":"RS256","typ":"secevent+jwt","kid"}`.
    pub fn sign(&self, claims: &Value) -> Option<String> {
        let header = json!({"alg": "RS256", "typ": "secevent+jwt", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
            )
            .ok()?;
        Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// A new key of `generation`, made on a blocking thread (RSA key
/// generation takes a while).
async fn generate(generation: i64) -> Result<SigningKeyRow> {
    let made = tokio::task::spawn_blocking(move || {
        let private =
            rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(|e| e.to_string())?;
        let pem = private
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?
            .to_string();
        let kid = random_hex(16);
        let public = private.to_public_key();
        let jwk = Jwk {
            kty: "RSA".into(),
            use_: "sig".into(),
            alg: "RS256".into(),
            kid: kid.clone(),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        };
        Ok::<_, String>(SigningKeyRow {
            generation,
            kid,
            private_key: pem,
            public_jwk: serde_json::to_string(&jwk).map_err(|e| e.to_string())?,
        })
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    made.map_err(|e| StoreError::Corrupt(format!("making a CAEP signing key failed: {e}")))
}

/// Guards making the first key in this process: requests that find no key
/// at once make one between them, not one each (2048-bit RSA takes CPU).
/// Other replicas are kept to one by the ON CONFLICT insert.
static MAKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The newest `n` signing keys, newest first, the first made if there is
/// none yet (replicas doing this at once keep exactly one: generation 1 is
/// stored once).
async fn newest_keys(store: &Store, now: OffsetDateTime, n: i64) -> Result<Vec<SigningKeyRow>> {
    let keys = signing_keys(store, n).await?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    let _making = MAKING.lock().await;
    let keys = signing_keys(store, n).await?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    let key = generate(1).await?;
    if insert_signing_key(store, &key, now).await? {
        tracing::info!(kid = %key.kid, "made the CAEP signing key");
        return Ok(vec![key]);
    }
    // Another replica made it first.
    signing_keys(store, n).await
}

/// The newest signing key, made first if there is none (replicas doing
/// this at once keep exactly one).
pub async fn ensure_key(store: &Store, now: OffsetDateTime) -> Result<SigningKeyRow> {
    newest_keys(store, now, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("no CAEP signing key".into()))
}

/// Adds the next generation of signing key, which signs from now on (the
/// previous one stays published); its `kid`. Two rotations at once add
/// one generation.
pub async fn rotate(store: &Store, now: OffsetDateTime) -> Result<String> {
    let next = signing_keys(store, 1)
        .await?
        .first()
        .map_or(1, |k| k.generation + 1);
    let key = generate(next).await?;
    if insert_signing_key(store, &key, now).await? {
        tracing::info!(kid = %key.kid, generation = next, "rotated the CAEP signing key");
        return Ok(key.kid);
    }
    Ok(signing_keys(store, 1)
        .await?
        .first()
        .map(|k| k.kid.clone())
        .unwrap_or_default())
}

/// The published keys, newest first (made first if there is none yet).
pub async fn jwks(store: &Store, now: OffsetDateTime) -> Result<Jwks> {
    let keys = newest_keys(store, now, PUBLISHED)
        .await?
        .iter()
        .map(|k| {
            serde_json::from_str::<Jwk>(&k.public_jwk)
                .map_err(|_| StoreError::Corrupt(format!("CAEP key {} is unreadable", k.kid)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Jwks { keys })
}

/// The key that signs now, parsed once per generation.
#[derive(Debug, Clone, Default)]
pub struct KeyCache(Arc<tokio::sync::Mutex<Option<Arc<SigningKey>>>>);

impl KeyCache {
    /// The newest key (made first if there is none).
    pub async fn current(&self, store: &Store, now: OffsetDateTime) -> Result<Arc<SigningKey>> {
        let row = ensure_key(store, now).await?;
        let mut cached = self.0.lock().await;
        if let Some(k) = cached.as_ref().filter(|k| k.kid == row.kid) {
            return Ok(k.clone());
        }
        let key = Arc::new(SigningKey::from_row(&row)?);
        *cached = Some(key.clone());
        Ok(key)
    }
}

/// The claims of the `session-revoked` SET for a stored `session.ended`
/// body (`{"type","timestamp","data"}`), for one endpoint (`aud`: its URL)
/// at `iat`. `None` when the body is not a `session.ended` event.
pub fn session_revoked(
    payload: &str,
    event_id: &str,
    issuer: &str,
    audience: &str,
    iat: i64,
) -> Option<Value> {
    let body: Value = serde_json::from_str(payload).ok()?;
    if body["type"] != "session.ended" {
        return None;
    }
    let data = &body["data"];
    let email = data["user"]["email"].as_str()?;
    let ended = data["ended_at"]
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())?;
    let reason = data["reason"].as_str().unwrap_or_default();
    let (initiator, words) = match reason {
        "logged_out" => (Some("user"), "signed out"),
        "idle_timeout" => (Some("policy"), "idle timeout"),
        "absolute_timeout" => (Some("policy"), "absolute timeout"),
        _ => (None, "revoked"),
    };
    let mut event = json!({
        "event_timestamp": ended.unix_timestamp(),
        "reason_admin": {
            "en": format!(
                "Vigil session {} ended: {words}",
                data["session_id"].as_str().unwrap_or_default()
            ),
        },
    });
    if let Some(i) = initiator {
        event["initiating_entity"] = json!(i);
    }
    Some(json!({
        "iss": issuer,
        "jti": event_id,
        "iat": iat,
        "aud": audience,
        "sub_id": {"format": "email", "email": email},
        "events": { SESSION_REVOKED: event },
    }))
}

/// What an RFC 8935 receiver's error answer says (`{"err","description"}`),
/// for the delivery log.
pub fn receiver_error(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let err = v["err"].as_str()?;
    Some(match v["description"].as_str() {
        Some(d) => format!("{err}: {d}"),
        None => err.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ended_becomes_a_session_revoked_set() {
        let payload = json!({
            "type": "session.ended",
            "timestamp": "2026-01-05T09:30:00Z",
            "data": {"session_id": "s1", "user": {"id": 2, "email": "a@b.test"},
                     "audience": "agents", "reason": "idle_timeout",
                     "ended_at": "2026-01-05T09:30:00Z"},
        })
        .to_string();
        let c = session_revoked(
            &payload,
            "evt_1",
            "https://v.example",
            "https://r.example/caep",
            7,
        )
        .unwrap();
        assert_eq!(c["jti"], "evt_1");
        assert_eq!(c["iat"], 7);
        assert_eq!(c["aud"], "https://r.example/caep");
        assert_eq!(c["sub_id"], json!({"format": "email", "email": "a@b.test"}));
        assert!(c.get("sub").is_none() && c.get("exp").is_none());
        let e = &c["events"][SESSION_REVOKED];
        assert_eq!(e["event_timestamp"], 1_767_605_400);
        assert_eq!(e["initiating_entity"], "policy");
        assert!(e["reason_admin"]["en"].as_str().unwrap().contains("s1"));
        assert_eq!(c["events"].as_object().unwrap().len(), 1);
        let other = payload.replace("session.ended", "session.started");
        assert!(session_revoked(&other, "evt_1", "i", "a", 7).is_none());
    }

    #[test]
    fn a_public_key_stored_as_json_before_the_typed_jwk_still_loads() {
        // As `generate` stored it with `json!` (members sorted).
        let old = r#"{"alg":"RS256","e":"AQAB","kid":"k1","kty":"RSA","n":"xyz","use":"sig"}"#;
        let jwk: Jwk = serde_json::from_str(old).unwrap();
        assert_eq!(
            serde_json::to_value(&jwk).unwrap(),
            serde_json::from_str::<Value>(old).unwrap()
        );
    }

    #[test]
    fn a_receivers_error_is_read() {
        assert_eq!(
            receiver_error(br#"{"err":"invalid_key","description":"kid unknown"}"#).as_deref(),
            Some("invalid_key: kid unknown")
        );
        assert!(receiver_error(b"nope").is_none());
    }
}
