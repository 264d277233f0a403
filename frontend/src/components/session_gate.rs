//! Wraps signed-in pages: runs the session behaviour, shows the warning
//! over the page, and replaces the page with the signed-out screen.

use vigil_policy::api::{Role, UnauthenticatedReason};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::warning_dialog;
use crate::hooks::{use_session, Phase, SessionHandle};

/// Props of [`SessionGate`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The page.
    pub children: Html,
    /// Whether the page is for requesters (sign-in goes to the portal login).
    #[prop_or_default]
    pub requester: bool,
}

/// The session of the current page, from [`SessionGate`]; `None` only for
/// a page mounted outside a gate.
#[hook]
pub fn use_current_session() -> Option<SessionHandle> {
    use_context::<SessionHandle>()
}

/// Runs the session for its children.
#[component]
pub fn SessionGate(props: &Props) -> Html {
    let session = use_session();
    let stay_button = use_node_ref();
    // Focus "Stay signed in" when the warning opens, for keyboard users.
    {
        let warning = matches!(session.snapshot.phase, Phase::Warning(_));
        let stay_button = stay_button.clone();
        use_effect_with(warning, move |warning| {
            if *warning {
                if let Some(b) = stay_button.cast::<web_sys::HtmlElement>() {
                    let _ = b.focus();
                }
            }
        });
    }
    let login = if props.requester {
        Route::PortalLogin
    } else {
        Route::Login
    };
    match session.snapshot.phase.clone() {
        Phase::Loading => html! { <main class="center"><p>{ "Loading…" }</p></main> },
        Phase::SignedOut { reason, message } => {
            if matches!(
                reason,
                UnauthenticatedReason::Missing | UnauthenticatedReason::Invalid
            ) && session.snapshot.view.is_none()
            {
                // Never signed in here: go to the sign-in page.
                return html! { <Redirect<Route> to={login} /> };
            }
            let login = match session.snapshot.view.as_ref().map(|v| v.user.role) {
                Some(Role::Requester) => Route::PortalLogin,
                Some(_) => Route::Login,
                None => login,
            };
            html! {
                <main class="center">
                    <section class="card signed-out" role="status" aria-live="assertive">
                        <h1>{ "Signed out" }</h1>
                        <p class="reason">{ message }</p>
                        <Link<Route> to={login} classes="button primary">{ "Sign in again" }</Link<Route>>
                    </section>
                </main>
            }
        }
        Phase::Active | Phase::Warning(_) => {
            let warning = match session.snapshot.phase {
                Phase::Warning(seconds_left) => {
                    let on_stay = {
                        let session = session.clone();
                        Callback::from(move |_| session.stay_signed_in())
                    };
                    warning_dialog(seconds_left, on_stay, stay_button.clone())
                }
                _ => html! {},
            };
            html! {
                <ContextProvider<SessionHandle> context={session.clone()}>
                    { props.children.clone() }
                    { warning }
                </ContextProvider<SessionHandle>>
            }
        }
    }
}
