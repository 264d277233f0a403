//! `/login` (agents and admins) and `/portal/login` (requesters): the
//! password form and, per single sign-on connection of the page's
//! audience, "Sign in with <name>". Where sign-in lands and which `?next=`
//! it honours is vigil-policy's rule (`pages`), the one the server's
//! single sign-on round trip follows too.

use gloo_timers::callback::Timeout;
use vigil_policy::api::{ErrorCode, LoginOptions, LoginRequest};
use vigil_policy::pages;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api;
use crate::app::Route;
use crate::router::{self, query};

const ACCOUNT_KEY: &str = "vigil.account";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The account from `?account=`, else the one used last on this browser.
fn initial_account() -> String {
    query("account")
        .or_else(|| storage().and_then(|s| s.get_item(ACCOUNT_KEY).ok().flatten()))
        .unwrap_or_default()
}

/// What the page says when it opens: why single sign-on sent the browser
/// back, if it did.
fn initial_error() -> Option<String> {
    (query("error").as_deref() == Some("sso_failed"))
        .then(|| "Single sign-on did not sign you in. Try again, or ask your admin.".to_owned())
}

fn remember_account(account: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(ACCOUNT_KEY, account.trim());
    }
}

/// Props of [`Login`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The requester portal's login rather than the agents'.
    #[prop_or_default]
    pub requester: bool,
}

fn text_input(handle: &UseStateHandle<String>) -> Callback<InputEvent> {
    let handle = handle.clone();
    Callback::from(move |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        handle.set(input.value());
    })
}

/// The console's page at `path` (its query string aside: the console
/// itself never sends a `next` with one).
fn route(path: &str) -> Option<Route> {
    Route::recognize(path.split('?').next()?).filter(|r| *r != Route::NotFound)
}

/// The sign-in form.
#[component]
pub fn Login(props: &Props) -> Html {
    let account = use_state(initial_account);
    let email = use_state(String::new);
    let password = use_state(String::new);
    let remember = use_state(|| false);
    let options = use_state(|| None::<LoginOptions>);
    let error = use_state(initial_error);
    let busy = use_state(|| false);
    // "Use a password instead", where single sign-on is required.
    let wants_password = use_state(|| false);

    // Ask what this account's login page offers, a moment after typing stops.
    {
        let options = options.clone();
        use_effect_with((*account).clone(), move |account| {
            let account = account.trim().to_owned();
            options.set(None);
            let timer = (!account.is_empty()).then(|| {
                Timeout::new(250, move || {
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(o) = api::login_options(&account).await {
                            options.set(Some(o));
                        }
                    });
                })
            });
            move || drop(timer)
        });
    }

    let offer = options.as_ref().map(|o| {
        if props.requester {
            &o.requesters
        } else {
            &o.agents
        }
    });
    let offers_remember = offer.is_some_and(|o| o.remember_me);
    let remember_me = *remember && offers_remember;
    let sso = offer.map(|o| o.sso.as_slice()).unwrap_or_default();
    let password_allowed = offer.is_none_or(|o| o.password);
    let shows_password = password_allowed || *wants_password;

    let onsubmit = {
        let (account, email, password) = (account.clone(), email.clone(), password.clone());
        let (error, busy) = (error.clone(), busy.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // Enter in the account field submits too: without a password
            // form there is nothing to send.
            if *busy || !shows_password {
                return;
            }
            let req = LoginRequest {
                account: account.trim().to_owned(),
                email: email.trim().to_owned(),
                password: (*password).clone(),
                remember_me,
            };
            if req.account.is_empty() || req.email.is_empty() || req.password.is_empty() {
                error.set(Some(
                    "Enter the account, your email and your password.".into(),
                ));
                return;
            }
            busy.set(true);
            error.set(None);
            let (error, busy) = (error.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::login(&req).await {
                    Ok(view) => {
                        remember_account(&req.account);
                        // `?next=` when it names a page this person uses,
                        // else their home: vigil-policy's rule, the server's too.
                        let to = query("next")
                            .as_deref()
                            .and_then(|n| pages::next_for(view.user.role, n))
                            .and_then(route)
                            .or_else(|| route(pages::home(&view.user)));
                        if let Some(to) = to {
                            router::push(to);
                        }
                    }
                    Err(e) => {
                        busy.set(false);
                        error.set(Some(if e.code() == Some(ErrorCode::SsoRequired) {
                            "This account signs in through its identity provider. Use the single sign-on button.".to_owned()
                        } else {
                            e.message()
                        }));
                    }
                }
            });
        })
    };

    let onremember = {
        let remember = remember.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            remember.set(input.checked());
        })
    };
    let (title, other, other_text, audience) = if props.requester {
        (
            "Sign in to the help portal",
            Route::Login,
            "Team member? Sign in to the desk",
            "requesters",
        )
    } else {
        (
            "Sign in to Vigil",
            Route::PortalLogin,
            "Looking for help? Sign in to the portal",
            "agents",
        )
    };
    let account_name = options.as_ref().map(|o| o.account.name.clone());
    // Single sign-on leaves the page: the provider's sign-in, then back
    // through the server, which honours `next` by the same rule.
    let next = query("next")
        .map(|n| format!("&next={}", String::from(js_sys::encode_uri_component(&n))))
        .unwrap_or_default();
    let keep_account = {
        let account = account.clone();
        Callback::from(move |_: MouseEvent| remember_account(&account))
    };
    let toggle_password = {
        let wants_password = wants_password.clone();
        Callback::from(move |_: MouseEvent| wants_password.set(!*wants_password))
    };
    let remember_box = html! {
        if offers_remember {
            <div class="check">
                <input id="remember" type="checkbox" checked={*remember} onchange={onremember} />
                <label for="remember">{ "Remember me" }</label>
            </div>
        }
    };

    html! {
        <main class="center">
            <form class="card login" {onsubmit} novalidate=true>
                <h1>{ title }</h1>
                if let Some(name) = account_name {
                    <p class="muted">{ name }</p>
                }
                if let Some(message) = (*error).clone() {
                    <p class="error" role="alert">{ message }</p>
                }
                <label for="account">{ "Account" }</label>
                <input id="account" name="account" autocomplete="organization" value={(*account).clone()}
                       oninput={text_input(&account)} required=true />
                if !sso.is_empty() {
                    { remember_box.clone() }
                    { for sso.iter().map(|c| html! {
                        <a class="button primary" onclick={keep_account.clone()}
                           href={format!("/api/auth/sso/{}/start?audience={audience}&remember_me={remember_me}{next}", c.id)}>
                            { format!("Sign in with {}", c.name) }
                        </a>
                    }) }
                    if password_allowed {
                        <p class="muted">{ "Or with your password:" }</p>
                    }
                }
                if !password_allowed {
                    <button type="button" class="link" aria-expanded={if *wants_password { "true" } else { "false" }}
                            aria-controls={wants_password.then_some("password-form")}
                            onclick={toggle_password}>{ "Use a password instead" }</button>
                }
                if shows_password {
                    <div id="password-form" class="login">
                        <label for="email">{ "Email" }</label>
                        <input id="email" name="email" type="email" autocomplete="username" value={(*email).clone()}
                               oninput={text_input(&email)} required=true />
                        <label for="password">{ "Password" }</label>
                        <input id="password" name="password" type="password" autocomplete="current-password"
                               value={(*password).clone()} oninput={text_input(&password)} required=true />
                        if sso.is_empty() { { remember_box } }
                        <button type="submit" class="primary" disabled={*busy}>{ "Sign in" }</button>
                    </div>
                }
                <p class="muted small">{ router::link(other, other_text) }</p>
            </form>
        </main>
    }
}
