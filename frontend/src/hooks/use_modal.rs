//! `use_modal`: what a modal dialog owes keyboard users besides its own
//! focus: when it closes, focus returns to where it was when it opened.
//! (The page behind is made `inert` by the caller, so Tab stays inside.)

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Call with whether a modal dialog is open now.
#[hook]
pub fn use_modal(open: bool) {
    let before = use_memo((), |_| Rc::new(RefCell::new(None::<web_sys::HtmlElement>)));
    use_effect_with(open, move |open| {
        let doc = web_sys::window().and_then(|w| w.document());
        if *open {
            *before.borrow_mut() = doc
                .and_then(|d| d.active_element())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        } else if let Some(el) = before.borrow_mut().take() {
            let _ = el.focus();
        }
    });
}
