//! Single sign-on: Vigil as an OpenID Connect relying party.
//!
//! - [`discover`] fetches and checks a provider's discovery document and
//!   keys when an admin saves a connection (both are stored with it).
//! - [`begin`] sends the browser to the provider: authorization code flow
//!   with PKCE (S256), `state` and `nonce`, remembered server-side under
//!   the hash of a short-lived `__Host-vigil-sso` cookie, so only the
//!   browser that started can finish.
//! - [`finish`] redeems the code and checks the id token as OpenID Connect
//!   Core requires (signature by a key of the provider's, refreshed at most
//!   once a minute when an unknown `kid` appears; `iss`, `aud`, `azp`,
//!   `exp`, `iat`, `nonce`), and reads the person's verified email from the
//!   id token or, as Okta and certified providers send it, from userinfo.
//! - [`logout`] checks back-channel logout tokens.
//!
//! Every request to the provider goes through [`crate::outbound`].

pub mod http;
pub mod logout;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenVerifier,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EmptyAdditionalClaims, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    JwsSigningAlgorithm, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, SignatureVerificationError, SubjectIdentifier, TokenResponse,
    UserInfoClaims,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use vigil_policy::Audience;

use crate::outbound::Outbound;
use crate::random::random_hex;
use crate::store::sso::{self, Connection, PendingLogin};
use crate::store::Store;
use http::OidcHttp;

/// How long a sign-in may take at the provider.
pub const LOGIN_TTL: Duration = Duration::minutes(10);

/// The cookie binding a sign-in on its way to the browser that started it.
pub const COOKIE: &str = "__Host-vigil-sso";

/// Path of the callback, under the public origin.
pub const CALLBACK_PATH: &str = "/api/auth/sso/callback";

/// Path of the back-channel logout endpoint, under the public origin.
pub const BACKCHANNEL_PATH: &str = "/api/auth/sso/backchannel-logout";

/// Shortest time between two fetches of a provider's keys.
const KEY_REFRESH: Duration = Duration::minutes(1);

type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The id token's claims beyond the standard ones: the provider's session.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct SidClaims {
    sid: Option<String>,
    /// Microsoft Entra ID's "email domain owner verified" (an optional
    /// claim the tenant turns on): Entra sends no `email_verified`, and its
    /// plain `email` may be one nobody verified (the nOAuth attack), so
    /// this claim is what vouches for it there.
    xms_edov: Option<bool>,
}

impl AdditionalClaims for SidClaims {}

type SidIdToken =
    IdToken<SidClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// A provider's discovery document and keys, checked, as stored.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The discovery document (JSON).
    pub metadata: String,
    /// The keys (JSON Web Key Set).
    pub jwks: String,
}

/// Fetches and checks `issuer`'s discovery document and keys; the error
/// says what failed, in words for the admin.
pub async fn discover(outbound: &Outbound, issuer: &str) -> Result<Discovered, String> {
    let issuer = issuer.trim();
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let raw: serde_json::Value = outbound
        .get_json(&url)
        .await
        .map_err(|e| format!("Fetching the provider's discovery document failed: {e}."))?;
    let listed = |field: &str, value: &str| {
        raw[field]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(value)))
    };
    if !listed("response_types_supported", "code") {
        return Err("The provider does not offer the authorization code flow.".into());
    }
    if raw.get("code_challenge_methods_supported").is_some()
        && !listed("code_challenge_methods_supported", "S256")
    {
        return Err("The provider does not support PKCE with S256.".into());
    }
    let metadata: CoreProviderMetadata = serde_json::from_value(raw)
        .map_err(|e| format!("The provider's discovery document is not valid: {e}."))?;
    // OpenID Connect Discovery 4.3: the document names the very issuer.
    if metadata.issuer().as_str() != issuer {
        return Err(format!(
            "The discovery document names the issuer {:?}, not {issuer:?}: enter the issuer exactly as the provider states it.",
            metadata.issuer().as_str()
        ));
    }
    let Some(token_endpoint) = metadata.token_endpoint() else {
        return Err("The provider's discovery document names no token endpoint.".into());
    };
    let token_url = url::Url::parse(token_endpoint.as_str()).map_err(|e| e.to_string())?;
    outbound
        .rules()
        .check(&token_url)
        .await
        .map_err(|e| format!("The provider's token endpoint cannot be used: {e}."))?;
    if algorithms(&metadata).is_empty() {
        return Err("The provider signs id tokens with no algorithm Vigil accepts (RS256, ES256, PS256, EdDSA…).".into());
    }
    let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &OidcHttp(outbound))
        .await
        .map_err(|e| format!("Fetching the provider's keys failed: {e}."))?;
    if keys.keys().is_empty() {
        return Err("The provider's key set has no key Vigil can read.".into());
    }
    Ok(Discovered {
        metadata: serde_json::to_string(&metadata).map_err(|e| e.to_string())?,
        jwks: serde_json::to_string(&keys).map_err(|e| e.to_string())?,
    })
}

/// Asymmetric algorithms the provider advertises for id tokens.
fn algorithms(metadata: &CoreProviderMetadata) -> Vec<CoreJwsSigningAlgorithm> {
    metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|a| !a.uses_shared_secret() && **a != CoreJwsSigningAlgorithm::None)
        .cloned()
        .collect()
}

/// A connection with its provider's document and keys read.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The stored connection.
    pub connection: Connection,
    metadata: CoreProviderMetadata,
    keys: CoreJsonWebKeySet,
}

/// Why a sign-in or logout through a provider failed (audited; the person
/// sees a plain "sign-in failed").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Failure {
    /// A short machine word for the audit log.
    pub reason: &'static str,
    /// What happened.
    pub detail: String,
}

fn failure(reason: &'static str, detail: impl std::fmt::Display) -> Failure {
    Failure {
        reason,
        detail: detail.to_string(),
    }
}

impl Provider {
    /// Reads what was stored with the connection.
    pub fn of(connection: Connection) -> Result<Provider, Failure> {
        let metadata: CoreProviderMetadata = serde_json::from_str(&connection.provider)
            .map_err(|e| failure("connection_unreadable", e))?;
        let keys: CoreJsonWebKeySet = serde_json::from_str(&connection.jwks)
            .map_err(|e| failure("connection_unreadable", e))?;
        Ok(Provider {
            connection,
            metadata,
            keys,
        })
    }

    /// The provider's keys.
    pub fn keys(&self) -> &CoreJsonWebKeySet {
        &self.keys
    }

    /// Algorithms accepted for this provider's tokens.
    pub fn algorithms(&self) -> Vec<CoreJwsSigningAlgorithm> {
        algorithms(&self.metadata)
    }

    /// The issuer, exactly as the provider states it.
    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }

    fn client(&self, origin: &str) -> Result<OidcClient, Failure> {
        let redirect = RedirectUrl::new(format!("{origin}{CALLBACK_PATH}"))
            .map_err(|e| failure("bad_origin", e))?;
        Ok(CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.connection.client_id.clone()),
            Some(ClientSecret::new(
                self.connection.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// Fetches the provider's keys again, unless they were fetched less
    /// than a minute ago (then false: a flood of tokens with unknown key
    /// ids costs the provider one request a minute). Every replica shares
    /// the keys and their age through the database.
    pub async fn refresh_keys(
        &mut self,
        store: &Store,
        outbound: &Outbound,
        now: OffsetDateTime,
    ) -> Result<bool, RefreshError> {
        if let Some(stored) = sso::get(store, &self.connection.id).await? {
            self.connection.jwks_fetched_at = stored.jwks_fetched_at;
            self.connection.jwks = stored.jwks;
            self.keys = serde_json::from_str(&self.connection.jwks)
                .map_err(|e| failure("connection_unreadable", e))?;
        }
        if now - self.connection.jwks_fetched_at < KEY_REFRESH {
            return Ok(false);
        }
        let keys = CoreJsonWebKeySet::fetch_async(self.metadata.jwks_uri(), &OidcHttp(outbound))
            .await
            .map_err(|e| failure("keys_unreachable", e))?;
        let json = serde_json::to_string(&keys).map_err(|e| failure("keys_unreadable", e))?;
        sso::set_jwks(store, &self.connection.id, &json, now).await?;
        self.connection.jwks = json;
        self.connection.jwks_fetched_at = now;
        self.keys = keys;
        Ok(true)
    }
}

/// Why the provider's keys were not refreshed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The provider's keys could not be fetched or read, or the stored
    /// ones are unreadable.
    #[error(transparent)]
    Failed(#[from] Failure),
    /// The database failed (down, or too busy for a moment): Vigil's
    /// fault, not the token's, so a back-channel logout answers 503 and
    /// the provider may send the token again.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A sign-in's view of a refresh that failed: a failed sign-in either way.
/// The database's fault is not answered 503 there, unlike a back-channel
/// logout: the provider's code and this browser's sign-in are spent by
/// then, so a retried callback could not succeed; sent back to the login
/// page (reason `database` in the audit log), the person can start again.
impl From<RefreshError> for Failure {
    fn from(e: RefreshError) -> Failure {
        match e {
            RefreshError::Failed(f) => f,
            RefreshError::Store(e) => failure("database", e),
        }
    }
}

/// The hash a cookie value is stored under.
pub fn cookie_hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Where the browser goes next, and the cookie that binds the sign-in to it.
#[derive(Debug)]
pub struct Begun {
    /// The provider's authorization URL.
    pub location: String,
    /// The `__Host-vigil-sso` cookie's value.
    pub cookie: String,
}

/// What a sign-in asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Which login page.
    pub audience: Audience,
    /// "Remember me".
    pub remember_me: bool,
    /// A console path to return to (already checked).
    pub next: Option<String>,
    /// Ask the provider to authenticate the person again (`prompt=login`,
    /// `max_age=0`, so the id token must carry `auth_time`).
    pub force_login: bool,
    /// Re-authenticate this live session (its id) instead of signing in.
    pub reauth_session: Option<String>,
}

/// Why a sign-in could not start.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    /// The connection's stored provider data cannot make a request.
    #[error(transparent)]
    Failed(#[from] Failure),
    /// The pending sign-in was not stored: a database that is down or too
    /// busy for a moment is the caller's 503, not a failure of the
    /// connection.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Starts a sign-in: remembers it and gives the provider's URL.
pub async fn begin(
    store: &Store,
    provider: &Provider,
    origin: &str,
    request: Request,
    now: OffsetDateTime,
) -> Result<Begun, BeginError> {
    let client = provider.client(origin)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut auth = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if request.force_login {
        auth = auth
            .add_prompt(CoreAuthPrompt::Login)
            .set_max_age(std::time::Duration::ZERO);
    }
    let (url, state, nonce) = auth.url();
    let cookie = random_hex(32);
    sso::insert_login(
        store,
        &PendingLogin {
            cookie_hash: cookie_hash(&cookie),
            connection_id: provider.connection.id.clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            audience: request.audience,
            remember_me: request.remember_me,
            next: request.next,
            reauth_session: request.reauth_session,
            expires_at: now + LOGIN_TTL,
        },
    )
    .await?;
    Ok(Begun {
        location: url.to_string(),
        cookie,
    })
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's subject.
    pub sub: String,
    /// The provider's session, when it says.
    pub sid: Option<String>,
    /// A verified email.
    pub email: String,
    /// A name to show, when the provider gives one.
    pub name: Option<String>,
    /// When the provider last authenticated the person (`auth_time`, Unix
    /// seconds by the provider's clock), when it says.
    pub auth_time: Option<i64>,
    /// When the provider issued the id token (`iat`, its clock).
    pub issued_at: i64,
}

impl Identity {
    /// Whether the provider authenticated the person during this round
    /// trip, as a re-authentication needs: `auth_time` present (asking
    /// with `max_age` makes it required) and no earlier than the round
    /// trip can have begun before the token was issued ([`LOGIN_TTL`],
    /// and the clock skew allowed elsewhere). Both times are the
    /// provider's, so Vigil's clock does not enter into it. A provider
    /// that ignored `prompt=login` and answered from an older session of
    /// its own fails it.
    pub fn authenticated_just_now(&self) -> bool {
        self.auth_time
            .is_some_and(|t| self.issued_at - t <= LOGIN_TTL.whole_seconds() + logout::SKEW_SECS)
    }
}

/// Redeems the code and checks the id token; reads the verified email from
/// the id token or from userinfo.
pub async fn finish(
    store: &Store,
    outbound: &Outbound,
    provider: &mut Provider,
    pending: &PendingLogin,
    code: &str,
    origin: &str,
    now: OffsetDateTime,
) -> Result<Identity, Failure> {
    let client = provider.client(origin)?;
    let http = OidcHttp(outbound);
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| failure("no_token_endpoint", e))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| failure("token_exchange_failed", token_error(&e)))?;
    let raw = token
        .id_token()
        .ok_or_else(|| failure("no_id_token", "the token response has no id token"))?
        .to_string();
    let claims = match check_id_token(provider, &raw, &pending.nonce, now) {
        Err(f) if f.reason == UNKNOWN_KEY => {
            // A key rotated in since the keys were stored.
            provider.refresh_keys(store, outbound, now).await?;
            // Still unknown after the refresh: audited as any bad token.
            check_id_token(provider, &raw, &pending.nonce, now).map_err(|f| Failure {
                reason: "id_token_invalid",
                ..f
            })?
        }
        other => other?,
    };
    let Claims {
        sub,
        sid,
        mut email,
        email_verified: mut verified,
        mut name,
        auth_time,
        issued_at,
    } = claims;
    if email.is_none() || verified != Some(true) {
        // Scope claims come from userinfo when an access token is issued.
        let request = client
            .user_info(
                token.access_token().clone(),
                Some(SubjectIdentifier::new(sub.clone())),
            )
            .map_err(|e| failure("no_email", format!("no email in the id token and {e}")))?;
        let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = request
            .request_async(&http)
            .await
            .map_err(|e| failure("userinfo_failed", e))?;
        email = info.email().map(|e| e.as_str().to_owned()).or(email);
        verified = info.email_verified().or(verified);
        name = name.or_else(|| {
            info.name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned())
        });
    }
    let Some(email) = email else {
        return Err(failure("no_email", "the provider gave no email"));
    };
    if verified != Some(true) {
        return Err(failure(
            "email_not_verified",
            "the provider does not say the email is verified",
        ));
    }
    Ok(Identity {
        sub,
        sid,
        email,
        name,
        auth_time,
        issued_at,
    })
}

/// The reason [`check_id_token`] gives when no key of the provider's has
/// the token's `kid`: the caller fetches the keys again and checks once
/// more.
const UNKNOWN_KEY: &str = "id_token_unknown_key";

/// What Vigil reads from an id token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claims {
    sub: String,
    sid: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    auth_time: Option<i64>,
    issued_at: i64,
}

/// Checks the compact id token `raw` against the provider's keys as they
/// are, the `nonce` of the sign-in and the time `now` ([`verifier`]), and
/// that `azp`, when present, is Vigil. Fails with [`UNKNOWN_KEY`] when no
/// key has the token's `kid`, otherwise with `id_token_invalid`.
fn check_id_token(
    provider: &Provider,
    raw: &str,
    nonce: &str,
    now: OffsetDateTime,
) -> Result<Claims, Failure> {
    let id_token: SidIdToken = raw.parse().map_err(|e| failure("id_token_invalid", e))?;
    let claims = id_token
        .claims(&verifier(provider, now), &Nonce::new(nonce.to_owned()))
        .map_err(|e| match e {
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => failure(UNKNOWN_KEY, "no key of the provider's has the token's kid"),
            // The signature error's Display leaves out which check failed.
            ClaimsVerificationError::SignatureVerification(cause) => failure(
                "id_token_invalid",
                format!("signature verification failed: {cause}"),
            ),
            e => failure("id_token_invalid", e),
        })?;
    // OpenID Connect Core 3.1.3.7 (6): when present, azp is Vigil.
    if claims
        .authorized_party()
        .is_some_and(|azp| azp.as_str() != provider.connection.client_id)
    {
        return Err(failure("id_token_invalid", "azp is another client"));
    }
    Ok(Claims {
        sub: claims.subject().as_str().to_owned(),
        sid: claims.additional_claims().sid.clone(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims
            .email_verified()
            .or(claims.additional_claims().xms_edov.filter(|v| *v)),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
        issued_at: claims.issue_time().timestamp(),
    })
}

/// The id token verifier at `now`: the provider's keys and advertised
/// asymmetric algorithms, Vigil's client id as the audience, the issuer
/// exactly, and `iat` no later than a minute ahead.
fn verifier(provider: &Provider, now: OffsetDateTime) -> CoreIdTokenVerifier<'static> {
    let now: DateTime<Utc> =
        DateTime::from_timestamp(now.unix_timestamp(), now.nanosecond()).unwrap_or_default();
    let skew = chrono::Duration::seconds(logout::SKEW_SECS);
    CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(provider.connection.client_id.clone()),
        ClientSecret::new(provider.connection.client_secret.expose_secret().to_owned()),
        provider.metadata.issuer().clone(),
        provider.keys.clone(),
    )
    .set_allowed_algs(provider.algorithms())
    .set_time_fn(move || now)
    .set_issue_time_verifier_fn(move |iat| {
        if iat > now + skew {
            Err(format!("iat {iat} is in the future"))
        } else {
            Ok(())
        }
    })
}

fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: &openidconnect::RequestTokenError<RE, T>,
) -> String {
    use openidconnect::RequestTokenError as R;
    match e {
        R::ServerResponse(r) => format!("the provider refused the code: {r}"),
        R::Request(inner) => inner.to_string(),
        R::Parse(e, _) => format!("unreadable token response: {e}"),
        R::Other(s) => s.clone(),
    }
}
