//! Routes and the root component.

use yew::prelude::*;

use crate::components::SessionGate;
use crate::pages::integrations::Integrations;
use crate::pages::{
    audit::Audit, desk::Desk, login::Login, me_sessions::MySessions, password::ChangePassword,
    portal::Portal, security::Security, sessions::Sessions, sign_in::SignIn, team::Team,
};
use crate::router::{self, link, Redirect};

/// Every page of the console (its path is in [`PATHS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Sends people to sign in.
    Home,
    /// Agents and admins sign in.
    Login,
    /// Requesters sign in.
    PortalLogin,
    /// Session-security settings.
    AdminSecurity,
    /// Single sign-on connections.
    AdminSignIn,
    /// Live sessions.
    AdminSessions,
    /// Audit log.
    AdminAudit,
    /// The team.
    AdminTeam,
    /// API tokens (and webhooks).
    AdminIntegrations,
    /// Agent desk.
    Desk,
    /// Requester portal.
    Portal,
    /// Everyone's own sessions.
    MySessions,
    /// Everyone's own password.
    ChangePassword,
    /// Anything else.
    NotFound,
}

/// Each page's path (`NotFound` is also what any other path shows).
const PATHS: [(&str, Route); 14] = [
    ("/", Route::Home),
    ("/login", Route::Login),
    ("/portal/login", Route::PortalLogin),
    ("/admin/security", Route::AdminSecurity),
    ("/admin/sign-in", Route::AdminSignIn),
    ("/admin/sessions", Route::AdminSessions),
    ("/admin/audit", Route::AdminAudit),
    ("/admin/team", Route::AdminTeam),
    ("/admin/integrations", Route::AdminIntegrations),
    ("/desk", Route::Desk),
    ("/portal", Route::Portal),
    ("/me/sessions", Route::MySessions),
    ("/me/password", Route::ChangePassword),
    ("/404", Route::NotFound),
];

impl Route {
    /// The page at `path` (without its query string), if any.
    pub fn recognize(path: &str) -> Option<Route> {
        PATHS.iter().find(|(p, _)| *p == path).map(|(_, r)| *r)
    }

    /// The page's path.
    pub fn to_path(self) -> &'static str {
        PATHS
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("/404", |(p, _)| p)
    }
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
        Route::ChangePassword => "Change password",
        Route::NotFound => "Page not found",
    }
}

fn switch(route: Route) -> Html {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(&format!("{} — Vigil", title(&route)));
    }
    match route {
        Route::Home => html! { <Redirect to={Route::Login} /> },
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
        Route::ChangePassword => html! { <SessionGate><ChangePassword /></SessionGate> },
        Route::NotFound => html! {
            <main class="center"><section class="card">
                <h1>{ "Page not found" }</h1>
                { link(Route::Login, "Go to sign-in") }
            </section></main>
        },
    }
}

/// The console: the page the browser is on, again after each history
/// change (Back, Forward, and the console's own links: [`crate::router`]).
#[component]
pub fn App() -> Html {
    let route = use_state(router::current);
    {
        let route = route.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window().map(|w| {
                gloo_events::EventListener::new(&w, "popstate", move |_| {
                    route.set(router::current());
                })
            });
            move || drop(listener)
        });
    }
    switch(*route)
}
