//! Drafts: text a person is typing, kept in this browser so that an idle,
//! absolute or forced sign-out loses nothing. Kept in `localStorage` under
//! the person's id (`vigil-draft:<person>:<name>`), restored when the same
//! person signs in again in this browser, removed when sent and on an
//! explicit sign-out (the server's `Clear-Site-Data` clears storage too),
//! and never sent anywhere.
//!
//! Never kept readable: each draft is encrypted with AES-256-GCM (WebCrypto,
//! a fresh random 96-bit IV per write, the storage name as additional data)
//! under the person's draft key, which only a signed-in session of theirs
//! gets from the server (`GET /api/me/draft-key`) and which lives only in
//! this page's memory, as a key WebCrypto will not export. Storage holds
//! `{"v":<key version>,"iv":[<12 bytes>],"ct":[<bytes>]}`. A draft that cannot be
//! opened (another version of the key: the person's password changed or
//! they were deactivated; a failed tag; the old plaintext shape) is
//! discarded; one waiting for a key the server cannot give now is kept.

use std::cell::RefCell;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;

const PREFIX: &str = "vigil-draft:";
const ALG: &str = "AES-GCM";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = importKey)]
    fn import_key(
        format: &str,
        key: &JsValue,
        alg: &str,
        extractable: bool,
        usages: &JsValue,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"])]
    fn encrypt(alg: &Object, key: &JsValue, data: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"])]
    fn decrypt(alg: &Object, key: &JsValue, data: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn random_values(into: &Uint8Array) -> Result<JsValue, JsValue>;
}

thread_local! {
    /// The person whose key this page holds, its version and the key.
    static KEY: RefCell<Option<(i64, JsValue, JsValue)>> = const { RefCell::new(None) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn slot(person: i64, name: &str) -> String {
    format!("{PREFIX}{person}:{name}")
}

fn field(o: &JsValue, name: &str) -> JsValue {
    Reflect::get(o, &name.into()).unwrap_or_default()
}

fn set(o: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(o, &name.into(), value);
}

/// The answer of a WebCrypto call, if it succeeded.
async fn done(p: Result<Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(p.ok()?).await.ok()
}

/// The person's draft key and its version: this page's, or the server's.
async fn key_of(person: i64) -> Option<(JsValue, JsValue)> {
    if let Some((p, v, k)) = KEY.with_borrow(Clone::clone) {
        if p == person {
            return Some((v, k));
        }
    }
    let answer = JSON::parse(&crate::api::draft_key().await.ok()?).ok()?;
    let usages = JSON::parse("[\"encrypt\",\"decrypt\"]").ok()?;
    let key = done(import_key(
        "jwk",
        &field(&answer, "key"),
        ALG,
        false,
        &usages,
    ))
    .await?;
    let version = field(&answer, "version");
    KEY.with_borrow_mut(|c| *c = Some((person, version.clone(), key.clone())));
    Some((version, key))
}

/// The AES-GCM parameters for the draft under `slot` (its IV still to set).
#[inline(never)]
fn params(slot: &str) -> Object {
    let alg = Object::new();
    set(&alg, "name", &ALG.into());
    set(&alg, "additionalData", &Uint8Array::from(slot.as_bytes()));
    alg
}

/// `text` to encrypt, with a fresh random IV set in `alg`.
#[inline(never)]
fn fresh(alg: &Object, text: &str) -> Option<Uint8Array> {
    let iv = Uint8Array::from(&[0u8; 12][..]);
    random_values(&iv).ok()?;
    set(alg, "iv", &iv);
    Some(Uint8Array::from(text.as_bytes()))
}

/// What is kept: `{"v":<version>,"iv":[…],"ct":[…]}`.
#[inline(never)]
fn kept(version: &JsValue, alg: &Object, ct: &JsValue) -> Option<String> {
    let kept = Object::new();
    set(&kept, "v", version);
    set(&kept, "iv", &Array::from(&field(alg, "iv")));
    set(&kept, "ct", &Array::from(&Uint8Array::new(ct)));
    JSON::stringify(&kept).ok()?.as_string()
}

/// The ciphertext of what `saved` holds, with its IV set in `alg`, if it is
/// of this `version` (anything in the arrays but bytes makes bytes that
/// fail the tag).
#[inline(never)]
fn sealed(saved: &str, version: &JsValue, alg: &Object) -> Option<Uint8Array> {
    let saved = JSON::parse(saved).ok()?;
    let bytes = |name| {
        Some(field(&saved, name))
            .filter(Array::is_array)
            .map(|a| Uint8Array::new(&a))
    };
    if field(&saved, "v") != *version {
        return None;
    }
    let iv = bytes("iv")?;
    set(alg, "iv", &iv);
    bytes("ct")
}

/// With `text`, encrypts it and keeps it under `slot` unless another edit
/// came first (`still`); without, the draft kept there, if it opens (one
/// that does not is removed). Nothing without a key (one that cannot be had
/// now, the server unreachable, leaves the draft for later).
async fn keep(
    person: i64,
    slot: String,
    text: Option<String>,
    still: impl Fn() -> bool,
) -> Option<String> {
    let s = storage()?;
    let (version, key) = key_of(person).await?;
    let alg = params(&slot);
    let saving = text.is_some();
    let data = match &text {
        Some(text) => fresh(&alg, text),
        None => sealed(&s.get_item(&slot).ok()??, &version, &alg),
    };
    let out = match data {
        Some(data) if saving => done(encrypt(&alg, &key, &data)).await,
        Some(data) => done(decrypt(&alg, &key, &data)).await,
        None => None,
    };
    if saving {
        if let (Some(ct), true) = (out, still()) {
            let _ = s.set_item(&slot, &kept(&version, &alg, &ct)?);
        }
        return None;
    }
    let opened = out.and_then(|b| String::from_utf8(Uint8Array::new(&b).to_vec()).ok());
    if opened.is_none() {
        let _ = s.remove_item(&slot);
    }
    opened
}

/// Removes every draft in this browser and the key (explicit sign-out).
pub fn forget_all() {
    KEY.with_borrow_mut(|c| *c = None);
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
    // Counts edits: a restore or a write finishing after a later edit gives
    // way to it.
    let edits = use_mut_ref(|| 0u32);
    let run = {
        let text = text.clone();
        let edits = edits.clone();
        move |p: i64, value: Option<String>| {
            let edit = *edits.borrow();
            let text = text.clone();
            let edits = edits.clone();
            spawn_local(async move {
                let restored = keep(p, slot(p, name), value, || *edits.borrow() == edit).await;
                if let Some(saved) = restored.filter(|_| *edits.borrow() == edit) {
                    text.set(saved);
                }
            });
        }
    };
    {
        let run = run.clone();
        use_effect_with(person, move |person| {
            if let Some(p) = *person {
                run(p, None);
            }
        });
    }
    let set = {
        let text = text.clone();
        Callback::from(move |value: String| {
            *edits.borrow_mut() += 1;
            if let (Some(p), Some(s)) = (person, storage()) {
                if value.is_empty() {
                    let _ = s.remove_item(&slot(p, name));
                } else {
                    run(p, Some(value.clone()));
                }
            }
            text.set(value);
        })
    };
    ((*text).clone(), set)
}
