//! `/admin/audit`: the account's audit log, newest first, settings changes
//! shown as old → new.

use vigil_policy::api::AuditEntry;
use yew::prelude::*;

use crate::api;
use crate::clock::stamp;
use crate::components::{nav, use_current_session};

const PAGE: u32 = 50;

fn describe(e: &AuditEntry) -> Html {
    if e.action == "settings.updated" {
        let changes = e.details["changes"].as_array().cloned().unwrap_or_default();
        return html! {
            <ul class="changes">
                { for changes.iter().map(|c| html! {
                    <li><code>{ c["path"].as_str().unwrap_or("") }</code>{ ": " }
                        { c["before"].to_string() }{ " → " }{ c["after"].to_string() }</li>
                }) }
            </ul>
        };
    }
    let d = &e.details;
    let mut parts = Vec::new();
    for key in [
        "email",
        "reason",
        "available",
        "conversation_id",
        "to_user_id",
        "ip",
    ] {
        if let Some(v) = d.get(key).filter(|v| !v.is_null()) {
            parts.push(format!(
                "{key}: {}",
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            ));
        }
    }
    html! { <span class="muted">{ parts.join(", ") }</span> }
}

/// The page.
#[component]
pub fn Audit() -> Html {
    let session = use_current_session();
    let entries = use_state(Vec::<AuditEntry>::new);
    let more = use_state(|| true);
    let status = use_state(|| None::<String>);
    let load = {
        let (entries, more, status, session) = (
            entries.clone(),
            more.clone(),
            status.clone(),
            session.clone(),
        );
        Callback::from(move |before: Option<i64>| {
            let (entries, more, status, session) = (
                entries.clone(),
                more.clone(),
                status.clone(),
                session.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match api::audit(PAGE, before).await {
                    Ok(page) => {
                        more.set(page.len() == PAGE as usize);
                        let mut all = if before.is_some() {
                            (*entries).clone()
                        } else {
                            Vec::new()
                        };
                        all.extend(page);
                        entries.set(all);
                    }
                    Err(e) => {
                        if let Some(s) = &session {
                            s.check(&e);
                        }
                        status.set(Some(e.message()));
                    }
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| load.emit(None));
    }
    let older = {
        let (load, entries) = (load.clone(), entries.clone());
        Callback::from(move |_: MouseEvent| load.emit(entries.last().map(|e| e.id)))
    };
    html! {
        <>
            { nav(session.as_ref()) }
            <main class="page">
                <h1>{ "Audit log" }</h1>
                if let Some(s) = (*status).clone() { <p class="error" role="alert">{ s }</p> }
                <table>
                    <thead><tr><th scope="col">{ "When" }</th><th scope="col">{ "Who" }</th>
                        <th scope="col">{ "What" }</th><th scope="col">{ "Details" }</th></tr></thead>
                    <tbody>
                    { for entries.iter().map(|e| html! {
                        <tr>
                            <td class="nowrap">{ stamp(e.at) }</td>
                            <td>{ &e.actor }</td>
                            <td><code>{ &e.action }</code></td>
                            <td>{ describe(e) }</td>
                        </tr>
                    }) }
                    </tbody>
                </table>
                if *more && !entries.is_empty() { <button onclick={older}>{ "Load older entries" }</button> }
            </main>
        </>
    }
}
