//! The account's security settings: read, change, and preview a change.

use std::collections::HashMap;

use crate::sessions::Judge;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use vigil_policy::api::{Impact, PreviewResponse, SettingsUpdate};
use vigil_policy::{evaluate, validate, Audience, SecuritySettings, Verdict};

use super::admin::live_sessions;
use crate::auth::admin::Admin;
use crate::error::ApiError;
use crate::json::{decode, RawJson};
use crate::state::AppState;
use crate::store::audit::{self, action, Event};
use crate::store::settings as settings_store;
use vigil_policy::tokens::Scope;

fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// `GET /api/admin/security-settings`, with an ETag (and 304 on a match).
#[utoipa::path(
    get,
    path = "/api/admin/security-settings",
    tag = "admin",
    summary = "The account's security settings (with ETag)",
    responses(
        (status = 200, description = "The settings", body = vigil_policy::api::SettingsEnvelope),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SettingsRead)?;
    let stored = settings_store::load(&state.store, s.account_id()).await?;
    let tag = etag(stored.version);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .json(stored.envelope(state.config.limits())))
}

/// Decodes and validates a settings body; every problem is a `validation`
/// field error, with paths relative to the settings.
fn checked(state: &AppState, bytes: &[u8]) -> Result<SettingsUpdate, ApiError> {
    let update: SettingsUpdate =
        decode(bytes, Some("settings")).map_err(|e| ApiError::Validation(vec![e]))?;
    let errors = validate(&update.settings, &state.config.limits());
    if errors.is_empty() {
        Ok(update)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// `PUT /api/admin/security-settings`: stores valid settings if `version`
/// is still current; audits the change with the fields before and after.
#[utoipa::path(
    put,
    path = "/api/admin/security-settings",
    tag = "admin",
    summary = "Stores new settings (version must match)",
    request_body = vigil_policy::api::SettingsUpdate,
    responses(
        (status = 200, description = "Stored, version + 1", body = vigil_policy::api::SettingsEnvelope),
        (status = 400, description = "Not valid: every field at fault, nothing stored", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::NotJson,
        (status = 409, description = "Changed by someone else meanwhile", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    admin: Admin,
    RawJson(bytes): RawJson,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SettingsWrite)?;
    s.require_recent_authentication(&state).await?;
    let update = checked(&state, &bytes)?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let before = settings_store::load_in(&mut tx, s.account_id()).await?;
    if before.version != update.version {
        return Err(ApiError::VersionConflict {
            current: before.version,
        });
    }
    let version = match settings_store::update(
        &mut tx,
        s.account_id(),
        update.version,
        &update.settings,
        s.person_id(),
        now,
    )
    .await?
    {
        Ok(v) => v,
        Err(current) => return Err(ApiError::VersionConflict { current }),
    };
    crate::sessions::reindex(
        &state.sessions,
        &mut tx,
        s.account_id(),
        &update.settings,
        now,
    )
    .await?;
    let changes = changes(&before.settings, &update.settings);
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: s.actor(),
            action: action::SETTINGS_UPDATED,
            target: Some("security_settings".to_owned()),
            details: json!({
                "version": version,
                "before": before.settings,
                "after": update.settings,
                "changes": changes,
            }),
        },
    )
    .await?;
    crate::webhooks::emit_one(
        &mut tx,
        s.account_id(),
        crate::webhooks::event::SETTINGS_UPDATED,
        json!({"version": version, "settings": update.settings}),
        now,
    )
    .await?;
    // A token's change is answerable to the person who created it, as the
    // stored `updated_by` says (the audit names the token).
    let updated_by = match s.session() {
        Some(c) => Some(c.user().email.clone()),
        None => {
            settings_store::load_in(&mut tx, s.account_id())
                .await?
                .updated_by
        }
    };
    tx.commit().await?;
    tracing::info!(
        account = s.account_id(),
        version,
        "security settings updated"
    );
    // What was just stored; no need to read it back.
    let stored = settings_store::Stored {
        version,
        settings: update.settings,
        updated_at: now,
        updated_by,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(stored.envelope(state.config.limits())))
}

/// `POST /api/admin/security-settings/preview`: what the proposed settings
/// would do to live sessions right now, each judged by the policy that
/// would govern it (the admins' for admins, the remembered limits for a
/// remembered session). Stores nothing.
#[utoipa::path(
    post,
    path = "/api/admin/security-settings/preview",
    tag = "admin",
    summary = "What settings would do to live sessions; stores nothing",
    description = "Per audience (admins count among agents, judged by the admins' policy when there is one): the live sessions, those that would end at once, those that would be in their warning at once, and, under the proposed `max_sessions`, the people who already hold as many live sessions as it allows or more (sessions that would end at once not counted) and their sessions beyond it. Saving ends none of those: each such person's next sign-in ends their oldest sessions (`end_oldest`) or is refused (`refuse`).",
    request_body = vigil_policy::api::SettingsUpdate,
    responses(
        (status = 200, description = "The impact", body = vigil_policy::api::PreviewResponse),
        (status = 400, description = "Not valid", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn preview(
    state: web::Data<AppState>,
    admin: Admin,
    RawJson(bytes): RawJson,
) -> Result<HttpResponse, ApiError> {
    let s = admin.require(Scope::SettingsRead)?;
    let update = checked(&state, &bytes)?;
    let now = state.clock.now();
    let sessions = live_sessions(&state, s.account_id(), s.settings(), now).await?;
    let judge = Judge::read(state.store.pool(), s.account_id(), &update.settings).await?;
    let impact = |audience: Audience| {
        let mut out = Impact {
            end_now: 0,
            warn_now: 0,
            live: 0,
            people_at_limit: 0,
            sessions_over_limit: 0,
        };
        // Per person: the sessions that stay, and the limit they are under.
        let mut held: HashMap<i64, (u64, Option<u32>)> = HashMap::new();
        for s in sessions.iter().filter(|s| s.row.audience == audience) {
            out.live += 1;
            let policy = judge.policy(&s.row);
            match evaluate(&policy, s.row.times(), now).verdict {
                Verdict::Expired(_) => {
                    out.end_now += 1;
                    continue;
                }
                Verdict::Warning => out.warn_now += 1,
                Verdict::Active => {}
            }
            held.entry(s.row.user_id)
                .or_insert((0, policy.max_sessions))
                .0 += 1;
        }
        for (live, max) in held.into_values() {
            if let Some(max) = max.map(u64::from).filter(|max| live >= *max) {
                out.people_at_limit += 1;
                out.sessions_over_limit += live - max;
            }
        }
        out
    };
    Ok(HttpResponse::Ok().json(PreviewResponse {
        agents: impact(Audience::Agents),
        requesters: impact(Audience::Requesters),
    }))
}

/// Every leaf that differs between two settings, as `{path, before, after}`.
pub fn changes(before: &SecuritySettings, after: &SecuritySettings) -> Value {
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Value>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        &p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            _ if a != b => out.push(json!({"path": path, "before": a, "after": b})),
            _ => {}
        }
    }
    let a = serde_json::to_value(before).unwrap_or(Value::Null);
    let b = serde_json::to_value(after).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_each_changed_leaf() {
        let before = SecuritySettings::default();
        let mut after = before.clone();
        after.agents.idle_timeout_secs = 900;
        after.requesters.remember_me = true;
        assert_eq!(
            changes(&before, &after),
            json!([
                {"path": "agents.idle_timeout_secs", "before": 28800, "after": 900},
                {"path": "requesters.remember_me", "before": false, "after": true},
            ])
        );
    }
}
