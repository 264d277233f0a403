//! `/me/sessions`: everyone's own sessions — this one marked, the browser
//! in words, address, sign-in (when, and how), last activity and when each
//! ends — with "Sign out" per session and "Sign out other sessions".

use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{local_ms, relative, stamp, to_ms};
use crate::components::{use_current_session, Page};
use crate::hooks::use_load;
use crate::pages::signed_in_with;

/// The page.
#[component]
pub fn MySessions() -> Html {
    let session = use_current_session();
    let mine = use_load(api::my_sessions);
    let busy = use_state(|| false);
    let Some(session) = session else {
        return html! {};
    };
    let now_ms = session
        .snapshot
        .view
        .as_ref()
        .map_or(local_ms(), |v| to_ms(v.server_time));
    // Ends one session (or the others), then reloads the list.
    let end = {
        let (load, busy, session) = (mine.handle.clone(), busy.clone(), session.clone());
        Callback::from(move |which: Option<String>| {
            if *busy {
                return;
            }
            busy.set(true);
            let (load, busy, session) = (load.clone(), busy.clone(), session.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = match &which {
                    Some(id) => api::revoke_mine(id)
                        .await
                        .map(|()| "Signed out that session.".to_owned()),
                    None => api::revoke_my_others().await.map(|r| match r.revoked {
                        0 => "There were no other sessions.".to_owned(),
                        1 => "Signed out 1 other session.".to_owned(),
                        n => format!("Signed out {n} other sessions."),
                    }),
                };
                busy.set(false);
                load.say(outcome.unwrap_or_else(|e| failed(Some(&session), &e)));
                load.reload();
            });
        })
    };
    let list = match mine.data.as_deref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(rows) => html! {
            <ul class="my-sessions" aria-label="Your sessions">
                { for rows.iter().map(|r| {
                    let ends = r.idle_expires_at.min(r.absolute_expires_at);
                    let by = if r.absolute_expires_at <= r.idle_expires_at { "session limit" } else { "if idle" };
                    let action = if r.current {
                        let session = session.clone();
                        html! { <button class="link" aria-label="Sign out this browser" onclick={Callback::from(move |_: MouseEvent| session.sign_out())}>{ "Sign out" }</button> }
                    } else {
                        let (end, id) = (end.clone(), r.session_id.clone());
                        html! { <button disabled={*busy} aria-label={format!("Sign out {}", r.browser)}
                                 onclick={Callback::from(move |_: MouseEvent| end.emit(Some(id.clone())))}>{ "Sign out" }</button> }
                    };
                    html! {
                        <li class="card" aria-current={r.current.then_some("true")}>
                            <strong>{ &r.browser }</strong>
                            if r.current { <span class="badge">{ "This browser" }</span> }
                            <dl class="facts">
                                <dt>{ "Address" }</dt><dd>{ r.ip.clone().unwrap_or_else(|| "unknown".into()) }</dd>
                                <dt>{ "Signed in" }</dt><dd title={stamp(r.created_at)}>{ relative(((to_ms(r.created_at) - now_ms) / 1000.0) as i64) }</dd>
                                <dt>{ "How" }</dt><dd>{ signed_in_with(r.method, r.sso_connection.as_deref()) }</dd>
                                <dt>{ "Last active" }</dt><dd title={stamp(r.last_activity_at)}>{ relative(((to_ms(r.last_activity_at) - now_ms) / 1000.0) as i64) }</dd>
                                <dt>{ "Ends" }</dt><dd title={stamp(ends)}>{ format!("{} ({by})", relative(((to_ms(ends) - now_ms) / 1000.0) as i64)) }</dd>
                            </dl>
                            { action }
                        </li>
                    }
                }) }
            </ul>
        },
    };
    let others = mine
        .data
        .as_ref()
        .is_some_and(|r| r.iter().any(|s| !s.current));
    let on_others = {
        let end = end.clone();
        Callback::from(move |_: MouseEvent| end.emit(None))
    };
    Page::new(Some(&session), "My sessions").render(html! {
        <>
            <p class="muted">{ "Everywhere you are signed in. Sign out any session you do not recognise." }</p>
            if let Some(s) = mine.status.clone() { <p role="status">{ s }</p> }
            { list }
            if others {
                <button class="danger" disabled={*busy} onclick={on_others}>{ "Sign out other sessions" }</button>
            }
        </>
    })
}
