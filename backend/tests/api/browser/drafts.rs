//! Drafts in a real browser: what the console keeps in `localStorage` while
//! a requester types is ciphertext under their draft key (nothing of the
//! text is readable in either storage), a reload restores it, and it is
//! discarded once the key has changed (a password change) or when it is in
//! the old plaintext shape.

use std::time::Duration;

use serde_json::{json, Value};

use super::fixture::{eventually, Browser, Console};
use crate::helpers::{TestApp, PASSWORD};

const TEXT: &str = "Invoice 4471 was charged twice, Überweisung";

/// Everything both storages of the page hold, as `local:<key>` and
/// `session:<key>` to the value.
async fn storage(b: &Browser) -> serde_json::Map<String, Value> {
    let all = b
        .client
        .execute(
            "const all = {};
             for (const [name, s] of [['local', localStorage], ['session', sessionStorage]]) {
               for (let i = 0; i < s.length; i++) {
                 const k = s.key(i);
                 all[name + ':' + k] = s.getItem(k);
               }
             }
             return all;",
            vec![],
        )
        .await
        .unwrap();
    all.as_object().unwrap().clone()
}

/// What is kept under the requester's draft of the new conversation.
async fn kept(b: &Browser, slot: &str) -> Option<String> {
    storage(b)
        .await
        .get(&format!("local:{slot}"))
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Asserts no value in either storage holds a word of `text`.
async fn nothing_readable(b: &Browser, text: &str) {
    let all = storage(b).await;
    for word in text.split_whitespace().filter(|w| w.len() > 3) {
        let word = word.trim_matches(',');
        for (k, v) in &all {
            let v = v.as_str().unwrap_or_default();
            assert!(
                !v.contains(word) && !k.contains(word),
                "{word:?} readable in {k}: {v}"
            );
        }
    }
}

/// The draft under `slot` opened in the page with the key the server gives
/// this session (AES-GCM, the slot as additional data), or the error.
async fn opened_in_page(b: &Browser, slot: &str) -> String {
    b.client
        .execute_async(
            "const [slot, done] = [arguments[0], arguments[arguments.length - 1]];
             (async () => {
               const answer = await (await fetch('/api/me/draft-key')).json();
               const key = await crypto.subtle.importKey('jwk', answer.key, 'AES-GCM', false, ['decrypt']);
               const kept = JSON.parse(localStorage.getItem(slot));
               const plain = await crypto.subtle.decrypt(
                 {name: 'AES-GCM', iv: new Uint8Array(kept.iv),
                  additionalData: new TextEncoder().encode(slot)},
                 key, new Uint8Array(kept.ct));
               return new TextDecoder().decode(plain);
             })().then(done, e => done('failed: ' + e));",
            vec![json!(slot)],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

async fn field_value(b: &Browser) -> String {
    b.field("New conversation")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn stored_once(b: &Browser, slot: &str) -> Value {
    eventually(5, "the draft is kept", async || {
        kept(b, slot).await.is_some()
    })
    .await;
    serde_json::from_str(&kept(b, slot).await.unwrap()).unwrap()
}

async fn reload_portal(b: &Browser, app: &TestApp) {
    b.goto(app, "/portal").await;
    b.field("New conversation").await;
}

#[tokio::test]
async fn drafts_are_kept_encrypted_and_discarded_once_the_key_changed() {
    let app = Console::start().await;
    let person = app.user_id("requester@demo.test").await;
    let slot = format!("vigil-draft:{person}:portal-subject");
    let b = Browser::signed_in(&app, "/portal/login", "requester@demo.test").await;
    b.type_into("New conversation", TEXT).await;

    // Kept: {v, iv, ct}, the IV 12 bytes, the ciphertext the text's UTF-8
    // and a 16-byte tag; no word of it readable anywhere in storage.
    let whole = async |len: usize| {
        eventually(5, "the whole text is kept", async || {
            let v: Value = serde_json::from_str(&kept(&b, &slot).await.unwrap_or_default())
                .unwrap_or_default();
            v["ct"].as_array().map(Vec::len) == Some(len + 16)
        })
        .await;
        serde_json::from_str::<Value>(&kept(&b, &slot).await.unwrap()).unwrap()
    };
    let sealed = whole(TEXT.len()).await;
    assert_eq!(sealed.as_object().unwrap().len(), 3, "{sealed}");
    assert_eq!(sealed["v"], 0, "the key's version");
    assert_eq!(sealed["iv"].as_array().unwrap().len(), 12);
    nothing_readable(&b, TEXT).await;
    // One more character: written again under a fresh IV.
    let field = b.field("New conversation").await;
    field.send_keys("?").await.unwrap();
    let again = whole(TEXT.len() + 1).await;
    assert_ne!(sealed["iv"], again["iv"], "a fresh IV for each write");
    field.send_keys("\u{E003}").await.unwrap(); // Backspace
    whole(TEXT.len()).await;
    // It opens with this person's key from the server, and with nothing
    // else: the slot is bound in as additional data.
    assert_eq!(opened_in_page(&b, &slot).await, TEXT);
    b.client
        .execute(
            "localStorage.setItem('moved', localStorage.getItem(arguments[0]));",
            vec![json!(slot)],
        )
        .await
        .unwrap();
    assert!(opened_in_page(&b, "moved").await.starts_with("failed"));
    b.client
        .execute("localStorage.removeItem('moved');", vec![])
        .await
        .unwrap();

    // A reload restores it.
    reload_portal(&b, &app).await;
    eventually(5, "the draft is back after a reload", async || {
        field_value(&b).await == TEXT
    })
    .await;
    nothing_readable(&b, TEXT).await;

    // The old plaintext shape is discarded, not shown.
    b.client
        .execute(
            "localStorage.setItem(arguments[0], 'Plaintext from before');",
            vec![json!(slot)],
        )
        .await
        .unwrap();
    reload_portal(&b, &app).await;
    eventually(5, "the plaintext draft is removed", async || {
        kept(&b, &slot).await.is_none()
    })
    .await;
    assert_eq!(field_value(&b).await, "");

    // A draft kept, then the password changes (from this very session, so
    // it stays signed in): the key changed, the draft is discarded.
    b.type_into("New conversation", TEXT).await;
    stored_once(&b, &slot).await;
    let status = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/me/password', {method: 'POST',
               headers: {'Content-Type': 'application/json', 'X-Vigil-Request': '1'},
               body: JSON.stringify({current_password: arguments[0],
                                     new_password: 'tangerine otter lamp'})})
               .then(r => done(r.status), e => done(String(e)));",
            vec![json!(PASSWORD)],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(200));
    assert!(kept(&b, &slot).await.is_some(), "still there until read");
    reload_portal(&b, &app).await;
    eventually(5, "the draft under the old key is removed", async || {
        kept(&b, &slot).await.is_none()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(field_value(&b).await, "", "nothing restored");
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        "/portal",
        "still signed in"
    );

    // Under the new key, drafts are kept and restored again.
    b.type_into("New conversation", "After the change").await;
    let sealed = stored_once(&b, &slot).await;
    assert_eq!(sealed["v"], 1);
    reload_portal(&b, &app).await;
    eventually(5, "restored under the new key", async || {
        field_value(&b).await == "After the change"
    })
    .await;
}

#[tokio::test]
async fn changing_the_password_in_the_console_removes_the_drafts_at_once() {
    let app = Console::start().await;
    let person = app.user_id("requester@demo.test").await;
    let slot = format!("vigil-draft:{person}:portal-subject");
    let b = Browser::signed_in(&app, "/portal/login", "requester@demo.test").await;
    b.type_into("New conversation", TEXT).await;
    stored_once(&b, &slot).await;
    b.goto(&app, "/me/password").await;
    b.type_into("Current password", PASSWORD).await;
    b.type_into("New password", "tangerine otter lamp").await;
    b.click_button("Change password").await;
    b.saying("status", "Password changed.", 10).await;
    assert!(kept(&b, &slot).await.is_none(), "removed with the change");
    reload_portal(&b, &app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(field_value(&b).await, "");
}
