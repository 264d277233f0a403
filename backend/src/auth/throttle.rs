//! Sign-in throttling, kept in the database so every replica sees it.
//!
//! Every attempt is *reserved* before its password is checked: the counter
//! is read and bumped under a row lock, so N attempts at once are counted
//! one after another and at most the budget of them reach the password
//! check. Four budgets:
//!
//! - **per client address across people** (IPv4 address, IPv6 /64) for
//!   browsers that never signed in as the person: at most 50 checks in any
//!   15 minutes (the same two-window rule as per person). Checked first,
//!   so one address spraying one password over every person of an account
//!   is refused before any hash, and before it spends their budgets.
//!
//! - **per address** (account, email and client address) for browsers that
//!   never signed in as that person: 5 checks in 15 minutes; the fifth locks
//!   that address out of that sign-in for 30 s, each later one for twice as
//!   long, up to 15 minutes. It stops guessing from one place without
//!   touching anybody else.
//! - **per person** (account and email) for those browsers, from anywhere:
//!   at most 100 checks in any rolling hour (NIST 800-63B 5.2.2): a check is
//!   allowed only while this hour-long window's count and the last one's
//!   together stay within 100, and any hour overlaps at most those two.
//!   Past it, 429 until the window ends.
//! - **per known browser**: a browser presenting a valid device cookie for
//!   that person (see `device`) counts against its own budget of 10 checks
//!   in 15 minutes (locked like an address), and none of the above: an
//!   attack on the person, or junk from the browser's network, cannot lock
//!   them out of their own browser.
//!
//! A successful sign-in clears the address's (or the device's) counter and
//! gives back its reservations on the person's and the network's budgets:
//! only failures count. Sign-ins for an account that does not exist are
//! not checked at all (no hash), so they reserve nothing.

use time::OffsetDateTime;

use crate::store::throttle::{self, Counter};
use crate::store::{to_ms, Result, Store};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// A budget that locks when spent.
#[derive(Debug, Clone, Copy)]
struct Lockout {
    limit: i64,
    window_ms: i64,
    first_lock_ms: i64,
    max_lock_ms: i64,
}

/// Browsers that never signed in as the person, per client address.
const PER_ADDRESS: Lockout = Lockout {
    limit: 5,
    window_ms: 15 * MINUTE_MS,
    first_lock_ms: 30_000,
    max_lock_ms: 15 * MINUTE_MS,
};

/// A browser that signed in as the person before.
const PER_DEVICE: Lockout = Lockout {
    limit: 10,
    window_ms: 15 * MINUTE_MS,
    first_lock_ms: 30_000,
    max_lock_ms: 15 * MINUTE_MS,
};

/// Checks per person per rolling hour from browsers that never signed in
/// as them.
pub const PER_PERSON_PER_HOUR: i64 = 100;

/// Checks per client network (IPv4 address, IPv6 /64) per rolling 15
/// minutes, across people, from browsers that never signed in as them.
pub const PER_NETWORK: i64 = 50;
const NETWORK_WINDOW_MS: i64 = 15 * MINUTE_MS;

/// What a reservation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the password.
    Allowed,
    /// Refuse without checking; try again in this many seconds.
    Refused {
        /// Seconds.
        retry_after_secs: u64,
    },
}

fn secs(ms: i64) -> u64 {
    u64::try_from(ms.max(1)).unwrap_or(1).div_ceil(1000)
}

fn reserve_lockout(rule: Lockout, mut c: Counter, now: i64) -> (Counter, Decision) {
    if c.locked_until > now {
        return (
            c,
            Decision::Refused {
                retry_after_secs: secs(c.locked_until - now),
            },
        );
    }
    if now - c.window_start >= rule.window_ms {
        c.failures = 0;
        c.window_start = now;
    }
    c.failures += 1;
    if c.failures >= rule.limit {
        let doublings = u32::try_from((c.failures - rule.limit).min(16)).unwrap_or(16);
        c.locked_until = now + (rule.first_lock_ms << doublings).min(rule.max_lock_ms);
    }
    (c, Decision::Allowed)
}

/// Moves a window of `window_ms` forward to `now`.
fn roll(mut c: Counter, window_ms: i64, now: i64) -> Counter {
    let elapsed = now - c.window_start;
    if elapsed >= 2 * window_ms {
        c.previous = 0;
        c.failures = 0;
        c.window_start = now;
    } else if elapsed >= window_ms {
        c.previous = c.failures;
        c.failures = 0;
        c.window_start += window_ms;
    }
    c
}

/// At most `limit` checks in any `window_ms`: a check is allowed only while
/// this window's count and the last one's together stay within `limit`,
/// and any span of `window_ms` overlaps at most those two.
fn reserve_sliding(limit: i64, window_ms: i64, c: Counter, now: i64) -> (Counter, Decision) {
    let mut c = roll(c, window_ms, now);
    if c.previous + c.failures < limit {
        c.failures += 1;
        return (c, Decision::Allowed);
    }
    let retry_after_secs = secs(c.window_start + window_ms - now);
    (c, Decision::Refused { retry_after_secs })
}

fn reserve_person(c: Counter, now: i64) -> (Counter, Decision) {
    reserve_sliding(PER_PERSON_PER_HOUR, HOUR_MS, c, now)
}

fn reserve_network(c: Counter, now: i64) -> (Counter, Decision) {
    reserve_sliding(PER_NETWORK, NETWORK_WINDOW_MS, c, now)
}

/// Gives back one reservation on a sliding budget.
fn give_back(c: Counter, window_ms: i64, now: i64) -> Counter {
    let mut c = roll(c, window_ms, now);
    c.failures = (c.failures - 1).max(0);
    c
}

/// The network a client address belongs to for the per-network budget:
/// an IPv4 address itself, an IPv6 address's /64 (one subscriber's
/// prefix, inside which an attacker picks addresses freely). What does not
/// parse as an address is taken as it is.
fn network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The throttle keys of one sign-in attempt.
#[derive(Debug, Clone)]
pub struct Keys {
    network: String,
    address: String,
    person: String,
    device: Option<String>,
}

fn hash(s: String) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl Keys {
    /// Keys for an attempt on `account`/`email` from `ip`; `device` is the
    /// id of a valid device cookie for that very person, if the browser
    /// sent one. Inputs are normalised so that case changes do not dodge a
    /// counter, and stored as SHA-256 hex: bounded in length, and safe
    /// whatever bytes a client sends.
    pub fn new(account: &str, email: &str, ip: &str, device: Option<&str>) -> Keys {
        let account = account.trim().to_lowercase();
        let email = email.trim().to_lowercase();
        Keys {
            network: hash(format!("n|{}", network(ip))),
            address: hash(format!("a|{account}|{email}|{ip}")),
            person: hash(format!("u|{account}|{email}")),
            device: device.map(|d| hash(format!("d|{d}|{account}|{email}"))),
        }
    }
}

/// Reserves a password check for this attempt.
pub async fn reserve(store: &Store, keys: &Keys, now: OffsetDateTime) -> Result<Decision> {
    let now = to_ms(now);
    if let Some(device) = &keys.device {
        return throttle::update(store, device, now, |c| reserve_lockout(PER_DEVICE, c, now)).await;
    }
    // First, so that an address past its budget spends nobody's else.
    // An attempt another budget then refuses keeps its reservation here:
    // it was a guess too.
    let network = throttle::update(store, &keys.network, now, |c| reserve_network(c, now)).await?;
    if network != Decision::Allowed {
        return Ok(network);
    }
    let address = throttle::update(store, &keys.address, now, |c| {
        reserve_lockout(PER_ADDRESS, c, now)
    })
    .await?;
    if address != Decision::Allowed {
        return Ok(address);
    }
    throttle::update(store, &keys.person, now, |c| reserve_person(c, now)).await
}

/// After a successful sign-in: this browser's counter is cleared and the
/// reservations on the person's and the network's budgets given back.
pub async fn succeeded(store: &Store, keys: &Keys, now: OffsetDateTime) -> Result<()> {
    if let Some(device) = &keys.device {
        return throttle::delete(store, device).await;
    }
    throttle::delete(store, &keys.address).await?;
    let now = to_ms(now);
    throttle::update(store, &keys.person, now, |c| {
        (give_back(c, HOUR_MS, now), ())
    })
    .await?;
    throttle::update(store, &keys.network, now, |c| {
        (give_back(c, NETWORK_WINDOW_MS, now), ())
    })
    .await
}

/// The wrong-API-token budget's key for a client address: its network
/// (as for sign-in), under a counter of its own, so a script with a typo
/// does not lock the office out of signing in, nor the other way round.
pub fn token_key(ip: &str) -> String {
    hash(format!("t|{}", network(ip)))
}

/// Whether a bearer token from this network may be looked up at all:
/// refused, before any lookup, while its wrong tokens have spent the
/// budget ([`PER_NETWORK`] in any 15 minutes). Only reads: a request with a
/// right token writes nothing here.
pub async fn token_check(store: &Store, key: &str, now: OffsetDateTime) -> Result<Decision> {
    let now = to_ms(now);
    let Some(c) = throttle::get(store, key).await? else {
        return Ok(Decision::Allowed);
    };
    let c = roll(c, NETWORK_WINDOW_MS, now);
    if c.previous + c.failures < PER_NETWORK {
        return Ok(Decision::Allowed);
    }
    Ok(Decision::Refused {
        retry_after_secs: secs(c.window_start + NETWORK_WINDOW_MS - now),
    })
}

/// Counts a wrong token from this network; refused when it did not fit
/// the budget (requests that passed [`token_check`] at once are counted
/// one after another, and those past the budget refused).
pub async fn token_failed(store: &Store, key: &str, now: OffsetDateTime) -> Result<Decision> {
    let now = to_ms(now);
    throttle::update(store, key, now, |c| reserve_network(c, now)).await
}

/// Forgets counters whose windows and lock have all passed.
pub async fn prune(store: &Store, now: OffsetDateTime) -> Result<u64> {
    let now_ms = to_ms(now);
    throttle::prune(store, now_ms - 2 * HOUR_MS, now_ms).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(d: Decision) -> bool {
        d == Decision::Allowed
    }

    #[test]
    fn an_address_gets_five_checks_then_doubling_locks() {
        let mut c = Counter::default();
        for i in 0..5 {
            let (next, d) = reserve_lockout(PER_ADDRESS, c, 1_000);
            assert!(allowed(d), "check {i}");
            c = next;
        }
        assert_eq!(c.locked_until, 1_000 + 30_000, "the fifth locks for 30 s");
        let (_, d) = reserve_lockout(PER_ADDRESS, c, 2_000);
        assert_eq!(
            d,
            Decision::Refused {
                retry_after_secs: 29
            }
        );
        let (c, d) = reserve_lockout(PER_ADDRESS, c, 31_000);
        assert!(allowed(d), "one more once the lock is over");
        assert_eq!(c.locked_until, 31_000 + 60_000, "then twice as long");
    }

    #[test]
    fn an_ipv6_network_is_its_slash_64_and_an_ipv4_one_its_address() {
        let cases = [
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("203.0.113.7", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("unknown", "unknown"),
        ];
        for (ip, net) in cases {
            assert_eq!(network(ip), net, "{ip}");
        }
        let a = Keys::new("demo", "a@x", "2001:db8:1:2::1", None);
        let b = Keys::new("other", "b@y", "2001:db8:1:2:9::9", None);
        assert_eq!(
            a.network, b.network,
            "one budget across people and accounts"
        );
        assert_ne!(a.address, b.address);
    }

    #[test]
    fn a_network_gets_fifty_checks_in_any_fifteen_minutes() {
        let mut c = Counter::default();
        for i in 0..PER_NETWORK {
            let (next, d) = reserve_network(c, 1_000 + i);
            assert!(allowed(d), "check {i}");
            c = next;
        }
        let (c, d) = reserve_network(c, 2_000);
        let Decision::Refused { retry_after_secs } = d else {
            panic!("the 51st is refused");
        };
        assert!((1..=900).contains(&retry_after_secs), "{retry_after_secs}");
        // A success gives its reservation back.
        let c = give_back(c, NETWORK_WINDOW_MS, 3_000);
        let (c, d) = reserve_network(c, 3_000);
        assert!(allowed(d));
        // Half an hour later the two windows are past.
        let (_, d) = reserve_network(c, 1_000 + 2 * NETWORK_WINDOW_MS);
        assert!(allowed(d));
    }

    #[test]
    fn a_person_gets_at_most_a_hundred_checks_in_any_hour() {
        let mut c = Counter::default();
        let mut checks = 0;
        // Attempts every 10 s for six hours, in bursts of one a second at
        // the end of each hour: never more than 100 in any hour.
        let mut times = Vec::new();
        let moments = (0..6 * 360).map(|step| step * 10_000).chain(
            (0..6).flat_map(|h| (0..300).map(move |s| h * HOUR_MS + HOUR_MS - 300_000 + s * 1_000)),
        );
        let mut moments: Vec<i64> = moments.collect();
        moments.sort_unstable();
        for now in moments {
            let (next, d) = reserve_person(c, now);
            c = next;
            if allowed(d) {
                checks += 1;
                times.push(now);
            } else if let Decision::Refused { retry_after_secs } = d {
                assert!((1..=3600).contains(&retry_after_secs));
            }
        }
        for (i, t) in times.iter().enumerate() {
            let in_hour = times[i..].iter().take_while(|u| **u < t + HOUR_MS).count();
            assert!(in_hour <= 100, "{in_hour} checks in the hour from {t}");
        }
        assert!(checks >= 200, "the budget refills: {checks}");
    }
}
