//! `/admin/sessions`: live sessions of the account — who, browser in words,
//! address, signed in (when, and how: a password or which single sign-on),
//! last activity, when it ends and why (idle or the limit), the admin's own
//! marked — filtered by person (an email) and audience on the server, a
//! page (200) at a time with "Load more" following the list's `Link` (the
//! filters with it), with "Revoke" and "Sign out everywhere", each
//! confirmed with its consequences first.

use vigil_policy::api::{browser_in_words, AgentRow, Role, SessionSummary};
use vigil_policy::Audience;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{local_ms, relative, stamp, to_ms};
use crate::components::{confirm_dialog, use_current_session, Page};
use crate::hooks::use_load;
use crate::pages::signed_in_with;

/// An action waiting for confirmation.
#[derive(Debug, Clone, PartialEq)]
enum Ask {
    /// End one session.
    One(SessionSummary),
    /// End every session of a person.
    Everywhere(SessionSummary),
}

/// What ending sessions does to their owner, in words. `rows` are the
/// sessions loaded; the team's counts cover agents' unloaded pages too.
fn consequences(ask: &Ask, rows: &[SessionSummary], team: &[AgentRow]) -> String {
    let (s, all) = match ask {
        Ask::One(s) => (s, false),
        Ask::Everywhere(s) => (s, true),
    };
    let loaded = rows.iter().filter(|r| r.user.id == s.user.id).count();
    let theirs = team
        .iter()
        .find(|a| a.user_id == s.user.id)
        .map_or(loaded, |a| (a.live_sessions as usize).max(loaded));
    let left = if all { 0 } else { theirs.saturating_sub(1) };
    let ends = if all {
        format!("All {theirs} of {}'s sessions end.", s.user.display_name)
    } else {
        format!(
            "{}'s session in {} ends.",
            s.user.display_name,
            browser_in_words(s.user_agent.as_deref())
        )
    };
    let team_member = s.user.role != Role::Requester;
    let after = if left > 0 {
        format!(" They stay signed in elsewhere ({left} session(s)).")
    } else if team_member {
        match team
            .iter()
            .find(|a| a.user_id == s.user.id)
            .map_or(0, |a| a.open_conversations)
        {
            0 => " It is their last session: they become unavailable for new conversations.".to_owned(),
            n => format!(" It is their last session: they become unavailable, and their {n} open conversation(s) go to other available agents (or the queue)."),
        }
    } else {
        " They will have to sign in again.".to_owned()
    };
    format!("{ends}{after}")
}

/// The page.
#[component]
pub fn Sessions() -> Html {
    let session = use_current_session();
    // The sessions shown, and the next page's path while more remain.
    let list = use_state(|| None::<(Vec<SessionSummary>, Option<String>)>);
    let status = use_state(|| None::<String>);
    // To say what ending a session does to its person's conversations.
    let team = use_load(api::agents);
    let asking = use_state(|| None::<Ask>);
    let busy = use_state(|| None::<String>);
    // The filters: (person, audience), as the server takes them.
    let filters = use_state(|| (String::new(), String::new()));
    // Loads the first page under the filters, or appends the page at `more`.
    let load = {
        let (list, status, session, filters) = (
            list.clone(),
            status.clone(),
            session.clone(),
            filters.clone(),
        );
        Callback::from(move |more: Option<String>| {
            let (list, status, session) = (list.clone(), status.clone(), session.clone());
            let path = more.clone().unwrap_or_else(|| {
                let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
                let mut path = "/api/admin/sessions?".to_owned();
                if !filters.0.trim().is_empty() {
                    path.push_str(&format!("person={}&", enc(filters.0.trim())));
                }
                if !filters.1.is_empty() {
                    path.push_str(&format!("audience={}", enc(&filters.1)));
                }
                path
            });
            wasm_bindgen_futures::spawn_local(async move {
                match api::page::<SessionSummary>(&path).await {
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
        use_effect_with((*filters).clone(), move |_| load.emit(None));
    }
    let reload = {
        let (load, team) = (load.clone(), team.handle.clone());
        move || {
            load.emit(None);
            team.reload();
        }
    };
    let offset = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| to_ms(v.server_time)))
        .map_or(0.0, |server| server - local_ms());
    let now_ms = local_ms() + offset;
    let mine = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| v.session_id.clone()));
    let confirm = {
        let (asking, busy, status, list, team, session) = (
            asking.clone(),
            busy.clone(),
            status.clone(),
            list.clone(),
            team.handle.clone(),
            session.clone(),
        );
        Callback::from(move |()| {
            let Some(ask) = (*asking).clone() else { return };
            asking.set(None);
            let key = match &ask {
                Ask::One(s) | Ask::Everywhere(s) => s.session_id.clone(),
            };
            busy.set(Some(key));
            let (busy, status, list, team, session) = (
                busy.clone(),
                status.clone(),
                list.clone(),
                team.clone(),
                session.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = match &ask {
                    Ask::One(s) => api::revoke_session(&s.session_id)
                        .await
                        .map(|()| "Session ended.".to_owned()),
                    Ask::Everywhere(s) => api::revoke_user(s.user.id)
                        .await
                        .map(|n| format!("Signed out of {} session(s).", n.revoked)),
                };
                busy.set(None);
                // Take the ended sessions off the pages loaded.
                if let (Ok(_), Some((mut rows, next))) = (&outcome, (*list).clone()) {
                    rows.retain(|r| match &ask {
                        Ask::One(s) => r.session_id != s.session_id,
                        Ask::Everywhere(s) => r.user.id != s.user.id,
                    });
                    list.set(Some((rows, next)));
                }
                status.set(Some(
                    outcome.unwrap_or_else(|e| failed(session.as_ref(), &e)),
                ));
                team.reload();
            });
        })
    };
    let cancel = {
        let asking = asking.clone();
        Callback::from(move |()| asking.set(None))
    };
    let on_person = {
        let filters = filters.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            filters.set((input.value(), filters.1.clone()));
        })
    };
    let on_audience = {
        let filters = filters.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            filters.set((filters.0.clone(), select.value()));
        })
    };
    let refresh = Callback::from(move |_: MouseEvent| reload());
    let filtered = filters.0.trim() != "" || !filters.1.is_empty();
    let body = match list.as_ref().map(|l| &l.0) {
        None => html! { <p>{ "Loading…" }</p> },
        Some(shown) => {
            if shown.is_empty() {
                html! { <p class="muted">{ if filtered { "No session matches." } else { "No live sessions." } }</p> }
            } else {
                html! {
                    <ul class="session-list" aria-label="Live sessions">
                    { for shown.iter().map(|r| {
                        let by_limit = r.absolute_expires_at <= r.idle_expires_at;
                        let ends = r.idle_expires_at.min(r.absolute_expires_at);
                        let working = busy.as_deref() == Some(r.session_id.as_str());
                        let yours = mine.as_deref() == Some(r.session_id.as_str());
                        let ask_one = {
                            let (asking, r) = (asking.clone(), r.clone());
                            Callback::from(move |_: MouseEvent| asking.set(Some(Ask::One(r.clone()))))
                        };
                        let ask_all = {
                            let (asking, r) = (asking.clone(), r.clone());
                            Callback::from(move |_: MouseEvent| asking.set(Some(Ask::Everywhere(r.clone()))))
                        };
                        let who = r.user.email.clone();
                        let rel = |t: time::OffsetDateTime| relative(((to_ms(t) - now_ms) / 1000.0) as i64);
                        html! {
                            <li class="card" aria-current={yours.then_some("true")}>
                                <div>
                                    <strong>{ &r.user.display_name }</strong>
                                    if yours { <span class="badge">{ "you, this session" }</span> }
                                    <span class="muted small">{ format!(" {} · {}", r.user.email,
                                        match r.audience { Audience::Agents => "agent console", Audience::Requesters => "portal" }) }</span>
                                </div>
                                <dl class="facts">
                                    <dt>{ "Browser" }</dt><dd>{ browser_in_words(r.user_agent.as_deref()) }</dd>
                                    <dt>{ "Address" }</dt><dd>{ r.ip.clone().unwrap_or_else(|| "unknown".into()) }</dd>
                                    <dt>{ "Signed in" }</dt><dd title={stamp(r.created_at)}>{ rel(r.created_at) }
                                        { if r.persistent { " (remembered)" } else { "" } }</dd>
                                    <dt>{ "How" }</dt><dd>{ signed_in_with(r.method, r.sso_connection.as_deref()) }</dd>
                                    <dt>{ "Last activity" }</dt><dd title={stamp(r.last_activity_at)}>{ rel(r.last_activity_at) }</dd>
                                    <dt>{ "Ends" }</dt><dd title={stamp(ends)}>{ format!("{} ({})", rel(ends),
                                        if by_limit { "session limit" } else { "if idle until then" }) }</dd>
                                </dl>
                                <div class="row">
                                    <button onclick={ask_one} disabled={working} aria-label={format!("Revoke session of {who}")}>
                                        { if working { "Ending…" } else { "Revoke" } }</button>
                                    <button onclick={ask_all} disabled={working} aria-label={format!("Sign out everywhere: {who}")}>
                                        { "Sign out everywhere" }</button>
                                </div>
                            </li>
                        }
                    }) }
                    </ul>
                }
            }
        }
    };
    let dialog = match ((*asking).clone(), list.as_ref()) {
        (Some(ask), Some((all, _))) => {
            let (title, label) = match &ask {
                Ask::One(s) => (
                    format!("End {}'s session?", s.user.display_name),
                    "End session",
                ),
                Ask::Everywhere(s) => (
                    format!("Sign {} out everywhere?", s.user.display_name),
                    "Sign out everywhere",
                ),
            };
            Some(confirm_dialog(
                &title,
                &consequences(
                    &ask,
                    all,
                    team.data.as_deref().map(Vec::as_slice).unwrap_or_default(),
                ),
                label,
                confirm,
                cancel,
            ))
        }
        _ => None,
    };
    Page::new(session.as_ref(), "Live sessions")
        .refresh(refresh)
        .dialog(dialog)
        .render(html! {
            <>
                <div class="card filters" role="search">
                    <div class="field">
                        <label for="session-search">{ "Person (email)" }</label>
                        <input id="session-search" type="search" value={filters.0.clone()} onchange={on_person}
                               placeholder="name@example.com" />
                    </div>
                    <div class="field">
                        <label for="session-audience">{ "Audience" }</label>
                        <select id="session-audience" onchange={on_audience}>
                            <option value="" selected={filters.1.is_empty()}>{ "Everyone" }</option>
                            <option value="agents" selected={filters.1 == "agents"}>{ "Agents and admins" }</option>
                            <option value="requesters" selected={filters.1 == "requesters"}>{ "Requesters" }</option>
                        </select>
                    </div>
                </div>
                if let Some(s) = (*status).clone() { <p role="status">{ s }</p> }
                { body }
                if let Some(next) = list.as_ref().and_then(|l| l.1.clone()) {
                    <button onclick={Callback::from(move |_: MouseEvent| load.emit(Some(next.clone())))}>{ "Load more" }</button>
                }
            </>
        })
}
