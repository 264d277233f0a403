//! Draft keys: the AES-256-GCM key the console encrypts a person's drafts
//! with before keeping them in the browser (`GET /api/me/draft-key`).
//!
//! A person's key is HMAC-SHA256, under the `draft-key` key in
//! `server_keys` (one for every replica), of the person's id and their
//! `users.draft_key_version`. So it is the same for every session of theirs
//! (a draft written before an idle sign-out opens after signing in again),
//! differs between people (someone else signing in on the same browser
//! cannot open it), is never stored anywhere, and changes when the version
//! is bumped: deactivation, reactivation and a password change do that in
//! their own transaction, and drafts written under the old key can no
//! longer be read.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the key in `server_keys`.
pub const KEY_NAME: &str = "draft-key";

/// The server's secret draft keys are derived from. Its Debug hides it.
#[derive(Clone)]
pub struct DraftKeys(Vec<u8>);

impl std::fmt::Debug for DraftKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DraftKeys(***)")
    }
}

impl DraftKeys {
    /// The secret from its stored (hex) form.
    pub fn from_hex(hex_key: &str) -> Option<DraftKeys> {
        hex::decode(hex_key)
            .ok()
            .filter(|k| k.len() >= 32)
            .map(DraftKeys)
    }

    /// A new random secret, hex.
    pub fn generate_hex() -> String {
        crate::random::random_hex(32)
    }

    /// The 32-byte key of person `user_id` at `version`.
    pub fn key_of(&self, user_id: i64, version: i64) -> Option<[u8; 32]> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).ok()?;
        mac.update(b"vigil draft key v1\0");
        mac.update(&user_id.to_be_bytes());
        mac.update(&version.to_be_bytes());
        Some(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_depends_on_the_secret_the_person_and_the_version() {
        let a = DraftKeys::from_hex(&"11".repeat(32)).unwrap();
        let b = DraftKeys::from_hex(&"22".repeat(32)).unwrap();
        let k = a.key_of(1, 0).unwrap();
        assert_eq!(k, a.key_of(1, 0).unwrap(), "stable");
        assert_ne!(k, a.key_of(2, 0).unwrap(), "per person");
        assert_ne!(k, a.key_of(1, 1).unwrap(), "per version");
        assert_ne!(k, b.key_of(1, 0).unwrap(), "per secret");
        assert!(DraftKeys::from_hex("1234").is_none(), "too short");
        assert!(DraftKeys::from_hex(&"zz".repeat(32)).is_none(), "not hex");
        assert_eq!(format!("{a:?}"), "DraftKeys(***)");
    }
}
