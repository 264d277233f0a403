//! `/portal`: a requester's conversations, and opening a new one.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::stamp;
use crate::components::{use_current_session, Page};
use crate::drafts::use_draft;
use crate::hooks::use_load;

/// The page.
#[component]
pub fn Portal() -> Html {
    let session = use_current_session();
    let conversations = use_load(api::portal_conversations);
    let person = session
        .as_ref()
        .and_then(|s| s.snapshot.view.as_ref().map(|v| v.user.id));
    // The new conversation is a draft until sent: a sign-out keeps it.
    let (subject, set_subject) = use_draft("portal-subject", person);
    let oninput = {
        let set_subject = set_subject.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            set_subject.emit(input.value());
        })
    };
    let onsubmit = {
        let (subject, set_subject, load, session) = (
            subject.clone(),
            set_subject.clone(),
            conversations.handle.clone(),
            session.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (subject, set_subject, load, session) = (
                subject.clone(),
                set_subject.clone(),
                load.clone(),
                session.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match api::open_conversation(&subject).await {
                    Ok(c) => {
                        set_subject.emit(String::new());
                        load.say(if c.assignee_id.is_some() {
                            "Sent. An agent has it.".to_owned()
                        } else {
                            "Sent. It is in the queue for the next available agent.".to_owned()
                        });
                        load.reload();
                    }
                    Err(e) => load.say(failed(session.as_ref(), &e)),
                }
            });
        })
    };
    Page::new(session.as_ref(), "My conversations").render(html! {
        <>
            <form class="card row" {onsubmit}>
                <label for="subject">{ "New conversation" }</label>
                <input id="subject" value={subject.clone()} {oninput} maxlength="200" placeholder="What do you need help with?" />
                <button type="submit" class="primary">{ "Send" }</button>
            </form>
            if let Some(s) = conversations.status.clone() { <p role="status">{ s }</p> }
            { match conversations.data.as_deref() {
                None => html! { <p>{ "Loading…" }</p> },
                Some(c) if c.is_empty() => html! { <p class="muted">{ "No conversations yet." }</p> },
                Some(c) => html! {
                    <ul class="conversations">
                        { for c.iter().map(|c| html! {
                            <li><strong>{ &c.subject }</strong>
                                <span class="muted small">{ format!(" · {} · {}", c.status, stamp(c.created_at)) }</span></li>
                        }) }
                    </ul>
                },
            } }
        </>
    })
}
