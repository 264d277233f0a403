//! Drafts: text a person is typing, kept in this browser so that an idle,
//! absolute or forced sign-out loses nothing. Kept in `localStorage` under
//! the person's id (`vigil-draft:<person>:<name>`), restored when the same
//! person signs in again in this browser, removed when sent and on an
//! explicit sign-out (the server's `Clear-Site-Data` clears storage too),
//! and never sent anywhere.

use yew::prelude::*;

const PREFIX: &str = "vigil-draft:";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn key(person: i64, name: &str) -> String {
    format!("{PREFIX}{person}:{name}")
}

/// Removes every draft in this browser (explicit sign-out).
pub fn forget_all() {
    let Some(s) = storage() else { return };
    let len = s.length().unwrap_or(0);
    let keys: Vec<String> = (0..len)
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with(PREFIX))
        .collect();
    for k in keys {
        let _ = s.remove_item(&k);
    }
}

/// A draft field: its text (restored once the person is known) and a
/// setter that keeps it.
#[hook]
pub fn use_draft(name: &'static str, person: Option<i64>) -> (String, Callback<String>) {
    let text = use_state(String::new);
    {
        let text = text.clone();
        use_effect_with(person, move |person| {
            if let (Some(p), Some(s)) = (person, storage()) {
                if let Ok(Some(saved)) = s.get_item(&key(*p, name)) {
                    text.set(saved);
                }
            }
        });
    }
    let set = {
        let text = text.clone();
        Callback::from(move |value: String| {
            if let (Some(p), Some(s)) = (person, storage()) {
                let _ = if value.is_empty() {
                    s.remove_item(&key(p, name))
                } else {
                    s.set_item(&key(p, name), &value)
                };
            }
            text.set(value);
        })
    };
    ((*text).clone(), set)
}
