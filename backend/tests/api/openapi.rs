//! `GET /api/openapi.json`: it lists exactly the routes the server mounts,
//! and what the server answers matches the document's schemas — every
//! route, its successes and its errors.

use std::collections::BTreeSet;

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn document(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
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

/// Asserts that `res` is `want` and documented for `method path`, and that
/// its JSON body matches the documented schema; returns the body.
async fn conforms(doc: &Value, method: &str, path: &str, res: Response, want: u16) -> Value {
    let status = res.status().as_u16();
    assert_eq!(status, want, "{method} {path}");
    let op = &doc["paths"][path][method.to_lowercase()];
    let documented = &op["responses"][status.to_string()];
    assert!(
        documented.is_object(),
        "{method} {path} answered {status}, which the document does not list"
    );
    let text = res.text().await.unwrap();
    let schema = &documented["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Value::Null;
    }
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path} {status}: not JSON ({e}): {text}"));
    let mut errors = Vec::new();
    check(doc, schema, &body, "body", &mut errors);
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match the document:\n{}",
        errors.join("\n")
    );
    body
}

#[tokio::test]
async fn every_route_answers_as_the_document_says() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let admin = app.login("admin@demo.test").await;
    let agent = app.login("agent1@demo.test").await;
    let requester = app.login("requester@demo.test").await;
    let get = |p: &'static str| app.client.get(app.url(p)).send();

    conforms(&doc, "GET", "/healthz", get("/healthz").await.unwrap(), 200).await;
    conforms(&doc, "GET", "/readyz", get("/readyz").await.unwrap(), 200).await;
    let view = conforms(
        &doc,
        "GET",
        "/api/session",
        app.get("/api/session", &agent).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/session",
        get("/api/session").await.unwrap(),
        401,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/session/activity",
        app.post("/api/session/activity", &agent, json!({"source": "input"}))
            .await,
        200,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/session/activity",
        app.post("/api/session/activity", &agent, json!({"source": "nap"}))
            .await,
        400,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/session/events",
        get("/api/session/events").await.unwrap(),
        401,
    )
    .await;
    let events = app.events(&agent).await;
    drop(events);
    let login_options = "/api/accounts/{slug}/login-options";
    conforms(
        &doc,
        "GET",
        login_options,
        get("/api/accounts/demo/login-options").await.unwrap(),
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        login_options,
        get("/api/accounts/nobody/login-options").await.unwrap(),
        404,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/auth/login",
        app.post_login(json!({"account": "demo", "email": "agent2@demo.test", "password": crate::helpers::PASSWORD}))
            .await,
        200,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/auth/login",
        app.post_login(
            json!({"account": "demo", "email": "agent2@demo.test", "password": "wrong"}),
        )
        .await,
        401,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/auth/login",
        app.post_login(json!({"account": "demo"})).await,
        400,
    )
    .await;
    let csrf = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    conforms(&doc, "POST", "/api/auth/login", csrf, 403).await;

    let mine = conforms(
        &doc,
        "GET",
        "/api/me/sessions",
        app.get("/api/me/sessions", &agent).await,
        200,
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    conforms(
        &doc,
        "DELETE",
        "/api/me/sessions/{session_id}",
        app.delete("/api/me/sessions/nope", &agent).await,
        404,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/me/sessions/revoke-others",
        app.post("/api/me/sessions/revoke-others", &agent, json!({}))
            .await,
        200,
    )
    .await;
    let phone = app.login("agent1@demo.test").await;
    let phone_id = app.session_view(&phone).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    conforms(
        &doc,
        "DELETE",
        "/api/me/sessions/{session_id}",
        app.delete(&format!("/api/me/sessions/{phone_id}"), &agent)
            .await,
        204,
    )
    .await;

    let settings = conforms(
        &doc,
        "GET",
        "/api/admin/security-settings",
        app.get("/api/admin/security-settings", &admin).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/admin/security-settings",
        app.get("/api/admin/security-settings", &requester).await,
        403,
    )
    .await;
    let update = json!({"version": settings["version"], "settings": settings["settings"]});
    conforms(
        &doc,
        "POST",
        "/api/admin/security-settings/preview",
        app.post(
            "/api/admin/security-settings/preview",
            &admin,
            update.clone(),
        )
        .await,
        200,
    )
    .await;
    conforms(
        &doc,
        "PUT",
        "/api/admin/security-settings",
        app.put("/api/admin/security-settings", &admin, update.clone())
            .await,
        200,
    )
    .await;
    conforms(
        &doc,
        "PUT",
        "/api/admin/security-settings",
        app.put("/api/admin/security-settings", &admin, update.clone())
            .await,
        409,
    )
    .await;
    let mut bad = update.clone();
    bad["version"] = json!(settings["version"].as_i64().unwrap() + 1);
    bad["settings"]["agents"]["idle_timeout_secs"] = json!(1);
    let invalid = conforms(
        &doc,
        "PUT",
        "/api/admin/security-settings",
        app.put("/api/admin/security-settings", &admin, bad).await,
        400,
    )
    .await;
    assert!(!invalid["fields"].as_array().unwrap().is_empty());

    conforms(
        &doc,
        "GET",
        "/api/admin/sessions",
        app.get("/api/admin/sessions", &admin).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/admin/audit",
        app.get("/api/admin/audit?limit=50", &admin).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/admin/audit",
        app.get("/api/admin/audit?limit=lots", &admin).await,
        400,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/admin/audit.csv",
        app.get("/api/admin/audit.csv?action=session.login", &admin)
            .await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/admin/audit.csv",
        app.get("/api/admin/audit.csv?from=never", &admin).await,
        400,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/admin/agents",
        app.get("/api/admin/agents", &admin).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/desk/conversations",
        app.get("/api/desk/conversations", &agent).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/desk/availability",
        app.get("/api/desk/availability", &agent).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "PUT",
        "/api/desk/availability",
        app.put("/api/desk/availability", &agent, json!({"available": true}))
            .await,
        200,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/desk/conversations",
        app.get("/api/desk/conversations", &requester).await,
        403,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/portal/conversations",
        app.post(
            "/api/portal/conversations",
            &requester,
            json!({"subject": "Help"}),
        )
        .await,
        201,
    )
    .await;
    conforms(
        &doc,
        "GET",
        "/api/portal/conversations",
        app.get("/api/portal/conversations", &requester).await,
        200,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/portal/conversations",
        app.post(
            "/api/portal/conversations",
            &requester,
            json!({"subject": ""}),
        )
        .await,
        400,
    )
    .await;

    // Revocations last: they end sessions.
    let agent2 = app.login("agent2@demo.test").await;
    let agent2_id = app.user_id("agent2@demo.test").await;
    conforms(
        &doc,
        "POST",
        "/api/admin/users/{user_id}/revoke-sessions",
        app.post(
            &format!("/api/admin/users/{agent2_id}/revoke-sessions"),
            &admin,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let _ = agent2;
    conforms(
        &doc,
        "POST",
        "/api/admin/users/{user_id}/revoke-sessions",
        app.post("/api/admin/users/999999/revoke-sessions", &admin, json!({}))
            .await,
        404,
    )
    .await;
    let id = view["session_id"].as_str().unwrap();
    conforms(
        &doc,
        "DELETE",
        "/api/admin/sessions/{session_id}",
        app.delete(&format!("/api/admin/sessions/{id}"), &admin)
            .await,
        204,
    )
    .await;
    conforms(
        &doc,
        "DELETE",
        "/api/admin/sessions/{session_id}",
        app.delete(&format!("/api/admin/sessions/{id}"), &admin)
            .await,
        404,
    )
    .await;
    conforms(
        &doc,
        "POST",
        "/api/auth/logout",
        app.post("/api/auth/logout", &requester, json!({})).await,
        204,
    )
    .await;
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
