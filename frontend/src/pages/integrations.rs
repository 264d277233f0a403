//! `/admin/integrations`: what other systems use to reach Vigil, one
//! section each. API tokens: the list (scopes, expiry, last use), a form
//! to create one (name, scopes, expiry), its secret shown once with a copy
//! button, and "Revoke" confirmed first.
//!
//! The form is read back from the page when it is sent (no state per
//! keystroke: this console counts its bytes), and reset once a token is
//! made.

use vigil_policy::api::ErrorCode;
use vigil_policy::tokens::{Scope, TokenCreated, TokenInput, TokenView};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::{from_ms, local_ms, local_stamp};
use crate::components::{confirm_dialog, use_current_session, Page};
use crate::hooks::use_load;

/// What a scope allows, in words.
fn scope_words(s: Scope) -> &'static str {
    match s {
        Scope::SessionsRead => "See live sessions and the team",
        Scope::SessionsWrite => "End sessions (also universal logout)",
        Scope::UsersWrite => "Deactivate and reactivate people",
        Scope::AuditRead => "Read and export the audit log",
        Scope::SettingsRead => "Read the security settings",
        Scope::SettingsWrite => "Change the security settings",
    }
}

/// The form as the page holds it now; the expiry from this browser's
/// clock (the server checks it).
fn read_form() -> TokenInput {
    let doc = web_sys::window().and_then(|w| w.document());
    let el = |id: &str| doc.as_ref().and_then(|d| d.get_element_by_id(id));
    let input = |id: &str| el(id).map(JsCast::unchecked_into::<HtmlInputElement>);
    // Whole days: parsing a float would bring 15 KB of wasm (core's
    // float parser and its tables) for nothing.
    let days = f64::from(
        el("token-expiry")
            .map(JsCast::unchecked_into::<HtmlSelectElement>)
            .and_then(|s| s.value().parse::<u32>().ok())
            .unwrap_or(0),
    );
    TokenInput {
        name: input("token-name").map(|i| i.value()).unwrap_or_default(),
        scopes: Scope::ALL
            .into_iter()
            .filter(|s| input(s.as_str()).is_some_and(|i| i.checked()))
            .collect(),
        expires_at: (days > 0.0).then(|| from_ms(local_ms() + days * 86_400_000.0)),
    }
}

/// One token in the list.
fn token_card(t: &TokenView, ask: &UseStateHandle<Option<TokenView>>) -> Html {
    let when = |t: Option<time::OffsetDateTime>, none: &str| t.map_or(none.to_owned(), local_stamp);
    let facts = [
        (
            "Scopes",
            t.scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("Created", local_stamp(t.created_at)),
        ("Expires", when(t.expires_at, "Never")),
        ("Last used", when(t.last_used_at, "Never")),
    ];
    let onclick = {
        let (ask, t) = (ask.clone(), t.clone());
        Callback::from(move |_: MouseEvent| ask.set(Some(t.clone())))
    };
    html! {
        <li class="card">
            <h3>{ &t.name }</h3>
            <dl class="facts">
                { for facts.into_iter().map(|(term, value)| html! { <><dt>{ term }</dt><dd>{ value }</dd></> }) }
            </dl>
            <button {onclick} aria-label={format!("Revoke {}", t.name)}>{ "Revoke" }</button>
        </li>
    }
}

/// The page: a list of sections.
#[component]
pub fn Integrations() -> Html {
    let session = use_current_session();
    let list = use_load(api::tokens);
    let ask = use_state(|| None::<TokenView>);
    let created = use_state(|| None::<TokenCreated>);
    let errors = use_state(Vec::<vigil_policy::FieldError>::new);

    let onsubmit = {
        let (status, session) = (list.handle.clone(), session.clone());
        let (created, errors) = (created.clone(), errors.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = read_form();
            let form = e.target();
            let (status, session) = (status.clone(), session.clone());
            let (created, errors) = (created.clone(), errors.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::create_token(&input).await {
                    Ok(t) => {
                        // Cleared for the next one (form.reset()).
                        if let Some(f) = form {
                            let reset = js_sys::Reflect::get(&f, &"reset".into());
                            let _ = reset.map(|r| r.unchecked_into::<js_sys::Function>().call0(&f));
                        }
                        errors.set(Vec::new());
                        status.say(format!("Created {}.", t.name));
                        created.set(Some(t));
                        status.reload();
                    }
                    Err(e) if e.code() == Some(ErrorCode::Validation) => errors.set(e.fields()),
                    Err(e) => status.say(failed(session.as_ref(), &e)),
                }
            });
        })
    };
    let error = |path: &str| crate::pages::error_for(&errors, path);
    let name_error = error("name");
    let scopes_error = error("scopes").or_else(|| error("expires_at"));

    let shown = created.as_ref().map(|t| {
        let copy = {
            let (secret, status) = (t.token.clone(), list.handle.clone());
            Callback::from(move |_: MouseEvent| {
                let clipboard = web_sys::window()
                    .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"clipboard".into()).ok())
                    .filter(|c| !c.is_undefined())
                    .map(JsCast::unchecked_into::<web_sys::Clipboard>);
                status.say(match clipboard {
                    Some(c) => {
                        let _ = c.write_text(&secret);
                        "Copied the token.".to_owned()
                    }
                    None => "Select and copy the token.".to_owned(),
                });
            })
        };
        let done = {
            let created = created.clone();
            Callback::from(move |_: MouseEvent| created.set(None))
        };
        html! {
            <div class="card" role="region" aria-label="New token">
                <div class="field">
                    <label for="token-secret">{ format!("Token {}", t.name) }</label>
                    <div class="row">
                        <input id="token-secret" class="uri" readonly=true value={t.token.clone()}
                               aria-describedby="token-secret-hint" />
                        <button onclick={copy} aria-label="Copy the token">{ "Copy" }</button>
                    </div>
                    <p id="token-secret-hint" class="muted small">{ "Shown once: Vigil keeps only a hash. Store it where the script reads it, then press Done." }</p>
                </div>
                <button onclick={done}>{ "Done" }</button>
            </div>
        }
    });

    let tokens = match list.data.as_deref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(all) if all.is_empty() => html! { <p class="muted">{ "No API tokens." }</p> },
        Some(all) => html! {
            <ul class="session-list" aria-label="API tokens">
                { for all.iter().map(|t| token_card(t, &ask)) }
            </ul>
        },
    };

    let dialog = (*ask).clone().map(|t| {
        let title = format!("Revoke {}?", t.name);
        let cancel = {
            let ask = ask.clone();
            Callback::from(move |()| ask.set(None))
        };
        let confirm = {
            let (ask, status, session) = (ask.clone(), list.handle.clone(), session.clone());
            Callback::from(move |()| {
                ask.set(None);
                let (status, session, t) = (status.clone(), session.clone(), t.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    status.say(match api::revoke_token(&t.id).await {
                        Ok(()) => format!("Revoked {}.", t.name),
                        Err(e) => failed(session.as_ref(), &e),
                    });
                    status.reload();
                });
            })
        };
        confirm_dialog(
            &title,
            "Every request with this token fails from now on. Scripts and identity providers using it stop working until they get a new one.",
            "Revoke token",
            confirm,
            cancel,
        )
    });

    Page::new(session.as_ref(), "Integrations")
        .dialog(dialog)
        .render(html! {
            <>
                if let Some(s) = list.status.clone() { <p role="status">{ s }</p> }
                <section aria-labelledby="tokens-heading">
                    <h2 id="tokens-heading">{ "API tokens" }</h2>
                    <p class="muted">{ "Scripts and identity providers call the admin API with Authorization: Bearer and a token, for the scopes it holds." }</p>
                    <form class="card" {onsubmit} aria-label="New API token">
                        <div class="field">
                            <label for="token-name">{ "Name" }</label>
                            <input id="token-name" type="text" autocomplete="off"
                                   aria-invalid={if name_error.is_some() { "true" } else { "false" }}
                                   aria-describedby={name_error.as_ref().map(|_| "token-name-error")} />
                            if let Some(m) = name_error { <p id="token-name-error" class="error">{ m }</p> }
                        </div>
                        <fieldset>
                            <legend>{ "Scopes" }</legend>
                            { for Scope::ALL.into_iter().map(|s| html! {
                                <div class="check">
                                    <input id={s.as_str()} type="checkbox" />
                                    <label for={s.as_str()}>{ format!("{} ({})", scope_words(s), s.as_str()) }</label>
                                </div>
                            }) }
                        </fieldset>
                        <div class="field">
                            <label for="token-expiry">{ "Expires" }</label>
                            <select id="token-expiry">
                                // Marked: Yew inserts options last first, and
                                // the first inserted would stay chosen.
                                <option value="30" selected=true>{ "In 30 days" }</option>
                                <option value="90">{ "In 90 days" }</option>
                                <option value="365">{ "In a year" }</option>
                                <option value="0">{ "Never" }</option>
                            </select>
                        </div>
                        if let Some(m) = scopes_error { <p class="error" role="alert">{ m }</p> }
                        <button class="primary" type="submit">{ "Create token" }</button>
                    </form>
                    { shown.unwrap_or_default() }
                    { tokens }
                </section>
                <crate::pages::webhooks::Webhooks />
            </>
        })
}
