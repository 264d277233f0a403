//! The console's router, in the few lines eleven fixed paths need: the page
//! is `location.pathname`; a link or a redirect changes the history entry
//! and announces it with a `popstate` event, the one the browser sends for
//! Back and Forward, which [`crate::app::App`] listens to. yew-router did
//! the same through a route recognizer, a history abstraction and a
//! context, about 12 KB of the gzipped wasm.

use wasm_bindgen::JsValue;
use yew::prelude::*;

use crate::app::Route;

/// The page the browser is on.
pub fn current() -> Route {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    Route::recognize(&path).unwrap_or(Route::NotFound)
}

/// The page's `?name=` value, decoded.
pub(crate) fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let raw = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?;
    js_sys::decode_uri_component(raw).ok().map(String::from)
}

/// Goes to `to`: a new history entry, or in place of this one.
fn go(to: Route, replace: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(history) = window.history() {
        let url = Some(to.to_path());
        let _ = if replace {
            history.replace_state_with_url(&JsValue::NULL, "", url)
        } else {
            history.push_state_with_url(&JsValue::NULL, "", url)
        };
    }
    if let Ok(event) = web_sys::Event::new("popstate") {
        let _ = window.dispatch_event(&event);
    }
}

/// Goes to `to`, as following a link does.
pub fn push(to: Route) {
    go(to, false);
}

/// A link to `to` that the console follows in place (a modified click, or
/// another button, is the browser's: a new tab or window), marked
/// `aria-current="page"` when it is this page.
pub fn link(to: Route, text: &'static str) -> Html {
    let onclick = Callback::from(move |e: MouseEvent| {
        if e.ctrl_key() || e.meta_key() || e.shift_key() || e.alt_key() || e.button() != 0 {
            return;
        }
        e.prevent_default();
        push(to);
    });
    html! {
        <a href={to.to_path()} {onclick} aria-current={(current() == to).then_some("page")}>{ text }</a>
    }
}

/// Props of [`Redirect`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Where to go.
    pub to: Route,
}

/// Goes to `to` in place of this page once shown (Back does not return to
/// a page that would only send the person away again).
#[component]
pub fn Redirect(props: &Props) -> Html {
    let to = props.to;
    use_effect_with((), move |_| go(to, true));
    html! {}
}
