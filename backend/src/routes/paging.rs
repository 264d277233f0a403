//! Pages of the session lists (`GET /api/admin/sessions`,
//! `GET /api/me/sessions`): `limit` (1 to [`MAX`], default [`DEFAULT`]),
//! `after` (a cursor this server issued), and `Link: <…>; rel="next"` while
//! more remain.
//!
//! A cursor is base64url (no padding) of the last key of the page before
//! (its sign-in in milliseconds, 8 bytes big-endian, then its session id),
//! followed by 16 bytes of HMAC-SHA256 over that key and the list it
//! belongs to (the account, and the person and audience it was filtered
//! by), under the `page-cursor` key in `server_keys` (one for every
//! replica). So a cursor made up, altered, or taken from another list (another
//! account's, another person's, other filters) is a 400, and never moves a
//! list anywhere its caller could not page to.

use actix_web::http::header::{HeaderValue, LINK};
use actix_web::HttpResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use vigil_policy::{FieldError, FieldErrorCode};

use crate::error::ApiError;
use crate::store::sessions::{self, ListScope, LiveSession, PageKey};
use crate::store::Store;

/// Sessions a page holds unless `limit` says otherwise.
pub const DEFAULT: i64 = 200;
/// Most sessions a page holds.
pub const MAX: i64 = 1000;
/// Longest cursor taken (an id of 32 hex digits gives 54 characters).
pub const AFTER_MAX: usize = 200;
/// The name of the cursor key in `server_keys`.
pub const KEY_NAME: &str = "page-cursor";
/// Bytes of the MAC a cursor carries.
const TAG: usize = 16;
/// Reads of `limit + 1` rows one page may make while rows past their
/// deadline (not yet swept) are left out; past it, the page is shorter and
/// its `Link` continues after the last row read.
const READS: usize = 4;

/// The key cursors are signed with. Its Debug hides it.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(***)")
    }
}

impl CursorKey {
    /// A key from its stored (hex) form.
    pub fn from_hex(hex_key: &str) -> Option<CursorKey> {
        hex::decode(hex_key)
            .ok()
            .filter(|k| k.len() >= 32)
            .map(CursorKey)
    }

    /// A new random key, hex.
    pub fn generate_hex() -> String {
        crate::random::random_hex(32)
    }

    fn mac(&self, list: &str, key: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).ok()?;
        mac.update(b"vigil page cursor v1\0");
        mac.update(list.as_bytes());
        mac.update(b"\0");
        mac.update(key);
        Some(mac)
    }

    /// The cursor for continuing `list` after `key`.
    pub fn seal(&self, list: &str, key: &PageKey) -> String {
        let mut bytes = key.created_at_ms.to_be_bytes().to_vec();
        bytes.extend_from_slice(key.id.as_bytes());
        if let Some(mac) = self.mac(list, &bytes) {
            bytes.extend_from_slice(&mac.finalize().into_bytes()[..TAG]);
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The key a cursor of `list` names, if this server issued it for
    /// `list`.
    pub fn open(&self, list: &str, cursor: &str) -> Option<PageKey> {
        if cursor.len() > AFTER_MAX {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let split = bytes.len().checked_sub(TAG).filter(|n| *n > 8)?;
        let (key, tag) = bytes.split_at(split);
        self.mac(list, key)?.verify_truncated_left(tag).ok()?;
        let (at, id) = key.split_at(8);
        Some(PageKey {
            created_at_ms: i64::from_be_bytes(at.try_into().ok()?),
            id: String::from_utf8(id.to_vec()).ok()?,
        })
    }
}

/// What a page request asked for, checked.
#[derive(Debug, Clone)]
pub struct Asked {
    /// Sessions at most.
    pub limit: i64,
    /// Start after this key.
    pub after: Option<PageKey>,
}

/// Checks `limit` and `after` for `list` (its cursors' scope): a 400 naming
/// the parameter otherwise.
pub fn asked(
    key: &CursorKey,
    list: &str,
    limit: Option<&str>,
    after: Option<&str>,
) -> Result<Asked, ApiError> {
    let limit = match limit {
        None => DEFAULT,
        // Digits only, as the document's integer: no sign, space or point.
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX).contains(n) && raw.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::bad_field(FieldError::new(
                    "limit",
                    FieldErrorCode::Invalid,
                    format!("limit must be a whole number from 1 to {MAX}."),
                ))
            })?,
    };
    let after = match after {
        None => None,
        Some(raw) => Some(key.open(list, raw).ok_or_else(|| {
            ApiError::bad_field(FieldError::new(
                "after",
                FieldErrorCode::Invalid,
                "after must be a cursor from this list's Link header (rel=\"next\").",
            ))
        })?),
    };
    Ok(Asked { limit, after })
}

/// One page of live sessions of `scope`, keeping those `keep` accepts
/// (sessions past a deadline the sweeper has not acted on yet are left
/// out); with the key to continue after when more may remain.
pub async fn live_sessions(
    store: &Store,
    scope: ListScope,
    asked: &Asked,
    mut keep: impl FnMut(&mut LiveSession) -> bool,
) -> Result<(Vec<LiveSession>, Option<PageKey>), ApiError> {
    let want = asked.limit + 1;
    let mut page = Vec::new();
    let mut read_to = asked.after.clone();
    for _ in 0..READS {
        let rows = sessions::live_page(store, scope, read_to.as_ref(), want).await?;
        let exhausted = (rows.len() as i64) < want;
        for mut row in rows {
            read_to = Some(PageKey::of(&row.row));
            if keep(&mut row) {
                page.push(row);
                if page.len() as i64 == want {
                    break;
                }
            }
        }
        if page.len() as i64 == want {
            // One more than asked: more remain, after the last one shown.
            page.pop();
            let next = page.last().map(|s| PageKey::of(&s.row));
            return Ok((page, next));
        }
        if exhausted {
            return Ok((page, None));
        }
    }
    Ok((page, read_to))
}

/// 200 with `body`, and `Link: <path?query&after=…>; rel="next"` when
/// `next` is there; `query` is the filters and limit to keep.
pub fn answer(
    body: &impl serde::Serialize,
    path: &str,
    query: &[(&str, String)],
    next: Option<String>,
) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if let Some(cursor) = next {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in query {
            q.append_pair(name, value);
        }
        q.append_pair("after", &cursor);
        if let Ok(link) = HeaderValue::from_str(&format!("<{path}?{}>; rel=\"next\"", q.finish())) {
            res.insert_header((LINK, link));
        }
    }
    res.json(body)
}

/// `limit`'s schema, from the numbers [`asked`] checks against.
pub fn limit_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX))
        .default(Some(DEFAULT.into()))
        .build()
}

/// `after`'s schema: base64url, at most [`AFTER_MAX`] characters.
pub fn after_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some("^[A-Za-z0-9_-]+$"))
        .max_length(Some(AFTER_MAX))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    fn at(ms: i64, id: &str) -> PageKey {
        PageKey {
            created_at_ms: ms,
            id: id.into(),
        }
    }

    #[test]
    fn a_cursor_opens_only_for_its_own_list_and_key() {
        let k = key();
        let pos = at(1_767_603_600_000, &"0f".repeat(16));
        let cursor = k.seal("me/1/2", &pos);
        assert_eq!(k.open("me/1/2", &cursor), Some(pos.clone()));
        assert_eq!(k.open("me/1/3", &cursor), None, "another person's list");
        assert_eq!(k.open("admin/1/-/-", &cursor), None, "another list");
        let other = CursorKey::from_hex(&"cd".repeat(32)).unwrap();
        assert_eq!(other.open("me/1/2", &cursor), None, "another key");
        // Every single-character change is refused.
        for i in 0..cursor.len() {
            let mut forged = cursor.clone().into_bytes();
            forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(forged).unwrap();
            assert_eq!(k.open("me/1/2", &forged), None, "changed at {i}");
        }
        // A key without its MAC, or nothing like a cursor.
        let bare = URL_SAFE_NO_PAD.encode(b"\0\0\0\0\0\0\0\x01abcdefabcdefabcd");
        for junk in [
            "",
            "x",
            "%%%",
            "AAAA",
            bare.as_str(),
            &"A".repeat(AFTER_MAX + 1),
        ] {
            assert_eq!(k.open("me/1/2", junk), None, "{junk:?}");
        }
    }

    #[test]
    fn limits_outside_one_to_the_maximum_are_refused() {
        let k = key();
        for bad in [
            "0",
            "1001",
            "-1",
            "abc",
            "",
            " 5",
            "+5",
            "5.0",
            "99999999999999999999",
        ] {
            assert!(asked(&k, "l", Some(bad), None).is_err(), "{bad:?}");
        }
        for (good, n) in [(None, DEFAULT), (Some("1"), 1), (Some("1000"), MAX)] {
            assert_eq!(asked(&k, "l", good, None).unwrap().limit, n, "{good:?}");
        }
    }
}
