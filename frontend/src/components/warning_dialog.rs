//! The idle warning (a live countdown and "Stay signed in") and the
//! absolute limit's heads-up ("Sign in again now").

use yew::prelude::*;

/// A modal alert dialog; any input also dismisses it (the session hook
/// reports input at once while the warning shows). `button` lets the caller
/// move focus to "Stay signed in" when the warning opens. A plain function,
/// not a component: it has no state, and components cost bundle size.
pub fn warning_dialog(seconds_left: i64, on_stay: Callback<()>, button: NodeRef) -> Html {
    let onclick = Callback::from(move |_: MouseEvent| on_stay.emit(()));
    let s = seconds_left.max(0);
    let left = if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} seconds")
    };
    // Screen readers hear the time left at 60, 30 and 10 seconds, not every
    // second: this text changes only at those marks.
    let announce = match s {
        0..=10 => "10 seconds left before you are signed out.",
        11..=30 => "30 seconds left before you are signed out.",
        31..=60 => "1 minute left before you are signed out.",
        _ => "",
    };
    html! {
        <div class="backdrop">
            <div class="dialog" role="alertdialog" aria-modal="true"
                 aria-labelledby="warning-title" aria-describedby="warning-text">
                <h2 id="warning-title">{ "Are you still there?" }</h2>
                <p id="warning-text">
                    { "You will be signed out in " }
                    <strong class="countdown" role="timer" aria-live="off">{ left }</strong>
                    { " because of inactivity." }
                </p>
                <p class="sr-only" aria-live="assertive">{ announce }</p>
                <button ref={button} class="primary" {onclick}>{ "Stay signed in" }</button>
            </div>
        </div>
    }
}

/// The heads-up before the absolute limit: activity cannot help, so it
/// offers signing in again (returning to this page) instead of staying.
pub fn heads_up_dialog(message: &str, seconds_left: i64, sign_in: &str, link: NodeRef) -> Html {
    let s = seconds_left.max(0);
    let left = if s >= 60 {
        format!("{} min", (s + 59) / 60)
    } else {
        format!("{s} seconds")
    };
    html! {
        <div class="backdrop">
            <div class="dialog" role="alertdialog" aria-modal="true"
                 aria-labelledby="limit-title" aria-describedby="limit-text">
                <h2 id="limit-title">{ "Session limit ahead" }</h2>
                <p id="limit-text">{ message }</p>
                <p class="muted">{ format!("Signed out in {left}.") }</p>
                <a ref={link} class="button primary" href={sign_in.to_owned()}>{ "Sign in again now" }</a>
            </div>
        </div>
    }
}
