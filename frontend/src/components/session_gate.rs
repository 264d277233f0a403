//! Wraps signed-in pages: runs the session behaviour, shows the warning or
//! the limit's heads-up over the page, locks the page at the deadline, and
//! replaces it with the signed-out screen.

use vigil_policy::api::{Role, UnauthenticatedReason};
use vigil_policy::compliance::limit_heads_up_message;
use yew::prelude::*;

use crate::app::Route;
use crate::clock::{local_clock, to_ms};
use crate::components::{heads_up_dialog, warning_dialog};
use crate::hooks::{use_modal, use_session, Phase, SessionHandle};
use crate::router;

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

/// The sign-in page for `login`, returning here afterwards.
fn sign_in_again(login: &Route) -> String {
    let here = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    let next: String = js_sys::encode_uri_component(&here).into();
    format!("{}?next={next}", login.to_path())
}

/// Runs the session for its children.
#[component]
pub fn SessionGate(props: &Props) -> Html {
    let session = use_session();
    let dialog_button = use_node_ref();
    // A sensitive action waits for the person to confirm who they are.
    let reauth = use_state(|| None::<js_sys::Function>);
    {
        let reauth = reauth.clone();
        use_effect_with((), move |_| {
            crate::reauth::register(Some(Callback::from(move |f| reauth.set(Some(f)))));
            || crate::reauth::register(None)
        });
    }
    let open = reauth.is_some()
        || matches!(
            session.snapshot.phase,
            Phase::Warning(_) | Phase::HeadsUp { .. }
        );
    // First: remember where focus was, before the dialog takes it.
    use_modal(open);
    // Focus the dialog's button when it opens, for keyboard users.
    {
        let open = matches!(
            session.snapshot.phase,
            Phase::Warning(_) | Phase::HeadsUp { .. }
        );
        let dialog_button = dialog_button.clone();
        use_effect_with(open, move |open| {
            if *open {
                if let Some(b) = dialog_button.cast::<web_sys::HtmlElement>() {
                    let _ = b.focus();
                }
            }
        });
    }
    // The tab's title tells of the warning too (people work in other tabs).
    {
        let saved = use_mut_ref(|| None::<String>);
        let warning = match session.snapshot.phase {
            Phase::Warning(s) => Some(format!("Signed out in {}:{:02} — Vigil", s / 60, s % 60)),
            Phase::HeadsUp { .. } => Some("Session limit ahead — Vigil".to_owned()),
            _ => None,
        };
        use_effect_with(warning, move |warning| {
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                match warning {
                    Some(t) => {
                        if saved.borrow().is_none() {
                            *saved.borrow_mut() = Some(doc.title());
                        }
                        doc.set_title(t);
                    }
                    None => {
                        if let Some(t) = saved.borrow_mut().take() {
                            doc.set_title(&t);
                        }
                    }
                }
            }
        });
    }
    let login = match session.snapshot.view.as_ref().map(|v| v.user.role) {
        Some(Role::Requester) => Route::PortalLogin,
        Some(_) => Route::Login,
        None if props.requester => Route::PortalLogin,
        None => Route::Login,
    };
    // Back from a single sign-on round trip that did not confirm the
    // person (the server sends them to the page that asked).
    let reauth_failed = router::query("reauth").as_deref() == Some("failed");
    let banners = html! {
        <>
            if reauth_failed {
                <p class="banner" role="alert">{ "Your identity provider did not confirm it's you, so the change was not made. Try again." }</p>
            }
            if !session.snapshot.online {
                <p class="banner offline" role="status">{ "You are offline. Vigil will catch up when the connection is back." }</p>
            }
            if session.snapshot.logout_pending {
                <p class="banner offline" role="alert">{ "Vigil could not be reached, so you are not signed out yet. Trying again…" }</p>
            }
        </>
    };
    match session.snapshot.phase.clone() {
        Phase::Loading => html! { <main class="center"><p>{ "Loading…" }</p>{ banners }</main> },
        Phase::Locked => html! {
            <main class="center">
                { banners }
                <section class="card locked" role="status" aria-live="assertive">
                    <h1>{ "Session ended" }</h1>
                    <p class="reason">{ "Checking with the server…" }</p>
                </section>
            </main>
        },
        Phase::SignedOut { reason, message } => {
            if matches!(
                reason,
                UnauthenticatedReason::Missing | UnauthenticatedReason::Invalid
            ) && session.snapshot.view.is_none()
            {
                // Never signed in here: go to the sign-in page.
                return html! { <router::Redirect to={login} /> };
            }
            html! {
                <main class="center">
                    <section class="card signed-out" role="status" aria-live="assertive">
                        <h1>{ "Signed out" }</h1>
                        <p class="reason">{ message }</p>
                        <a href={sign_in_again(&login)} class="button primary">{ "Sign in again" }</a>
                    </section>
                </main>
            }
        }
        Phase::Active | Phase::Warning(_) | Phase::HeadsUp { .. } => {
            let dialog = match session.snapshot.phase {
                Phase::Warning(seconds_left) => {
                    let on_stay = {
                        let session = session.clone();
                        Callback::from(move |_| session.stay_signed_in())
                    };
                    warning_dialog(seconds_left, on_stay, dialog_button.clone())
                }
                Phase::HeadsUp { at, seconds_left } => {
                    let limit = session
                        .snapshot
                        .view
                        .as_ref()
                        .map_or(0, |v| v.policy.absolute_timeout_secs);
                    let message = limit_heads_up_message(limit, &local_clock(to_ms(at)));
                    heads_up_dialog(
                        &message,
                        seconds_left,
                        &sign_in_again(&login),
                        dialog_button.clone(),
                    )
                }
                _ => match ((*reauth).clone(), session.snapshot.view.as_ref()) {
                    (Some(resolve), Some(view)) => html! {
                        <crate::reauth::ReauthPrompt {resolve} method={view.method}
                            on_close={{ let reauth = reauth.clone(); Callback::from(move |()| reauth.set(None)) }} />
                    },
                    _ => html! {},
                },
            };
            html! {
                <ContextProvider<SessionHandle> context={session.clone()}>
                    { banners }
                    <div inert={open}>{ props.children.clone() }</div>
                    { dialog }
                </ContextProvider<SessionHandle>>
            }
        }
    }
}
