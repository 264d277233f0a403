//! Webhook endpoints in the CAEP format: each `session.ended` pushed as an
//! OpenID CAEP `session-revoked` Security Event Token (RFC 8417, RFC 8935)
//! to a real receiver on a free port, which checks every SET against the
//! JWKS Vigil publishes (fetched over HTTP) with `jsonwebtoken` (ring's
//! RSA), another JOSE implementation than the server's (openidconnect and
//! the rsa crate). The same outbox, retries and delivery log as Standard
//! Webhooks; the signing key made once when replicas ask for it at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};

use vigil_server::clock::Clock;

use crate::helpers::{header, serve, Options, Served, Session, TestApp};
use crate::webhooks::{spawn_allowing_receivers, until_deliveries};

const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// One SET as the receiver saw it.
#[derive(Debug, Clone)]
struct Got {
    /// The header, when the SET verified.
    header: Option<jsonwebtoken::Header>,
    /// The claims, when the SET verified.
    claims: Option<Value>,
    content_type: String,
    /// Why it did not verify.
    refused: Option<String>,
}

struct ReceiverState {
    /// Vigil's JWKS URL, the SETs' expected `iss` and `aud` (the
    /// receiver's URL), set once the endpoint is added.
    expect: Mutex<Option<(String, String, String)>>,
    /// The status a verified SET is answered with.
    answer: Mutex<u16>,
    got: Mutex<Vec<Got>>,
}

/// A real RFC 8935 receiver: it fetches the JWKS (each time, as a receiver
/// meeting an unknown `kid` would), verifies the signature, `typ`, `iss`
/// and `aud`, and answers 202 (or what the test says), else 400
/// `{"err":…}`.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    _server: Served,
}

async fn verify(
    state: &ReceiverState,
    body: &str,
) -> Result<(jsonwebtoken::Header, Value), String> {
    let (jwks_uri, issuer, audience) = state
        .expect
        .lock()
        .unwrap()
        .clone()
        .ok_or("no endpoint yet")?;
    let header = decode_header(body).map_err(|e| format!("header: {e}"))?;
    if header.typ.as_deref() != Some("secevent+jwt") {
        return Err(format!("typ {:?}", header.typ));
    }
    let kid = header.kid.clone().ok_or("no kid")?;
    let jwks: JwkSet = reqwest::get(&jwks_uri)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let jwk = jwks.find(&kid).ok_or("unknown kid")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let data = decode::<Value>(body, &key, &validation).map_err(|e| format!("signature: {e}"))?;
    Ok((data.header, data.claims))
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<ReceiverState>>,
) -> HttpResponse {
    let content_type = header(&req, "content-type");
    let text = String::from_utf8_lossy(&body).into_owned();
    let result = verify(&state, &text).await;
    let answer = *state.answer.lock().unwrap();
    let (got, response) = match result {
        Ok((header, claims)) => (
            Got {
                header: Some(header),
                claims: Some(claims),
                content_type,
                refused: None,
            },
            HttpResponse::build(actix_web::http::StatusCode::from_u16(answer).unwrap())
                .json(json!({"err": "invalid_request", "description": "told to fail"})),
        ),
        Err(why) => (
            Got {
                header: None,
                claims: None,
                content_type,
                refused: Some(why.clone()),
            },
            HttpResponse::BadRequest().json(json!({"err": "invalid_key", "description": why})),
        ),
    };
    state.got.lock().unwrap().push(got);
    response
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState {
            expect: Mutex::new(None),
            answer: Mutex::new(202),
            got: Mutex::default(),
        });
        let server = serve(0, state.clone(), receive);
        Receiver {
            url: format!("http://127.0.0.1:{}/caep/events", server.port),
            state,
            _server: server,
        }
    }

    fn expect(&self, jwks_uri: &str, issuer: &str) {
        *self.state.expect.lock().unwrap() =
            Some((jwks_uri.to_owned(), issuer.to_owned(), self.url.clone()));
    }

    fn answer(&self, status: u16) {
        *self.state.answer.lock().unwrap() = status;
    }

    fn got(&self) -> Vec<Got> {
        self.state.got.lock().unwrap().clone()
    }
}

/// Adds a CAEP endpoint for `receiver`; its id and the answer.
async fn add_caep(app: &TestApp, admin: &Session, receiver: &Receiver) -> (String, Value) {
    let res = app
        .post(
            "/api/admin/webhooks",
            admin,
            json!({"url": receiver.url, "events": ["session.ended"], "format": "caep"}),
        )
        .await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    receiver.expect(
        body["jwks_uri"].as_str().unwrap(),
        body["issuer"].as_str().unwrap(),
    );
    (body["id"].as_str().unwrap().to_owned(), body)
}

async fn jwks(app: &TestApp) -> Value {
    let res = app.get_anonymous("/api/caep/jwks.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn session_ended_events_reach_a_caep_receiver_as_signed_sets_it_verifies_against_the_jwks() {
    let app = spawn_allowing_receivers(None).await;
    let receiver = Receiver::start().await;
    let admin = app.login("admin@demo.test").await;
    let (id, created) = add_caep(&app, &admin, &receiver).await;
    assert_eq!(created["format"], "caep");
    assert!(created.get("secret").is_none(), "no HMAC secret: {created}");
    let issuer = created["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        created["jwks_uri"].as_str().unwrap(),
        format!("{issuer}/api/caep/jwks.json")
    );
    // Without VIGIL_PUBLIC_ORIGIN, the issuer is the host the admin used.
    assert_eq!(
        created["jwks_uri"].as_str().unwrap(),
        app.url("/api/caep/jwks.json")
    );
    let published = jwks(&app).await;
    let keys = published["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{published}");
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(
        keys[0].get("d").is_none() && keys[0].get("p").is_none(),
        "public only"
    );
    let listed: Value = app.get_json("/api/admin/webhooks", &admin).await;
    assert_eq!(listed[0]["format"], "caep");

    // A sign-out, an admin's revocation and a sign-in (not sent: CAEP
    // endpoints take session.ended only).
    let agent = app.login("agent1@demo.test").await;
    let first_session = app.session_id(&agent).await;
    app.logout(&agent).await;
    let agent = app.login("agent2@demo.test").await;
    let second_session = app.session_id(&agent).await;
    let res = app
        .delete(&format!("/api/admin/sessions/{second_session}"), &admin)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let log = until_deliveries(
        &app,
        &admin,
        &id,
        2,
        Duration::from_secs(10),
        "both delivered",
        |d| d["status"] == "delivered",
    )
    .await;
    let got = receiver.got();
    assert_eq!(got.len(), 2, "{got:?}");
    for g in &got {
        assert_eq!(g.refused, None);
        assert_eq!(g.content_type, "application/secevent+jwt");
        let header = g.header.as_ref().unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), keys[0]["kid"].as_str());
        let c = g.claims.as_ref().unwrap();
        assert_eq!(c["iss"], issuer.as_str());
        assert_eq!(c["aud"], receiver.url.as_str());
        assert!(c["iat"].is_i64());
        assert!(c.get("sub").is_none() && c.get("exp").is_none(), "{c}");
        assert!(
            log.iter()
                .any(|d| d["event_id"] == c["jti"] && d["last_status_code"] == 202),
            "jti is the event id: {c}"
        );
        let events = c["events"].as_object().unwrap();
        assert_eq!(events.len(), 1, "{c}");
        assert!(events[SESSION_REVOKED]["event_timestamp"].is_i64(), "{c}");
        assert!(!events[SESSION_REVOKED]["reason_admin"]["en"]
            .as_str()
            .unwrap()
            .is_empty());
    }
    let by_email = |email: &str| {
        got.iter()
            .map(|g| g.claims.clone().unwrap())
            .find(|c| c["sub_id"] == json!({"format": "email", "email": email}))
            .unwrap_or_else(|| panic!("no SET for {email}"))
    };
    let signed_out = &by_email("agent1@demo.test")["events"][SESSION_REVOKED];
    assert_eq!(signed_out["initiating_entity"], "user");
    assert!(signed_out["reason_admin"]["en"]
        .as_str()
        .unwrap()
        .contains(&first_session));
    let revoked = &by_email("agent2@demo.test")["events"][SESSION_REVOKED];
    assert!(revoked.get("initiating_entity").is_none(), "{revoked}");
    assert!(revoked["reason_admin"]["en"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}

/// A receiver that refuses (400 with an RFC 8935 error, or a 200 that is
/// not the 202 RFC 8935 asks for) gets the same SET (same `jti`) again with
/// backoff, and the log says why; 202 ends it.
#[tokio::test]
async fn a_set_not_accepted_with_202_is_retried_with_the_same_jti_and_the_log_says_why() {
    let app = spawn_allowing_receivers(None).await;
    let receiver = Receiver::start().await;
    let admin = app.login("admin@demo.test").await;
    let (id, _) = add_caep(&app, &admin, &receiver).await;
    receiver.answer(400);
    let agent = app.login("agent1@demo.test").await;
    app.logout(&agent).await;
    let d = &until_deliveries(
        &app,
        &admin,
        &id,
        1,
        Duration::from_secs(10),
        "first attempt",
        |d| d["attempts"] == 1,
    )
    .await[0];
    assert_eq!(d["status"], "pending");
    let error = d["attempt_log"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("400") && error.contains("invalid_request: told to fail"),
        "{error}"
    );
    receiver.answer(200);
    app.advance(5);
    let d = &until_deliveries(
        &app,
        &admin,
        &id,
        1,
        Duration::from_secs(10),
        "second attempt",
        |d| d["attempts"] == 2,
    )
    .await[0];
    assert_eq!(d["status"], "pending", "a 200 is not RFC 8935's 202");
    receiver.answer(202);
    app.advance(300);
    until_deliveries(
        &app,
        &admin,
        &id,
        1,
        Duration::from_secs(10),
        "delivered",
        |d| d["status"] == "delivered",
    )
    .await;
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    let jtis: HashSet<String> = got
        .iter()
        .map(|g| {
            g.claims.as_ref().unwrap()["jti"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 1, "the same SET id on every attempt");
}

/// CAEP endpoints take session.ended only; a bad format is a 400; nothing
/// is stored either way.
#[tokio::test]
async fn a_caep_endpoint_takes_session_ended_only_and_bad_input_changes_nothing() {
    let app = spawn_allowing_receivers(None).await;
    let admin = app.login("admin@demo.test").await;
    for body in [
        json!({"url": "http://127.0.0.1:9/x", "events": ["*"], "format": "caep"}),
        json!({"url": "http://127.0.0.1:9/x", "events": ["session.ended", "session.started"], "format": "caep"}),
        json!({"url": "http://127.0.0.1:9/x", "events": ["session.ended"], "format": "jwt"}),
        json!({"url": "http://127.0.0.1:9/x", "events": ["session.ended"], "format": 1}),
    ] {
        let res = app.post("/api/admin/webhooks", &admin, body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM webhook_endpoints").await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM caep_signing_keys").await,
        0
    );
}

/// A rotation adds a key that signs from then on; the previous one stays
/// published, so SETs signed before still verify; the private key is in no
/// answer.
#[tokio::test]
async fn a_rotated_key_signs_new_sets_and_the_previous_one_stays_published() {
    let app = spawn_allowing_receivers(None).await;
    let receiver = Receiver::start().await;
    let admin = app.login("admin@demo.test").await;
    let (id, _) = add_caep(&app, &admin, &receiver).await;
    let before = jwks(&app).await["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = vigil_server::webhooks::caep::rotate(&app.state.store, app.clock.now())
        .await
        .unwrap();
    assert_ne!(kid, before);
    let published = jwks(&app).await;
    let kids: Vec<&str> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [kid.as_str(), before.as_str()],
        "newest first, the previous kept"
    );
    let agent = app.login("agent1@demo.test").await;
    app.logout(&agent).await;
    until_deliveries(
        &app,
        &admin,
        &id,
        1,
        Duration::from_secs(10),
        "delivered",
        |d| d["status"] == "delivered",
    )
    .await;
    let got = receiver.got();
    assert_eq!(
        got[0].header.as_ref().unwrap().kid.as_deref(),
        Some(kid.as_str())
    );
    let private: String = {
        use sqlx::Row;
        sqlx::query("SELECT private_key FROM caep_signing_keys ORDER BY generation DESC")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap()
            .get(0)
    };
    assert!(private.contains("PRIVATE KEY"));
    // Published: the public members only (no d, p, q, dp, dq, qi).
    for key in published["keys"].as_array().unwrap() {
        let mut members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"], "{key}");
    }
}

/// Two replicas on one database, asked for the key at once (the JWKS, and
/// CAEP endpoints added on each): exactly one signing key, the same JWKS
/// from both. Repeated, on fresh databases; SQLite and PostgreSQL.
#[tokio::test]
async fn replicas_making_the_first_signing_key_at_once_keep_exactly_one() {
    for round in 0..3 {
        let a = spawn_allowing_receivers(None).await;
        let b = a
            .replica_with(Options {
                outbound_allow: Some("127.0.0.1/32".into()),
                ..Options::default()
            })
            .await;
        let (admin_a, admin_b) = (
            a.login("admin@demo.test").await,
            b.login("admin@demo.test").await,
        );
        let asks = (0..6).map(|i| {
            let (app, admin) = if i % 2 == 0 { (&a, &admin_a) } else { (&b, &admin_b) };
            async move {
                if i < 4 {
                    app.get_anonymous("/api/caep/jwks.json").await.status()
                } else {
                    app.post(
                        "/api/admin/webhooks",
                        admin,
                        json!({"url": format!("http://127.0.0.1:9/{round}/{i}"), "events": ["session.ended"], "format": "caep"}),
                    )
                    .await
                    .status()
                }
            }
        });
        let statuses = futures_util::future::join_all(asks).await;
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::OK || *s == StatusCode::CREATED),
            "round {round}: {statuses:?}"
        );
        assert_eq!(
            a.scalar("SELECT COUNT(*) FROM caep_signing_keys").await,
            1,
            "round {round}"
        );
        assert_eq!(jwks(&a).await, jwks(&b).await, "round {round}");
        assert_eq!(jwks(&a).await["keys"].as_array().unwrap().len(), 1);
    }
}
