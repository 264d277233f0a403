//! `/desk`: the agent's availability, calls and conversations.

use gloo_timers::callback::Interval;
use vigil_policy::api::{Conversation, Role};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, Kind};
use crate::clock::stamp;
use crate::components::{nav, use_current_session};

/// The page.
#[component]
pub fn Desk() -> Html {
    let session = use_current_session();
    let conversations = use_state(|| None::<Vec<Conversation>>);
    let available = use_state(|| None::<bool>);
    let on_call = use_state(|| false);
    let status = use_state(|| None::<String>);
    {
        let (conversations, available, status, session) = (
            conversations.clone(),
            available.clone(),
            status.clone(),
            session.clone(),
        );
        use_effect_with((), move |_| {
            let fetch = move |kind: Kind| {
                let (conversations, status, session) =
                    (conversations.clone(), status.clone(), session.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    match api::desk_conversations(kind).await {
                        Ok(c) => conversations.set(Some(c)),
                        Err(e) => {
                            if let Some(s) = &session {
                                s.check(&e);
                            }
                            status.set(Some(e.message()));
                        }
                    }
                });
            };
            fetch(Kind::Foreground);
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(a) = api::availability().await {
                    available.set(Some(a.available));
                }
            });
            // New and rerouted conversations show up without a reload.
            let refresh = Interval::new(15_000, move || fetch(Kind::Background));
            move || drop(refresh)
        });
    }
    let Some(session) = session else {
        return html! {};
    };
    let role = session.snapshot.view.as_ref().map(|v| v.user.role);
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
                    Err(e) => {
                        session.check(&e);
                        status.set(Some(e.message()));
                    }
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
        })
    };
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
    html! {
        <>
            { nav(Some(&session)) }
            <main class="page">
                <h1>{ "Desk" }</h1>
                <section class="card row" aria-label="Status">
                    <div class="check">
                        <input type="checkbox" id="available" role="switch" checked={available.unwrap_or(false)}
                               disabled={available.is_none()} onchange={on_available} />
                        <label for="available">{ "Available for new conversations" }</label>
                    </div>
                    <div class="check">
                        <input type="checkbox" id="on-call" role="switch" checked={*on_call} onchange={on_call_change} />
                        <label for="on-call">{ "On a call" }</label>
                    </div>
                </section>
                if let Some(s) = (*status).clone() { <p class="error" role="alert">{ s }</p> }
                <section class="card" aria-label="My conversations">
                    <h2>{ "My conversations" }</h2>
                    { list }
                </section>
            </main>
        </>
    }
}
