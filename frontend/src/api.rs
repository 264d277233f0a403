//! The server's API: one generic request function and a small typed
//! function per endpoint. Cookies are sent by the browser (same origin);
//! nothing secret is kept in JavaScript-visible storage.

use gloo_net::http::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use vigil_policy::api::{
    ActivityRequest, ActivitySource, AgentRow, AuditEntry, Availability, Conversation, ErrorBody,
    ErrorCode, LoginOptions, LoginRequest, NewConversation, PreviewResponse, RevokeResult,
    SessionView, SettingsEnvelope, SettingsUpdate,
};
use vigil_policy::sso::{SsoConnection, SsoConnectionInput};
use vigil_policy::tokens::{TokenCreated, TokenInput, TokenView};
use wasm_bindgen::JsValue;

use crate::error::ApiError;

/// `{}`: the body of POSTs that carry nothing.
#[derive(Serialize)]
struct Empty {}

/// Whether a request is a background poll (does not count as activity
/// unless the account's rules say so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Caused by the person.
    Foreground,
    /// Polling.
    Background,
}

/// Takes `T` from a plain JavaScript value (one `JSON.parse` made, or one
/// a BroadcastChannel delivered): a walk over that value.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(value).ok()
}

/// Makes a plain JavaScript value of `value`, the other way round: objects,
/// arrays, strings, numbers, and null for `None`, as serde_json writes it.
pub fn to_js<T: Serialize>(value: &T) -> Option<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
}

/// Decodes JSON text into `T`: the browser parses it (`JSON.parse`) and
/// serde takes `T` from the parsed value ([`from_js`]). Every answer type's
/// decoder is then a walk over that value: decoding the text with
/// serde_json put a copy of the JSON parser's inner loops into each type's
/// decoder (about 8 KB of the gzipped wasm). Ids and counts are far below
/// 2^53, where a JavaScript number stops being exact.
pub fn decode<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js(js_sys::JSON::parse(text).ok()?)
}

/// Encodes `value` as JSON text: serde makes a JavaScript value
/// ([`to_js`]) and the browser writes it (`JSON.stringify`).
pub fn encode<T: Serialize>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)?)
        .ok()
        .map(String::from)
}

/// Sends one request and decodes the answer. Only the encoding and the
/// decoding are generic: the exchange itself is one function, not a copy
/// per answer type (each copy of an async request costs kilobytes of wasm).
pub async fn request<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
    kind: Kind,
) -> Result<T, ApiError> {
    let body = match body {
        Some(b) => Some(encode(b).ok_or(ApiError::Network)?),
        None => None,
    };
    let (text, _) = exchange(method, path, body, kind).await?;
    let text = if text.trim().is_empty() {
        "null"
    } else {
        &text
    };
    decode(text).ok_or(ApiError::Network)
}

/// One request with a JSON body (if any): the answer's text and its
/// `Link: <…>; rel="next"` when the status is a success, else the error the
/// server described. A sensitive action refused for want of a recent
/// authentication waits for the person to confirm who they are (see
/// `reauth`) and is sent once more.
async fn exchange(
    method: Method,
    path: &str,
    body: Option<String>,
    kind: Kind,
) -> Result<(String, Option<String>), ApiError> {
    match exchange_once(method.clone(), path, body.clone(), kind).await {
        Err(e)
            if e.code() == Some(ErrorCode::ReauthenticationRequired)
                && crate::reauth::confirmed().await =>
        {
            exchange_once(method, path, body, kind).await
        }
        other => other,
    }
}

async fn exchange_once(
    method: Method,
    path: &str,
    body: Option<String>,
    kind: Kind,
) -> Result<(String, Option<String>), ApiError> {
    let mut builder = RequestBuilder::new(path)
        .method(method.clone())
        .header("Accept", "application/json");
    if !matches!(method, Method::GET | Method::HEAD) {
        builder = builder.header("X-Vigil-Request", "1");
    }
    if kind == Kind::Background {
        builder = builder.header("X-Vigil-Background", "1");
    }
    let request = match body {
        Some(b) => builder.header("Content-Type", "application/json").body(b),
        None => builder.build(),
    }
    .map_err(|_| ApiError::Network)?;
    let response = request.send().await.map_err(|_| ApiError::Network)?;
    let status = response.status();
    let text = response.text().await.map_err(|_| ApiError::Network)?;
    if (200..300).contains(&status) {
        let next = response.headers().get("link").and_then(|l| {
            let url = l.strip_prefix('<')?.strip_suffix(">; rel=\"next\"")?;
            Some(url.to_owned())
        });
        return Ok((text, next));
    }
    let body = decode::<ErrorBody>(&text).unwrap_or_else(|| ErrorBody {
        error: ErrorCode::Internal,
        message: format!("The server answered {status}."),
        reason: None,
        fields: None,
        current_version: None,
        retry_after_secs: None,
        max_age_secs: None,
        scope: None,
        live: None,
        request_id: None,
    });
    Err(ApiError::Http { status, body })
}

async fn get<T: DeserializeOwned>(path: &str, kind: Kind) -> Result<T, ApiError> {
    request::<(), T>(Method::GET, path, None, kind).await
}

async fn send<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: &B,
) -> Result<T, ApiError> {
    request(method, path, Some(body), Kind::Foreground).await
}

/// What a login page offers.
pub async fn login_options(account: &str) -> Result<LoginOptions, ApiError> {
    let slug: String = account
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    get(
        &format!("/api/accounts/{slug}/login-options"),
        Kind::Foreground,
    )
    .await
}

/// Signs in.
pub async fn login(req: &LoginRequest) -> Result<SessionView, ApiError> {
    send(Method::POST, "/api/auth/login", req).await
}

/// Signs out.
pub async fn logout() -> Result<(), ApiError> {
    send(Method::POST, "/api/auth/logout", &Empty {}).await
}

/// The caller's session.
pub async fn session(kind: Kind) -> Result<SessionView, ApiError> {
    get("/api/session", kind).await
}

/// Reports activity.
pub async fn activity(source: ActivitySource) -> Result<SessionView, ApiError> {
    send(
        Method::POST,
        "/api/session/activity",
        &ActivityRequest { source },
    )
    .await
}

/// The account's settings.
pub async fn settings() -> Result<SettingsEnvelope, ApiError> {
    get("/api/admin/security-settings", Kind::Foreground).await
}

/// Stores settings.
pub async fn save_settings(update: &SettingsUpdate) -> Result<SettingsEnvelope, ApiError> {
    send(Method::PUT, "/api/admin/security-settings", update).await
}

/// What settings would do to live sessions.
pub async fn preview(update: &SettingsUpdate) -> Result<PreviewResponse, ApiError> {
    send(Method::POST, "/api/admin/security-settings/preview", update).await
}

/// A page of a list (`path` with its query, or a `Link` the last page
/// gave) and the next page's path, while more remain.
pub async fn page<T: DeserializeOwned>(path: &str) -> Result<(Vec<T>, Option<String>), ApiError> {
    let (text, next) = exchange(Method::GET, path, None, Kind::Foreground).await?;
    let rows = decode(&text).ok_or(ApiError::Network)?;
    Ok((rows, next))
}

/// Ends one session.
pub async fn revoke_session(id: &str) -> Result<(), ApiError> {
    request::<(), ()>(
        Method::DELETE,
        &format!("/api/admin/sessions/{id}"),
        None,
        Kind::Foreground,
    )
    .await
}

/// Ends every session of a person.
pub async fn revoke_user(user_id: i64) -> Result<RevokeResult, ApiError> {
    send(
        Method::POST,
        &format!("/api/admin/users/{user_id}/revoke-sessions"),
        &Empty {},
    )
    .await
}

/// Deactivates a person (their sessions end; how many) or, with `active`,
/// reactivates them (0).
pub async fn set_active(user_id: i64, active: bool) -> Result<RevokeResult, ApiError> {
    let verb = if active { "reactivate" } else { "deactivate" };
    let path = format!("/api/admin/users/{user_id}/{verb}");
    if active {
        let body = Some("{}".to_owned());
        return exchange(Method::POST, &path, body, Kind::Foreground)
            .await
            .map(|_| RevokeResult { revoked: 0 });
    }
    send(Method::POST, &path, &Empty {}).await
}

/// Changes the caller's password; how many of their other sessions ended.
pub async fn change_password(
    req: &vigil_policy::api::ChangePasswordRequest,
) -> Result<RevokeResult, ApiError> {
    send(Method::POST, "/api/me/password", req).await
}

/// A page of the audit log; `filters` is a query string (`action=…&…`).
pub async fn audit(
    limit: u32,
    before: Option<i64>,
    filters: &str,
) -> Result<Vec<AuditEntry>, ApiError> {
    let mut path = format!("/api/admin/audit?limit={limit}");
    if let Some(b) = before {
        path.push_str(&format!("&before={b}"));
    }
    if !filters.is_empty() {
        path.push('&');
        path.push_str(filters);
    }
    get(&path, Kind::Foreground).await
}

/// The team: availability, live sessions, open conversations.
pub async fn agents() -> Result<Vec<AgentRow>, ApiError> {
    get("/api/admin/agents", Kind::Foreground).await
}

/// The agent's conversations.
pub async fn desk_conversations(kind: Kind) -> Result<Vec<Conversation>, ApiError> {
    get("/api/desk/conversations", kind).await
}

/// The agent's availability.
pub async fn availability() -> Result<Availability, ApiError> {
    get("/api/desk/availability", Kind::Foreground).await
}

/// Sets the agent's availability.
pub async fn set_availability(available: bool) -> Result<Availability, ApiError> {
    send(
        Method::PUT,
        "/api/desk/availability",
        &Availability { available },
    )
    .await
}

/// The requester's conversations.
pub async fn portal_conversations() -> Result<Vec<Conversation>, ApiError> {
    get("/api/portal/conversations", Kind::Foreground).await
}

/// Opens a conversation.
pub async fn open_conversation(subject: &str) -> Result<Conversation, ApiError> {
    send(
        Method::POST,
        "/api/portal/conversations",
        &NewConversation {
            subject: subject.to_owned(),
        },
    )
    .await
}

/// Ends one of the caller's own sessions.
pub async fn revoke_mine(id: &str) -> Result<(), ApiError> {
    request::<(), ()>(
        Method::DELETE,
        &format!("/api/me/sessions/{id}"),
        None,
        Kind::Foreground,
    )
    .await
}

/// The caller's draft key, as the server's JSON text (`drafts` reads it).
pub async fn draft_key() -> Result<String, ApiError> {
    Ok(
        exchange(Method::GET, "/api/me/draft-key", None, Kind::Foreground)
            .await?
            .0,
    )
}

/// Confirms who is at the keyboard: the caller's password again.
pub async fn reauthenticate(password: &str) -> Result<(), ApiError> {
    let body = encode(&vigil_policy::api::ReauthenticateRequest {
        password: password.to_owned(),
    })
    .ok_or(ApiError::Network)?;
    exchange(
        Method::POST,
        "/api/auth/reauthenticate",
        Some(body),
        Kind::Foreground,
    )
    .await
    .map(drop)
}

/// Ends all the caller's sessions but this one.
pub async fn revoke_my_others() -> Result<RevokeResult, ApiError> {
    send(Method::POST, "/api/me/sessions/revoke-others", &Empty {}).await
}

/// The account's single sign-on connections.
pub async fn sso_connections() -> Result<Vec<SsoConnection>, ApiError> {
    get("/api/admin/sso", Kind::Foreground).await
}

/// Stores a connection: a new one (`id` `None`) or changes to one. The
/// answer (the stored connection) is not decoded: the page lists them
/// anew, and a decoder for it would cost bytes for nothing.
pub async fn save_sso(id: Option<&str>, input: &SsoConnectionInput) -> Result<(), ApiError> {
    let (method, path) = match id {
        Some(id) => (Method::PUT, format!("/api/admin/sso/{id}")),
        None => (Method::POST, "/api/admin/sso".to_owned()),
    };
    let body = encode(input).ok_or(ApiError::Network)?;
    exchange(method, &path, Some(body), Kind::Foreground)
        .await
        .map(drop)
}

/// Removes a connection.
pub async fn remove_sso(id: &str) -> Result<(), ApiError> {
    request::<(), ()>(
        Method::DELETE,
        &format!("/api/admin/sso/{id}"),
        None,
        Kind::Foreground,
    )
    .await
}

/// The account's API tokens.
pub async fn tokens() -> Result<Vec<TokenView>, ApiError> {
    get("/api/admin/tokens", Kind::Foreground).await
}

/// Creates an API token; the answer holds its secret, shown once.
pub async fn create_token(input: &TokenInput) -> Result<TokenCreated, ApiError> {
    send(Method::POST, "/api/admin/tokens", input).await
}

/// Revokes an API token.
pub async fn revoke_token(id: &str) -> Result<(), ApiError> {
    request::<(), ()>(
        Method::DELETE,
        &format!("/api/admin/tokens/{id}"),
        None,
        Kind::Foreground,
    )
    .await
}

/// What a page does with a failed call, in one place: a 401 signs the
/// browser out (every tab, with the reason); the returned sentence is for
/// the page to show.
pub fn failed(session: Option<&crate::hooks::SessionHandle>, e: &ApiError) -> String {
    if let Some(s) = session {
        s.check(e);
    }
    e.message()
}
