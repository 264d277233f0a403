//! The id token checks of [`check_id_token`], with tokens a provider could
//! never be made to issue: signed by test RSA keys, or not signed at all.
//! (The integration tests drive a real provider, which only issues good
//! tokens.)

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1v15;
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;
use time::macros::datetime;
use vigil_policy::sso::PasswordSignIn;
use vigil_policy::Audience;

use super::*;

const ISSUER: &str = "https://idp.example.com";
const CLIENT_ID: &str = "vigil";
const CLIENT_SECRET: &str = "a-client-secret-of-thirty-two-bytes!";
const NONCE: &str = "the-nonce-of-this-sign-in";
const KID: &str = "key-1";
const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

/// The provider's key and another. 1024 bits: openidconnect accepts them,
/// and they take a fraction of the time of 2048-bit keys in a debug build;
/// what is tested is which key signed, not how strong it is.
fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        (
            RsaPrivateKey::new(&mut rng, 1024).unwrap(),
            RsaPrivateKey::new(&mut rng, 1024).unwrap(),
        )
    })
}

fn providers_key() -> &'static RsaPrivateKey {
    &keys().0
}

fn another_key() -> &'static RsaPrivateKey {
    &keys().1
}

fn jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
        "n": B64.encode(key.n().to_bytes_be()),
        "e": B64.encode(key.e().to_bytes_be()),
    })
}

/// A provider that advertises `algs` for id tokens and lists `keys`, as
/// [`discover`] would have stored it.
fn provider(algs: &[&str], keys: &[Value]) -> Provider {
    let metadata = json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/auth"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
    });
    Provider::of(Connection {
        id: "conn-1".into(),
        account_id: 1,
        name: "Example".into(),
        issuer: ISSUER.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET.to_owned()),
        audiences: vec![Audience::Agents],
        password_sign_in: PasswordSignIn::default(),
        jit_requesters: false,
        provider: metadata.to_string(),
        jwks: json!({ "keys": keys }).to_string(),
        jwks_fetched_at: NOW,
    })
    .unwrap()
}

/// The usual provider: RS256 only, its one key.
fn rs256_provider() -> Provider {
    provider(&["RS256"], &[jwk(providers_key(), KID)])
}

/// `base` with `overrides` merged in; `null` removes a member.
fn merged(mut base: Value, overrides: &Value) -> Value {
    if let Some(overrides) = overrides.as_object() {
        for (name, value) in overrides {
            if value.is_null() {
                base.as_object_mut().unwrap().remove(name);
            } else {
                base[name] = value.clone();
            }
        }
    }
    base
}

/// The claims of a good id token at [`NOW`], with `overrides`.
fn claims(overrides: Value) -> Value {
    let now = NOW.unix_timestamp();
    merged(
        json!({
            "iss": ISSUER,
            "sub": "alice",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now - 5,
            "nonce": NONCE,
            "sid": "provider-session-1",
            "email": "alice@example.com",
            "email_verified": true,
            "name": "Alice",
        }),
        &overrides,
    )
}

/// How a test token is signed.
#[derive(Debug, Clone, Copy)]
enum Sign {
    /// RS256 with this key, whatever the header's `alg` says.
    Rsa(&'static RsaPrivateKey),
    /// HS256 with the client secret as the key.
    ClientSecret,
    /// No signature: the token ends with its second dot.
    Nothing,
}

/// A compact JWS of `claims`. The header is `{"alg":"RS256","kid":KID,
/// "typ":"JWT"}` with `header` merged in.
fn token(header: Value, claims: &Value, sign: Sign) -> String {
    let header = merged(json!({"alg": "RS256", "kid": KID, "typ": "JWT"}), &header);
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = match sign {
        Sign::Rsa(key) => pkcs1v15::SigningKey::<Sha256>::new(key.clone())
            .sign(input.as_bytes())
            .to_vec(),
        Sign::ClientSecret => {
            let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Sign::Nothing => Vec::new(),
    };
    format!("{input}.{}", B64.encode(signature))
}

/// A token the provider signed properly, with these claims.
fn signed(claims: &Value) -> String {
    token(json!({}), claims, Sign::Rsa(providers_key()))
}

fn check(provider: &Provider, raw: &str) -> Result<Claims, Failure> {
    check_id_token(provider, raw, NONCE, NOW)
}

/// What is wrong, unless `raw` is refused with `reason` and a detail
/// containing `detail` (so a token refused for another fault does not
/// count).
fn misjudged(
    case: &str,
    provider: &Provider,
    raw: &str,
    reason: &str,
    detail: &str,
) -> Option<String> {
    match check(provider, raw) {
        Ok(claims) => Some(format!("{case}: accepted, as {claims:?}")),
        Err(f) if f.reason != reason || !f.detail.contains(detail) => Some(format!(
            "{case}: refused as {f}, not {reason} saying {detail:?}"
        )),
        Err(_) => None,
    }
}

/// Fails naming every case that went wrong, not just the first.
#[track_caller]
fn assert_none_misjudged(wrong: Vec<String>) {
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_good_id_token_is_accepted_and_read() {
    let claims = check(&rs256_provider(), &signed(&claims(json!({})))).unwrap();
    assert_eq!(
        claims,
        Claims {
            sub: "alice".into(),
            sid: Some("provider-session-1".into()),
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
            name: Some("Alice".into()),
            auth_time: None,
            issued_at: NOW.unix_timestamp() - 5,
        }
    );
}

#[test]
fn good_id_tokens_in_their_other_forms_are_accepted() {
    let now = NOW.unix_timestamp();
    let provider = rs256_provider();
    let mut wrong = Vec::new();
    for (case, header, overrides) in [
        (
            "aud as a list of Vigil alone",
            json!({}),
            json!({"aud": [CLIENT_ID]}),
        ),
        ("azp naming Vigil", json!({}), json!({"azp": CLIENT_ID})),
        (
            "iat within a minute ahead",
            json!({}),
            json!({"iat": now + 60}),
        ),
        ("exp a second ahead", json!({}), json!({"exp": now + 1})),
        (
            "only the required claims",
            json!({}),
            json!({"sid": null, "email": null, "email_verified": null, "name": null}),
        ),
        // OpenID Connect Core 10.1: a kid is needed only among several keys.
        ("no kid", json!({"kid": null}), json!({})),
        ("no typ", json!({"typ": null}), json!({})),
    ] {
        let raw = token(header, &claims(overrides), Sign::Rsa(providers_key()));
        if let Err(f) = check(&provider, &raw) {
            wrong.push(format!("{case}: refused as {f}"));
        }
    }
    assert_none_misjudged(wrong);
}

#[test]
fn id_tokens_not_signed_by_the_providers_key_are_refused() {
    let claims = claims(json!({}));
    let invalid = "id_token_invalid";
    let mut wrong = Vec::new();
    // The provider advertises only RS256; and one that also (wrongly)
    // advertises HS256 and none gets no further: Vigil takes only the
    // asymmetric algorithms among those advertised.
    for provider in [
        rs256_provider(),
        provider(&["RS256", "HS256", "none"], &[jwk(providers_key(), KID)]),
    ] {
        let advertised = provider.metadata.id_token_signing_alg_values_supported();
        for (case, header, sign, detail) in [
            (
                "signed by another key with the provider's kid",
                json!({}),
                Sign::Rsa(another_key()),
                "Crypto error",
            ),
            (
                "signed by another key, no kid",
                json!({"kid": null}),
                Sign::Rsa(another_key()),
                "Crypto error",
            ),
            (
                "alg none, no signature",
                json!({"alg": "none"}),
                Sign::Nothing,
                "No signature found",
            ),
            (
                "alg none, the provider's signature kept",
                json!({"alg": "none"}),
                Sign::Rsa(providers_key()),
                "No signature found",
            ),
            (
                "RS256 without a signature",
                json!({}),
                Sign::Nothing,
                "Crypto error",
            ),
            (
                "HS256 with the client secret",
                json!({"alg": "HS256", "kid": null}),
                Sign::ClientSecret,
                "Disallowed signature algorithm",
            ),
            (
                "HS256 with the client secret and the provider's kid",
                json!({"alg": "HS256"}),
                Sign::ClientSecret,
                "Disallowed signature algorithm",
            ),
            (
                "RS384, which the provider does not advertise",
                json!({"alg": "RS384"}),
                Sign::Rsa(providers_key()),
                "Disallowed signature algorithm",
            ),
        ] {
            let raw = token(header, &claims, sign);
            let case = format!("{case} (advertised: {advertised:?})");
            wrong.extend(misjudged(&case, &provider, &raw, invalid, detail));
        }
    }
    assert_none_misjudged(wrong);
}

#[test]
fn an_id_token_with_an_unknown_kid_asks_for_fresh_keys_and_passes_with_them() {
    let raw = token(
        json!({"kid": "key-2"}),
        &claims(json!({})),
        Sign::Rsa(another_key()),
    );
    assert_none_misjudged(
        misjudged(
            "a kid the provider does not list",
            &rs256_provider(),
            &raw,
            UNKNOWN_KEY,
            "kid",
        )
        .into_iter()
        .collect(),
    );
    // The keys as a refresh after a rotation brings them.
    let rotated = provider(
        &["RS256"],
        &[jwk(providers_key(), KID), jwk(another_key(), "key-2")],
    );
    check(&rotated, &raw).unwrap();
    // Only the unknown kid asks for fresh keys: a bad signature does not.
    let raw = token(json!({}), &claims(json!({})), Sign::Rsa(another_key()));
    let failure = check(&rotated, &raw).unwrap_err();
    assert_ne!(failure.reason, UNKNOWN_KEY, "{failure}");
}

#[test]
fn id_tokens_with_bad_claims_are_refused() {
    let now = NOW.unix_timestamp();
    let provider = rs256_provider();
    let mut wrong = Vec::new();
    for (case, overrides, detail) in [
        (
            "iss another issuer",
            json!({"iss": "https://evil.example.com"}),
            "Invalid issuer",
        ),
        (
            "iss with a trailing slash",
            json!({"iss": format!("{ISSUER}/")}),
            "Invalid issuer",
        ),
        ("no iss", json!({"iss": null}), ""),
        (
            "aud another client",
            json!({"aud": "another-client"}),
            "Invalid audiences",
        ),
        (
            "aud a list without Vigil",
            json!({"aud": ["another-client", "a-third"]}),
            "Invalid audiences",
        ),
        (
            "aud Vigil and another audience",
            json!({"aud": [CLIENT_ID, "another-client"]}),
            "not a trusted audience",
        ),
        (
            "aud Vigil and another audience, azp Vigil",
            json!({"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}),
            "not a trusted audience",
        ),
        ("no aud", json!({"aud": null}), ""),
        (
            "azp another client",
            json!({"azp": "another-client"}),
            "azp is another client",
        ),
        (
            "exp in the past",
            json!({"exp": now - 1, "iat": now - 300}),
            "expired",
        ),
        ("exp now", json!({"exp": now}), "expired"),
        ("no exp", json!({"exp": null}), ""),
        (
            "iat more than a minute ahead",
            json!({"iat": now + 61}),
            "in the future",
        ),
        (
            "iat an hour ahead",
            json!({"iat": now + 3600, "exp": now + 7200}),
            "in the future",
        ),
        ("no iat", json!({"iat": null}), ""),
        ("no nonce", json!({"nonce": null}), "missing nonce"),
        (
            "another sign-in's nonce",
            json!({"nonce": "another-nonce"}),
            "nonce mismatch",
        ),
        ("an empty nonce", json!({"nonce": ""}), "nonce mismatch"),
        ("no sub", json!({"sub": null}), ""),
    ] {
        let raw = signed(&claims(overrides));
        wrong.extend(misjudged(case, &provider, &raw, "id_token_invalid", detail));
    }
    assert_none_misjudged(wrong);
}

#[test]
fn malformed_id_tokens_are_refused() {
    let provider = rs256_provider();
    let good = signed(&claims(json!({})));
    let (input, _) = good.rsplit_once('.').unwrap();
    let mut wrong = Vec::new();
    for (case, raw) in [
        ("empty", String::new()),
        ("two parts", input.to_owned()),
        ("four parts", format!("{good}.AAAA")),
        ("signature not base64url", format!("{input}.not*base64")),
        (
            "claims not JSON",
            format!("{}.bm90IGpzb24.AAAA", B64.encode("{}")),
        ),
    ] {
        wrong.extend(misjudged(case, &provider, &raw, "id_token_invalid", ""));
    }
    assert_none_misjudged(wrong);
}

#[test]
fn entra_ids_domain_owner_claim_vouches_for_the_email_and_nothing_else_does() {
    let p = rs256_provider();
    let without = |extra: Value| {
        let mut c = claims(extra);
        c.as_object_mut().unwrap().remove("email_verified");
        check(&p, &signed(&c)).unwrap().email_verified
    };
    assert_eq!(without(json!({"xms_edov": true})), Some(true));
    assert_eq!(without(json!({"xms_edov": false})), None);
    assert_eq!(without(json!({})), None);
    // A provider that says the email is not verified is believed.
    let c = claims(json!({"email_verified": false, "xms_edov": true}));
    assert_eq!(check(&p, &signed(&c)).unwrap().email_verified, Some(false));
}

#[test]
fn a_reauthentication_needs_an_auth_time_from_within_the_round_trip() {
    let provider = rs256_provider();
    let iat = NOW.unix_timestamp() - 5;
    let longest = LOGIN_TTL.whole_seconds() + logout::SKEW_SECS;
    for (case, auth_time, fresh) in [
        ("no auth_time", None, false),
        ("seconds before the token", Some(iat - 3), true),
        (
            "the round trip's longest before it",
            Some(iat - longest),
            true,
        ),
        (
            "before the round trip can have begun",
            Some(iat - longest - 1),
            false,
        ),
        (
            "an older session at the provider",
            Some(iat - 86_400),
            false,
        ),
    ] {
        let mut overrides = json!({});
        if let Some(t) = auth_time {
            overrides["auth_time"] = t.into();
        }
        let c = check(&provider, &signed(&claims(overrides))).unwrap();
        assert_eq!(c.auth_time, auth_time, "{case}: read");
        let identity = Identity {
            sub: c.sub,
            sid: c.sid,
            email: "alice@example.com".into(),
            name: None,
            auth_time: c.auth_time,
            issued_at: c.issued_at,
        };
        assert_eq!(identity.authenticated_just_now(), fresh, "{case}");
    }
}
