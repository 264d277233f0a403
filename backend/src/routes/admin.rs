//! Admin: live sessions, revocation, the team, the audit log. Every query is
//! scoped to the caller's account; another account's id is a 404.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use time::OffsetDateTime;
use vigil_policy::api::{RevokeResult, SessionSummary};
use vigil_policy::{EndReason, FieldError, FieldErrorCode, SecuritySettings, Verdict};

use crate::auth::admin::Admin;
use crate::error::ApiError;
use crate::sessions::Judge;
use crate::state::AppState;
use crate::store::sessions::{LiveSession, Which};
use crate::store::{accounts, audit};
use vigil_policy::tokens::Scope;

/// An account's sessions that are live under `settings` at `now`, each
/// with the newest activity this process holds.
pub async fn live_sessions(
    state: &AppState,
    account_id: i64,
    settings: &SecuritySettings,
    now: OffsetDateTime,
) -> Result<Vec<LiveSession>, ApiError> {
    let mut rows = crate::store::sessions::live_in_account(&state.store, account_id).await?;
    for s in &mut rows {
        s.row.last_activity_at = state.sessions.memory.last_activity_of(&s.row);
    }
    let judge = Judge::read(state.store.pool(), account_id, settings).await?;
    rows.retain(|s| {
        let verdict = judge.evaluate(&s.row, s.row.times(), now).verdict;
        !matches!(verdict, Verdict::Expired(_))
    });
    Ok(rows)
}

fn summary(s: LiveSession, judge: &Judge, now: OffsetDateTime) -> SessionSummary {
    let e = judge.evaluate(&s.row, s.row.times(), now);
    SessionSummary {
        session_id: s.row.id,
        user: s.user,
        audience: s.row.audience,
        persistent: s.row.persistent,
        method: s.row.method,
        sso_connection: s.sso_connection,
        created_at: s.row.created_at,
        last_activity_at: s.row.last_activity_at,
        idle_expires_at: e.idle_expires_at,
        absolute_expires_at: e.absolute_expires_at,
        ip: s.row.ip,
        user_agent: s.row.user_agent,
    }
}

/// Query of `GET /api/admin/sessions`; parsed by hand for clear errors.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Sessions per page, 1 to 1000 (default 200).
    #[param(schema_with = crate::routes::paging::limit_schema)]
    limit: Option<String>,
    /// Where the page starts: the cursor in the previous page's `Link`
    /// (`rel="next"`), for the same filters. Any other value is a 400.
    #[param(schema_with = crate::routes::paging::after_schema)]
    after: Option<String>,
    /// Only this person's sessions (an email; none match if no such person).
    #[param(schema_with = audit_actor_schema)]
    person: Option<String>,
    /// Only this audience's sessions.
    #[param(value_type = Option<vigil_policy::Audience>)]
    audience: Option<String>,
}

/// `GET /api/admin/sessions`: newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/admin/sessions",
    tag = "admin",
    summary = "The account's live sessions, newest first, a page at a time",
    params(SessionsQuery),
    responses(
        (status = 200, description = "Live sessions, newest first", body = Vec<vigil_policy::api::SessionSummary>,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"` when more remain: the next page, with the same filters and limit (a relative URL)"))),
        (status = 400, description = "`limit` not from 1 to 1000, `after` not a cursor of this list, an unknown `audience` or a `person` too long", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn list_sessions(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<SessionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SessionsRead)?;
    use crate::routes::paging;
    let audience = match query.audience.as_deref() {
        None => None,
        Some(a) => Some(vigil_policy::Audience::parse(a).ok_or_else(|| {
            ApiError::bad_field(FieldError::new(
                "audience",
                FieldErrorCode::Invalid,
                "audience must be agents or requesters.",
            ))
        })?),
    };
    let person = query.person.as_deref().map(|p| p.trim().to_lowercase());
    if person
        .as_ref()
        .is_some_and(|p| p.chars().count() > ACTOR_MAX)
    {
        return Err(ApiError::bad_field(FieldError::new(
            "person",
            FieldErrorCode::Invalid,
            format!("person is at most {ACTOR_MAX} characters."),
        )));
    }
    let user_id = match person.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(email) => match accounts::find_user(&state.store, s.account_id(), email).await? {
            Some(p) => Some(p.view.id),
            None => Some(0), // nobody: no session matches
        },
    };
    // The list a cursor belongs to: the account and the filters.
    let list = format!(
        "admin/{}/{}/{}",
        s.account_id(),
        user_id.map_or("-".to_owned(), |u| u.to_string()),
        audience.map_or("-", |a| a.as_str())
    );
    let asked = paging::asked(
        &state.cursor_key,
        &list,
        query.limit.as_deref(),
        query.after.as_deref(),
    )?;
    let now = state.clock.now();
    let scope = crate::store::sessions::ListScope {
        account_id: s.account_id(),
        user_id,
        audience,
    };
    let judge = Judge::read(state.store.pool(), s.account_id(), s.settings()).await?;
    let (rows, next) = paging::live_sessions(&state.store, scope, &asked, |live| {
        live.row.last_activity_at = state.sessions.memory.last_activity_of(&live.row);
        !matches!(
            judge.evaluate(&live.row, live.row.times(), now).verdict,
            Verdict::Expired(_)
        )
    })
    .await?;
    let out: Vec<_> = rows.into_iter().map(|r| summary(r, &judge, now)).collect();
    let mut keep = Vec::new();
    if let Some(l) = &query.limit {
        keep.push(("limit", l.clone()));
    }
    if let Some(p) = person.filter(|p| !p.is_empty()) {
        keep.push(("person", p));
    }
    if let Some(a) = audience {
        keep.push(("audience", a.as_str().to_owned()));
    }
    Ok(paging::answer(
        &out,
        req.path(),
        &keep,
        next.map(|k| state.cursor_key.seal(&list, &k)),
    ))
}

/// Revokes the account's live sessions matching `which`; returns how many.
pub(crate) async fn revoke(
    state: &AppState,
    account_id: i64,
    actor: &str,
    which: Which<'_>,
) -> Result<u64, ApiError> {
    let targets =
        crate::store::sessions::live_endings(state.store.pool(), account_id, which).await?;
    let targets: Vec<_> = targets
        .into_iter()
        .map(|t| (t, EndReason::Revoked))
        .collect();
    let ended = state
        .sessions
        .end_now(&targets, actor, state.clock.now())
        .await?;
    Ok(ended.len() as u64)
}

/// `DELETE /api/admin/sessions/{session_id}`.
#[utoipa::path(
    delete,
    path = "/api/admin/sessions/{session_id}",
    tag = "admin",
    summary = "Ends a session of the account",
    params(("session_id" = String, Path, description = "A session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such live session in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn revoke_session(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SessionsWrite)?;
    s.require_recent_authentication(&state).await?;
    // Session ids are 32 hex digits; anything else names no session.
    let well_formed = path.len() == 32 && path.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed || revoke(&state, s.account_id(), s.actor(), Which::Session(&path)).await? == 0
    {
        return Err(ApiError::NotFound("no such live session in this account"));
    }
    tracing::info!(session = %path.as_str(), by = s.person_id(), "session revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/admin/users/{user_id}/revoke-sessions`.
#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/revoke-sessions",
    tag = "admin",
    summary = "Ends every session of a person",
    params(("user_id" = i64, Path, description = "A person's id")),
    responses(
        (status = 200, description = "How many ended", body = vigil_policy::api::RevokeResult),
        (status = 404, description = "No such person in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn revoke_user_sessions(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SessionsWrite)?;
    s.require_recent_authentication(&state).await?;
    let not_found = ApiError::NotFound("no such user in this account");
    let Ok(user_id) = path.parse::<i64>() else {
        return Err(not_found);
    };
    if !accounts::exists(&state.store, s.account_id(), user_id).await? {
        return Err(not_found);
    }
    let revoked = revoke(&state, s.account_id(), s.actor(), Which::Person(user_id)).await?;
    Ok(HttpResponse::Ok().json(RevokeResult { revoked }))
}

/// Query of `GET /api/admin/audit` and `/api/admin/audit.csv`; parsed by
/// hand for clear errors.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries per page, 1 to 200 (default 50; not for the CSV).
    #[param(schema_with = audit_limit_schema)]
    limit: Option<String>,
    /// Entries older than this id (the last id of the previous page).
    #[param(schema_with = audit_before_schema)]
    before: Option<String>,
    /// Only this action, e.g. `session.revoked` (or several, comma-separated).
    #[param(schema_with = audit_action_schema)]
    action: Option<String>,
    /// Only this actor: an email, or `system`.
    #[param(schema_with = audit_actor_schema)]
    actor: Option<String>,
    /// Only entries by or about this person (an email): their sign-ins,
    /// sign-outs, expiries, revocations, availability and reroutes.
    person: Option<String>,
    /// At or after this instant (RFC 3339); not after `to`.
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// At or before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
}

/// Most audit entries one page holds.
const AUDIT_PAGE_MAX: i64 = 200;
/// Longest `actor` filter (an email's longest).
const ACTOR_MAX: usize = 320;

// The audit query's schemas, from the numbers the handler checks against.

fn audit_limit_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Integer)
        .minimum(Some(1))
        .maximum(Some(AUDIT_PAGE_MAX))
        .build()
}

fn audit_before_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .build()
}

fn audit_action_schema() -> utoipa::openapi::Object {
    let one = audit::ACTIONS
        .iter()
        .map(|a| a.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join("|");
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(format!("^(({one})(,({one}))*)?$")))
        .build()
}

fn audit_actor_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .max_length(Some(ACTOR_MAX))
        .build()
}

fn query_number(
    name: &str,
    raw: Option<&str>,
    min: i64,
    max: i64,
) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::bad_field(FieldError::new(
            name,
            FieldErrorCode::Invalid,
            format!("{name} must be a whole number from {min} to {max}."),
        ))),
    }
}

fn query_time(name: &str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    // Strict, as the document states it: an empty or padded time is no time.
    let Some(raw) = raw else { return Ok(None) };
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(Some)
        .map_err(|_| {
            ApiError::bad_field(FieldError::new(
                name,
                FieldErrorCode::Invalid,
                format!("{name} must be an RFC 3339 time, e.g. 2026-01-05T09:00:00Z."),
            ))
        })
}

impl AuditQuery {
    /// The page size and the id to list entries before, or a 400: checked
    /// for the CSV too, which exports every page.
    fn page(&self) -> Result<(i64, Option<i64>), ApiError> {
        let limit = query_number("limit", self.limit.as_deref(), 1, AUDIT_PAGE_MAX)?;
        let before = query_number("before", self.before.as_deref(), 1, i64::MAX)?;
        Ok((limit.unwrap_or(50), before))
    }

    /// The filter, or a 400 naming the part at fault.
    fn filter(&self) -> Result<audit::Filter, ApiError> {
        let mut actions = Vec::new();
        for a in self
            .action
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let known = audit::ACTIONS
                .iter()
                .copied()
                .find(|known| *known == a)
                .ok_or_else(|| {
                    ApiError::bad_field(FieldError::new(
                        "action",
                        FieldErrorCode::Invalid,
                        format!("action must be one of {}.", audit::ACTIONS.join(", ")),
                    ))
                })?;
            actions.push(known);
        }
        let actor = self
            .actor
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        if actor
            .as_ref()
            .is_some_and(|a| a.chars().count() > ACTOR_MAX)
        {
            return Err(ApiError::bad_field(FieldError::new(
                "actor",
                FieldErrorCode::Invalid,
                format!("actor is at most {ACTOR_MAX} characters."),
            )));
        }
        let from = query_time("from", self.from.as_deref())?;
        let to = query_time("to", self.to.as_deref())?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ApiError::bad_field(FieldError::new(
                    "from",
                    FieldErrorCode::Invalid,
                    "from must not be after to.",
                )));
            }
        }
        Ok(audit::Filter {
            actions,
            actor,
            person: None,
            from,
            to,
        })
    }

    /// The filter, with `person` looked up in the account; `None` when no
    /// such person exists there (nothing can match).
    async fn resolve(
        &self,
        state: &AppState,
        account_id: i64,
    ) -> Result<Option<audit::Filter>, ApiError> {
        let mut filter = self.filter()?;
        if let Some(email) = self
            .person
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match accounts::find_user(&state.store, account_id, email).await? {
                Some(p) => filter.person = Some((p.view.id, p.view.email)),
                None => return Ok(None),
            }
        }
        Ok(Some(filter))
    }
}

/// `GET /api/admin/audit`: newest first; `before` is an entry id.
#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "admin",
    summary = "The audit log, newest first, filtered",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries", body = Vec<vigil_policy::api::AuditEntry>),
        (status = 400, description = "A filter that is not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn audit(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::AuditRead)?;
    let (limit, before) = query.page()?;
    let Some(filter) = query.resolve(&state, s.account_id()).await? else {
        return Ok(HttpResponse::Ok().json(Vec::<vigil_policy::api::AuditEntry>::new()));
    };
    let entries = audit::list(&state.store, s.account_id(), &filter, limit, before).await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// Rows the CSV export reads per query.
const CSV_PAGE: i64 = 500;

/// One CSV cell: quoted when needed; a leading `=`, `+`, `-`, `@`, tab or
/// carriage return is prefixed with `'` so spreadsheets do not run it as a
/// formula.
fn csv_cell(raw: &str) -> String {
    let safe = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

fn csv_row(e: &vigil_policy::api::AuditEntry) -> String {
    let at =
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
    let cells = [
        e.id.to_string(),
        at,
        e.actor.clone(),
        e.action.clone(),
        e.target.clone().unwrap_or_default(),
        e.details.to_string(),
    ];
    let mut line = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// `GET /api/admin/audit.csv`: the filtered log as CSV, newest first,
/// streamed a page at a time.
#[utoipa::path(
    get,
    path = "/api/admin/audit.csv",
    tag = "admin",
    summary = "The filtered audit log as CSV (id, at, actor, action, target, details), streamed",
    params(AuditQuery),
    responses(
        (status = 200, description = "CSV", body = String, content_type = "text/csv"),
        (status = 400, description = "A filter that is not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn audit_csv(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::AuditRead)?;
    query.page()?;
    let filter = query.resolve(&state, s.account_id()).await?;
    struct Page {
        state: web::Data<AppState>,
        account_id: i64,
        filter: audit::Filter,
        before: Option<i64>,
        header: bool,
        done: bool,
    }
    let start = Page {
        state,
        account_id: s.account_id(),
        done: filter.is_none(),
        filter: filter.unwrap_or_default(),
        before: None,
        header: true,
    };
    let stream = futures_util::stream::unfold(start, |mut p| async move {
        if p.header {
            p.header = false;
            let head = web::Bytes::from_static(b"id,at,actor,action,target,details\r\n");
            return Some((Ok::<_, ApiError>(head), p));
        }
        if p.done {
            return None;
        }
        match audit::list(&p.state.store, p.account_id, &p.filter, CSV_PAGE, p.before).await {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                p.done = (rows.len() as i64) < CSV_PAGE;
                p.before = rows.last().map(|r| r.id);
                let text: String = rows.iter().map(csv_row).collect();
                Some((Ok(web::Bytes::from(text)), p))
            }
            Err(e) => {
                // The head is sent: the cut-short body is the signal.
                tracing::error!(error = %e, "audit export failed part-way");
                p.done = true;
                Some((Err(ApiError::from(e)), p))
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"vigil-audit.csv\"",
        ))
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("-1+1"), "'-1+1");
        assert_eq!(csv_cell("@x,y"), "\"'@x,y\"");
    }
}

/// `GET /api/admin/agents`.
#[utoipa::path(
    get,
    path = "/api/admin/agents",
    tag = "admin",
    summary = "The team: availability, sessions, open conversations",
    responses(
        (status = 200, description = "The team", body = Vec<vigil_policy::api::AgentRow>),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn agents(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SessionsRead)?;
    Ok(HttpResponse::Ok().json(accounts::team(&state.store, s.account_id()).await?))
}

/// A person's id from the path; anything else names nobody.
fn user_id_of(path: &str) -> Result<i64, ApiError> {
    path.parse::<i64>()
        .map_err(|_| ApiError::NotFound("no such user in this account"))
}

/// `POST /api/admin/users/{user_id}/deactivate`.
#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/deactivate",
    tag = "admin",
    summary = "Deactivates a person: every session ends as a revocation, an agent leaves routing (open conversations rerouted), sign-in is refused until reactivated",
    params(("user_id" = i64, Path, description = "A person's id")),
    responses(
        (status = 200, description = "How many sessions ended", body = vigil_policy::api::RevokeResult),
        (status = 404, description = "No such person in this account", body = vigil_policy::api::ErrorBody),
        (status = 409, description = "`last_admin`: the account's last active person who manages security", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::UsersWrite)?;
    s.require_recent_authentication(&state).await?;
    let user_id = user_id_of(&path)?;
    let revoked = crate::people::deactivate(
        &state.store,
        &state.sessions.metrics,
        s.account_id(),
        user_id,
        s.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RevokeResult { revoked }))
}

/// `POST /api/admin/users/{user_id}/reactivate`.
#[utoipa::path(
    post,
    path = "/api/admin/users/{user_id}/reactivate",
    tag = "admin",
    summary = "Reactivates a person: they may sign in again",
    params(("user_id" = i64, Path, description = "A person's id")),
    responses(
        (status = 200, description = "Active again: `{\"active\": true}`"),
        (status = 404, description = "No such person in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn reactivate_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::UsersWrite)?;
    s.require_recent_authentication(&state).await?;
    let user_id = user_id_of(&path)?;
    crate::people::reactivate(
        &state.store,
        s.account_id(),
        user_id,
        s.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"active": true})))
}
