//! The top bar of signed-in pages.

use vigil_policy::api::Role;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::hooks::SessionHandle;

/// Links for the signed-in person's role, and "Sign out". A plain function,
/// not a component: it keeps no state, and components cost bundle size.
pub fn nav(session: Option<&SessionHandle>) -> Html {
    let Some((session, view)) =
        session.and_then(|s| s.snapshot.view.clone().map(|v| (s.clone(), v)))
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
                    <Link<Route> to={Route::AdminSecurity}>{ "Security" }</Link<Route>>
                    <Link<Route> to={Route::AdminSessions}>{ "Sessions" }</Link<Route>>
                    <Link<Route> to={Route::AdminTeam}>{ "Team" }</Link<Route>>
                    <Link<Route> to={Route::AdminAudit}>{ "Audit log" }</Link<Route>>
                }
                if view.user.role != Role::Requester {
                    <Link<Route> to={Route::Desk}>{ "Desk" }</Link<Route>>
                } else {
                    <Link<Route> to={Route::Portal}>{ "My conversations" }</Link<Route>>
                }
                <Link<Route> to={Route::MySessions}>{ "My sessions" }</Link<Route>>
            </nav>
            <span class="who">{ &view.user.display_name }</span>
            <button class="link" {onclick}>{ "Sign out" }</button>
        </header>
    }
}
