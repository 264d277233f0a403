//! Session tokens: 256 random bits, shown to the browser once in the cookie;
//! the database keeps only their SHA-256.

use sha2::{Digest, Sha256};

use crate::random::random_hex;

/// A session token. Its Debug shows only a short fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionToken({})", self.fingerprint())
    }
}

impl SessionToken {
    /// A fresh token.
    pub fn generate() -> SessionToken {
        SessionToken(random_hex(32))
    }

    /// Reads a token from a cookie value; anything but 64 lowercase hex
    /// digits is rejected before touching the database.
    pub fn from_cookie(value: &str) -> Option<SessionToken> {
        (value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| SessionToken(value.to_owned()))
    }

    /// The value for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token: the key sessions are held under in memory.
    pub fn key(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// What the database stores: SHA-256, hex.
    pub fn hash(&self) -> String {
        hex::encode(self.key())
    }

    /// The first 8 hex digits of the hash, for logs.
    pub fn fingerprint(&self) -> String {
        self.hash()[..8].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
        assert_eq!(SessionToken::from_cookie(a.expose()), Some(a.clone()));
        assert_ne!(a.hash(), a.expose());
    }

    #[test]
    fn malformed_cookies_are_rejected() {
        for bad in ["", "abc", &"g".repeat(64), &"A".repeat(64), &"a".repeat(65)] {
            assert!(SessionToken::from_cookie(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = SessionToken::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
