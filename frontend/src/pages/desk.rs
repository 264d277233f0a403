//! `/desk`: the agent's availability, calls and conversations.

use gloo_timers::callback::Interval;
use vigil_policy::api::{Conversation, Role};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use wasm_bindgen::JsCast;

use crate::api::{self, failed, Kind};
use crate::clock::stamp;
use crate::components::{nav, use_current_session, Page};
use crate::drafts::use_draft;

/// How often the desk's list is refreshed (by one tab of the browser).
const REFRESH_MS: u32 = 60_000;
/// Where that tab shares the list with the others.
const DESK_CHANNEL: &str = "vigil-desk";

/// Where "On a call" is kept for the tab (sessionStorage).
const ON_CALL_KEY: &str = "vigil-on-call";

/// The page.
#[component]
pub fn Desk() -> Html {
    let session = use_current_session();
    let conversations = use_state(|| None::<Vec<Conversation>>);
    let available = use_state(|| None::<bool>);
    // "On a call" lasts for the tab's life, reloads included.
    let on_call = use_state(|| {
        web_sys::window()
            .and_then(|w| w.session_storage().ok().flatten())
            .and_then(|s| s.get_item(ON_CALL_KEY).ok().flatten())
            .is_some_and(|v| v == "1")
    });
    {
        let (on_call, session) = (*on_call, session.clone());
        let ready = session.as_ref().is_some_and(|s| s.snapshot.view.is_some());
        use_effect_with(ready, move |ready| {
            if *ready && on_call {
                if let Some(s) = &session {
                    s.set_on_call(true);
                }
            }
        });
    }
    let status = use_state(|| None::<String>);
    {
        let (conversations, available, status, session) = (
            conversations.clone(),
            available.clone(),
            status.clone(),
            session.clone(),
        );
        let conversations_for_others = conversations.clone();
        let leader = session.clone();
        use_effect_with((), move |_| {
            // One tab of the browser (the live channel's holder) refreshes
            // the list every minute and shares it with the others.
            let shared = web_sys::BroadcastChannel::new(DESK_CHANNEL).ok();
            let fetch = {
                let shared = shared.clone();
                move |kind: Kind| {
                    let (conversations, status, session, shared) = (
                        conversations.clone(),
                        status.clone(),
                        session.clone(),
                        shared.clone(),
                    );
                    wasm_bindgen_futures::spawn_local(async move {
                        match api::desk_conversations(kind).await {
                            Ok(c) => {
                                if let (Some(ch), Some(data)) = (&shared, api::to_js(&c)) {
                                    let _ = ch.post_message(&data);
                                }
                                conversations.set(Some(c));
                            }
                            Err(e) => status.set(Some(failed(session.as_ref(), &e))),
                        }
                    });
                }
            };
            fetch(Kind::Foreground);
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(a) = api::availability().await {
                    available.set(Some(a.available));
                }
            });
            let heard = shared.as_ref().map(|ch| {
                let conversations = conversations_for_others.clone();
                gloo_events::EventListener::new(ch, "message", move |e| {
                    let data = e.dyn_ref::<web_sys::MessageEvent>().map(|m| m.data());
                    if let Some(c) = data.and_then(api::from_js) {
                        conversations.set(Some(c));
                    }
                })
            });
            let refresh = Interval::new(REFRESH_MS, move || {
                if leader.as_ref().is_none_or(|s| s.is_leader()) {
                    fetch(Kind::Background);
                }
            });
            move || {
                drop(refresh);
                drop(heard);
                if let Some(ch) = shared {
                    ch.close();
                }
            }
        });
    }
    let person = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| v.user.id));
    let (notes, set_notes) = use_draft("desk-notes", person);
    let Some(session) = session else {
        return html! {};
    };
    let role = session.snapshot.view.as_ref().map(|v| v.user.role);
    let on_notes = {
        let set_notes = set_notes.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlTextAreaElement = e.target_unchecked_into();
            set_notes.emit(input.value());
        })
    };
    if role == Some(Role::Requester) {
        return html! { <>{ nav(Some(&session)) }<main class="page"><p>{ "The desk is for agents." }</p></main></> };
    }
    let on_available = {
        let (available, status, session) = (available.clone(), status.clone(), session.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let want = input.checked();
            let (available, status, session) = (available.clone(), status.clone(), session.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::set_availability(want).await {
                    Ok(a) => available.set(Some(a.available)),
                    Err(e) => status.set(Some(failed(Some(&session), &e))),
                }
            });
        })
    };
    let on_call_change = {
        let (on_call, session) = (on_call.clone(), session.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            session.set_on_call(input.checked());
            on_call.set(input.checked());
            if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
                let _ = s.set_item(ON_CALL_KEY, if input.checked() { "1" } else { "0" });
            }
        })
    };
    let calls_count = session
        .snapshot
        .view
        .as_ref()
        .is_some_and(|v| v.policy.activity.active_call_extends);
    let list = match conversations.as_ref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(c) if c.is_empty() => {
            html! { <p class="muted">{ "No open conversations assigned to you." }</p> }
        }
        Some(c) => html! {
            <ul class="conversations">
                { for c.iter().map(|c| html! {
                    <li><strong>{ &c.subject }</strong><span class="muted small">{ format!(" #{} · opened {}", c.id, stamp(c.created_at)) }</span></li>
                }) }
            </ul>
        },
    };
    Page::new(Some(&session), "Desk").render(html! {
        <>
            <section class="card row" aria-label="Status">
                <div class="check">
                    <input type="checkbox" id="available" role="switch" checked={available.unwrap_or(false)}
                           disabled={available.is_none()} onchange={on_available} />
                    <label for="available">{ "Available for new conversations" }</label>
                </div>
                if calls_count {
                    <div class="check">
                        <input type="checkbox" id="on-call" role="switch" checked={*on_call} onchange={on_call_change} />
                        <label for="on-call">{ "On a call" }</label>
                    </div>
                }
            </section>
            if *available == Some(false) {
                <p class="notice" role="status">
                    { "You are unavailable: no new conversations are assigned to you until you switch \"Available\" on." }
                </p>
            }
            if let Some(s) = (*status).clone() { <p class="error" role="alert">{ s }</p> }
            <section class="card" aria-label="My conversations">
                <h2>{ "My conversations" }</h2>
                { list }
            </section>
            <section class="card" aria-label="Notes">
                <label for="desk-notes"><h2>{ "Notes" }</h2></label>
                <textarea id="desk-notes" rows="4" value={notes} oninput={on_notes}
                          placeholder="Kept in this browser until you sign out" />
            </section>
        </>
    })
}
