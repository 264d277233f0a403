//! `/admin/team`: every team member — role, available or not, in
//! auto-assignment or not, live sessions, open conversations, last
//! activity — with "Sign out everywhere" and "Deactivate" per person, their
//! consequences named before anything happens, and "Reactivate" for the
//! deactivated.

use vigil_policy::api::{AgentRow, ErrorCode, Role};
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{local_ms, relative, stamp, to_ms};
use crate::components::{confirm_dialog, use_current_session, Page};
use crate::hooks::use_load;

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

/// What "Deactivate" will do to this person, in words.
fn deactivation(a: &AgentRow) -> String {
    format!(
        "{} They cannot sign in, with a password or single sign-on, until someone reactivates them. What they did stays in the audit log.",
        consequences(a)
    )
}

/// The page.
#[component]
pub fn Team() -> Html {
    let session = use_current_session();
    let agents = use_load(api::agents);
    // The person asked about, and whether the question is "Deactivate"
    // (else "Sign out everywhere").
    let asking = use_state(|| None::<(AgentRow, bool)>);
    let busy = use_state(|| None::<i64>);
    let confirm = {
        let (asking, busy, load, session) = (
            asking.clone(),
            busy.clone(),
            agents.handle.clone(),
            session.clone(),
        );
        Callback::from(move |()| {
            let Some((who, deactivate)) = (*asking).clone() else {
                return;
            };
            asking.set(None);
            busy.set(Some(who.user_id));
            let (busy, load, session) = (busy.clone(), load.clone(), session.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let done = if deactivate {
                    api::set_active(who.user_id, false).await
                } else {
                    api::revoke_user(who.user_id).await
                };
                let name = &who.display_name;
                load.say(match done {
                    Ok(r) if deactivate => {
                        format!("Deactivated {name}: {} session(s) ended.", r.revoked)
                    }
                    Ok(r) => format!("Signed {name} out of {} session(s).", r.revoked),
                    Err(e) if e.code() == Some(ErrorCode::LastAdmin) => format!(
                        "{name} is the account's last active person who manages security: give someone else that permission first."
                    ),
                    Err(e) => failed(session.as_ref(), &e),
                });
                busy.set(None);
                load.reload();
            });
        })
    };
    let reactivate = {
        let (busy, load, session) = (busy.clone(), agents.handle.clone(), session.clone());
        move |who: AgentRow| {
            let (busy, load, session) = (busy.clone(), load.clone(), session.clone());
            Callback::from(move |_: MouseEvent| {
                busy.set(Some(who.user_id));
                let (busy, load, session, who) =
                    (busy.clone(), load.clone(), session.clone(), who.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    load.say(match api::set_active(who.user_id, true).await {
                        Ok(_) => {
                            format!("Reactivated {}: they can sign in again.", who.display_name)
                        }
                        Err(e) => failed(session.as_ref(), &e),
                    });
                    busy.set(None);
                    load.reload();
                });
            })
        }
    };
    let cancel = {
        let asking = asking.clone();
        Callback::from(move |()| asking.set(None))
    };
    let refresh = {
        let load = agents.handle.clone();
        Callback::from(move |_: MouseEvent| load.reload())
    };
    let now_ms = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| to_ms(v.server_time)))
        .unwrap_or_else(local_ms);
    let me = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| v.user.id));
    let body = match agents.data.as_deref() {
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
                    let ask = |deactivate: bool| {
                        let (asking, a) = (asking.clone(), a.clone());
                        Callback::from(move |_: MouseEvent| asking.set(Some((a.clone(), deactivate))))
                    };
                    let working = *busy == Some(a.user_id);
                    html! {
                        <tr>
                            <td>{ &a.display_name }
                                if Some(a.user_id) == me { <span class="badge">{ "you" }</span> }
                                if !a.active { <span class="badge">{ "deactivated" }</span> }
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
                                <button onclick={ask(false)} disabled={working || a.live_sessions == 0}
                                        aria-label={format!("Sign out everywhere: {}", a.email)}>
                                    { "Sign out everywhere" }
                                </button>
                                if a.active {
                                    <button class="danger" onclick={ask(true)} disabled={working}
                                            aria-label={format!("Deactivate: {}", a.email)}>{ "Deactivate" }</button>
                                } else {
                                    <button onclick={reactivate(a.clone())} disabled={working}
                                            aria-label={format!("Reactivate: {}", a.email)}>{ "Reactivate" }</button>
                                }
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            </div>
        },
    };
    let dialog = (*asking).clone().map(|(a, deactivate)| {
        if deactivate {
            confirm_dialog(
                &format!("Deactivate {}?", a.display_name),
                &deactivation(&a),
                "Deactivate",
                confirm,
                cancel,
            )
        } else {
            confirm_dialog(
                &format!("Sign {} out everywhere?", a.display_name),
                &consequences(&a),
                "Sign out everywhere",
                confirm,
                cancel,
            )
        }
    });
    Page::new(session.as_ref(), "Team")
        .refresh(refresh)
        .dialog(dialog)
        .render(html! {
            <>
                if let Some(s) = agents.status.clone() { <p role="status">{ s }</p> }
                { body }
            </>
        })
}
