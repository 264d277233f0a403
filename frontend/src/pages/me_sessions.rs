//! `/me/sessions`: everyone's own sessions — this one marked, the browser
//! in words, address, sign-in (when, and how), last activity and when each
//! ends — with "Sign out" per session and "Sign out other sessions"; a
//! page (200) at a time, "Load more" following the list's `Link`.

use vigil_policy::api::MySession;
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{local_ms, relative, stamp, to_ms};
use crate::components::{use_current_session, Page};
use crate::pages::signed_in_with;

/// The page.
#[component]
pub fn MySessions() -> Html {
    let session = use_current_session();
    // The sessions shown, and the next page's path while more remain.
    let list = use_state(|| None::<(Vec<MySession>, Option<String>)>);
    let status = use_state(|| None::<String>);
    let busy = use_state(|| false);
    // Loads the first page, or appends the page at `more`.
    let load = {
        let (list, status, session) = (list.clone(), status.clone(), session.clone());
        Callback::from(move |more: Option<String>| {
            let (list, status, session) = (list.clone(), status.clone(), session.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let path = more.as_deref().unwrap_or("/api/me/sessions");
                match api::page::<MySession>(path).await {
                    Ok((page, next)) => {
                        let mut rows = match more {
                            Some(_) => (*list).clone().map(|l| l.0).unwrap_or_default(),
                            None => Vec::new(),
                        };
                        rows.extend(page);
                        list.set(Some((rows, next)));
                    }
                    Err(e) => status.set(Some(failed(session.as_ref(), &e))),
                }
            });
        })
    };
    {
        let load = load.clone();
        use_effect_with((), move |_| load.emit(None));
    }
    let Some(session) = session else {
        return html! {};
    };
    let now_ms = session
        .snapshot
        .view
        .as_ref()
        .map_or(local_ms(), |v| to_ms(v.server_time));
    // Ends one session (or the others), then takes them off the list.
    let end = {
        let (list, status, busy, session) =
            (list.clone(), status.clone(), busy.clone(), session.clone());
        Callback::from(move |which: Option<String>| {
            if *busy {
                return;
            }
            busy.set(true);
            let (list, status, busy, session) =
                (list.clone(), status.clone(), busy.clone(), session.clone());
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
                if outcome.is_ok() {
                    if let Some((mut rows, next)) = (*list).clone() {
                        rows.retain(|r| {
                            r.current || which.as_ref().is_some_and(|id| *id != r.session_id)
                        });
                        list.set(Some((rows, if which.is_some() { next } else { None })));
                    }
                }
                status.set(Some(outcome.unwrap_or_else(|e| failed(Some(&session), &e))));
            });
        })
    };
    let more = list.as_ref().and_then(|l| l.1.clone());
    let shown = match list.as_ref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some((rows, _)) => html! {
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
    let others = list
        .as_ref()
        .is_some_and(|(r, next)| next.is_some() || r.iter().any(|s| !s.current));
    let on_others = {
        let end = end.clone();
        Callback::from(move |_: MouseEvent| end.emit(None))
    };
    Page::new(Some(&session), "My sessions").render(html! {
        <>
            <p class="muted">{ "Everywhere you are signed in. Sign out any session you do not recognise." }</p>
            if let Some(s) = (*status).clone() { <p role="status">{ s }</p> }
            { shown }
            if let Some(next) = more {
                <button onclick={Callback::from(move |_: MouseEvent| load.emit(Some(next.clone())))}>{ "Load more" }</button>
            }
            if others {
                <button class="danger" disabled={*busy} onclick={on_others}>{ "Sign out other sessions" }</button>
            }
        </>
    })
}
