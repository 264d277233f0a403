//! A confirmation before an action with consequences: says what will
//! happen, takes focus on "Cancel" (the safe choice), Escape cancels, and
//! gives focus back where it was when it closes. The caller makes the page
//! behind it inert, so Tab stays inside.

use yew::prelude::*;

/// The dialog; `on_confirm` and `on_cancel` close it.
pub fn confirm_dialog(
    title: &str,
    consequences: &str,
    confirm_label: &str,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> Html {
    html! {
        <ConfirmDialog title={title.to_owned()} consequences={consequences.to_owned()}
            confirm_label={confirm_label.to_owned()} {on_confirm} {on_cancel} />
    }
}

/// Props of [`ConfirmDialog`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The question.
    pub title: AttrValue,
    /// What follows, in words.
    pub consequences: AttrValue,
    /// The confirming button's label.
    pub confirm_label: AttrValue,
    /// Confirmed.
    pub on_confirm: Callback<()>,
    /// Cancelled (button or Escape).
    pub on_cancel: Callback<()>,
}

/// The dialog.
#[component]
pub fn ConfirmDialog(props: &Props) -> Html {
    let cancel_button = use_node_ref();
    let confirm_button = use_node_ref();
    {
        let (cancel_button, confirm_button) = (cancel_button.clone(), confirm_button.clone());
        let on_cancel = props.on_cancel.clone();
        use_effect_with((), move |_| {
            // Escape cancels and Tab cycles between the two buttons, wherever
            // focus is: the page behind is inert.
            let keys = web_sys::window().and_then(|w| w.document()).map(|doc| {
                let (cancel_button, confirm_button) =
                    (cancel_button.clone(), confirm_button.clone());
                gloo_events::EventListener::new_with_options(
                    &doc,
                    "keydown",
                    gloo_events::EventListenerOptions::enable_prevent_default(),
                    move |e| {
                        let Some(e) = wasm_bindgen::JsCast::dyn_ref::<web_sys::KeyboardEvent>(e)
                        else {
                            return;
                        };
                        match e.key().as_str() {
                            "Escape" => on_cancel.emit(()),
                            "Tab" => {
                                e.prevent_default();
                                let active = web_sys::window()
                                    .and_then(|w| w.document())
                                    .and_then(|d| d.active_element());
                                let on_confirm = active.as_ref().is_some_and(|a| {
                                    confirm_button
                                        .get()
                                        .is_some_and(|c| &c == AsRef::<web_sys::Node>::as_ref(a))
                                });
                                let next = if on_confirm {
                                    &cancel_button
                                } else {
                                    &confirm_button
                                };
                                if let Some(b) = next.cast::<web_sys::HtmlElement>() {
                                    let _ = b.focus();
                                }
                            }
                            _ => {}
                        }
                    },
                )
            });
            // Where focus was (the button that opened this), for its return.
            let before = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
            if let Some(b) = cancel_button.cast::<web_sys::HtmlElement>() {
                let _ = b.focus();
            }
            move || {
                drop(keys);
                if let Some(el) = before {
                    let _ = el.focus();
                }
            }
        });
    }
    let confirm = {
        let on_confirm = props.on_confirm.clone();
        Callback::from(move |_: MouseEvent| on_confirm.emit(()))
    };
    let cancel = {
        let on_cancel = props.on_cancel.clone();
        Callback::from(move |_: MouseEvent| on_cancel.emit(()))
    };
    html! {
        <div class="backdrop">
            <div class="dialog" role="alertdialog" aria-modal="true"
                 aria-labelledby="confirm-title" aria-describedby="confirm-text">
                <h2 id="confirm-title">{ &props.title }</h2>
                <p id="confirm-text">{ &props.consequences }</p>
                <div class="row">
                    <button ref={confirm_button} class="danger" onclick={confirm}>{ &props.confirm_label }</button>
                    <button ref={cancel_button} onclick={cancel}>{ "Cancel" }</button>
                </div>
            </div>
        </div>
    }
}
