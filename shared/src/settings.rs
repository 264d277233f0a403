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
    /// A stricter policy for people with the admin role or
    /// `manage_security`; null: the agents' policy applies to them too.
    /// Each of its limits is at most the agents' (see `validate`).
    #[serde(default)]
    pub admins: Option<AudiencePolicy>,
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
                ..AudiencePolicy::default()
            },
            requesters: AudiencePolicy {
                idle_timeout_secs: DEFAULT_IDLE_SECS,
                absolute_timeout_secs: DEFAULT_ABSOLUTE_SECS,
                warning: Warning::Percent { percent: 80 },
                remember_me: false,
                ..AudiencePolicy::default()
            },
            admins: None,
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

    /// The policy as written for a person: the admins' policy for an admin
    /// (the admin role or `manage_security`) among the agents when the
    /// account has one, else the audience's. Not yet resolved for a
    /// remembered session: see [`SecuritySettings::policy_for`].
    pub fn base_policy(&self, audience: Audience, is_admin: bool) -> &AudiencePolicy {
        match (audience, &self.admins) {
            (Audience::Agents, Some(admins)) if is_admin => admins,
            _ => self.policy(audience),
        }
    }

    /// The one resolution step: the policy that governs a session of
    /// `audience`, held by an admin or not, remembered or not. Everything
    /// that evaluates a session (the server's check, the sweeper, the
    /// console's countdown through the session's view) goes through it.
    ///
    /// The result is the person's policy ([`SecuritySettings::base_policy`])
    /// with, for a remembered session its policy still lets keep its
    /// persistent cookie, the remembered idle and absolute limits in place
    /// of the ordinary ones; its own `remembered` is then `None`, so
    /// resolving it again changes nothing.
    pub fn policy_for(
        &self,
        audience: Audience,
        is_admin: bool,
        remembered: bool,
    ) -> AudiencePolicy {
        self.base_policy(audience, is_admin).resolved(remembered)
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
    /// The limits of remembered sessions; null: the same as the ordinary
    /// ones.
    #[serde(default)]
    pub remembered: Option<RememberedLimits>,
    /// The most live sessions one person may hold; null: no limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub max_sessions: Option<u32>,
    /// What a sign-in beyond `max_sessions` does.
    #[serde(default)]
    pub on_session_limit: OnSessionLimit,
}

impl Default for AudiencePolicy {
    /// The agents' defaults (8 h idle, 30 days, a warning a minute before,
    /// "Remember me" offered, no remembered limits, no session limit).
    fn default() -> Self {
        AudiencePolicy {
            idle_timeout_secs: DEFAULT_IDLE_SECS,
            absolute_timeout_secs: DEFAULT_ABSOLUTE_SECS,
            warning: Warning::Before { secs: 60 },
            remember_me: true,
            remembered: None,
            max_sessions: None,
            on_session_limit: OnSessionLimit::EndOldest,
        }
    }
}

/// The idle and absolute limits of remembered sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RememberedLimits {
    /// Seconds without activity after which a remembered session ends.
    pub idle_timeout_secs: u64,
    /// Seconds after sign-in after which a remembered session ends.
    pub absolute_timeout_secs: u64,
}

/// What a sign-in does when the person holds `max_sessions` live sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnSessionLimit {
    /// The oldest live session ends (revoked by "session limit").
    #[default]
    EndOldest,
    /// The sign-in is refused (409 `session_limit`).
    Refuse,
}

/// The fewest live sessions `max_sessions` may allow.
pub const MAX_SESSIONS_MIN: u32 = 1;
/// The most live sessions `max_sessions` may allow.
pub const MAX_SESSIONS_MAX: u32 = 100;

impl AudiencePolicy {
    /// Whether a session with a persistent cookie keeps it under this
    /// policy (false once "Remember me" is turned off).
    pub fn keeps_persistence(&self, persistent: bool) -> bool {
        persistent && self.remember_me
    }

    /// This policy for one session: for a remembered session that keeps
    /// its cookie, the remembered limits in place of the ordinary ones.
    /// Always `remembered: None`, so resolving twice is resolving once.
    /// (Called through [`SecuritySettings::policy_for`] and by `evaluate`.)
    pub fn resolved(&self, remembered: bool) -> AudiencePolicy {
        let mut p = self.clone();
        if let Some(limits) = p.remembered.take() {
            if self.keeps_persistence(remembered) {
                p.idle_timeout_secs = limits.idle_timeout_secs;
                p.absolute_timeout_secs = limits.absolute_timeout_secs;
            }
        }
        p
    }

    /// The remembered limits as they apply: their own, or the ordinary ones.
    pub fn remembered_limits(&self) -> RememberedLimits {
        self.remembered.unwrap_or(RememberedLimits {
            idle_timeout_secs: self.idle_timeout_secs,
            absolute_timeout_secs: self.absolute_timeout_secs,
        })
    }
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

/// When the warning appears before an idle sign-out: on the wire
/// `{"mode": "before", "secs": 60}` or `{"mode": "percent", "percent": 80}`
/// (contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// Reads the same JSON as `#[serde(tag = "mode")]` would, through a plain
/// struct. The derived reader of an internally tagged enum buffers the
/// object into serde's generic `Content` first, which costs the console's
/// wasm about 4 KB gzipped; this one reads it in one pass. Its errors are
/// serde's usual ones: an unknown or missing `mode`, a missing `secs` or
/// `percent`, the other mode's field.
impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Mode {
            Before,
            Percent,
        }

        #[derive(Deserialize)]
        #[serde(rename = "Warning", deny_unknown_fields)]
        struct Wire {
            mode: Mode,
            secs: Option<u64>,
            percent: Option<u32>,
        }

        let w = Wire::deserialize(d)?;
        match (w.mode, w.secs, w.percent) {
            (Mode::Before, Some(secs), None) => Ok(Warning::Before { secs }),
            (Mode::Percent, None, Some(percent)) => Ok(Warning::Percent { percent }),
            (Mode::Before, _, Some(_)) => Err(D::Error::unknown_field("percent", &["secs"])),
            (Mode::Percent, Some(_), _) => Err(D::Error::unknown_field("secs", &["percent"])),
            (Mode::Before, None, None) => Err(D::Error::missing_field("secs")),
            (Mode::Percent, None, None) => Err(D::Error::missing_field("percent")),
        }
    }
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
    /// "On a call" keeps a session alive at most this long after the last
    /// input: call heartbeats later than that do not count.
    #[serde(default = "default_call_max_secs")]
    #[cfg_attr(feature = "openapi", schema(minimum = 900, maximum = 86400))]
    pub call_max_secs: u64,
}

/// The default of `call_max_secs`: 4 hours.
pub const DEFAULT_CALL_MAX_SECS: u64 = 4 * HOUR;
/// The shortest `call_max_secs`: 15 minutes.
pub const CALL_MAX_MIN_SECS: u64 = 15 * MINUTE;
/// The longest `call_max_secs`: 24 hours.
pub const CALL_MAX_MAX_SECS: u64 = DAY;

fn default_call_max_secs() -> u64 {
    DEFAULT_CALL_MAX_SECS
}

impl Default for ActivityRules {
    fn default() -> Self {
        ActivityRules {
            background_requests_extend: false,
            hidden_tab_is_idle: true,
            active_call_extends: true,
            call_max_secs: DEFAULT_CALL_MAX_SECS,
        }
    }
}

impl ActivityRules {
    /// Whether an "on a call" heartbeat at `now` counts as activity, for a
    /// team member whose last input was at `last_input_at`: only under
    /// `active_call_extends`, and only within `call_max_secs` of that input,
    /// so an unattended desk on a call still signs out.
    pub fn call_counts(
        &self,
        last_input_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> bool {
        self.active_call_extends
            && now <= crate::deadline::add_secs(last_input_at, self.call_max_secs)
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
    fn a_warning_reads_as_the_derived_tagged_enum_would() {
        #[derive(Debug, Deserialize)]
        #[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
        enum Tagged {
            Before { secs: u64 },
            Percent { percent: u32 },
        }
        let same = [
            r#"{"mode":"before","secs":60}"#,
            r#"{"secs":60,"mode":"before"}"#,
            r#"{"mode":"percent","percent":80}"#,
            r#"{"mode":"never"}"#,
            r#"{"secs":60}"#,
            r#"{"mode":"before"}"#,
            r#"{"mode":"percent"}"#,
            r#"{"mode":"before","secs":60,"percent":5}"#,
            r#"{"mode":"percent","percent":80,"secs":60}"#,
            r#"{"mode":"before","secs":-1}"#,
            r#"{"mode":"before","secs":"60"}"#,
            r#"{"mode":"percent","percent":4294967296}"#,
            r#"{"mode":"before","secs":60,"secs":61}"#,
        ];
        // serde's words, without the position (which the buffered
        // derived reader loses, and the server leaves out).
        let words = |e: serde_json::Error| {
            let text = e.to_string();
            text.split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        for json in same {
            let ours = serde_json::from_str::<Warning>(json).map_err(words);
            let derived = serde_json::from_str::<Tagged>(json)
                .map(|t| match t {
                    Tagged::Before { secs } => Warning::Before { secs },
                    Tagged::Percent { percent } => Warning::Percent { percent },
                })
                .map_err(words);
            assert_eq!(ours, derived, "{json}");
        }
        // Refused too, in other words: another field, an explicit null,
        // not an object.
        for json in [
            r#"{"mode":"before","secs":60,"colour":"red"}"#,
            r#"{"mode":"before","secs":null}"#,
            "null",
        ] {
            assert!(serde_json::from_str::<Warning>(json).is_err(), "{json}");
            assert!(serde_json::from_str::<Tagged>(json).is_err(), "{json}");
        }
    }

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
        // The shape stored before the policy additions: it still reads,
        // and gets their defaults.
        let parsed: SecuritySettings = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, SecuritySettings::default());
        let mut back = serde_json::to_value(&parsed).unwrap();
        for audience in ["agents", "requesters"] {
            let p = back[audience].as_object_mut().unwrap();
            assert_eq!(p.remove("remembered"), Some(serde_json::Value::Null));
            assert_eq!(p.remove("max_sessions"), Some(serde_json::Value::Null));
            assert_eq!(p.remove("on_session_limit"), Some("end_oldest".into()));
        }
        let top = back.as_object_mut().unwrap();
        assert_eq!(top.remove("admins"), Some(serde_json::Value::Null));
        assert_eq!(
            top["activity"]
                .as_object_mut()
                .unwrap()
                .remove("call_max_secs"),
            Some(14400.into())
        );
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn the_policy_additions_read_as_the_spec_writes_them() {
        let json = r#"{
          "agents":     { "idle_timeout_secs": 28800, "absolute_timeout_secs": 2592000,
                          "warning": { "mode": "before", "secs": 60 },
                          "remember_me": true,
                          "remembered": { "idle_timeout_secs": 604800, "absolute_timeout_secs": 7776000 },
                          "max_sessions": 3, "on_session_limit": "refuse" },
          "requesters": { "idle_timeout_secs": 28800, "absolute_timeout_secs": 2592000,
                          "warning": { "mode": "percent", "percent": 80 },
                          "remember_me": false },
          "admins": null,
          "activity":   { "background_requests_extend": false,
                          "hidden_tab_is_idle": true,
                          "active_call_extends": true, "call_max_secs": 3600 }
        }"#;
        let parsed: SecuritySettings = serde_json::from_str(json).unwrap();
        assert_eq!(
            parsed.agents.remembered,
            Some(RememberedLimits {
                idle_timeout_secs: 7 * DAY,
                absolute_timeout_secs: 90 * DAY
            })
        );
        assert_eq!(parsed.agents.max_sessions, Some(3));
        assert_eq!(parsed.agents.on_session_limit, OnSessionLimit::Refuse);
        assert_eq!(parsed.requesters.max_sessions, None);
        assert_eq!(parsed.activity.call_max_secs, HOUR);
        let again: SecuritySettings =
            serde_json::from_value(serde_json::to_value(&parsed).unwrap()).unwrap();
        assert_eq!(again, parsed);
    }

    #[test]
    fn policy_for_picks_the_admins_policy_and_the_remembered_limits() {
        let mut s = SecuritySettings::default();
        s.agents.remembered = Some(RememberedLimits {
            idle_timeout_secs: 7 * DAY,
            absolute_timeout_secs: 90 * DAY,
        });
        let admins = AudiencePolicy {
            idle_timeout_secs: HOUR,
            absolute_timeout_secs: DAY,
            remember_me: false,
            ..AudiencePolicy::default()
        };
        s.admins = Some(admins.clone());
        let agent = s.policy_for(Audience::Agents, false, false);
        assert_eq!(agent.idle_timeout_secs, DEFAULT_IDLE_SECS, "agent");
        let remembered = s.policy_for(Audience::Agents, false, true);
        assert_eq!(remembered.idle_timeout_secs, 7 * DAY, "remembered agent");
        assert_eq!(remembered.absolute_timeout_secs, 90 * DAY);
        assert_eq!(remembered.remembered, None, "resolved once");
        assert_eq!(remembered.resolved(true), remembered, "resolving again");
        assert_eq!(s.policy_for(Audience::Agents, true, true), admins, "admin");
        let requester = s.policy_for(Audience::Requesters, true, false);
        assert_eq!(&requester, s.policy(Audience::Requesters), "requester");
        // A remembered session whose audience stopped offering "Remember
        // me" is under the ordinary limits (and loses its cookie).
        s.agents.remember_me = false;
        assert_eq!(
            s.policy_for(Audience::Agents, false, true)
                .idle_timeout_secs,
            DEFAULT_IDLE_SECS
        );
    }

    #[test]
    fn call_heartbeats_count_only_within_call_max_of_the_last_input() {
        let input = time::macros::datetime!(2026-01-01 09:00 UTC);
        let rules = ActivityRules::default();
        let at = |secs: i64| input + time::Duration::seconds(secs);
        assert!(rules.call_counts(input, at(4 * 3600)));
        assert!(!rules.call_counts(input, at(4 * 3600 + 1)));
        let off = ActivityRules {
            active_call_extends: false,
            ..rules
        };
        assert!(!off.call_counts(input, at(1)));
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
            ..AudiencePolicy::default()
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
            ..AudiencePolicy::default()
        };
        assert_eq!(policy.warning_lead_ms(), 2_000);
        let six = AudiencePolicy {
            idle_timeout_secs: 6,
            ..policy
        };
        assert_eq!(six.warning_lead_ms(), 1_200);
    }
}
