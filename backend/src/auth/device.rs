//! Device cookies (OWASP's defence against aimed lockouts): a successful
//! sign-in leaves `__Host-vigil-device` in the browser, signed by the
//! server, naming the person and a random device id. A browser presenting a
//! valid one for the person it signs in as is a *known browser*: it gets a
//! throttle budget of its own (see `throttle`), so an attack on the person
//! does not lock them out of it.
//!
//! The value is `v1.ACCOUNT.USER.DEVICE.ISSUED_MS.MAC`, the MAC an
//! HMAC-SHA256 of everything before it under the `device` key in the
//! database's `server_keys` (one for every replica). `vigil
//! rotate-device-key` replaces that key: every device cookie then counts as
//! unknown until its browser signs in again.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::store::{from_ms, to_ms};

/// The cookie's name.
pub const NAME: &str = "__Host-vigil-device";

/// How long a device cookie is honoured after the sign-in that issued it.
pub const LIFETIME: Duration = Duration::days(180);

/// The name of the signing key in `server_keys`.
pub const KEY_NAME: &str = "device";

/// The key device cookies are signed with. Its Debug hides it.
#[derive(Clone)]
pub struct DeviceKey(Vec<u8>);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(***)")
    }
}

/// A browser that signed in as a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Account.
    pub account_id: i64,
    /// The person.
    pub user_id: i64,
    /// Random id of the browser (32 hex digits).
    pub id: String,
}

impl DeviceKey {
    /// A key from its stored (hex) form.
    pub fn from_hex(hex_key: &str) -> Option<DeviceKey> {
        hex::decode(hex_key)
            .ok()
            .filter(|k| k.len() >= 32)
            .map(DeviceKey)
    }

    /// A new random key, hex.
    pub fn generate_hex() -> String {
        crate::random::random_hex(32)
    }

    fn mac(&self, payload: &str) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).ok()?;
        mac.update(payload.as_bytes());
        Some(mac)
    }

    /// The cookie value for `device`, issued at `now`.
    pub fn sign(&self, device: &Device, now: OffsetDateTime) -> String {
        let payload = format!(
            "v1.{}.{}.{}.{}",
            device.account_id,
            device.user_id,
            device.id,
            to_ms(now)
        );
        let tag = self
            .mac(&payload)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        format!("{payload}.{tag}")
    }

    /// The device a cookie value names, if the signature holds and it is
    /// within its lifetime.
    pub fn verify(&self, value: &str, now: OffsetDateTime) -> Option<Device> {
        let (payload, tag) = value.rsplit_once('.')?;
        let tag = hex::decode(tag).ok()?;
        self.mac(payload)?.verify_slice(&tag).ok()?;
        let mut parts = payload.split('.');
        let (Some("v1"), Some(account), Some(user), Some(id), Some(issued), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let issued = from_ms(issued.parse().ok()?);
        if now >= issued + LIFETIME {
            return None;
        }
        Some(Device {
            account_id: account.parse().ok()?,
            user_id: user.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// The cookie carrying a signed device value: `__Host-` rules, and kept for
/// the device's lifetime.
pub fn cookie(value: String) -> Cookie<'static> {
    let mut c = Cookie::new(NAME, value);
    c.set_secure(true);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    c.set_max_age(CookieDuration::seconds(LIFETIME.whole_seconds()));
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

    fn device() -> Device {
        Device {
            account_id: 1,
            user_id: 7,
            id: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    #[test]
    fn a_signed_device_verifies_until_its_lifetime_ends() {
        let key = DeviceKey::from_hex(&DeviceKey::generate_hex()).unwrap();
        let value = key.sign(&device(), NOW);
        assert_eq!(key.verify(&value, NOW + Duration::days(1)), Some(device()));
        assert_eq!(key.verify(&value, NOW + LIFETIME), None, "expired");
    }

    #[test]
    fn tampered_or_foreign_values_do_not_verify() {
        let key = DeviceKey::from_hex(&DeviceKey::generate_hex()).unwrap();
        let other = DeviceKey::from_hex(&DeviceKey::generate_hex()).unwrap();
        let value = key.sign(&device(), NOW);
        assert_eq!(other.verify(&value, NOW), None, "another key (rotated)");
        let forged = value.replacen("v1.1.7.", "v1.1.8.", 1);
        assert_eq!(key.verify(&forged, NOW), None, "another person");
        for junk in ["", "v1", "v1.1.7.x.0.zz", "a.b.c.d.e.f.g"] {
            assert_eq!(key.verify(junk, NOW), None, "{junk:?}");
        }
        assert!(!format!("{key:?}").contains(&hex::encode(&key.0)));
    }
}
