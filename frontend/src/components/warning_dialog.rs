//! The idle warning: a live countdown and "Stay signed in".

use yew::prelude::*;

/// Props of [`WarningDialog`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Seconds until sign-out.
    pub seconds_left: i64,
    /// "Stay signed in".
    pub on_stay: Callback<()>,
}

/// A modal alert dialog; any input also dismisses it (the session hook
/// reports input at once while the warning shows).
#[component]
pub fn WarningDialog(props: &Props) -> Html {
    let button = use_node_ref();
    {
        let button = button.clone();
        use_effect_with((), move |_| {
            if let Some(b) = button.cast::<web_sys::HtmlElement>() {
                let _ = b.focus();
            }
        });
    }
    let onclick = {
        let on_stay = props.on_stay.clone();
        Callback::from(move |_: MouseEvent| on_stay.emit(()))
    };
    let s = props.seconds_left.max(0);
    let left = if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} seconds")
    };
    html! {
        <div class="backdrop">
            <div class="dialog" role="alertdialog" aria-modal="true"
                 aria-labelledby="warning-title" aria-describedby="warning-text">
                <h2 id="warning-title">{ "Are you still there?" }</h2>
                <p id="warning-text">
                    { "You will be signed out in " }
                    <strong class="countdown" aria-live="polite">{ left }</strong>
                    { " because of inactivity." }
                </p>
                <button ref={button} class="primary" {onclick}>{ "Stay signed in" }</button>
            </div>
        </div>
    }
}
