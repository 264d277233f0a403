//! vigil-console: the browser side of Vigil. Login pages, the admin console
//! for session security, the agent desk and the requester portal, all
//! running vigil-policy's own rules so the browser and server agree.

mod api;
mod app;
mod backoff;
mod clock;
mod components;
mod drafts;
mod error;
mod hooks;
mod pages;
mod reauth;
mod router;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
