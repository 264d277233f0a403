//! `/admin/sessions`: live sessions of the account, with Revoke and
//! "Sign out everywhere".

use vigil_policy::api::SessionSummary;
use vigil_policy::Audience;
use yew::prelude::*;

use crate::api;
use crate::clock::{local_ms, relative, to_ms};
use crate::components::{nav, use_current_session};
use crate::error::ApiError;

type Action = std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, ApiError>>>>;

/// The page.
#[component]
pub fn Sessions() -> Html {
    let session = use_current_session();
    let rows = use_state(|| None::<Vec<SessionSummary>>);
    let status = use_state(|| None::<String>);
    let reload = use_state(|| 0u32);
    {
        let (rows, status, session) = (rows.clone(), status.clone(), session.clone());
        use_effect_with(*reload, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api::sessions().await {
                    Ok(r) => rows.set(Some(r)),
                    Err(e) => {
                        if let Some(s) = &session {
                            s.check(&e);
                        }
                        status.set(Some(e.message()));
                    }
                }
            });
        });
    }
    let offset = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| to_ms(v.server_time)))
        .map_or(0.0, |server| server - local_ms());
    let now_ms = local_ms() + offset;
    // Runs an admin action, shows its outcome and reloads the list.
    let run = {
        let (status, reload, session) = (status.clone(), reload.clone(), session.clone());
        move |action: Action| {
            let (status, reload, session) = (status.clone(), reload.clone(), session.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match action.await {
                    Ok(message) => status.set(Some(message)),
                    Err(e) => {
                        if let Some(s) = &session {
                            s.check(&e);
                        }
                        status.set(Some(e.message()));
                    }
                }
                reload.set(*reload + 1);
            });
        }
    };
    let body = match rows.as_ref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(rows) if rows.is_empty() => html! { <p>{ "No live sessions." }</p> },
        Some(rows) => html! {
            <table>
                <thead><tr>
                    <th scope="col">{ "Who" }</th><th scope="col">{ "Audience" }</th>
                    <th scope="col">{ "Remembered" }</th><th scope="col">{ "Last activity" }</th>
                    <th scope="col">{ "Expires" }</th><th scope="col">{ "Actions" }</th>
                </tr></thead>
                <tbody>
                { for rows.iter().map(|r| {
                    let expires = to_ms(r.idle_expires_at.min(r.absolute_expires_at));
                    let revoke = {
                        let (run, id) = (run.clone(), r.session_id.clone());
                        Callback::from(move |_: MouseEvent| {
                            let id = id.clone();
                            run(Box::pin(async move {
                                api::revoke_session(&id).await.map(|()| "Session ended.".to_owned())
                            }))
                        })
                    };
                    let everywhere = {
                        let (run, user_id) = (run.clone(), r.user.id);
                        Callback::from(move |_: MouseEvent| {
                            run(Box::pin(async move {
                                api::revoke_user(user_id)
                                    .await
                                    .map(|n| format!("Signed out of {} session(s).", n.revoked))
                            }))
                        })
                    };
                    let who = r.user.email.clone();
                    html! {
                        <tr>
                            <td>{ &r.user.display_name }<br /><span class="muted small">{ &r.user.email }</span></td>
                            <td>{ match r.audience { Audience::Agents => "Agents", Audience::Requesters => "Requesters" } }</td>
                            <td>{ if r.persistent { "Yes" } else { "No" } }</td>
                            <td>{ relative(((to_ms(r.last_activity_at) - now_ms) / 1000.0) as i64) }</td>
                            <td>{ relative(((expires - now_ms) / 1000.0) as i64) }</td>
                            <td class="row">
                                <button onclick={revoke} aria-label={format!("Revoke session of {who}")}>{ "Revoke" }</button>
                                <button onclick={everywhere} aria-label={format!("Sign out everywhere: {who}")}>{ "Sign out everywhere" }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        },
    };
    html! {
        <>
            { nav(session.as_ref()) }
            <main class="page">
                <h1>{ "Live sessions" }</h1>
                if let Some(s) = (*status).clone() { <p role="status">{ s }</p> }
                { body }
            </main>
        </>
    }
}
