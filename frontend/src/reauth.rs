//! Re-authentication for sensitive actions. When the server answers a
//! request `403 reauthentication_required` (the session's sign-in is older
//! than `VIGIL_REAUTH_SECS`), `api` waits on [`confirmed`]: the session
//! gate shows [`ReauthPrompt`] over the page, the person types their
//! password, and the request is sent again. The page that made it is still
//! waiting on it, so nothing it holds (an edited settings form, a chosen
//! session) is lost. People signed in through single sign-on may confirm
//! with their provider instead (a round trip back to this page).

use std::cell::RefCell;

use vigil_policy::api::MySession;
use vigil_policy::sso::SignInMethod;
use wasm_bindgen::JsValue;
use yew::prelude::*;

use crate::api;
use crate::components::confirm_dialog::ConfirmDialog;

thread_local! {
    /// Shows the prompt, given the function that ends the wait.
    static ASK: RefCell<Option<Callback<js_sys::Function>>> = const { RefCell::new(None) };
}

/// The session gate shows the prompt from now on (`None`: nobody can).
pub fn register(ask: Option<Callback<js_sys::Function>>) {
    ASK.with(|a| *a.borrow_mut() = ask);
}

/// Asks the person to confirm who they are; true once they have (false if
/// they cancelled, or no prompt can be shown).
pub async fn confirmed() -> bool {
    let Some(ask) = ASK.with(|a| a.borrow().clone()) else {
        return false;
    };
    let wait = js_sys::Promise::new(&mut |resolve, _| ask.emit(resolve));
    wasm_bindgen_futures::JsFuture::from(wait)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Props of [`ReauthPrompt`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Ends the wait: called with true once confirmed, false on cancel.
    pub resolve: js_sys::Function,
    /// How the session began (single sign-on offers the provider too).
    pub method: SignInMethod,
    /// Closes the prompt.
    pub on_close: Callback<()>,
}

/// The prompt: the confirmation dialog with a password field.
#[component]
pub fn ReauthPrompt(props: &Props) -> Html {
    let field = use_node_ref();
    let link = use_node_ref();
    let error = use_state(|| None::<String>);
    // The provider this session signed in with: (id, name).
    let provider = use_state(|| None::<(String, String)>);
    {
        let provider = provider.clone();
        use_effect_with(props.method, move |method| {
            if *method == SignInMethod::Sso {
                wasm_bindgen_futures::spawn_local(async move {
                    let Ok((mine, _)) = api::page::<MySession>("/api/me/sessions").await else {
                        return;
                    };
                    let name = mine
                        .into_iter()
                        .find(|s| s.current)
                        .and_then(|s| s.sso_connection);
                    if let (Some(name), Ok(all)) = (name, api::sso_connections().await) {
                        provider.set(
                            all.into_iter()
                                .find(|c| c.name == name)
                                .map(|c| (c.id, c.name)),
                        );
                    }
                });
            }
        });
    }
    let end = {
        let (resolve, on_close) = (props.resolve.clone(), props.on_close.clone());
        Callback::from(move |ok: bool| {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_bool(ok));
            on_close.emit(());
        })
    };
    let confirm = {
        let (field, error, end) = (field.clone(), error.clone(), end.clone());
        Callback::from(move |()| {
            let password = field
                .cast::<web_sys::HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            let (error, end) = (error.clone(), end.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::reauthenticate(&password).await {
                    Ok(()) => end.emit(true),
                    Err(e)
                        if e.code() == Some(vigil_policy::api::ErrorCode::InvalidCredentials) =>
                    {
                        error.set(Some("That password is not right.".to_owned()));
                    }
                    Err(e) => error.set(Some(e.message())),
                }
            });
        })
    };
    let on_key = {
        let confirm = confirm.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                confirm.emit(());
            }
        })
    };
    let via_provider = (*provider).clone().map(|(id, name)| {
        let href = format!(
            "/api/auth/sso/{id}/start?reauth=1&next={}",
            String::from(js_sys::encode_uri_component(
                &web_sys::window()
                    .and_then(|w| w.location().pathname().ok())
                    .unwrap_or_default()
            ))
        );
        html! { <p><a class="button" ref={link.clone()} {href}>{ format!("Confirm with {name}") }</a></p> }
    });
    html! {
        <ConfirmDialog title="Confirm it's you"
            consequences="This change needs your password again, because you signed in a while ago. Nothing you entered is lost."
            confirm_label="Confirm" on_confirm={confirm} on_cancel={end.reform(|()| false)} stops={vec![field.clone(), link.clone()]}>
            <div class="field">
                <label for="reauth-password">{ "Password" }</label>
                <input id="reauth-password" ref={field} type="password" autocomplete="current-password" onkeydown={on_key} />
            </div>
            if let Some(e) = (*error).clone() { <p class="error" role="alert">{ e }</p> }
            { via_provider }
        </ConfirmDialog>
    }
}
