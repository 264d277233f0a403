//! `/admin/audit`: the account's audit log, newest first, in words: labels
//! for actions, the person or session acted on, settings changes as
//! durations ("8 hours → 15 minutes"), local times with UTC on hover.
//! Filters by action (or all sign-outs), person (entries by or about them)
//! and date range, and a CSV export of exactly what is filtered.

use serde_json::Value;
use vigil_policy::api::{AgentRow, AuditEntry};
use vigil_policy::audit::{action, ACTIONS};
use vigil_policy::settings::describe_secs;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{local_stamp, stamp};
use crate::components::{use_current_session, Page};
use crate::hooks::use_load;

const PAGE: u32 = 50;

/// Every way a session ends, as one filter.
const SIGN_OUTS: &str = "session.logout,session.expired,session.revoked";

/// An action in words, for the log and the filter (which offers
/// [`ACTIONS`], every action the server writes).
fn label(a: &str) -> &str {
    match a {
        action::SESSION_LOGIN => "Signed in",
        action::SESSION_LOGOUT => "Signed out",
        action::SESSION_EXPIRED => "Session expired",
        action::SESSION_REVOKED => "Session ended by someone",
        action::LOGIN_FAILED => "Failed sign-in",
        action::SESSION_REAUTHENTICATED => "Identity confirmed again",
        action::PASSWORD_CHANGED => "Password changed",
        action::SETTINGS_UPDATED => "Settings changed",
        action::USER_DEACTIVATED => "Person deactivated",
        action::USER_REACTIVATED => "Person reactivated",
        action::AGENT_AVAILABILITY => "Availability changed",
        action::CONVERSATION_REROUTED => "Conversation rerouted",
        action::TOKEN_CREATED => "API token created",
        action::TOKEN_REVOKED => "API token revoked",
        action::USER_CREATED => "Requester created by single sign-on",
        action::SSO_CREATED => "Single sign-on connection added",
        action::SSO_UPDATED => "Single sign-on connection changed",
        action::SSO_DELETED => "Single sign-on connection removed",
        action::WEBHOOK_CREATED => "Webhook added",
        action::WEBHOOK_DELETED => "Webhook removed",
        action::WEBHOOK_DISABLED => "Webhook disabled after failing",
        action::WEBHOOK_ENABLED => "Webhook enabled again",
        other => other,
    }
}

/// A settings value in words: durations for `…_secs`, percentages, on/off,
/// "none" for a limit or policy that is not set, and an object (a policy
/// set where there was none) as its own values in words.
fn value_in_words(path: &str, v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_u64() {
            Some(n) if path.ends_with("secs") => describe_secs(n),
            Some(n) if path.ends_with("percent") => format!("{n}%"),
            Some(n) => n.to_string(),
            None => String::new(),
        },
        Value::Bool(b) => if *b { "on" } else { "off" }.to_owned(),
        Value::String(s) => s.replace('_', " "),
        Value::Null => "none".to_owned(),
        Value::Object(o) => match (o.get("secs"), o.get("percent")) {
            (Some(secs), _) => format!(
                "{} before",
                secs.as_u64().map(describe_secs).unwrap_or_default()
            ),
            (_, Some(p)) => format!("at {}% of the idle timeout", p.as_u64().unwrap_or_default()),
            _ => o
                .iter()
                .map(|(k, v)| format!("{} {}", key_in_words(k), value_in_words(k, v)))
                .collect::<Vec<_>>()
                .join(", "),
        },
        Value::Array(a) => a
            .iter()
            .map(|v| value_in_words(path, v))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A settings key in words: `idle_timeout_secs` → "idle timeout".
fn key_in_words(key: &str) -> String {
    key.trim_end_matches("_secs")
        .trim_end_matches("_percent")
        .replace('_', " ")
}

/// A settings path in words: `agents.idle_timeout_secs` → "Agents: idle timeout".
fn path_in_words(path: &str) -> String {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let who = match first {
        "agents" => "Agents",
        "requesters" => "Requesters",
        "admins" => "Admins",
        "activity" => "Activity",
        other => other,
    };
    let rest: Vec<String> = parts.map(key_in_words).collect();
    format!("{who}: {}", rest.join(" "))
}

/// The team, to name people in entries by id, or by email (sessions carry
/// their person's email). A list: a team is small, and a scan costs less
/// bundle than a map.
#[derive(Debug, Clone, Copy)]
struct Names<'a>(&'a [AgentRow]);

impl Names<'_> {
    fn by_id(&self, id: i64) -> Option<&str> {
        self.0
            .iter()
            .find(|a| a.user_id == id)
            .map(|a| a.display_name.as_str())
    }

    fn by_email(&self, email: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|a| a.email == email)
            .map(|a| a.display_name.as_str())
    }
}

fn person(names: Names, id: Option<i64>) -> String {
    match id {
        Some(id) => names
            .by_id(id)
            .map_or_else(|| format!("person #{id}"), str::to_owned),
        None => "the queue".to_owned(),
    }
}

fn describe(e: &AuditEntry, names: Names) -> Html {
    let d = &e.details;
    let id = |key: &str| d.get(key).and_then(Value::as_i64);
    match e.action.as_str() {
        "settings.updated" => {
            let changes = d["changes"].as_array().cloned().unwrap_or_default();
            html! {
                <ul class="changes">
                    { for changes.iter().map(|c| {
                        let path = c["path"].as_str().unwrap_or("");
                        html! { <li>{ format!("{}: {} → {}", path_in_words(path),
                            value_in_words(path, &c["before"]), value_in_words(path, &c["after"])) }</li> }
                    }) }
                </ul>
            }
        }
        "agent.availability" => {
            let available = d["available"].as_bool().unwrap_or(false);
            let why = match d["reason"].as_str() {
                Some("set_by_agent") => " (by themselves)".to_owned(),
                Some(r) => format!(" ({})", r.replace('_', " ")),
                None => String::new(),
            };
            html! { { format!("{} {}{why}", person(names, id("user_id")),
            if available { "became available" } else { "became unavailable" }) } }
        }
        "conversation.rerouted" => html! {
            { format!("Conversation #{} from {} to {}", id("conversation_id").unwrap_or_default(),
                person(names, id("from_user_id")), person(names, id("to_user_id"))) }
        },
        _ => {
            let mut parts = Vec::new();
            // A session's person is named under "To whom".
            let session = e
                .target
                .as_deref()
                .is_some_and(|t| t.starts_with("session:"));
            for (key, name) in [("email", "email"), ("reason", "why"), ("ip", "address")] {
                if session && key == "email" {
                    continue;
                }
                if let Some(v) = d.get(key).and_then(Value::as_str) {
                    parts.push(format!("{name}: {}", v.replace('_', " ")));
                }
            }
            html! { <span class="muted">{ parts.join(", ") }</span> }
        }
    }
}

/// The target in words: people by name, sessions by their person and a
/// short id.
fn target(e: &AuditEntry, names: Names) -> String {
    let Some(t) = &e.target else {
        return String::new();
    };
    match t.split_once(':') {
        Some(("user", id)) => person(names, id.parse().ok()),
        Some(("session", id)) => {
            let short = id.get(..8).unwrap_or(id);
            match e.details.get("email").and_then(Value::as_str) {
                Some(email) => format!(
                    "{} (session {short}…)",
                    names.by_email(email).unwrap_or(email)
                ),
                None => format!("session {short}…"),
            }
        }
        Some(("conversation", id)) => format!("conversation #{id}"),
        _ => t.clone(),
    }
}

/// The filters as a query string (`action=…&person=…&from=…&to=…`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Filters {
    /// One action, or several comma-separated.
    action: String,
    /// A person's email (`person=`: entries by or about them).
    person: String,
    /// `YYYY-MM-DD` from the date inputs (local days).
    from: String,
    to: String,
}

/// A local calendar day's start (or end) as an RFC 3339 UTC instant.
fn day_bound(day: &str, end: bool) -> Option<String> {
    if day.is_empty() {
        return None;
    }
    let time = if end { "T23:59:59.999" } else { "T00:00:00" };
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!("{day}{time}")));
    let ms = d.get_time();
    if ms.is_nan() {
        return None;
    }
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms))
        .to_iso_string()
        .as_string()
}

impl Filters {
    fn query(&self) -> String {
        let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
        let mut q = Vec::new();
        if !self.action.is_empty() {
            q.push(format!("action={}", enc(&self.action)));
        }
        if !self.person.trim().is_empty() {
            q.push(format!("person={}", enc(self.person.trim())));
        }
        if let Some(f) = day_bound(&self.from, false) {
            q.push(format!("from={}", enc(&f)));
        }
        if let Some(t) = day_bound(&self.to, true) {
            q.push(format!("to={}", enc(&t)));
        }
        q.join("&")
    }
}

/// The page.
#[component]
pub fn Audit() -> Html {
    let session = use_current_session();
    let entries = use_state(|| None::<Vec<AuditEntry>>);
    let more = use_state(|| false);
    let status = use_state(|| None::<String>);
    let filters = use_state(Filters::default);
    // To name people in entries.
    let team = use_load(api::agents);
    let load = {
        let (entries, more, status, session, filters) = (
            entries.clone(),
            more.clone(),
            status.clone(),
            session.clone(),
            filters.clone(),
        );
        Callback::from(move |before: Option<i64>| {
            let (entries, more, status, session) = (
                entries.clone(),
                more.clone(),
                status.clone(),
                session.clone(),
            );
            let query = filters.query();
            wasm_bindgen_futures::spawn_local(async move {
                match api::audit(PAGE, before, &query).await {
                    Ok(page) => {
                        status.set(None);
                        more.set(page.len() == PAGE as usize);
                        let mut all = match before {
                            Some(_) => (*entries).clone().unwrap_or_default(),
                            None => Vec::new(),
                        };
                        all.extend(page);
                        entries.set(Some(all));
                    }
                    Err(e) => status.set(Some(failed(session.as_ref(), &e))),
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((*filters).clone(), move |_| load.emit(None));
    }
    let older = {
        let (load, entries) = (load.clone(), entries.clone());
        Callback::from(move |_: MouseEvent| {
            load.emit(entries.as_ref().and_then(|e| e.last()).map(|e| e.id))
        })
    };
    let on_action = {
        let filters = filters.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            filters.set(Filters {
                action: select.value(),
                ..(*filters).clone()
            });
        })
    };
    let on_text = |field: fn(&mut Filters) -> &mut String| {
        let filters = filters.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = (*filters).clone();
            *field(&mut next) = input.value();
            filters.set(next);
        })
    };
    let csv = format!("/api/admin/audit.csv?{}", filters.query());
    let filtered = *filters != Filters::default();
    let names_now = Names(team.data.as_deref().map(Vec::as_slice).unwrap_or_default());
    let table = match entries.as_ref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(list) if list.is_empty() => html! {
            <p class="muted">{ if filtered { "Nothing matches these filters." } else { "Nothing has happened yet." } }</p>
        },
        Some(list) => html! {
            <div class="table-scroll">
            <table aria-label="Audit log entries">
                <thead><tr><th scope="col">{ "When" }</th><th scope="col">{ "Who" }</th>
                    <th scope="col">{ "What" }</th><th scope="col">{ "To whom" }</th><th scope="col">{ "Details" }</th></tr></thead>
                <tbody>
                { for list.iter().map(|e| html! {
                    <tr>
                        <td class="nowrap"><time datetime={stamp(e.at)} title={stamp(e.at)}>{ local_stamp(e.at) }</time></td>
                        <td>{ &e.actor }</td>
                        <td title={e.action.clone()}>{ label(&e.action) }</td>
                        <td>{ target(e, names_now) }</td>
                        <td>{ describe(e, names_now) }</td>
                    </tr>
                }) }
                </tbody>
            </table>
            </div>
        },
    };
    Page::new(session.as_ref(), "Audit log").render(html! {
        <>
            <form class="card filters" aria-label="Filters" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                <div class="field">
                    <label for="audit-action">{ "Action" }</label>
                    <select id="audit-action" onchange={on_action}>
                        <option value="" selected={filters.action.is_empty()}>{ "All actions" }</option>
                        <option value={SIGN_OUTS} selected={filters.action == SIGN_OUTS}>{ "All sign-outs" }</option>
                        { for ACTIONS.iter().map(|a| html! {
                            <option value={*a} selected={filters.action == *a}>{ label(a) }</option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <label for="audit-person">{ "Person (email): by them or about them" }</label>
                    <input id="audit-person" type="search" value={filters.person.clone()}
                           onchange={on_text(|f| &mut f.person)} />
                </div>
                <div class="field">
                    <label for="audit-from">{ "From" }</label>
                    <input id="audit-from" type="date" value={filters.from.clone()} onchange={on_text(|f| &mut f.from)} />
                </div>
                <div class="field">
                    <label for="audit-to">{ "To" }</label>
                    <input id="audit-to" type="date" value={filters.to.clone()} onchange={on_text(|f| &mut f.to)} />
                </div>
                <a class="button" href={csv} download="vigil-audit.csv">{ "Export CSV" }</a>
            </form>
            if let Some(s) = (*status).clone() { <p class="error" role="alert">{ s }</p> }
            { table }
            if *more { <button onclick={older}>{ "Load older entries" }</button> }
        </>
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_changes_read_in_words() {
        let cases = [
            ("agents.idle_timeout_secs", json!(900), "15 minutes"),
            (
                "agents.warning",
                json!({"mode": "before", "secs": 60}),
                "1 minute before",
            ),
            (
                "agents.warning",
                json!({"mode": "percent", "percent": 80}),
                "at 80% of the idle timeout",
            ),
            ("agents.max_sessions", json!(null), "none"),
            ("agents.on_session_limit", json!("end_oldest"), "end oldest"),
            ("requesters.remember_me", json!(true), "on"),
            (
                "agents.remembered",
                json!({"idle_timeout_secs": 3600, "absolute_timeout_secs": 86400}),
                "absolute timeout 24 hours, idle timeout 1 hour",
            ),
        ];
        for (path, value, words) in cases {
            assert_eq!(value_in_words(path, &value), words, "{path}: {value}");
        }
        assert_eq!(
            path_in_words("admins.idle_timeout_secs"),
            "Admins: idle timeout"
        );
    }

    #[test]
    fn every_action_has_a_label() {
        for a in ACTIONS {
            assert_ne!(label(a), *a, "{a}");
        }
    }
}
