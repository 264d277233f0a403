//! The settings an account admin chooses: per-audience policies, the
//! activity rules, the slider presets and the platform limits.

use serde::{Deserialize, Serialize};

/// One minute, in seconds.
pub const MINUTE: u64 = 60;
/// One hour, in seconds.
pub const HOUR: u64 = 60 * MINUTE;
/// One day, in seconds.
pub const DAY: u64 = 24 * HOUR;

/// The idle-timeout slider's stops (contract): 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 24 h.
pub const IDLE_PRESETS_SECS: [u64; 7] = [
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    24 * HOUR,
];

/// Default idle timeout: 8 hours.
pub const DEFAULT_IDLE_SECS: u64 = 8 * HOUR;
/// Default absolute lifetime: 30 days.
pub const DEFAULT_ABSOLUTE_SECS: u64 = 30 * DAY;

/// Who a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Admins and agents (team members).
    Agents,
    /// End users of the help desk.
    Requesters,
}

impl Audience {
    /// Both audiences, in display order.
    pub const ALL: [Audience; 2] = [Audience::Agents, Audience::Requesters];

    /// The wire name, also the first segment of a field path.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Agents => "agents",
            Audience::Requesters => "requesters",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agents" => Some(Audience::Agents),
            "requesters" => Some(Audience::Requesters),
            _ => None,
        }
    }
}

/// An account's whole session-security configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Policy for admins and agents.
    pub agents: AudiencePolicy,
    /// Policy for requesters.
    pub requesters: AudiencePolicy,
    /// What keeps a session alive, for both audiences.
    pub activity: ActivityRules,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            agents: AudiencePolicy {
                idle_timeout_secs: DEFAULT_IDLE_SECS,
                absolute_timeout_secs: DEFAULT_ABSOLUTE_SECS,
                warning: Warning::Before { secs: 60 },
                remember_me: true,
            },
            requesters: AudiencePolicy {
                idle_timeout_secs: DEFAULT_IDLE_SECS,
                absolute_timeout_secs: DEFAULT_ABSOLUTE_SECS,
                warning: Warning::Percent { percent: 80 },
                remember_me: false,
            },
            activity: ActivityRules::default(),
        }
    }
}

impl SecuritySettings {
    /// The policy of one audience.
    pub fn policy(&self, audience: Audience) -> &AudiencePolicy {
        match audience {
            Audience::Agents => &self.agents,
            Audience::Requesters => &self.requesters,
        }
    }

    /// Mutable access to the policy of one audience.
    pub fn policy_mut(&mut self, audience: Audience) -> &mut AudiencePolicy {
        match audience {
            Audience::Agents => &mut self.agents,
            Audience::Requesters => &mut self.requesters,
        }
    }
}

/// The timeouts and options of one audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AudiencePolicy {
    /// Seconds without activity after which the session ends.
    pub idle_timeout_secs: u64,
    /// Seconds after sign-in after which the session ends whatever the activity.
    pub absolute_timeout_secs: u64,
    /// When the warning appears.
    pub warning: Warning,
    /// Whether the login page for this audience offers "Remember me".
    pub remember_me: bool,
}

impl AudiencePolicy {
    /// How long before the idle deadline the warning appears, in
    /// milliseconds.
    ///
    /// `before` gives its seconds; `percent` warns once that share of the
    /// idle timeout has passed, to the millisecond (a 6 s timeout at 80%
    /// warns at 4.8 s). Never zero, never the whole idle timeout, so the
    /// warning always comes strictly before the deadline (for any policy,
    /// valid or not, with a positive idle timeout).
    pub fn warning_lead_ms(&self) -> u64 {
        let idle = self.idle_timeout_secs.saturating_mul(1000);
        let lead = match self.warning {
            Warning::Before { secs } => secs.saturating_mul(1000),
            Warning::Percent { percent } => {
                let percent = u128::from(percent.min(100));
                // Round the warning instant down, so the lead rounds up.
                let warned_after = u128::from(idle) * percent / 100;
                idle - u64::try_from(warned_after).unwrap_or(idle)
            }
        };
        lead.clamp(1, idle.max(1))
    }
}

impl AudiencePolicy {
    /// How long before the absolute deadline the person hears of it:
    /// [`LIMIT_HEADS_UP_MS`] (ten minutes), or the warning lead when that is
    /// longer, so the limit is never announced later than inactivity would be.
    pub fn heads_up_lead_ms(&self) -> u64 {
        LIMIT_HEADS_UP_MS.max(self.warning_lead_ms())
    }

    /// The shortest gap between two input reports from one browser:
    /// a twentieth of the idle timeout, at most a minute. Each report moves
    /// the idle deadline, so this loses at most 5% of the timeout.
    pub fn input_report_gap_ms(&self) -> u64 {
        (self.idle_timeout_secs.saturating_mul(50)).clamp(1, 60_000)
    }
}

/// How long before the absolute limit its heads-up appears, by default.
pub const LIMIT_HEADS_UP_MS: u64 = 10 * 60 * 1000;

/// When the warning appears before an idle sign-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Warning {
    /// `secs` seconds before the deadline.
    Before {
        /// Seconds of warning.
        secs: u64,
    },
    /// Once `percent` of the idle timeout has passed.
    Percent {
        /// Share of the idle timeout, 50 to 95.
        percent: u32,
    },
}

/// What keeps a session alive besides user input, which always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivityRules {
    /// Requests sent with `X-Vigil-Background: 1` (polling) count as activity.
    pub background_requests_extend: bool,
    /// A hidden or minimised tab counts as idle (when false, it keeps the session alive).
    pub hidden_tab_is_idle: bool,
    /// An agent on a live call stays signed in.
    pub active_call_extends: bool,
}

impl Default for ActivityRules {
    fn default() -> Self {
        ActivityRules {
            background_requests_extend: false,
            hidden_tab_is_idle: true,
            active_call_extends: true,
        }
    }
}

/// The platform's bounds on what an admin may choose; ops can move the idle
/// bounds, the rest are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Shortest idle timeout.
    pub idle_min_secs: u64,
    /// Longest idle timeout.
    pub idle_max_secs: u64,
    /// Shortest absolute lifetime.
    pub absolute_min_secs: u64,
    /// Longest absolute lifetime.
    pub absolute_max_secs: u64,
    /// Shortest `before` warning.
    pub warning_before_min_secs: u64,
    /// Lowest `percent` warning.
    pub warning_percent_min: u32,
    /// Highest `percent` warning.
    pub warning_percent_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            idle_min_secs: 15 * MINUTE,
            idle_max_secs: 720 * HOUR,
            absolute_min_secs: HOUR,
            absolute_max_secs: Limits::ABSOLUTE_MAX_SECS,
            warning_before_min_secs: 10,
            warning_percent_min: 50,
            warning_percent_max: 95,
        }
    }
}

impl Limits {
    /// The longest a session may live, whatever ops configure (365 days):
    /// the idle bounds ops set must fit inside it.
    pub const ABSOLUTE_MAX_SECS: u64 = 365 * DAY;

    /// The default limits with the idle bounds replaced.
    pub fn with_idle_bounds(idle_min_secs: u64, idle_max_secs: u64) -> Self {
        Limits {
            idle_min_secs,
            idle_max_secs,
            ..Limits::default()
        }
    }
}

/// A duration in words, largest sensible unit first: "15 minutes", "8 hours",
/// "1 hour 30 minutes", "30 days", "45 seconds".
pub fn describe_secs(secs: u64) -> String {
    fn unit(n: u64, one: &str, many: &str) -> String {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    }
    if secs == 0 {
        return "0 seconds".to_owned();
    }
    // Admins think of one day as "24 hours", the slider's last stop.
    if secs == DAY {
        return "24 hours".to_owned();
    }
    let (days, rest) = (secs / DAY, secs % DAY);
    let (hours, rest) = (rest / HOUR, rest % HOUR);
    let (minutes, seconds) = (rest / MINUTE, rest % MINUTE);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(unit(days, "day", "days"));
    }
    if hours > 0 {
        parts.push(unit(hours, "hour", "hours"));
    }
    if minutes > 0 {
        parts.push(unit(minutes, "minute", "minutes"));
    }
    if seconds > 0 {
        parts.push(unit(seconds, "second", "seconds"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_spec_json() {
        let json = r#"{
          "agents":     { "idle_timeout_secs": 28800, "absolute_timeout_secs": 2592000,
                          "warning": { "mode": "before", "secs": 60 },
                          "remember_me": true },
          "requesters": { "idle_timeout_secs": 28800, "absolute_timeout_secs": 2592000,
                          "warning": { "mode": "percent", "percent": 80 },
                          "remember_me": false },
          "activity":   { "background_requests_extend": false,
                          "hidden_tab_is_idle": true,
                          "active_call_extends": true }
        }"#;
        let parsed: SecuritySettings = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, SecuritySettings::default());
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        let mut v = serde_json::to_value(SecuritySettings::default()).unwrap();
        v["agents"]["warning"]["extra"] = 1.into();
        assert!(
            serde_json::from_value::<SecuritySettings>(v).is_err(),
            "warning"
        );
        let mut v = serde_json::to_value(SecuritySettings::default()).unwrap();
        v["requesters"]["extra"] = 1.into();
        assert!(
            serde_json::from_value::<SecuritySettings>(v).is_err(),
            "policy"
        );
        let mut v = serde_json::to_value(SecuritySettings::default()).unwrap();
        v["extra"] = 1.into();
        assert!(
            serde_json::from_value::<SecuritySettings>(v).is_err(),
            "top level"
        );
    }

    #[test]
    fn durations_read_as_words() {
        for (secs, words) in [
            (15 * MINUTE, "15 minutes"),
            (HOUR, "1 hour"),
            (8 * HOUR, "8 hours"),
            (DAY, "24 hours"),
            (30 * DAY, "30 days"),
            (90 * MINUTE, "1 hour 30 minutes"),
            (10, "10 seconds"),
        ] {
            assert_eq!(describe_secs(secs), words, "{secs} s");
        }
    }

    #[test]
    fn input_reports_scale_with_the_idle_timeout() {
        let mut p = AudiencePolicy {
            idle_timeout_secs: 8 * HOUR,
            absolute_timeout_secs: DAY,
            warning: Warning::Before { secs: 60 },
            remember_me: false,
        };
        assert_eq!(p.input_report_gap_ms(), 60_000);
        p.idle_timeout_secs = 15 * 60;
        assert_eq!(p.input_report_gap_ms(), 45_000);
        p.idle_timeout_secs = 5;
        assert_eq!(p.input_report_gap_ms(), 250);
    }

    #[test]
    fn percent_warning_lead_is_the_rest_of_the_idle_timeout() {
        let policy = AudiencePolicy {
            idle_timeout_secs: 10,
            absolute_timeout_secs: HOUR,
            warning: Warning::Percent { percent: 80 },
            remember_me: false,
        };
        assert_eq!(policy.warning_lead_ms(), 2_000);
        let six = AudiencePolicy {
            idle_timeout_secs: 6,
            ..policy
        };
        assert_eq!(six.warning_lead_ms(), 1_200);
    }
}
