//! `/login` (agents and admins) and `/portal/login` (requesters).

use gloo_timers::callback::Timeout;
use vigil_policy::api::{LoginOptions, LoginRequest, Role};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::app::Route;

const ACCOUNT_KEY: &str = "vigil.account";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The account from `?account=`, else the one used last on this browser.
fn initial_account() -> String {
    let from_query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| {
            q.trim_start_matches('?')
                .split('&')
                .find_map(|kv| kv.strip_prefix("account=").map(str::to_owned))
        });
    from_query
        .or_else(|| storage().and_then(|s| s.get_item(ACCOUNT_KEY).ok().flatten()))
        .unwrap_or_default()
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

/// The sign-in form.
#[component]
pub fn Login(props: &Props) -> Html {
    let navigator = use_navigator();
    let account = use_state(initial_account);
    let email = use_state(String::new);
    let password = use_state(String::new);
    let remember = use_state(|| false);
    let options = use_state(|| None::<LoginOptions>);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);

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

    let offers_remember = options.as_ref().is_some_and(|o| {
        if props.requester {
            o.requesters.remember_me
        } else {
            o.agents.remember_me
        }
    });

    let onsubmit = {
        let (account, email, password, remember) = (
            account.clone(),
            email.clone(),
            password.clone(),
            remember.clone(),
        );
        let (error, busy, navigator) = (error.clone(), busy.clone(), navigator.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let req = LoginRequest {
                account: account.trim().to_owned(),
                email: email.trim().to_owned(),
                password: (*password).clone(),
                remember_me: *remember && offers_remember,
            };
            if req.account.is_empty() || req.email.is_empty() || req.password.is_empty() {
                error.set(Some(
                    "Enter the account, your email and your password.".into(),
                ));
                return;
            }
            busy.set(true);
            error.set(None);
            let (error, busy, navigator) = (error.clone(), busy.clone(), navigator.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::login(&req).await {
                    Ok(view) => {
                        if let Some(s) = storage() {
                            let _ = s.set_item(ACCOUNT_KEY, &req.account);
                        }
                        let to = match view.user.role {
                            Role::Admin => Route::AdminSecurity,
                            Role::Agent
                                if view.user.permissions.iter().any(|p| p == "manage_security") =>
                            {
                                Route::AdminSecurity
                            }
                            Role::Agent => Route::Desk,
                            Role::Requester => Route::Portal,
                        };
                        let to = next_route(view.user.role).unwrap_or(to);
                        if let Some(n) = navigator {
                            n.push(&to);
                        }
                    }
                    Err(e) => {
                        busy.set(false);
                        error.set(Some(e.message()));
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
    let (title, other, other_text) = if props.requester {
        (
            "Sign in to the help portal",
            Route::Login,
            "Team member? Sign in to the desk",
        )
    } else {
        (
            "Sign in to Vigil",
            Route::PortalLogin,
            "Looking for help? Sign in to the portal",
        )
    };
    let account_name = options.as_ref().map(|o| o.account.name.clone());

    html! {
        <main class="center">
            <form class="card login" {onsubmit} novalidate=true>
                <h1>{ title }</h1>
                if let Some(name) = account_name {
                    <p class="muted">{ name }</p>
                }
                <label for="account">{ "Account" }</label>
                <input id="account" name="account" autocomplete="organization" value={(*account).clone()}
                       oninput={text_input(&account)} required=true />
                <label for="email">{ "Email" }</label>
                <input id="email" name="email" type="email" autocomplete="username" value={(*email).clone()}
                       oninput={text_input(&email)} required=true />
                <label for="password">{ "Password" }</label>
                <input id="password" name="password" type="password" autocomplete="current-password"
                       value={(*password).clone()} oninput={text_input(&password)} required=true />
                if offers_remember {
                    <div class="check">
                        <input id="remember" type="checkbox" checked={*remember} onchange={onremember} />
                        <label for="remember">{ "Remember me" }</label>
                    </div>
                }
                if let Some(message) = (*error).clone() {
                    <p class="error" role="alert">{ message }</p>
                }
                <button type="submit" class="primary" disabled={*busy}>{ "Sign in" }</button>
                <p class="muted small"><Link<Route> to={other}>{ other_text }</Link<Route>></p>
            </form>
        </main>
    }
}

/// Where to go after signing in: `?next=` when it names a page of this
/// console that the person's role uses (never another origin: only paths
/// the router recognises are taken).
fn next_route(role: Role) -> Option<Route> {
    let search = web_sys::window()?.location().search().ok()?;
    let raw = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("next="))?;
    let path: String = js_sys::decode_uri_component(raw).ok()?.into();
    if !path.starts_with('/') || path.starts_with("//") || path.contains('\\') {
        return None;
    }
    let route = Route::recognize(&path)?;
    let fits = match route {
        Route::Home | Route::Login | Route::PortalLogin | Route::NotFound => false,
        Route::Portal => role == Role::Requester,
        Route::MySessions => true,
        _ => role != Role::Requester,
    };
    fits.then_some(route)
}
