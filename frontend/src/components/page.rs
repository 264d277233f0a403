//! The shell of a signed-in page: the nav bar, then the main region under
//! the page's heading; and a dialog, when one is open, with the page
//! behind it inert (so Tab stays inside). A plain function, not a
//! component: it has no state, and components cost bundle size.

use yew::prelude::*;

use crate::components::nav;
use crate::hooks::SessionHandle;

/// What a page puts in its shell besides its body.
pub struct Page<'a> {
    session: Option<&'a SessionHandle>,
    title: &'static str,
    refresh: Option<Callback<MouseEvent>>,
    dialog: Option<Html>,
}

impl<'a> Page<'a> {
    /// The page titled `title` for `session`.
    pub fn new(session: Option<&'a SessionHandle>, title: &'static str) -> Self {
        Page {
            session,
            title,
            refresh: None,
            dialog: None,
        }
    }

    /// A "Refresh" button beside the heading.
    pub fn refresh(mut self, onclick: Callback<MouseEvent>) -> Self {
        self.refresh = Some(onclick);
        self
    }

    /// The dialog open over the page, if any.
    pub fn dialog(mut self, dialog: Option<Html>) -> Self {
        self.dialog = dialog;
        self
    }

    /// The page with `body` under its heading.
    pub fn render(self, body: Html) -> Html {
        let title = html! { <h1>{ self.title }</h1> };
        let heading = match self.refresh {
            Some(onclick) => html! {
                <div class="row spread">{ title }<button {onclick}>{ "Refresh" }</button></div>
            },
            None => title,
        };
        html! {
            <>
                <div inert={self.dialog.is_some()}>
                    { nav(self.session) }
                    <main class="page">{ heading }{ body }</main>
                </div>
                { self.dialog.unwrap_or_default() }
            </>
        }
    }
}
