//! The account's security settings: read, change, and preview a change.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use vigil_policy::api::{Impact, PreviewResponse, SettingsUpdate};
use vigil_policy::{evaluate, validate, Audience, SecuritySettings, SessionTimes, Verdict};

use crate::admin_queries::live_sessions;
use crate::audit::{self, action, Event};
use crate::error::ApiError;
use crate::json::{decode, RawJson};
use crate::sessions::SecurityAdmin;
use crate::settings_store;
use crate::state::AppState;

fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// `GET /api/admin/security-settings`, with an ETag (and 304 on a match).
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    SecurityAdmin(s): SecurityAdmin,
) -> Result<HttpResponse, ApiError> {
    let stored = settings_store::load_from(&state.db, s.account_id).await?;
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
        .json(stored.envelope(state.config.limits)))
}

/// Decodes and validates a settings body; every problem is a `validation`
/// field error, with paths relative to the settings.
fn checked(state: &AppState, bytes: &[u8]) -> Result<SettingsUpdate, ApiError> {
    let update: SettingsUpdate =
        decode(bytes, Some("settings")).map_err(|e| ApiError::Validation(vec![e]))?;
    let errors = validate(&update.settings, &state.config.limits);
    if errors.is_empty() {
        Ok(update)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// `PUT /api/admin/security-settings`: stores valid settings if `version`
/// is still current; audits the change with the fields before and after.
pub async fn put(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    RawJson(bytes): RawJson,
) -> Result<HttpResponse, ApiError> {
    let update = checked(&state, &bytes)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let before = settings_store::load(&mut tx, s.account_id).await?;
    if before.version != update.version {
        return Err(ApiError::VersionConflict {
            current: before.version,
        });
    }
    let version = match settings_store::update(
        &mut tx,
        s.account_id,
        update.version,
        &update.settings,
        s.user.id,
        now,
    )
    .await?
    {
        Ok(v) => v,
        Err(current) => return Err(ApiError::VersionConflict { current }),
    };
    let changes = settings_store::changes(&before.settings, &update.settings);
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id,
            actor: &s.user.email,
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
    tx.commit().await?;
    state.sessions.forget_account(s.account_id);
    tracing::info!(account = s.account_id, version, "security settings updated");
    // What was just stored; no need to read it back.
    let stored = settings_store::Stored {
        version,
        settings: update.settings,
        updated_at: now,
        updated_by: Some(s.user.email.clone()),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(stored.envelope(state.config.limits)))
}

/// `POST /api/admin/security-settings/preview`: what the proposed settings
/// would do to live sessions right now. Stores nothing.
pub async fn preview(
    state: web::Data<AppState>,
    SecurityAdmin(s): SecurityAdmin,
    RawJson(bytes): RawJson,
) -> Result<HttpResponse, ApiError> {
    let update = checked(&state, &bytes)?;
    let now = state.clock.now();
    let sessions = live_sessions(&state, s.account_id, &s.settings).await?;
    let impact = |audience: Audience, settings: &SecuritySettings| {
        let mut out = Impact {
            end_now: 0,
            warn_now: 0,
            live: 0,
        };
        for row in sessions.iter().filter(|r| r.audience == audience) {
            let times = SessionTimes {
                created_at: row.created_at,
                last_activity_at: row.last_activity_at,
                persistent: row.persistent,
            };
            out.live += 1;
            match evaluate(settings.policy(audience), times, now).verdict {
                Verdict::Expired(_) => out.end_now += 1,
                Verdict::Warning => out.warn_now += 1,
                Verdict::Active => {}
            }
        }
        out
    };
    Ok(HttpResponse::Ok().json(PreviewResponse {
        agents: impact(Audience::Agents, &update.settings),
        requesters: impact(Audience::Requesters, &update.settings),
    }))
}
