//! Webhook endpoints (`/api/admin/webhooks`): add one (its secret shown
//! once), list, remove, enable one that was disabled, its deliveries with
//! every attempt, and "retry now".
//! Delivery itself is [`crate::webhooks::dispatcher`]'s.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use url::Url;
use vigil_policy::webhooks::{
    normalised_events, validate_webhook, CreatedWebhook, Delivery, Webhook, WebhookFormat,
    WebhookInput, ENDPOINTS_MAX,
};
use vigil_policy::{FieldError, FieldErrorCode};

use crate::auth::admin::Admin;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::random::random_hex;
use crate::state::AppState;
use crate::store::audit::{self, action, Event};
use crate::store::webhooks::{self as rows, Endpoint};
use crate::webhooks::caep;

fn url_error(message: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(
        "url",
        FieldErrorCode::Invalid,
        message,
    )])
}

/// What an audit entry says of an endpoint: never the secret.
fn described(e: &Webhook) -> serde_json::Value {
    json!({"id": e.id, "url": e.url, "events": e.events, "description": e.description, "format": e.format})
}

fn no_endpoint() -> ApiError {
    ApiError::NotFound("no such webhook endpoint")
}

/// An endpoint of the account, or 404.
async fn endpoint_of(state: &AppState, account_id: i64, id: &str) -> Result<Endpoint, ApiError> {
    rows::get(&state.store, account_id, id)
        .await?
        .ok_or_else(no_endpoint)
}

/// `POST /api/admin/webhooks`.
#[utoipa::path(
    post,
    path = "/api/admin/webhooks",
    tag = "webhooks",
    summary = "Adds a webhook endpoint; its signing secret is in this answer only",
    description = "`format` `standard_webhooks` (the default): JSON signed with the endpoint's HMAC secret, `whsec_…`, in this answer only. `caep`: each session.ended as an OpenID CAEP `session-revoked` Security Event Token (RFC 8417) signed RS256 with Vigil's key, pushed per RFC 8935 (Content-Type application/secevent+jwt, accepted with 202); the answer names the SETs' `issuer` and `jwks_uri` (GET /api/caep/jwks.json) instead of a secret.",
    request_body = WebhookInput,
    responses(
        (status = 201, description = "Added; `secret` (whsec_…) is never shown again", body = CreatedWebhook),
        (status = 400, description = "Not valid (`validation`): the URL breaks the outbound rules (https to a public address unless VIGIL_OUTBOUND_ALLOW allows it; the message says why), an unknown event type, a CAEP endpoint with events other than session.ended, or the account has 20 endpoints already", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::NotJson,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let rules = state.outbound.rules();
    let input = WebhookInput {
        url: input.url.trim().to_owned(),
        description: input
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        ..input
    };
    let errors = validate_webhook(&input, rules.allows_any());
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let url = Url::parse(&input.url).map_err(|e| url_error(format!("Not a URL: {e}.")))?;
    rules
        .check(&url)
        .await
        .map_err(|e| url_error(e.to_string()))?;
    let now = state.clock.now();
    let caep = input.format == WebhookFormat::Caep;
    if caep {
        // Published before the first SET needs it.
        caep::ensure_key(&state.store, now).await?;
    }
    let endpoint = Endpoint {
        view: Webhook {
            id: random_hex(16),
            url: url.to_string(),
            events: normalised_events(&input.events),
            description: input.description,
            format: input.format,
            enabled: true,
            created_at: now,
            failing_since: None,
            disabled_at: None,
        },
        account_id: s.account_id(),
        secret: if caep {
            String::new()
        } else {
            crate::webhooks::new_secret()
        },
        issuer: caep.then(|| super::public_origin(&state, &req)),
    };
    let mut tx = state.store.begin().await?;
    if rows::count_locked(&mut tx, s.account_id()).await? >= ENDPOINTS_MAX as i64 {
        return Err(url_error(format!(
            "An account has at most {ENDPOINTS_MAX} webhook endpoints: remove one first."
        )));
    }
    rows::insert(&mut tx, &endpoint).await?;
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &s.user().email,
            action: action::WEBHOOK_CREATED,
            target: Some(format!("webhook:{}", endpoint.view.id)),
            details: described(&endpoint.view),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(endpoint = %endpoint.view.id, "webhook endpoint added");
    let Endpoint {
        view,
        secret,
        issuer,
        ..
    } = endpoint;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedWebhook {
            id: view.id,
            url: view.url,
            events: view.events,
            description: view.description,
            enabled: view.enabled,
            format: view.format,
            secret: (!caep).then_some(secret),
            jwks_uri: issuer.as_ref().map(|i| format!("{i}{}", caep::JWKS_PATH)),
            issuer,
        }))
}

/// `GET /api/caep/jwks.json`.
#[utoipa::path(
    get,
    path = "/api/caep/jwks.json",
    tag = "webhooks",
    summary = "The public keys CAEP Security Event Tokens are signed with (a JWK Set), for receivers to check them",
    description = "Anyone may read it. The newest key signs; the one before it stays published after a rotation (`vigil rotate-caep-key`). A SET's header names its key (`kid`).",
    responses(
        (status = 200, description = "The keys, newest first", body = caep::Jwks),
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = caep::jwks(&state.store, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(keys))
}

/// `GET /api/admin/webhooks`.
#[utoipa::path(
    get,
    path = "/api/admin/webhooks",
    tag = "webhooks",
    summary = "The account's webhook endpoints (never their secrets); a disabled one failed for 24 h",
    responses(
        (status = 200, description = "The endpoints, oldest first", body = Vec<Webhook>),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn list(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, ApiError> {
    let s = admin.session_only()?;
    let all = rows::list(&state.store, s.account_id()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(all.into_iter().map(|e| e.view).collect::<Vec<_>>()))
}

/// `DELETE /api/admin/webhooks/{id}`.
#[utoipa::path(
    delete,
    path = "/api/admin/webhooks/{id}",
    tag = "webhooks",
    summary = "Removes a webhook endpoint with its deliveries",
    params(("id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such endpoint in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let e = endpoint_of(&state, s.account_id(), &id).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    if !rows::delete(&mut tx, s.account_id(), &e.view.id).await? {
        return Err(no_endpoint());
    }
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &s.user().email,
            action: action::WEBHOOK_DELETED,
            target: Some(format!("webhook:{}", e.view.id)),
            details: described(&e.view),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/admin/webhooks/{id}/enable`.
#[utoipa::path(
    post,
    path = "/api/admin/webhooks/{id}/enable",
    tag = "webhooks",
    summary = "Enables a webhook endpoint that was disabled after failing for 24 h; the deliveries its disabling stopped are sent again",
    description = "The endpoint keeps its id, secret and delivery log; its failure clock starts over, and every delivery that was pending when it was disabled is due at once (with the same webhook-id), carrying on with the attempts it had left (at least one). Events that happened while it was disabled were not recorded for it. An endpoint that is enabled already is answered as it is.",
    params(("id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "Enabled (or was already)", body = Webhook),
        (status = 404, description = "No such endpoint in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::NotAllowedOrStale,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn enable(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.recent_session(&state).await?;
    let e = endpoint_of(&state, s.account_id(), &id).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let Some(redelivering) = rows::enable(&mut tx, s.account_id(), &e.view.id, now).await? else {
        tx.commit().await?;
        // Enabled already (or changed meanwhile): as it is now.
        let e = endpoint_of(&state, s.account_id(), &e.view.id).await?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(e.view));
    };
    let mut details = described(&e.view);
    details["redelivering"] = json!(redelivering);
    audit::record(
        &mut tx,
        now,
        Event {
            account_id: s.account_id(),
            actor: &s.user().email,
            action: action::WEBHOOK_ENABLED,
            target: Some(format!("webhook:{}", e.view.id)),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(endpoint = %e.view.id, redelivering, "webhook endpoint enabled again");
    // What `rows::enable` wrote; an endpoint's other fields never change.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Webhook {
            enabled: true,
            failing_since: None,
            disabled_at: None,
            ..e.view
        }))
}

/// The query of `…/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// How many, newest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// `GET /api/admin/webhooks/{id}/deliveries`.
#[utoipa::path(
    get,
    path = "/api/admin/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "An endpoint's deliveries, newest first, each with every attempt",
    params(("id" = String, Path, description = "Endpoint id"), DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries", body = Vec<Delivery>),
        (status = 400, description = "`limit` is not 1 to 1000", body = vigil_policy::api::ErrorBody),
        (status = 404, description = "No such endpoint in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.session_only()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 1000."));
    }
    let e = endpoint_of(&state, s.account_id(), &id).await?;
    let list = rows::deliveries(&state.store, &e.view.id, i64::from(limit)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(list))
}

/// `POST /api/admin/webhooks/{id}/deliveries/{delivery_id}/retry`.
#[utoipa::path(
    post,
    path = "/api/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
    tag = "webhooks",
    summary = "Attempts a delivery again now (also a delivered or failed one), with the same webhook-id",
    params(
        ("id" = String, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Due now: the dispatcher attempts it within a second"),
        (status = 400, description = "The endpoint is disabled (it failed for 24 h): enable it again once it works (POST …/enable)", body = vigil_policy::api::ErrorBody),
        (status = 404, description = "No such endpoint or delivery in this account", body = vigil_policy::api::ErrorBody),
        crate::routes::openapi::AdminNotAllowed,
        crate::routes::openapi::Unavailable,
    )
)]
pub async fn retry(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = admin.session_only()?;
    let (id, delivery_id) = path.into_inner();
    let e = endpoint_of(&state, s.account_id(), &id).await?;
    if !e.view.enabled {
        return Err(ApiError::bad_request(
            "This endpoint is disabled because it failed for 24 hours: enable it again once it works.",
        ));
    }
    let mut tx = state.store.begin().await?;
    if !rows::retry_now(&mut tx, &e.view.id, &delivery_id, state.clock.now()).await? {
        return Err(ApiError::NotFound("no such delivery"));
    }
    tx.commit().await?;
    Ok(HttpResponse::Accepted().finish())
}
