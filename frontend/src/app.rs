//! Routes and the root component.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::SessionGate;
use crate::pages::integrations::Integrations;
use crate::pages::{
    audit::Audit, desk::Desk, login::Login, me_sessions::MySessions, portal::Portal,
    security::Security, sessions::Sessions, sign_in::SignIn, team::Team,
};

/// Every page of the console.
#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    /// Sends people to sign in.
    #[at("/")]
    Home,
    /// Agents and admins sign in.
    #[at("/login")]
    Login,
    /// Requesters sign in.
    #[at("/portal/login")]
    PortalLogin,
    /// Session-security settings.
    #[at("/admin/security")]
    AdminSecurity,
    /// Single sign-on connections.
    #[at("/admin/sign-in")]
    AdminSignIn,
    /// Live sessions.
    #[at("/admin/sessions")]
    AdminSessions,
    /// Audit log.
    #[at("/admin/audit")]
    AdminAudit,
    /// The team.
    #[at("/admin/team")]
    AdminTeam,
    /// API tokens (and webhooks).
    #[at("/admin/integrations")]
    AdminIntegrations,
    /// Agent desk.
    #[at("/desk")]
    Desk,
    /// Requester portal.
    #[at("/portal")]
    Portal,
    /// Everyone's own sessions.
    #[at("/me/sessions")]
    MySessions,
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// The browser tab's title for a page.
fn title(route: &Route) -> &'static str {
    match route {
        Route::Home | Route::Login => "Sign in",
        Route::PortalLogin => "Sign in to the portal",
        Route::AdminSecurity => "Session security",
        Route::AdminSignIn => "Sign-in methods",
        Route::AdminSessions => "Live sessions",
        Route::AdminAudit => "Audit log",
        Route::AdminTeam => "Team",
        Route::AdminIntegrations => "Integrations",
        Route::Desk => "Desk",
        Route::Portal => "My conversations",
        Route::MySessions => "My sessions",
        Route::NotFound => "Page not found",
    }
}

fn switch(route: Route) -> Html {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(&format!("{} — Vigil", title(&route)));
    }
    match route {
        Route::Home => html! { <Redirect<Route> to={Route::Login} /> },
        Route::Login => html! { <Login /> },
        Route::PortalLogin => html! { <Login requester=true /> },
        Route::AdminSecurity => html! { <SessionGate><Security /></SessionGate> },
        Route::AdminSignIn => html! { <SessionGate><SignIn /></SessionGate> },
        Route::AdminSessions => html! { <SessionGate><Sessions /></SessionGate> },
        Route::AdminAudit => html! { <SessionGate><Audit /></SessionGate> },
        Route::AdminTeam => html! { <SessionGate><Team /></SessionGate> },
        Route::AdminIntegrations => html! { <SessionGate><Integrations /></SessionGate> },
        Route::Desk => html! { <SessionGate><Desk /></SessionGate> },
        Route::Portal => html! { <SessionGate requester=true><Portal /></SessionGate> },
        Route::MySessions => html! { <SessionGate><MySessions /></SessionGate> },
        Route::NotFound => html! {
            <main class="center"><section class="card">
                <h1>{ "Page not found" }</h1>
                <Link<Route> to={Route::Login}>{ "Go to sign-in" }</Link<Route>>
            </section></main>
        },
    }
}

/// The console.
#[component]
pub fn App() -> Html {
    html! {
        <BrowserRouter>
            <Switch<Route> render={switch} />
        </BrowserRouter>
    }
}
