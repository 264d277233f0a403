//! The webhooks section of `/admin/integrations`: the account's endpoints
//! (a failing or disabled one says so), a form to add one (URL, events,
//! description) whose signing secret is shown once with a copy button,
//! "Remove" asked first in place, "Enable" for a disabled one, and per
//! endpoint its deliveries with every attempt and "Retry now".
//!
//! Lean on purpose (this console counts its bytes): answers are read as
//! JSON values rather than typed structs (no deserialising code per type),
//! every call goes through one [`Op`] and one async block, and the form is
//! read back from the page when it is sent.

use gloo_net::http::Method;
use serde_json::Value;
use vigil_policy::api::ErrorCode;
use vigil_policy::webhooks::{WebhookInput, EVENT_TYPES};
use vigil_policy::FieldError;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{failed, request, Kind};
use crate::components::use_current_session;
use crate::error::ApiError;
use crate::hooks::use_load;

const BASE: &str = "/api/admin/webhooks";

async fn endpoints() -> Result<Value, ApiError> {
    call(Method::GET, BASE.to_owned(), None).await
}

async fn call(method: Method, path: String, body: Option<WebhookInput>) -> Result<Value, ApiError> {
    request(method, &path, body.as_ref(), Kind::Foreground).await
}

/// What the section asks the server.
#[derive(Clone)]
enum Op {
    /// Show an endpoint's deliveries (again).
    Show(String),
    /// Retry a delivery now: endpoint, delivery.
    Retry(String, String),
    /// Add an endpoint.
    Add(WebhookInput),
    /// Remove an endpoint.
    Remove(String),
    /// Enable a disabled endpoint again.
    Enable(String),
}

/// A stored instant as words: `2026-01-05 09:30:00 UTC`.
fn when(v: &Value) -> String {
    v.as_str().map_or_else(String::new, |t| {
        format!("{} UTC", t.replace('T', " ").trim_end_matches('Z'))
    })
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The form as the page holds it now.
fn read_form() -> WebhookInput {
    let doc = web_sys::window().and_then(|w| w.document());
    let input = |id: &str| {
        doc.as_ref()
            .and_then(|d| d.get_element_by_id(id))
            .map(JsCast::unchecked_into::<HtmlInputElement>)
    };
    let value = |id: &str| input(id).map(|i| i.value()).unwrap_or_default();
    let description = value("hook-description");
    WebhookInput {
        url: value("hook-url"),
        events: EVENT_TYPES
            .into_iter()
            .chain(["*"])
            .filter(|e| input(e).is_some_and(|i| i.checked()))
            .map(str::to_owned)
            .collect(),
        description: (!description.trim().is_empty()).then_some(description),
        format: Default::default(),
    }
}

/// An endpoint's deliveries, newest first, each with its attempts.
fn delivery_list(endpoint: &str, list: &Value, run: &Callback<Op>) -> Html {
    let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return html! { <p class="muted">{ "No deliveries yet." }</p> };
    }
    html! {
        <ul aria-label="Deliveries">
            { for list.iter().map(|d| {
                let next = if d["status"] == "pending" { format!(", next attempt {}", when(&d["next_attempt_at"])) } else { String::new() };
                let attempts: Vec<String> = d["attempt_log"].as_array().map(Vec::as_slice).unwrap_or_default().iter().map(|a| format!(
                    "{}: {} ({} ms)",
                    when(&a["at"]),
                    a["error"].as_str().map_or_else(|| format!("answered {}", a["status_code"].as_u64().unwrap_or_default()), str::to_owned),
                    a["duration_ms"].as_i64().unwrap_or_default(),
                )).collect();
                let op = Op::Retry(endpoint.to_owned(), text(&d["id"]).to_owned());
                html! {
                    <li>
                        <p>{ format!("{} {} · {} · {} attempt(s){next} · webhook-id {}", text(&d["type"]), when(&d["created_at"]), text(&d["status"]), d["attempts"].as_u64().unwrap_or_default(), text(&d["event_id"])) }</p>
                        <p class="muted small">{ attempts.join(" · ") }</p>
                        <button onclick={run.reform(move |_: MouseEvent| op.clone())}>{ "Retry now" }</button>
                    </li>
                }
            }) }
        </ul>
    }
}

/// The section.
#[component]
pub fn Webhooks() -> Html {
    let session = use_current_session();
    let list = use_load(endpoints);
    let created = use_state(|| None::<Value>);
    let errors = use_state(Vec::<FieldError>::new);
    let asking = use_state(String::new);
    // The endpoint whose deliveries are open, and what they are.
    let open = use_state(|| None::<(String, Value)>);

    let run = {
        let status = list.handle.clone();
        let (session, created, errors, open) = (
            session.clone(),
            created.clone(),
            errors.clone(),
            open.clone(),
        );
        Callback::from(move |op: Op| {
            let (status, session) = (status.clone(), session.clone());
            let (created, errors, open) = (created.clone(), errors.clone(), open.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let (method, path, body, show) = match &op {
                    Op::Show(id) => (
                        Method::GET,
                        format!("{BASE}/{id}/deliveries"),
                        None,
                        Some(id),
                    ),
                    Op::Retry(id, d) => (
                        Method::POST,
                        format!("{BASE}/{id}/deliveries/{d}/retry"),
                        None,
                        None,
                    ),
                    Op::Add(input) => (Method::POST, BASE.to_owned(), Some(input.clone()), None),
                    Op::Remove(id) => (Method::DELETE, format!("{BASE}/{id}"), None, None),
                    Op::Enable(id) => (Method::POST, format!("{BASE}/{id}/enable"), None, None),
                };
                match call(method, path, body).await {
                    Ok(v) => match op {
                        Op::Show(_) => open.set(show.cloned().map(|id| (id, v))),
                        Op::Retry(..) => {
                            open.set(None);
                            status.say(
                                "Retrying now: open Deliveries again in a few seconds to see the attempt.".into(),
                            );
                        }
                        Op::Add(_) => {
                            errors.set(Vec::new());
                            status.say(format!("Added {}.", text(&v["url"])));
                            created.set(Some(v));
                            status.reload();
                        }
                        Op::Remove(_) => {
                            status.say("Removed the webhook.".into());
                            status.reload();
                        }
                        Op::Enable(_) => {
                            status.say("Enabled: what was pending is being sent again.".into());
                            status.reload();
                        }
                    },
                    Err(e) if e.code() == Some(ErrorCode::Validation) => errors.set(e.fields()),
                    Err(e) => status.say(failed(session.as_ref(), &e)),
                }
            });
        })
    };
    let onsubmit = run.reform(|e: SubmitEvent| {
        e.prevent_default();
        Op::Add(read_form())
    });
    let url_error = crate::pages::error_for(&errors, "url");
    let other_error = crate::pages::error_for(&errors, "events")
        .or_else(|| crate::pages::error_for(&errors, "description"));

    let shown = created.as_ref().map(|w| {
        let secret = text(&w["secret"]).to_owned();
        let copy = {
            let (secret, status) = (secret.clone(), list.handle.clone());
            Callback::from(move |_: MouseEvent| {
                crate::pages::sign_in::copy(&secret, "signing secret", &status)
            })
        };
        let done = {
            let created = created.clone();
            Callback::from(move |_: MouseEvent| created.set(None))
        };
        html! {
            <div class="card" role="region" aria-label="New webhook's secret">
                <div class="field">
                    <label for="hook-secret">{ "Signing secret" }</label>
                    <div class="row">
                        <input id="hook-secret" class="uri" readonly=true value={secret}
                               aria-describedby="hook-secret-hint" />
                        <button onclick={copy} aria-label="Copy the signing secret">{ "Copy" }</button>
                    </div>
                    <p id="hook-secret-hint" class="muted small">{ "Shown once: the receiver checks each request's webhook-signature with it (Standard Webhooks)." }</p>
                </div>
                <button onclick={done}>{ "Done" }</button>
            </div>
        }
    });

    let all = list
        .data
        .as_deref()
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let cards = all.iter().map(|w| {
        let id = text(&w["id"]).to_owned();
        let url = text(&w["url"]);
        let opened = open
            .as_ref()
            .filter(|(o, _)| *o == id)
            .map(|(_, d)| delivery_list(&id, d, &run));
        let toggle = if opened.is_some() {
            let open = open.clone();
            Callback::from(move |_: MouseEvent| open.set(None))
        } else {
            let op = Op::Show(id.clone());
            run.reform(move |_: MouseEvent| op.clone())
        };
        let ask = {
            let (asking, id) = (asking.clone(), id.clone());
            Callback::from(move |_: MouseEvent| asking.set(id.clone()))
        };
        let confirm = (*asking == id).then(|| {
            let cancel = {
                let asking = asking.clone();
                Callback::from(move |_: MouseEvent| asking.set(String::new()))
            };
            let remove = {
                let (asking, op) = (asking.clone(), Op::Remove(id.clone()));
                run.reform(move |_: MouseEvent| {
                    asking.set(String::new());
                    op.clone()
                })
            };
            html! {
                <div role="group" aria-label={format!("Remove {url}?")}>
                    <p>{ "Events stop going there, and its delivery log goes with it." }</p>
                    <button onclick={cancel}>{ "Cancel" }</button>
                    <button class="danger" onclick={remove}>{ "Remove webhook" }</button>
                </div>
            }
        });
        let disabled = w["enabled"] == false;
        let warning = if disabled {
            format!("Disabled {}: every attempt failed for 24 hours, so nothing is sent any more. Fix the receiver, then enable it to send what was pending again.", when(&w["disabled_at"]))
        } else if w["failing_since"].is_string() {
            format!("Failing since {}: retried with backoff, disabled after 24 hours of failures.", when(&w["failing_since"]))
        } else {
            String::new()
        };
        html! {
            <li class="card">
                <h3>{ url }</h3>
                <p class="muted small">{ format!("{}events: {}", w["description"].as_str().map_or_else(String::new, |d| format!("{d} · ")), w["events"].as_array().map(Vec::as_slice).unwrap_or_default().iter().map(text).collect::<Vec<_>>().join(", ")) }</p>
                if !warning.is_empty() { <p class="error" role="alert">{ warning }</p> }
                if disabled { <button onclick={run.reform({ let op = Op::Enable(id.clone()); move |_: MouseEvent| op.clone() })} aria-label={format!("Enable {url}")}>{ "Enable" }</button> }
                <button onclick={toggle} aria-expanded={if opened.is_some() { "true" } else { "false" }}>{ "Deliveries" }</button>
                <button onclick={ask} aria-label={format!("Remove {url}")}>{ "Remove" }</button>
                { confirm.unwrap_or_default() }
                { opened.unwrap_or_default() }
            </li>
        }
    });

    html! {
        <section aria-labelledby="hooks-heading">
            <h2 id="hooks-heading">{ "Webhooks" }</h2>
            <p class="muted">{ "Vigil POSTs events to these URLs, signed as Standard Webhooks says, and retries for more than a day." }</p>
            if let Some(s) = list.status.clone() { <p role="status">{ s }</p> }
            <form class="card" {onsubmit} aria-label="New webhook">
                <div class="field">
                    <label for="hook-url">{ "URL" }</label>
                    <input id="hook-url" type="url" autocomplete="off"
                           aria-invalid={if url_error.is_some() { "true" } else { "false" }}
                           aria-describedby={url_error.as_ref().map(|_| "hook-url-error")} />
                    if let Some(m) = url_error { <p id="hook-url-error" class="error">{ m }</p> }
                </div>
                <fieldset>
                    <legend>{ "Events (* for all, also future ones)" }</legend>
                    { for EVENT_TYPES.into_iter().chain(["*"]).map(|e| html! {
                        <div class="check"><input id={e} type="checkbox" /><label for={e}>{ e }</label></div>
                    }) }
                </fieldset>
                <div class="field">
                    <label for="hook-description">{ "Description (optional)" }</label>
                    <input id="hook-description" type="text" autocomplete="off" />
                </div>
                if let Some(m) = other_error { <p class="error" role="alert">{ m }</p> }
                <button class="primary" type="submit">{ "Add webhook" }</button>
            </form>
            { shown.unwrap_or_default() }
            if list.data.is_none() { <p>{ "Loading…" }</p> }
            else if all.is_empty() { <p class="muted">{ "No webhooks." }</p> }
            <ul class="session-list" aria-label="Webhooks">{ for cards }</ul>
        </section>
    }
}
