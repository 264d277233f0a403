//! `/admin/team`: every team member — role, available or not, in
//! auto-assignment or not, live sessions, open conversations, last
//! activity — with "Sign out everywhere"
//! per person, its consequences named before anything happens.

use vigil_policy::api::{AgentRow, Role};
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{local_ms, relative, stamp, to_ms};
use crate::components::{confirm_dialog, nav, use_current_session};

/// What "Sign out everywhere" will do to this person, in words.
fn consequences(a: &AgentRow) -> String {
    let sessions = match a.live_sessions {
        0 => "They have no live session.".to_owned(),
        1 => "Their 1 live session ends.".to_owned(),
        n => format!("All {n} of their live sessions end."),
    };
    let work = match a.open_conversations {
        0 => String::new(),
        1 => " They become unavailable, and their open conversation goes to another available agent (or the queue).".to_owned(),
        n => format!(" They become unavailable, and their {n} open conversations go to other available agents (or the queue)."),
    };
    format!("{sessions}{work}")
}

/// The page.
#[component]
pub fn Team() -> Html {
    let session = use_current_session();
    let rows = use_state(|| None::<Vec<AgentRow>>);
    let status = use_state(|| None::<String>);
    let asking = use_state(|| None::<AgentRow>);
    let busy = use_state(|| None::<i64>);
    let reload = use_state(|| 0u32);
    {
        let (rows, status, session) = (rows.clone(), status.clone(), session.clone());
        use_effect_with(*reload, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api::agents().await {
                    Ok(r) => rows.set(Some(r)),
                    Err(e) => status.set(Some(failed(session.as_ref(), &e))),
                }
            });
        });
    }
    let confirm = {
        let (asking, busy, status, reload, session) = (
            asking.clone(),
            busy.clone(),
            status.clone(),
            reload.clone(),
            session.clone(),
        );
        Callback::from(move |()| {
            let Some(who) = (*asking).clone() else { return };
            asking.set(None);
            busy.set(Some(who.user_id));
            let (busy, status, reload, session) = (
                busy.clone(),
                status.clone(),
                reload.clone(),
                session.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match api::revoke_user(who.user_id).await {
                    Ok(r) => status.set(Some(format!(
                        "Signed {} out of {} session(s).",
                        who.display_name, r.revoked
                    ))),
                    Err(e) => status.set(Some(failed(session.as_ref(), &e))),
                }
                busy.set(None);
                reload.set(*reload + 1);
            });
        })
    };
    let cancel = {
        let asking = asking.clone();
        Callback::from(move |()| asking.set(None))
    };
    let refresh = {
        let reload = reload.clone();
        Callback::from(move |_: MouseEvent| reload.set(*reload + 1))
    };
    let now_ms = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| to_ms(v.server_time)))
        .unwrap_or_else(local_ms);
    let me = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| v.user.id));
    let body = match rows.as_ref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(rows) if rows.is_empty() => html! { <p class="muted">{ "No team members yet." }</p> },
        Some(rows) => html! {
            <div class="table-scroll">
            <table aria-label="Team members">
                <thead><tr>
                    <th scope="col">{ "Person" }</th><th scope="col">{ "Role" }</th><th scope="col">{ "Available" }</th>
                    <th scope="col">{ "Auto-assign" }</th><th scope="col">{ "Live sessions" }</th>
                    <th scope="col">{ "Open conversations" }</th><th scope="col">{ "Last activity" }</th>
                    <th scope="col">{ "Actions" }</th>
                </tr></thead>
                <tbody>
                { for rows.iter().map(|a| {
                    let ask = {
                        let (asking, a) = (asking.clone(), a.clone());
                        Callback::from(move |_: MouseEvent| asking.set(Some(a.clone())))
                    };
                    let working = *busy == Some(a.user_id);
                    html! {
                        <tr>
                            <td>{ &a.display_name }
                                if Some(a.user_id) == me { <span class="badge">{ "you" }</span> }
                                <br /><span class="muted small">{ &a.email }</span></td>
                            <td>{ match a.role { Role::Admin => "Admin", _ => "Agent" } }</td>
                            <td>{ if a.available { "Yes" } else { "No" } }</td>
                            <td>{ if a.auto_assign { "Yes" } else { "No" } }</td>
                            <td>{ a.live_sessions }</td>
                            <td>{ a.open_conversations }</td>
                            <td>{ match a.last_activity_at {
                                Some(t) => html! { <span title={stamp(t)}>{ relative(((to_ms(t) - now_ms) / 1000.0) as i64) }</span> },
                                None => html! { <span class="muted">{ "not signed in" }</span> },
                            } }</td>
                            <td>
                                <button onclick={ask} disabled={working || a.live_sessions == 0}
                                        aria-label={format!("Sign out everywhere: {}", a.email)}>
                                    { if working { "Signing out…" } else { "Sign out everywhere" } }
                                </button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            </div>
        },
    };
    let dialog = match (*asking).clone() {
        Some(a) => confirm_dialog(
            &format!("Sign {} out everywhere?", a.display_name),
            &consequences(&a),
            "Sign out everywhere",
            confirm,
            cancel,
        ),
        None => html! {},
    };
    html! {
        <>
            <div inert={asking.is_some()}>
            { nav(session.as_ref()) }
            <main class="page">
                <div class="row spread">
                    <h1>{ "Team" }</h1>
                    <button onclick={refresh}>{ "Refresh" }</button>
                </div>
                if let Some(s) = (*status).clone() { <p role="status">{ s }</p> }
                { body }
            </main>
            </div>
            { dialog }
        </>
    }
}
