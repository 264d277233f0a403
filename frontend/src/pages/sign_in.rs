//! `/admin/sign-in`: the account's single sign-on connections — each with
//! the two addresses to register at the provider (copy buttons) — and a
//! form to add or change one, checked with vigil-policy's own
//! `validate_connection` as the admin types; Remove asks first.
//!
//! The server checks more than the form can: that the issuer's network
//! may be reached (plain http only where ops allow it), and the
//! provider's discovery and keys (`issuer_unreachable`, said in an alert
//! beside the form, which keeps what was typed).
//!
//! The form's fields are read back from the page on each input (one
//! listener for the form, not one per field: this console counts its
//! bytes); their names are the paths the errors use.

use std::rc::Rc;

use vigil_policy::api::ErrorCode;
use vigil_policy::sso::{validate_connection, PasswordSignIn, SsoConnection, SsoConnectionInput};
use vigil_policy::{Audience, FieldError};
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, failed};
use crate::components::{confirm_dialog, use_current_session, Page};
use crate::hooks::use_load;
use crate::hooks::use_load::LoadHandle;
use crate::hooks::SessionHandle;
use crate::pages::{described, error_for, error_line};

/// The page's state besides the list.
#[derive(Clone, Default)]
struct Form {
    /// Open: `Some(None)` for a new connection, `Some(Some(id))` to change
    /// one.
    editing: Option<Option<String>>,
    /// What the form holds.
    input: Option<SsoConnectionInput>,
    /// Fields (by name) typed in: their errors show; every field's once
    /// Save was pressed.
    touched: Vec<String>,
    tried: bool,
    /// What the server refused, by field, until that field changes.
    server_errors: Vec<FieldError>,
    /// Why the last save failed, when it is not a field's fault.
    alert: Option<String>,
    saving: bool,
    /// Asking before removing this connection.
    asking: Option<SsoConnection>,
}

/// What happens on the page.
#[derive(Clone)]
enum Action {
    /// "Add connection" (`None`) or "Change".
    Open(Option<SsoConnection>),
    /// Cancelled, or saved.
    Close,
    /// The field named so changed; the form now holds this.
    Edited(String, SsoConnectionInput),
    /// Save pressed with fields to fix.
    Tried,
    Saving,
    /// Not saved: the fields refused, and what to say.
    NotSaved(Vec<FieldError>, Option<String>),
    /// "Remove" (or the question closed).
    Ask(Option<SsoConnection>),
}

impl Reducible for Form {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut f = Rc::unwrap_or_clone(self);
        match action {
            Action::Open(from) => {
                f = Form {
                    editing: Some(from.as_ref().map(|c| c.id.clone())),
                    input: Some(from.map_or_else(
                        || SsoConnectionInput {
                            name: String::new(),
                            issuer: String::new(),
                            client_id: String::new(),
                            client_secret: None,
                            audiences: vec![Audience::Agents],
                            password_sign_in: PasswordSignIn::default(),
                            jit_requesters: false,
                        },
                        |c| SsoConnectionInput {
                            name: c.name,
                            issuer: c.issuer,
                            client_id: c.client_id,
                            client_secret: None,
                            audiences: c.audiences,
                            password_sign_in: c.password_sign_in,
                            jit_requesters: c.jit_requesters,
                        },
                    )),
                    ..Form::default()
                }
            }
            Action::Close => f = Form::default(),
            Action::Edited(name, input) => {
                f.server_errors.retain(|e| e.path != name);
                if !f.touched.contains(&name) {
                    f.touched.push(name);
                }
                f.input = Some(input);
            }
            Action::Tried => f.tried = true,
            Action::Saving => {
                f.saving = true;
                f.alert = None;
            }
            Action::NotSaved(fields, alert) => {
                f.saving = false;
                f.tried = true;
                f.server_errors = fields;
                f.alert = alert;
            }
            Action::Ask(c) => f.asking = c,
        }
        Rc::new(f)
    }
}

/// A click that does `action` (one closure type for every button).
fn click(act: &Callback<Action>, action: Action) -> Callback<MouseEvent> {
    let act = act.clone();
    Callback::from(move |_: MouseEvent| act.emit(action.clone()))
}

/// The text fields: name (the error path), label, input type.
const TEXTS: [(&str, &str, &str); 4] = [
    ("name", "Name", "text"),
    ("issuer", "Issuer URL", "url"),
    ("client_id", "Client id", "text"),
    ("client_secret", "Client secret", "password"),
];

/// The boxes: id, name (the error path), label.
const BOXES: [(&str, &str, &str); 5] = [
    ("sso-agents", "audiences", "Agents"),
    ("sso-requesters", "audiences", "Requesters"),
    (
        "sso-agent-passwords",
        "password_sign_in",
        "Team members may still sign in with a password",
    ),
    (
        "sso-requester-passwords",
        "password_sign_in",
        "Requesters may still sign in with a password",
    ),
    (
        "sso-jit",
        "jit_requesters",
        "Create requesters on first sign-in",
    ),
];

/// The form as the page holds it now.
fn read_form() -> SsoConnectionInput {
    let doc = web_sys::window().and_then(|w| w.document());
    let field = |id: &str| {
        doc.as_ref()
            .and_then(|d| d.get_element_by_id(id))
            .map(JsCast::unchecked_into::<HtmlInputElement>)
    };
    let text = |name: &str| {
        field(&format!("sso-{name}"))
            .map(|f| f.value())
            .unwrap_or_default()
    };
    let on = |i: usize| field(BOXES[i].0).is_some_and(|f| f.checked());
    let secret = text("client_secret");
    SsoConnectionInput {
        name: text("name"),
        issuer: text("issuer"),
        client_id: text("client_id"),
        client_secret: (!secret.is_empty()).then_some(secret),
        audiences: [(0, Audience::Agents), (1, Audience::Requesters)]
            .into_iter()
            .filter_map(|(i, a)| on(i).then_some(a))
            .collect(),
        password_sign_in: PasswordSignIn {
            agents: on(2),
            requesters: on(3),
        },
        jit_requesters: on(4),
    }
}

/// `aria-invalid`'s value.
fn invalid(error: &Option<String>) -> &'static str {
    if error.is_some() {
        "true"
    } else {
        "false"
    }
}

/// One labelled text field with its hint and error (a plain function:
/// one copy for every field).
fn text_field(i: usize, value: &str, editing: bool, error: Option<String>) -> Html {
    let (name, label, kind) = TEXTS[i];
    let hint = match (name, editing) {
        ("name", _) => "The login pages say “Sign in with <name>”.",
        ("issuer", _) => "Exactly as the provider's discovery document states it, e.g. https://login.example.com/realms/support.",
        ("client_secret", true) => "Write-only: leave empty to keep the stored secret.",
        ("client_secret", false) => "Write-only: Vigil never shows it again.",
        _ => "",
    };
    let id = format!("sso-{name}");
    html! {
        <div class="field">
            <label for={id.clone()}>{ label }</label>
            <input id={id.clone()} {name} type={kind} value={value.to_owned()}
                   autocomplete={if kind == "password" { "new-password" } else { "off" }}
                   aria-invalid={invalid(&error)}
                   aria-describedby={described(&id, !hint.is_empty(), error.is_some())} />
            if !hint.is_empty() { <p id={format!("{id}-hint")} class="muted small">{ hint }</p> }
            { error_line(&id, error) }
        </div>
    }
}

/// One labelled box, with its error if it has one.
fn check(i: usize, on: bool, error: Option<String>) -> Html {
    let (id, name, label) = BOXES[i];
    html! {
        <>
            <div class="check">
                <input {id} {name} type="checkbox" checked={on}
                       aria-invalid={invalid(&error)}
                       aria-describedby={described(id, false, error.is_some())} />
                <label for={id}>{ label }</label>
            </div>
            { error_line(id, error) }
        </>
    }
}

/// Copies `text` with the clipboard API and says so. Without the
/// clipboard (a page served over plain http) it asks to copy by hand:
/// the text is selectable.
pub(crate) fn copy(text: &str, what: &str, status: &LoadHandle) {
    let clipboard = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"clipboard".into()).ok())
        .filter(|c| !c.is_undefined())
        .map(JsCast::unchecked_into::<web_sys::Clipboard>);
    let done = match clipboard {
        Some(c) => {
            let _ = c.write_text(text);
            "Copied"
        }
        None => "Select and copy",
    };
    status.say(format!("{done} the {what}."));
}

/// One connection as the list shows it, with the form to change it below
/// its buttons while it is open (`editor`), so Tab goes on into it.
fn connection_card(
    c: &SsoConnection,
    status: &LoadHandle,
    act: &Callback<Action>,
    editor: Option<Html>,
) -> Html {
    let pages = match (
        c.audiences.contains(&Audience::Agents),
        c.audiences.contains(&Audience::Requesters),
    ) {
        (true, true) => "Agents and requesters",
        (true, false) => "Agents",
        (false, _) => "Requesters",
    };
    let allowed = |yes: bool| if yes { "allowed" } else { "not allowed" };
    let facts = [
        ("Issuer", c.issuer.clone()),
        ("Login pages", pages.to_owned()),
        (
            "Passwords",
            format!(
                "team members: {}; requesters: {}",
                allowed(c.password_sign_in.agents),
                allowed(c.password_sign_in.requesters)
            ),
        ),
        (
            "New requesters",
            if c.jit_requesters {
                "created on first sign-in"
            } else {
                "not created"
            }
            .to_owned(),
        ),
    ];
    let uris = [
        ("redirect", "Redirect URI", "redirect URI", &c.redirect_uri),
        (
            "logout",
            "Back-channel logout URI",
            "back-channel logout URI",
            &c.backchannel_logout_uri,
        ),
    ];
    let open = editor.is_some();
    let button = |label: &str, action: Action, expanded: Option<&'static str>| {
        let name = format!("{label} {}", c.name);
        html! { <button onclick={click(act, action)} aria-label={name} aria-expanded={expanded}>{ label.to_owned() }</button> }
    };
    html! {
        <li class="card">
            <h2>{ &c.name }</h2>
            <dl class="facts">
                { for facts.into_iter().map(|(term, value)| html! { <><dt>{ term }</dt><dd>{ value }</dd></> }) }
            </dl>
            <p class="muted small">{ "Register these two addresses at the provider:" }</p>
            { for uris.into_iter().map(|(key, label, what, value)| {
                let id = format!("{key}-{}", c.id);
                let what = format!("{what} of {}", c.name);
                let onclick = {
                    let (value, what, status) = (value.clone(), what.clone(), status.clone());
                    Callback::from(move |_: MouseEvent| copy(&value, &what, &status))
                };
                html! {
                    <div class="field">
                        <label for={id.clone()}>{ label }</label>
                        <div class="row">
                            <input {id} class="uri" readonly=true value={value.clone()} />
                            <button {onclick} aria-label={format!("Copy {what}")}>{ "Copy" }</button>
                        </div>
                    </div>
                }
            }) }
            <div class="row">
                { button("Change", Action::Open(Some(c.clone())), Some(if open { "true" } else { "false" })) }
                { button("Remove", Action::Ask(Some(c.clone())), None) }
            </div>
            { editor.unwrap_or_default() }
        </li>
    }
}

/// The page.
#[component]
pub fn SignIn() -> Html {
    let session = use_current_session();
    let list = use_load(api::sso_connections);
    let form = use_reducer(Form::default);
    let act = {
        let dispatch = form.dispatcher();
        Callback::from(move |a: Action| dispatch.dispatch(a))
    };
    // The form opens below the button that opened it.
    let editor = |for_id: Option<&str>| match (&form.editing, &form.input) {
        (Some(id), Some(input)) if id.as_deref() == for_id => Some(sso_form(
            &form,
            for_id,
            input,
            &act,
            &list.handle,
            session.as_ref(),
        )),
        _ => None,
    };
    let body = match list.data.as_deref() {
        None => html! { <p>{ "Loading…" }</p> },
        Some(all) if all.is_empty() => html! {
            <p class="muted">{ "No connections yet: everyone signs in with a password." }</p>
        },
        Some(all) => html! {
            <ul class="session-list" aria-label="Connections">
                { for all.iter().map(|c| connection_card(c, &list.handle, &act, editor(Some(&c.id)))) }
            </ul>
        },
    };
    let dialog = form
        .asking
        .clone()
        .map(|c| remove_dialog(c, &act, &list.handle, session.as_ref()));
    let add = click(&act, Action::Open(None));
    let adding = editor(None);
    let expanded = if adding.is_some() { "true" } else { "false" };
    Page::new(session.as_ref(), "Sign-in methods")
        .dialog(dialog)
        .render(html! {
            <>
                <p class="muted">{ "People can sign in through your identity provider (OpenID Connect). Register Vigil at the provider, add the connection here, then give the provider the two addresses it shows." }</p>
                if let Some(s) = list.status.clone() { <p role="status">{ s }</p> }
                <button class="primary" onclick={add} aria-expanded={expanded}>{ "Add connection" }</button>
                { adding.unwrap_or_default() }
                { body }
            </>
        })
}

/// "Remove <name>?", then the removal.
fn remove_dialog(
    c: SsoConnection,
    act: &Callback<Action>,
    status: &LoadHandle,
    session: Option<&SessionHandle>,
) -> Html {
    let cancel = act.reform(|()| Action::Ask(None));
    let confirm = {
        let (act, status, session, c) = (act.clone(), status.clone(), session.cloned(), c.clone());
        Callback::from(move |()| {
            act.emit(Action::Ask(None));
            let (status, session, c) = (status.clone(), session.clone(), c.clone());
            wasm_bindgen_futures::spawn_local(async move {
                status.say(match api::remove_sso(&c.id).await {
                    Ok(()) => format!("Removed {}.", c.name),
                    Err(e) => failed(session.as_ref(), &e),
                });
                status.reload();
            });
        })
    };
    confirm_dialog(
        &format!("Remove {}?", c.name),
        &format!(
            "The login pages stop offering “Sign in with {}”, and passwords work again unless another connection turns them off. Sessions it started go on until the account's limits end them; the provider's logouts no longer reach them.",
            c.name
        ),
        "Remove connection",
        confirm,
        cancel,
    )
}

/// The form to add (`id` `None`) or change a connection.
fn sso_form(
    form: &Form,
    id: Option<&str>,
    input: &SsoConnectionInput,
    act: &Callback<Action>,
    status: &LoadHandle,
    session: Option<&SessionHandle>,
) -> Html {
    let editing = id.is_some();
    // Plain http to the issuer is for ops to allow: the server decides.
    let mut errors = validate_connection(input, !editing, true);
    for s in &form.server_errors {
        if !errors.iter().any(|e| e.path == s.path) {
            errors.push(s.clone());
        }
    }
    let shown = |path: &str| {
        let server = form.server_errors.iter().any(|e| e.path == path);
        (form.tried || server || form.touched.iter().any(|t| t == path))
            .then(|| error_for(&errors, path))
            .flatten()
    };
    let oninput = act.reform(|e: InputEvent| {
        let field: HtmlInputElement = e.target_unchecked_into();
        Action::Edited(field.name(), read_form())
    });
    let onsubmit = {
        let (act, status, session) = (act.clone(), status.clone(), session.cloned());
        let (id, input) = (id.map(str::to_owned), input.clone());
        let (valid, saving) = (errors.is_empty(), form.saving);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if saving {
                return;
            }
            if !valid {
                act.emit(Action::Tried);
                return;
            }
            act.emit(Action::Saving);
            let (act, status, session) = (act.clone(), status.clone(), session.clone());
            let (id, input) = (id.clone(), input.clone());
            wasm_bindgen_futures::spawn_local(async move {
                act.emit(match api::save_sso(id.as_deref(), &input).await {
                    Ok(()) => {
                        status.say(format!("Saved {}.", input.name.trim()));
                        status.reload();
                        Action::Close
                    }
                    Err(e) if e.code() == Some(ErrorCode::Validation) => {
                        Action::NotSaved(e.fields(), None)
                    }
                    Err(e) => Action::NotSaved(Vec::new(), Some(failed(session.as_ref(), &e))),
                });
            });
        })
    };
    let cancel = click(act, Action::Close);
    let audiences_error = shown("audiences");
    let values = [
        &input.name,
        &input.issuer,
        &input.client_id,
        input.client_secret.as_ref().unwrap_or(&String::new()),
    ]
    .map(String::clone);
    let boxes = [
        input.audiences.contains(&Audience::Agents),
        input.audiences.contains(&Audience::Requesters),
        input.password_sign_in.agents,
        input.password_sign_in.requesters,
    ];
    html! {
        <form class="card" aria-labelledby="sso-form-title" {onsubmit} {oninput} novalidate=true>
            <h2 id="sso-form-title">{ if editing { format!("Change {}", input.name) } else { "Add connection".to_owned() } }</h2>
            { for values.iter().enumerate().map(|(i, value)| text_field(i, value, editing, shown(TEXTS[i].0))) }
            <fieldset class="field" aria-describedby={audiences_error.as_ref().map(|_| "sso-audiences-error")}>
                <legend>{ "Login pages that offer it" }</legend>
                { check(0, boxes[0], None) }
                { check(1, boxes[1], None) }
                { error_line("sso-audiences", audiences_error) }
            </fieldset>
            <fieldset class="field">
                <legend>{ "Passwords" }</legend>
                { check(2, boxes[2], None) }
                { check(3, boxes[3], None) }
                <p class="muted small">{ "People who manage security keep their password for emergencies." }</p>
            </fieldset>
            { check(4, input.jit_requesters, shown("jit_requesters")) }
            if let Some(alert) = form.alert.clone() {
                <p class="banner" role="alert">{ alert }</p>
            }
            <div class="actions">
                <button type="submit" class="primary" disabled={form.saving}>
                    { if form.saving { "Checking the provider…" } else { "Save" } }</button>
                <button type="button" onclick={cancel}>{ "Cancel" }</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use vigil_policy::FieldErrorCode;

    use super::*;

    fn connection() -> SsoConnection {
        SsoConnection {
            id: "c1".into(),
            name: "Acme SSO".into(),
            issuer: "https://login.acme.test".into(),
            client_id: "vigil".into(),
            client_secret_set: true,
            audiences: vec![Audience::Agents, Audience::Requesters],
            password_sign_in: PasswordSignIn {
                agents: false,
                requesters: true,
            },
            jit_requesters: true,
            redirect_uri: "https://vigil.test/api/auth/sso/callback".into(),
            backchannel_logout_uri: "https://vigil.test/api/auth/sso/backchannel-logout".into(),
        }
    }

    #[test]
    fn changing_a_connection_starts_from_it_with_the_secret_left_empty() {
        let f = Rc::new(Form::default()).reduce(Action::Open(Some(connection())));
        assert_eq!(f.editing, Some(Some("c1".to_owned())));
        let input = f.input.clone().unwrap();
        assert_eq!(input.name, "Acme SSO");
        assert_eq!(input.client_secret, None, "write-only: never filled in");
        assert!(!input.password_sign_in.agents);
        assert!(input.jit_requesters);
        // Empty keeps the stored secret: the rule checks nothing more.
        assert!(validate_connection(&input, false, false).is_empty());
    }

    #[test]
    fn a_new_connection_is_for_agents_and_keeps_passwords() {
        let f = Rc::new(Form::default()).reduce(Action::Open(None));
        assert_eq!(f.editing, Some(None));
        let input = f.input.clone().unwrap();
        assert_eq!(input.audiences, vec![Audience::Agents]);
        assert_eq!(input.password_sign_in, PasswordSignIn::default());
        assert!(
            f.touched.is_empty() && !f.tried,
            "no error shows before typing"
        );
    }

    #[test]
    fn editing_a_field_shows_its_errors_and_drops_the_servers_word_on_it() {
        let f = Rc::new(Form::default())
            .reduce(Action::Open(None))
            .reduce(Action::NotSaved(
                vec![
                    FieldError::new(
                        "name",
                        FieldErrorCode::Invalid,
                        "Another connection has this name.",
                    ),
                    FieldError::new("issuer", FieldErrorCode::Invalid, "Not allowed."),
                ],
                None,
            ));
        assert!(f.tried && !f.saving);
        let mut input = f.input.clone().unwrap();
        input.name = "Acme 2".into();
        let f = f.reduce(Action::Edited("name".into(), input));
        assert_eq!(f.touched, ["name"]);
        let left: Vec<&str> = f.server_errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(left, ["issuer"]);
        assert_eq!(f.input.as_ref().unwrap().name, "Acme 2");
    }

    #[test]
    fn closing_forgets_the_form_and_an_unreachable_provider_is_said_beside_it() {
        let f = Rc::new(Form::default())
            .reduce(Action::Open(None))
            .reduce(Action::Saving)
            .reduce(Action::NotSaved(
                Vec::new(),
                Some("Fetching failed.".into()),
            ));
        assert_eq!(f.alert.as_deref(), Some("Fetching failed."));
        assert!(f.input.is_some(), "what was typed stays");
        let f = f.reduce(Action::Close);
        assert!(f.editing.is_none() && f.input.is_none() && f.alert.is_none());
    }
}
