//! `GET /api/openapi.json`: it lists exactly the routes the server mounts,
//! and what the server answers matches the document's schemas — every
//! route, its successes and its errors.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Options, Session, TestApp, PASSWORD};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const DELETE: Method = Method::DELETE;

async fn document(app: &TestApp) -> Value {
    let res = app.get_anonymous("/api/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_document_lists_exactly_the_mounted_routes() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let mounted: BTreeSet<(String, String)> = vigil_server::routes::mounted()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    assert_eq!(documented, mounted);
    // Every operation names its statuses, and every error is an ErrorBody.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

/// Every route that reads or writes the database states the 503 a
/// database down or too busy answers, with its Retry-After header (only
/// `/healthz` and this document need no database), and such an answer
/// matches what the document says.
#[tokio::test]
async fn every_route_that_touches_the_database_documents_503_with_retry_after() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut routes = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if ["/healthz", "/api/openapi.json"].contains(&path.as_str()) {
                assert!(op["responses"]["503"].is_null(), "{method} {path}");
                continue;
            }
            routes += 1;
            let unavailable = &op["responses"]["503"];
            assert_eq!(
                unavailable["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} states no 503"
            );
            assert!(
                unavailable["headers"]["Retry-After"]["schema"].is_object(),
                "{method} {path}: its 503 states no Retry-After"
            );
        }
    }
    assert!(routes > 40, "{routes}");

    // A real one (SQLite's busy timeout; PostgreSQL waits for the lock).
    if crate::helpers::test_db() == crate::helpers::TestDb::Sqlite {
        let person = app.login("agent1@demo.test").await;
        let lock = app.hold_sqlite_write_lock().await;
        let res = app
            .request(POST, "/api/auth/logout", Some(&person), Some(json!({})))
            .await;
        assert!(res.headers().get("retry-after").is_some(), "Retry-After");
        let body = conforms(&doc, "POST", "/api/auth/logout", res, 503).await;
        assert_eq!(body["error"], "unavailable");
        lock.release().await;
        app.session_view(&person).await;
    }
}

/// Checks `value` against a JSON Schema as utoipa writes them (`$ref`,
/// `type` as one name or a list, `properties`, `required`, `items`,
/// `enum`, `oneOf`/`anyOf`/`allOf`, `format: date-time`); returns what
/// does not match.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at, out);
    }
    for (key, all) in [("oneOf", false), ("anyOf", false), ("allOf", true)] {
        if let Some(options) = schema[key].as_array() {
            let fits: Vec<bool> = options
                .iter()
                .map(|o| {
                    let mut errs = Vec::new();
                    check(doc, o, value, at, &mut errs);
                    errs.is_empty()
                })
                .collect();
            let ok = if all {
                fits.iter().all(|f| *f)
            } else {
                fits.iter().any(|f| *f)
            };
            if !ok {
                out.push(format!("{at}: {value} fits no {key} option"));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        });
        if !fits {
            out.push(format!("{at}: {value} is not {types:?}"));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            out.push(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if schema["format"] == "date-time" {
        if let Some(s) = value.as_str() {
            if time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .is_err()
            {
                out.push(format!("{at}: {s} is not RFC 3339"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), value.as_object()) {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                out.push(format!("{at}: missing {name}"));
            }
        }
        for (name, v) in obj {
            match props.get(name) {
                Some(s) => check(doc, s, v, &format!("{at}.{name}"), out),
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    out.push(format!("{at}: unexpected {name}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"), out);
        }
    }
}

/// Asserts that `res` is `want` and documented for `method route`, and
/// that its JSON body matches the documented schema; returns the body.
async fn conforms(doc: &Value, method: &str, route: &str, res: Response, want: u16) -> Value {
    let status = res.status().as_u16();
    assert_eq!(status, want, "{method} {route}");
    let op = &doc["paths"][route][method.to_lowercase()];
    let documented = &op["responses"][status.to_string()];
    assert!(
        documented.is_object(),
        "{method} {route} answered {status}, which the document does not list"
    );
    let text = res.text().await.unwrap();
    let schema = &documented["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Value::Null;
    }
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {route} {status}: not JSON ({e}): {text}"));
    let mut errors = Vec::new();
    check(doc, schema, &body, "body", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {route} {status} does not match the document:\n{}",
        errors.join("\n")
    );
    body
}

/// The documented route that `path` (query and all) is an instance of:
/// the literal one if there is one, else the one whose `{parameters}`
/// fill in to it and that documents `method`.
fn route_of(doc: &Value, method: &Method, path: &str) -> String {
    let path = path.split('?').next().unwrap();
    let paths = doc["paths"].as_object().unwrap();
    if paths.contains_key(path) {
        return path.to_owned();
    }
    let segments: Vec<&str> = path.split('/').collect();
    let fits = |route: &str| {
        let parts: Vec<&str> = route.split('/').collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}')))
    };
    let routes: Vec<&String> = paths
        .iter()
        .filter(|(route, ops)| fits(route) && ops.get(method.as_str().to_lowercase()).is_some())
        .map(|(route, _)| route)
        .collect();
    assert_eq!(
        routes.len(),
        1,
        "{method} {path} is one documented route: {routes:?}"
    );
    routes[0].clone()
}

/// Who sends a request of the tour.
#[derive(Clone, Copy)]
enum By<'a> {
    /// No cookie and no header: a probe, a link, a forged form.
    Stranger,
    /// The console before sign-in: the CSRF header, no cookie.
    Console,
    /// The console of a signed-in person.
    Person(&'a Session),
}

/// One request of the tour and the status it must get.
struct Case<'a> {
    method: Method,
    path: String,
    by: By<'a>,
    body: Option<Value>,
    want: u16,
}

fn case<'a>(
    method: Method,
    path: impl Into<String>,
    by: By<'a>,
    body: Option<Value>,
    want: u16,
) -> Case<'a> {
    Case {
        method,
        path: path.into(),
        by,
        body,
        want,
    }
}

/// Sends `case` and checks the answer against the document; returns the body.
async fn answers(app: &TestApp, doc: &Value, case: Case<'_>) -> Value {
    let Case {
        method,
        path,
        by,
        body,
        want,
    } = case;
    let route = route_of(doc, &method, &path);
    let res = match by {
        By::Stranger => {
            let mut req = app.client.request(method.clone(), app.url(&path));
            if let Some(b) = &body {
                req = req.json(b);
            }
            req.send().await.unwrap()
        }
        By::Console => app.request(method.clone(), &path, None, body).await,
        By::Person(s) => app.request(method.clone(), &path, Some(s), body).await,
    };
    conforms(doc, method.as_str(), &route, res, want).await
}

#[tokio::test]
async fn every_route_answers_as_the_document_says() {
    use By::{Console, Person, Stranger};
    let app = spawn_app().await;
    let doc = document(&app).await;
    let admin = app.login("admin@demo.test").await;
    let agent_session = app.login("agent1@demo.test").await;
    let requester = app.login("requester@demo.test").await;
    let (admin, agent, requester) = (Person(&admin), Person(&agent_session), Person(&requester));
    let one = async |c: Case<'_>| answers(&app, &doc, c).await;
    let tour = async |cases: Vec<Case<'_>>| {
        for c in cases {
            answers(&app, &doc, c).await;
        }
    };
    let body = |v: Value| Some(v);
    let agent2_with = |password: &str| {
        body(json!({"account": "demo", "email": "agent2@demo.test", "password": password}))
    };

    #[rustfmt::skip]
    let cases = vec![
        case(GET, "/healthz", Stranger, None, 200),
        case(GET, "/readyz", Stranger, None, 200),
    ];
    tour(cases).await;
    let view = one(case(GET, "/api/session", agent, None, 200)).await;
    #[rustfmt::skip]
    let cases = vec![
        case(GET, "/api/session", Stranger, None, 401),
        case(POST, "/api/session/activity", agent, body(json!({"source": "input"})), 200),
        case(POST, "/api/session/activity", agent, body(json!({"source": "nap"})), 400),
        case(GET, "/api/session/events", Stranger, None, 401),
    ];
    tour(cases).await;
    drop(app.events(&agent_session).await);
    #[rustfmt::skip]
    let cases = vec![
        case(GET, "/api/accounts/demo/login-options", Stranger, None, 200),
        case(GET, "/api/accounts/nobody/login-options", Stranger, None, 404),
        case(POST, "/api/auth/login", Console, agent2_with(PASSWORD), 200),
        case(POST, "/api/auth/login", Console, agent2_with("wrong"), 401),
        case(POST, "/api/auth/login", Console, body(json!({"account": "demo"})), 400),
        // Without the CSRF header.
        case(POST, "/api/auth/login", Stranger, body(json!({})), 403),
    ];
    tour(cases).await;

    let mine = one(case(GET, "/api/me/sessions", agent, None, 200)).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    #[rustfmt::skip]
    let cases = vec![
        case(DELETE, "/api/me/sessions/nope", agent, None, 404),
        case(POST, "/api/me/sessions/revoke-others", agent, body(json!({})), 200),
    ];
    tour(cases).await;
    let phone = app.login("agent1@demo.test").await;
    let phone = app.session_id(&phone).await;
    one(case(
        DELETE,
        format!("/api/me/sessions/{phone}"),
        agent,
        None,
        204,
    ))
    .await;

    let settings_path = "/api/admin/security-settings";
    let settings = one(case(GET, settings_path, admin, None, 200)).await;
    let update = json!({"version": settings["version"], "settings": settings["settings"]});
    let mut bad = update.clone();
    bad["version"] = json!(settings["version"].as_i64().unwrap() + 1);
    bad["settings"]["agents"]["idle_timeout_secs"] = json!(1);
    #[rustfmt::skip]
    let cases = vec![
        case(GET, settings_path, requester, None, 403),
        case(POST, "/api/admin/security-settings/preview", admin, body(update.clone()), 200),
        case(PUT, settings_path, admin, body(update.clone()), 200),
        case(PUT, settings_path, admin, body(update), 409),
    ];
    tour(cases).await;
    let invalid = one(case(PUT, settings_path, admin, body(bad), 400)).await;
    assert!(!invalid["fields"].as_array().unwrap().is_empty());

    #[rustfmt::skip]
    let cases = vec![
        case(GET, "/api/admin/sessions", admin, None, 200),
        case(GET, "/api/admin/audit?limit=50", admin, None, 200),
        case(GET, "/api/admin/audit?limit=lots", admin, None, 400),
        case(GET, "/api/admin/audit.csv?action=session.login", admin, None, 200),
        case(GET, "/api/admin/audit.csv?from=never", admin, None, 400),
        case(GET, "/api/admin/agents", admin, None, 200),
        case(GET, "/api/desk/conversations", agent, None, 200),
        case(GET, "/api/desk/availability", agent, None, 200),
        case(PUT, "/api/desk/availability", agent, body(json!({"available": true})), 200),
        case(GET, "/api/desk/conversations", requester, None, 403),
        case(POST, "/api/portal/conversations", requester, body(json!({"subject": "Help"})), 201),
        case(GET, "/api/portal/conversations", requester, None, 200),
        case(POST, "/api/portal/conversations", requester, body(json!({"subject": ""})), 400),
    ];
    tour(cases).await;

    // Revocations last: they end sessions.
    let _agent2 = app.login("agent2@demo.test").await;
    let agent2 = app.user_id("agent2@demo.test").await;
    let id = view["session_id"].as_str().unwrap();
    #[rustfmt::skip]
    let cases = vec![
        case(POST, format!("/api/admin/users/{agent2}/revoke-sessions"), admin, body(json!({})), 200),
        case(POST, "/api/admin/users/999999/revoke-sessions", admin, body(json!({})), 404),
        case(DELETE, format!("/api/admin/sessions/{id}"), admin, None, 204),
        case(DELETE, format!("/api/admin/sessions/{id}"), admin, None, 404),
        case(POST, "/api/auth/logout", requester, body(json!({})), 204),
    ];
    tour(cases).await;
}

#[tokio::test]
async fn the_schema_check_catches_what_does_not_match() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let agent = app.login("agent1@demo.test").await;
    let view = app.session_view(&agent).await;
    let schema = json!({"$ref": "#/components/schemas/SessionView"});
    let mut errors = Vec::new();
    check(&doc, &schema, &view, "body", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    for broken in [
        {
            let mut v = view.clone();
            v.as_object_mut().unwrap().remove("warn_at");
            v
        },
        {
            let mut v = view.clone();
            v["audience"] = json!("robots");
            v
        },
        {
            let mut v = view.clone();
            v["created_at"] = json!("yesterday");
            v
        },
        {
            let mut v = view.clone();
            v["policy"]["idle_timeout_secs"] = json!("long");
            v
        },
    ] {
        let mut errors = Vec::new();
        check(&doc, &schema, &broken, "body", &mut errors);
        assert!(!errors.is_empty(), "accepted {broken}");
    }
}

#[tokio::test]
async fn the_document_states_the_bounds_of_every_number_and_the_live_channels_events() {
    let app = spawn_app_with(Options {
        idle_min_secs: 600,
        ..Options::default()
    })
    .await;
    let doc = document(&app).await;
    let limits =
        vigil_policy::Limits::with_idle_bounds(600, vigil_policy::Limits::default().idle_max_secs);
    let schemas = &doc["components"]["schemas"];
    let policy = &schemas["AudiencePolicy"]["properties"];
    for (schema, (minimum, maximum), case) in [
        (
            &policy["idle_timeout_secs"],
            (limits.idle_min_secs, limits.idle_max_secs),
            "idle timeout, this server's bounds",
        ),
        (
            &policy["absolute_timeout_secs"],
            (limits.absolute_min_secs, limits.absolute_max_secs),
            "lifetime",
        ),
        (
            &schemas["Warning"]["oneOf"][1]["properties"]["percent"],
            (
                limits.warning_percent_min.into(),
                limits.warning_percent_max.into(),
            ),
            "warning percent",
        ),
    ] {
        assert_eq!(
            (schema["minimum"].as_u64(), schema["maximum"].as_u64()),
            (Some(minimum), Some(maximum)),
            "{case}"
        );
    }
    let audit = doc["paths"]["/api/admin/audit"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = audit.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(
        (
            limit["schema"]["minimum"].as_u64(),
            limit["schema"]["maximum"].as_u64()
        ),
        (Some(1), Some(200)),
        "audit page size"
    );

    let events = &doc["paths"]["/api/session/events"]["get"]["responses"]["200"]["content"]
        ["text/event-stream"]["schema"]["oneOf"];
    let named: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["properties"]["event"]["const"].clone(),
                e["properties"]["data"]["contentSchema"]["$ref"].clone(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (json!("session"), json!("#/components/schemas/SessionView")),
            (json!("ended"), json!("#/components/schemas/EndedEvent")),
        ]
    );
    assert!(schemas["EndedEvent"]["properties"]["reason"].is_object());
}

/// Every route the re-authentication guard stands on (SPEC "People,
/// passwords, re-authentication": settings, revoking sessions,
/// deactivating and reactivating, SSO connections, API tokens, webhooks)
/// says in its 403 that it may answer `reauthentication_required`, so a
/// client generated from the document knows to ask for the password again.
#[tokio::test]
async fn every_route_behind_the_re_authentication_guard_documents_its_403() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (method, path) in [
        ("put", "/api/admin/security-settings"),
        ("delete", "/api/admin/sessions/{session_id}"),
        ("post", "/api/admin/users/{user_id}/revoke-sessions"),
        ("post", "/api/admin/users/{user_id}/deactivate"),
        ("post", "/api/admin/users/{user_id}/reactivate"),
        ("post", "/api/admin/sso"),
        ("put", "/api/admin/sso/{id}"),
        ("delete", "/api/admin/sso/{id}"),
        ("post", "/api/admin/tokens"),
        ("delete", "/api/admin/tokens/{id}"),
        ("post", "/api/admin/webhooks"),
        ("delete", "/api/admin/webhooks/{id}"),
        ("post", "/api/admin/webhooks/{id}/enable"),
    ] {
        let forbidden = &doc["paths"][path][method]["responses"]["403"]["description"];
        assert!(
            forbidden
                .as_str()
                .is_some_and(|d| d.contains("reauthentication_required")),
            "{method} {path}: {forbidden}"
        );
    }
}
