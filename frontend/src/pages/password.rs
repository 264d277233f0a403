//! `/me/password`: "Change password", linked from every signed-in page.
//! The current password, then the new one; the server's reasons when it
//! refuses the new one, shown under its field; and after the change, how
//! many of the person's other sessions ended.

use vigil_policy::api::{ChangePasswordRequest, ErrorCode};
use vigil_policy::password::MIN_CHARS;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, failed};
use crate::components::{use_current_session, Page};

/// The field `id`.
fn field(id: &str) -> Option<HtmlInputElement> {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .map(wasm_bindgen::JsCast::unchecked_into)
}

/// The value of the field `id`.
fn value(id: &str) -> String {
    field(id).map(|f| f.value()).unwrap_or_default()
}

/// The page.
#[component]
pub fn ChangePassword() -> Html {
    let session = use_current_session();
    // What the last try said, and whether it was about the new password.
    let said = use_state(|| None::<(String, bool)>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (said, busy, session) = (said.clone(), busy.clone(), session.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            let req = ChangePasswordRequest {
                current_password: value("current-password"),
                new_password: value("new-password"),
            };
            busy.set(true);
            let (said, busy, session) = (said.clone(), busy.clone(), session.clone());
            wasm_bindgen_futures::spawn_local(async move {
                said.set(Some(match api::change_password(&req).await {
                    Ok(r) => {
                        // Drafts were sealed under the key this retired.
                        crate::drafts::forget_all();
                        for id in ["current-password", "new-password"] {
                            if let Some(f) = field(id) {
                                f.set_value("");
                            }
                        }
                        let ended = match r.revoked {
                            0 => "You had no other session.".to_owned(),
                            1 => "Your 1 other session has ended.".to_owned(),
                            n => format!("Your {n} other sessions have ended."),
                        };
                        (format!("Password changed. {ended}"), false)
                    }
                    Err(e) if e.code() == Some(ErrorCode::Validation) => {
                        let reasons: Vec<String> =
                            e.fields().into_iter().map(|f| f.message).collect();
                        (reasons.join(" "), true)
                    }
                    Err(e) if e.code() == Some(ErrorCode::InvalidCredentials) => {
                        ("Your current password is not right.".to_owned(), false)
                    }
                    Err(e) => (failed(session.as_ref(), &e), false),
                }));
                busy.set(false);
            });
        })
    };
    let (message, about_new) = (*said).clone().unwrap_or_default();
    Page::new(session.as_ref(), "Change password").render(html! {
        <form class="card login" {onsubmit}>
            <label for="current-password">{ "Current password" }</label>
            <input id="current-password" type="password" autocomplete="current-password" required=true />
            <label for="new-password">{ "New password" }</label>
            <input id="new-password" type="password" autocomplete="new-password" required=true
                   aria-describedby="new-password-rule" aria-invalid={about_new.then_some("true")} />
            <p id="new-password-rule" class="muted small">
                { format!("At least {MIN_CHARS} characters, not your email, and not a common or breached password. Your other sessions end.") }
            </p>
            <button type="submit" class="primary" disabled={*busy}>{ "Change password" }</button>
            if !message.is_empty() { <p role="status">{ message }</p> }
        </form>
    })
}
