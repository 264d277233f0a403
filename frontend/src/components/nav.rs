//! The top bar of signed-in pages: links for the person's role (the current
//! page marked `aria-current="page"`), who is signed in, "Sign out".

use vigil_policy::api::Role;
use yew::prelude::*;

use crate::app::Route;
use crate::hooks::SessionHandle;
use crate::router::link;

/// The bar for `session` (nothing before the session is known).
pub fn nav(session: Option<&SessionHandle>) -> Html {
    html! { <Nav session={session.cloned()} /> }
}

/// Props of [`Nav`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The signed-in session.
    pub session: Option<SessionHandle>,
}

/// The bar.
#[component]
pub fn Nav(props: &Props) -> Html {
    let Some((session, view)) = props
        .session
        .as_ref()
        .and_then(|s| s.snapshot.view.clone().map(|v| (s.clone(), v)))
    else {
        return html! {};
    };
    let onclick = {
        let session = session.clone();
        Callback::from(move |_: MouseEvent| session.sign_out())
    };
    let admin = view.user.permissions.iter().any(|p| p == "manage_security");
    html! {
        <header class="bar">
            <span class="brand">{ "Vigil" }</span>
            <nav aria-label="Main">
                if admin {
                    { link(Route::AdminSecurity, "Security") }
                    { link(Route::AdminSignIn, "Sign-in methods") }
                    { link(Route::AdminSessions, "Sessions") }
                    { link(Route::AdminTeam, "Team") }
                    { link(Route::AdminAudit, "Audit log") }
                    { link(Route::AdminIntegrations, "Integrations") }
                }
                if view.user.role != Role::Requester {
                    { link(Route::Desk, "Desk") }
                } else {
                    { link(Route::Portal, "My conversations") }
                }
                { link(Route::MySessions, "My sessions") }
                { link(Route::ChangePassword, "Change password") }
            </nav>
            <span class="who">{ &view.user.display_name }</span>
            <button class="link" {onclick}>{ "Sign out" }</button>
        </header>
    }
}
