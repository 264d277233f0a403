//! A confirmation before an action with consequences: says what will
//! happen, takes focus on "Cancel" (the safe choice), Escape cancels, and
//! gives focus back where it was when it closes. The caller makes the page
//! behind it inert, so Tab stays inside. It may hold fields too (the
//! re-authentication prompt's password): then the first of them takes
//! focus, and Tab goes through them before the buttons.

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
    /// Fields shown above the buttons.
    #[prop_or_default]
    pub children: Html,
    /// The focusable elements among them, in order (the first takes focus).
    #[prop_or_default]
    pub stops: Vec<NodeRef>,
}

/// The dialog.
#[component]
pub fn ConfirmDialog(props: &Props) -> Html {
    let cancel_button = use_node_ref();
    let confirm_button = use_node_ref();
    {
        // Tab order: the fields, then the buttons; the first takes focus.
        let mut stops = props.stops.clone();
        stops.extend([confirm_button.clone(), cancel_button.clone()]);
        if props.stops.is_empty() {
            stops.rotate_right(1);
        }
        let on_cancel = props.on_cancel.clone();
        use_effect_with((), move |_| {
            // Escape cancels and Tab cycles through the stops, wherever
            // focus is: the page behind is inert.
            let keys = web_sys::window().and_then(|w| w.document()).map(|doc| {
                let stops = stops.clone();
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
                                let shown: Vec<web_sys::HtmlElement> =
                                    stops.iter().filter_map(NodeRef::cast).collect();
                                let n = shown.len();
                                let here = shown.iter().position(|s| {
                                    active
                                        .as_ref()
                                        .is_some_and(|a| AsRef::<web_sys::Element>::as_ref(s) == a)
                                });
                                let next = match (here, e.shift_key()) {
                                    (Some(i), true) => (i + n - 1) % n.max(1),
                                    (Some(i), false) => (i + 1) % n.max(1),
                                    (None, _) => 0,
                                };
                                if let Some(b) = shown.get(next) {
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
            if let Some(b) = stops
                .first()
                .and_then(NodeRef::cast::<web_sys::HtmlElement>)
            {
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
                { props.children.clone() }
                <div class="row">
                    <button ref={confirm_button} class="danger" onclick={confirm}>{ &props.confirm_label }</button>
                    <button ref={cancel_button} onclick={cancel}>{ "Cancel" }</button>
                </div>
            </div>
        </div>
    }
}
