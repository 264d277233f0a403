//! Words and badges the console shows about a policy: compliance with NIST
//! SP 800-63B reauthentication limits, the best-practice hint, and what a
//! signed-out person is told. Pure, so the server and console agree.

use serde::{Deserialize, Serialize};

use crate::api::UnauthenticatedReason;
use crate::settings::{describe_secs, AudiencePolicy, DAY, HOUR, MINUTE};

/// A compliance level a policy meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Badge {
    /// NIST 800-63B AAL2: idle at most 1 h, overall at most 24 h.
    NistAal2,
    /// NIST 800-63B AAL3: idle at most 15 min, overall at most 12 h.
    NistAal3,
}

impl Badge {
    /// The badge's text.
    pub fn label(self) -> &'static str {
        match self {
            Badge::NistAal2 => "Meets NIST 800-63B AAL2",
            Badge::NistAal3 => "Meets NIST 800-63B AAL3",
        }
    }

    /// What the level asks for.
    pub fn requirement(self) -> &'static str {
        match self {
            Badge::NistAal2 => "idle timeout of 1 hour or less, sessions of 24 hours or less",
            Badge::NistAal3 => "idle timeout of 15 minutes or less, sessions of 12 hours or less",
        }
    }
}

/// The idle timeout security guidance recommends for help-desk staff.
pub const BEST_PRACTICE_IDLE_SECS: u64 = 15 * MINUTE;

/// Every badge the policy earns, strongest last.
pub fn badges(p: &AudiencePolicy) -> Vec<Badge> {
    let mut out = Vec::new();
    if p.idle_timeout_secs <= HOUR && p.absolute_timeout_secs <= DAY {
        out.push(Badge::NistAal2);
    }
    if p.idle_timeout_secs <= 15 * MINUTE && p.absolute_timeout_secs <= 12 * HOUR {
        out.push(Badge::NistAal3);
    }
    out
}

/// The hint shown when the idle timeout is longer than best practice.
pub fn best_practice_hint(p: &AudiencePolicy) -> Option<String> {
    (p.idle_timeout_secs > BEST_PRACTICE_IDLE_SECS).then(|| {
        format!(
            "Best practice: {} for accounts that handle customer data.",
            describe_secs(BEST_PRACTICE_IDLE_SECS)
        )
    })
}

/// A limit as an adjective: "30-day", "12-hour", or "1 hour 30 minutes".
fn limit_words(secs: u64) -> String {
    let words = describe_secs(secs);
    match words.split_once(' ') {
        Some((n, unit)) if !unit.contains(' ') => {
            format!("{n}-{}", unit.strip_suffix('s').unwrap_or(unit))
        }
        _ => words,
    }
}

/// The heads-up before the absolute limit: "Your session reaches its
/// 12-hour limit at 17:00 — save your work." (`at` in the person's own
/// time, formatted by the caller).
pub fn limit_heads_up_message(absolute_secs: u64, at: &str) -> String {
    format!(
        "Your session reaches its {} limit at {at} — save your work.",
        limit_words(absolute_secs)
    )
}

/// What the signed-out screen says, given why and the policy in force.
pub fn signed_out_message(
    reason: UnauthenticatedReason,
    idle_secs: u64,
    absolute_secs: u64,
) -> String {
    use crate::deadline::EndReason;
    match reason {
        UnauthenticatedReason::Ended(EndReason::IdleTimeout) => format!(
            "You were signed out after {} of inactivity.",
            describe_secs(idle_secs)
        ),
        UnauthenticatedReason::Ended(EndReason::AbsoluteTimeout) => format!(
            "You were signed out because the session reached its {} limit.",
            limit_words(absolute_secs)
        ),
        UnauthenticatedReason::Ended(EndReason::Revoked) => {
            "You were signed out because an admin ended your session.".to_owned()
        }
        UnauthenticatedReason::Ended(EndReason::LoggedOut) => "You signed out.".to_owned(),
        UnauthenticatedReason::Missing
        | UnauthenticatedReason::Invalid
        | UnauthenticatedReason::InvalidToken => {
            "Your session has ended. Please sign in again.".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Warning;

    fn policy(idle: u64, abs: u64) -> AudiencePolicy {
        AudiencePolicy {
            idle_timeout_secs: idle,
            absolute_timeout_secs: abs,
            warning: Warning::Before { secs: 60 },
            remember_me: false,
            ..AudiencePolicy::default()
        }
    }

    #[test]
    fn badges_follow_the_nist_limits() {
        assert_eq!(badges(&policy(8 * HOUR, 30 * DAY)), vec![]);
        assert_eq!(badges(&policy(HOUR, DAY)), vec![Badge::NistAal2]);
        assert_eq!(
            badges(&policy(15 * MINUTE, 12 * HOUR)),
            vec![Badge::NistAal2, Badge::NistAal3]
        );
        assert_eq!(
            badges(&policy(15 * MINUTE, 13 * HOUR)),
            vec![Badge::NistAal2]
        );
    }

    #[test]
    fn the_hint_appears_above_fifteen_minutes() {
        assert!(best_practice_hint(&policy(15 * MINUTE, DAY)).is_none());
        assert!(best_practice_hint(&policy(30 * MINUTE, DAY))
            .unwrap()
            .contains("15 minutes"));
    }

    #[test]
    fn the_limit_heads_up_names_the_limit_and_the_time() {
        assert_eq!(
            limit_heads_up_message(12 * 3600, "17:00"),
            "Your session reaches its 12-hour limit at 17:00 — save your work."
        );
    }

    #[test]
    fn signed_out_messages_say_why() {
        use crate::deadline::EndReason as E;
        use UnauthenticatedReason as R;
        assert_eq!(
            signed_out_message(R::Ended(E::IdleTimeout), 15 * MINUTE, DAY),
            "You were signed out after 15 minutes of inactivity."
        );
        assert_eq!(
            signed_out_message(R::Ended(E::AbsoluteTimeout), HOUR, 30 * DAY),
            "You were signed out because the session reached its 30-day limit."
        );
        assert_eq!(
            signed_out_message(R::Ended(E::AbsoluteTimeout), HOUR, 90 * MINUTE),
            "You were signed out because the session reached its 1 hour 30 minutes limit."
        );
        assert!(signed_out_message(R::Ended(E::Revoked), HOUR, DAY)
            .contains("an admin ended your session"));
    }
}
