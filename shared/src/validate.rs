//! The one validation of [`SecuritySettings`], run by the console as the
//! admin types and by the server on every write.

use serde::{Deserialize, Serialize};

use crate::settings::{
    describe_secs, Audience, AudiencePolicy, Limits, SecuritySettings, Warning, CALL_MAX_MAX_SECS,
    CALL_MAX_MIN_SECS, MAX_SESSIONS_MAX, MAX_SESSIONS_MIN,
};

/// Why a field was rejected (machine-readable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorCode {
    /// Below the smallest allowed value.
    TooSmall,
    /// Above the largest allowed value.
    TooLarge,
    /// An absolute timeout shorter than the idle timeout.
    BelowIdleTimeout,
    /// A value of the wrong JSON type, or one that does not fit (negative, too big).
    InvalidType,
    /// A required field is absent.
    MissingField,
    /// A field the API does not know.
    UnknownField,
    /// Text that is empty or too long, or otherwise malformed.
    Invalid,
    /// A limit of the admins' policy looser than the agents'.
    LooserThanAgents,
}

/// One rejected field: where, why, and what to tell a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Dotted path from the root of the settings, e.g. `agents.idle_timeout_secs`.
    pub path: String,
    /// Machine code.
    pub code: FieldErrorCode,
    /// Human message, complete enough to show beside the field.
    pub message: String,
}

impl FieldError {
    /// Builds an error for `path`.
    pub fn new(path: impl Into<String>, code: FieldErrorCode, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

/// Checks settings against the limits and returns every problem found, in
/// field order. An empty list means the settings may be stored.
pub fn validate(settings: &SecuritySettings, limits: &Limits) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for audience in Audience::ALL {
        validate_policy(
            audience.as_str(),
            settings.policy(audience),
            limits,
            &mut errors,
        );
    }
    if let Some(admins) = &settings.admins {
        validate_policy("admins", admins, limits, &mut errors);
        no_looser_than(admins, &settings.agents, &mut errors);
    }
    let call = settings.activity.call_max_secs;
    let path = "activity.call_max_secs";
    if call < CALL_MAX_MIN_SECS {
        errors.push(FieldError::new(
            path,
            FieldErrorCode::TooSmall,
            format!(
                "A call can keep a session alive for at least {} after the last input.",
                describe_secs(CALL_MAX_MIN_SECS)
            ),
        ));
    } else if call > CALL_MAX_MAX_SECS {
        errors.push(FieldError::new(
            path,
            FieldErrorCode::TooLarge,
            format!(
                "A call can keep a session alive for at most {} after the last input.",
                describe_secs(CALL_MAX_MAX_SECS)
            ),
        ));
    }
    errors
}

/// The admins' policy may only be as strict as the agents' or stricter:
/// for an ordinary and for a remembered session alike, each limit the
/// admins' policy resolves to ([`AudiencePolicy::resolved`]) is at most the
/// agents'; no "Remember me" the agents lack; no more sessions.
fn no_looser_than(admins: &AudiencePolicy, agents: &AudiencePolicy, out: &mut Vec<FieldError>) {
    for remembered in [false, true] {
        let (a, b) = (admins.resolved(remembered), agents.resolved(remembered));
        // Where the admins' limit comes from: their remembered limits, or
        // their ordinary ones (no remembered limits, or no "Remember me").
        let own = remembered && admins.remember_me && admins.remembered.is_some();
        if remembered && !own && a == admins.resolved(false) && b == agents.resolved(false) {
            continue; // the same comparison as the ordinary one
        }
        let prefix = if own { "admins.remembered" } else { "admins" };
        let whose = if remembered {
            "the agents' for remembered sessions"
        } else {
            "the agents'"
        };
        for (field, what, mine, theirs) in [
            (
                "idle_timeout_secs",
                "idle timeout",
                a.idle_timeout_secs,
                b.idle_timeout_secs,
            ),
            (
                "absolute_timeout_secs",
                "session lifetime",
                a.absolute_timeout_secs,
                b.absolute_timeout_secs,
            ),
        ] {
            let path = format!("{prefix}.{field}");
            if mine > theirs && !out.iter().any(|e| e.path == path) {
                out.push(FieldError::new(
                    path,
                    FieldErrorCode::LooserThanAgents,
                    format!(
                        "The admins' {what} can be at most {whose} ({}).",
                        describe_secs(theirs)
                    ),
                ));
            }
        }
    }
    if admins.remember_me && !agents.remember_me {
        out.push(FieldError::new(
            "admins.remember_me",
            FieldErrorCode::LooserThanAgents,
            "Admins cannot be offered \"Remember me\" while agents are not.",
        ));
    }
    let looser = match (admins.max_sessions, agents.max_sessions) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(mine), Some(theirs)) => mine > theirs,
    };
    if looser {
        out.push(FieldError::new(
            "admins.max_sessions",
            FieldErrorCode::LooserThanAgents,
            format!(
                "Admins can hold at most as many sessions as agents ({}).",
                agents.max_sessions.unwrap_or_default()
            ),
        ));
    }
}

/// Checks one idle timeout and lifetime pair (the ordinary limits, or the
/// remembered ones) under `prefix`.
fn validate_limits(prefix: &str, idle: u64, abs: u64, limits: &Limits, out: &mut Vec<FieldError>) {
    let idle_path = format!("{prefix}.idle_timeout_secs");
    if idle < limits.idle_min_secs {
        out.push(FieldError::new(
            idle_path,
            FieldErrorCode::TooSmall,
            format!(
                "The idle timeout must be at least {}.",
                describe_secs(limits.idle_min_secs)
            ),
        ));
    } else if idle > limits.idle_max_secs {
        out.push(FieldError::new(
            idle_path,
            FieldErrorCode::TooLarge,
            format!(
                "The idle timeout must be at most {}.",
                describe_secs(limits.idle_max_secs)
            ),
        ));
    }

    let abs_path = format!("{prefix}.absolute_timeout_secs");
    if abs < limits.absolute_min_secs {
        out.push(FieldError::new(
            abs_path,
            FieldErrorCode::TooSmall,
            format!(
                "The session lifetime must be at least {}.",
                describe_secs(limits.absolute_min_secs)
            ),
        ));
    } else if abs > limits.absolute_max_secs {
        out.push(FieldError::new(
            abs_path,
            FieldErrorCode::TooLarge,
            format!(
                "The session lifetime must be at most {}.",
                describe_secs(limits.absolute_max_secs)
            ),
        ));
    } else if abs < idle {
        out.push(FieldError::new(
            abs_path,
            FieldErrorCode::BelowIdleTimeout,
            format!(
                "The session lifetime cannot be shorter than the idle timeout ({}).",
                describe_secs(idle)
            ),
        ));
    }
}

fn validate_policy(prefix: &str, p: &AudiencePolicy, limits: &Limits, out: &mut Vec<FieldError>) {
    validate_limits(
        prefix,
        p.idle_timeout_secs,
        p.absolute_timeout_secs,
        limits,
        out,
    );
    // The warning's lead must fit the shortest idle timeout it serves.
    let mut idle = p.idle_timeout_secs;
    if let Some(r) = p.remembered {
        if p.remember_me {
            idle = idle.min(r.idle_timeout_secs);
        }
    }
    match p.warning {
        Warning::Before { secs } => {
            let path = format!("{prefix}.warning.secs");
            let max = idle / 2;
            if secs < limits.warning_before_min_secs {
                out.push(FieldError::new(
                    path,
                    FieldErrorCode::TooSmall,
                    format!(
                        "The warning must come at least {} before sign-out.",
                        describe_secs(limits.warning_before_min_secs)
                    ),
                ));
            } else if secs > max {
                out.push(FieldError::new(
                    path,
                    FieldErrorCode::TooLarge,
                    if max < limits.warning_before_min_secs {
                        "This idle timeout is too short for a warning a fixed time before; warn at a percentage instead.".to_owned()
                    } else {
                        format!(
                            "The warning can come at most half the idle timeout ({}) before sign-out.",
                            describe_secs(max)
                        )
                    },
                ));
            }
        }
        Warning::Percent { percent } => {
            let path = format!("{prefix}.warning.percent");
            if percent < limits.warning_percent_min {
                out.push(FieldError::new(
                    path,
                    FieldErrorCode::TooSmall,
                    format!(
                        "The warning percentage must be at least {}%.",
                        limits.warning_percent_min
                    ),
                ));
            } else if percent > limits.warning_percent_max {
                out.push(FieldError::new(
                    path,
                    FieldErrorCode::TooLarge,
                    format!(
                        "The warning percentage must be at most {}%.",
                        limits.warning_percent_max
                    ),
                ));
            }
        }
    }
    if let Some(r) = p.remembered {
        validate_limits(
            &format!("{prefix}.remembered"),
            r.idle_timeout_secs,
            r.absolute_timeout_secs,
            limits,
            out,
        );
    }
    if let Some(n) = p.max_sessions {
        let path = format!("{prefix}.max_sessions");
        if n < MAX_SESSIONS_MIN {
            out.push(FieldError::new(
                path,
                FieldErrorCode::TooSmall,
                format!("Allow at least {MAX_SESSIONS_MIN} session, or no limit."),
            ));
        } else if n > MAX_SESSIONS_MAX {
            out.push(FieldError::new(
                path,
                FieldErrorCode::TooLarge,
                format!("Allow at most {MAX_SESSIONS_MAX} sessions, or no limit."),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{HOUR, IDLE_PRESETS_SECS};
    use proptest::prelude::*;

    fn with_agents(f: impl FnOnce(&mut AudiencePolicy)) -> SecuritySettings {
        let mut s = SecuritySettings::default();
        f(&mut s.agents);
        s
    }

    #[test]
    fn default_settings_are_valid() {
        assert_eq!(
            validate(&SecuritySettings::default(), &Limits::default()),
            vec![]
        );
    }

    #[test]
    fn every_preset_is_valid_for_both_audiences() {
        for preset in IDLE_PRESETS_SECS {
            let mut s = SecuritySettings::default();
            for a in Audience::ALL {
                s.policy_mut(a).idle_timeout_secs = preset;
            }
            assert_eq!(
                validate(&s, &Limits::default()),
                vec![],
                "preset {preset} s"
            );
        }
    }

    #[test]
    fn each_rule_names_its_field_and_code() {
        let cases: Vec<(&str, SecuritySettings, &str, FieldErrorCode)> = vec![
            (
                "idle below minimum",
                with_agents(|p| {
                    p.idle_timeout_secs = 60;
                    p.warning = Warning::Percent { percent: 80 };
                }),
                "agents.idle_timeout_secs",
                FieldErrorCode::TooSmall,
            ),
            (
                "idle above maximum",
                with_agents(|p| {
                    p.idle_timeout_secs = 721 * HOUR;
                    p.absolute_timeout_secs = 365 * 24 * HOUR;
                }),
                "agents.idle_timeout_secs",
                FieldErrorCode::TooLarge,
            ),
            (
                "absolute below idle",
                with_agents(|p| {
                    p.idle_timeout_secs = 24 * HOUR;
                    p.absolute_timeout_secs = 12 * HOUR;
                }),
                "agents.absolute_timeout_secs",
                FieldErrorCode::BelowIdleTimeout,
            ),
            (
                "absolute below one hour",
                with_agents(|p| {
                    p.idle_timeout_secs = 15 * 60;
                    p.absolute_timeout_secs = 1800;
                }),
                "agents.absolute_timeout_secs",
                FieldErrorCode::TooSmall,
            ),
            (
                "warning before too short",
                with_agents(|p| p.warning = Warning::Before { secs: 5 }),
                "agents.warning.secs",
                FieldErrorCode::TooSmall,
            ),
            (
                "warning before beyond half the idle timeout",
                with_agents(|p| {
                    p.idle_timeout_secs = 15 * 60;
                    p.warning = Warning::Before { secs: 451 };
                }),
                "agents.warning.secs",
                FieldErrorCode::TooLarge,
            ),
            (
                "warning percent too low",
                with_agents(|p| p.warning = Warning::Percent { percent: 49 }),
                "agents.warning.percent",
                FieldErrorCode::TooSmall,
            ),
            (
                "warning percent too high",
                with_agents(|p| p.warning = Warning::Percent { percent: 96 }),
                "agents.warning.percent",
                FieldErrorCode::TooLarge,
            ),
        ];
        for (name, settings, path, code) in cases {
            let errors = validate(&settings, &Limits::default());
            assert_eq!(errors.len(), 1, "{name}: {errors:?}");
            assert_eq!(errors[0].path, path, "{name}");
            assert_eq!(errors[0].code, code, "{name}");
            assert!(!errors[0].message.is_empty(), "{name}");
        }
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let mut s = SecuritySettings::default();
        s.agents.idle_timeout_secs = 1;
        s.requesters.warning = Warning::Percent { percent: 10 };
        let paths: Vec<_> = validate(&s, &Limits::default())
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            vec![
                "agents.idle_timeout_secs",
                "agents.warning.secs",
                "requesters.warning.percent"
            ]
        );
    }

    #[test]
    fn ops_bounds_move_the_idle_limits() {
        let limits = Limits::with_idle_bounds(5, 720 * HOUR);
        let s = with_agents(|p| {
            p.idle_timeout_secs = 10;
            p.warning = Warning::Percent { percent: 80 };
        });
        assert_eq!(validate(&s, &limits), vec![]);
        assert_eq!(validate(&s, &Limits::default()).len(), 1);
    }

    proptest! {
        #[test]
        fn idle_values_outside_the_limits_are_rejected_with_their_path(
            idle in prop_oneof![0..(15 * 60u64), (720 * HOUR + 1)..=u64::MAX],
            requesters in any::<bool>(),
        ) {
            let mut s = SecuritySettings::default();
            let audience = if requesters { Audience::Requesters } else { Audience::Agents };
            s.policy_mut(audience).idle_timeout_secs = idle;
            let errors = validate(&s, &Limits::default());
            let path = format!("{}.idle_timeout_secs", audience.as_str());
            prop_assert!(errors.iter().any(|e| e.path == path), "{errors:?}");
        }

        #[test]
        fn absolute_values_outside_the_limits_are_rejected_with_their_path(
            abs in prop_oneof![0..3600u64, (365 * 24 * HOUR + 1)..=u64::MAX],
        ) {
            let mut s = SecuritySettings::default();
            s.requesters.absolute_timeout_secs = abs;
            let errors = validate(&s, &Limits::default());
            prop_assert!(errors.iter().any(|e| e.path == "requesters.absolute_timeout_secs"));
        }

        #[test]
        fn warning_values_outside_the_limits_are_rejected_with_their_path(
            percent in prop_oneof![0..50u32, 96..=u32::MAX],
            secs in prop_oneof![0..10u64, (4 * HOUR + 1)..=u64::MAX],
        ) {
            let mut s = SecuritySettings::default();
            s.agents.warning = Warning::Before { secs };
            s.requesters.warning = Warning::Percent { percent };
            let paths: Vec<_> = validate(&s, &Limits::default()).into_iter().map(|e| e.path).collect();
            prop_assert_eq!(paths, vec!["agents.warning.secs".to_owned(), "requesters.warning.percent".to_owned()]);
        }
    }

    fn strict_admins(f: impl FnOnce(&mut AudiencePolicy)) -> SecuritySettings {
        let mut s = SecuritySettings::default();
        let mut admins = AudiencePolicy {
            idle_timeout_secs: HOUR,
            absolute_timeout_secs: 12 * HOUR,
            ..AudiencePolicy::default()
        };
        f(&mut admins);
        s.admins = Some(admins);
        s
    }

    #[test]
    fn each_policy_addition_rule_names_its_field_and_code() {
        use crate::settings::{RememberedLimits, DAY};
        let remembered = |idle, abs| {
            Some(RememberedLimits {
                idle_timeout_secs: idle,
                absolute_timeout_secs: abs,
            })
        };
        let cases: Vec<(&str, SecuritySettings, &str, FieldErrorCode)> = vec![
            (
                "remembered idle below minimum",
                with_agents(|p| {
                    p.remembered = remembered(60, DAY);
                    p.warning = Warning::Percent { percent: 80 };
                }),
                "agents.remembered.idle_timeout_secs",
                FieldErrorCode::TooSmall,
            ),
            (
                "remembered lifetime below its idle timeout",
                with_agents(|p| p.remembered = remembered(7 * DAY, 2 * DAY)),
                "agents.remembered.absolute_timeout_secs",
                FieldErrorCode::BelowIdleTimeout,
            ),
            (
                "remembered lifetime above the maximum",
                with_agents(|p| p.remembered = remembered(DAY, 366 * DAY)),
                "agents.remembered.absolute_timeout_secs",
                FieldErrorCode::TooLarge,
            ),
            (
                "warning longer than half the remembered idle timeout",
                with_agents(|p| {
                    p.warning = Warning::Before { secs: 3600 };
                    p.remembered = remembered(HOUR, DAY);
                }),
                "agents.warning.secs",
                FieldErrorCode::TooLarge,
            ),
            (
                "no sessions",
                with_agents(|p| p.max_sessions = Some(0)),
                "agents.max_sessions",
                FieldErrorCode::TooSmall,
            ),
            (
                "too many sessions",
                with_agents(|p| p.max_sessions = Some(101)),
                "agents.max_sessions",
                FieldErrorCode::TooLarge,
            ),
            (
                "call max too short",
                {
                    let mut s = SecuritySettings::default();
                    s.activity.call_max_secs = 899;
                    s
                },
                "activity.call_max_secs",
                FieldErrorCode::TooSmall,
            ),
            (
                "call max too long",
                {
                    let mut s = SecuritySettings::default();
                    s.activity.call_max_secs = DAY + 1;
                    s
                },
                "activity.call_max_secs",
                FieldErrorCode::TooLarge,
            ),
            (
                "admins idle looser than the agents'",
                strict_admins(|p| p.idle_timeout_secs = 9 * HOUR),
                "admins.idle_timeout_secs",
                FieldErrorCode::LooserThanAgents,
            ),
            (
                "admins lifetime looser than the agents'",
                strict_admins(|p| p.absolute_timeout_secs = 31 * DAY),
                "admins.absolute_timeout_secs",
                FieldErrorCode::LooserThanAgents,
            ),
            (
                "admins remembered idle looser than the agents' remembered one",
                {
                    let mut s = strict_admins(|p| p.remembered = remembered(3 * DAY, 10 * DAY));
                    s.agents.remembered = remembered(2 * DAY, 10 * DAY);
                    s
                },
                "admins.remembered.idle_timeout_secs",
                FieldErrorCode::LooserThanAgents,
            ),
            (
                "admins ordinary idle looser than the agents' remembered one",
                {
                    let mut s = strict_admins(|p| p.idle_timeout_secs = 4 * HOUR);
                    s.agents.remembered = remembered(2 * HOUR, 10 * DAY);
                    s
                },
                "admins.idle_timeout_secs",
                FieldErrorCode::LooserThanAgents,
            ),
            (
                "admins offered remember me where agents are not",
                {
                    let mut s = strict_admins(|_| {});
                    s.agents.remember_me = false;
                    s
                },
                "admins.remember_me",
                FieldErrorCode::LooserThanAgents,
            ),
            (
                "admins without a session limit where agents have one",
                {
                    let mut s = strict_admins(|_| {});
                    s.agents.max_sessions = Some(3);
                    s
                },
                "admins.max_sessions",
                FieldErrorCode::LooserThanAgents,
            ),
            (
                "admins invalid on their own",
                strict_admins(|p| {
                    p.idle_timeout_secs = 60;
                    p.warning = Warning::Percent { percent: 80 };
                }),
                "admins.idle_timeout_secs",
                FieldErrorCode::TooSmall,
            ),
        ];
        for (name, settings, path, code) in cases {
            let errors = validate(&settings, &Limits::default());
            assert_eq!(errors.len(), 1, "{name}: {errors:?}");
            assert_eq!(errors[0].path, path, "{name}");
            assert_eq!(errors[0].code, code, "{name}");
            assert!(!errors[0].message.is_empty(), "{name}");
        }
        let mut fine = strict_admins(|p| {
            p.remembered = remembered(HOUR, DAY);
            p.max_sessions = Some(2);
        });
        fine.agents.max_sessions = Some(3);
        fine.agents.remembered = remembered(7 * DAY, 90 * DAY);
        assert_eq!(validate(&fine, &Limits::default()), vec![]);
    }

    /// Agents' policies valid by construction, and admins' policies drawn
    /// around them, most of them no looser.
    fn agents_and_admins() -> impl Strategy<Value = (AudiencePolicy, AudiencePolicy)> {
        use crate::settings::{RememberedLimits, DAY};
        let policy = |idle: u64,
                      abs: u64,
                      remembered: Option<(u64, u64)>,
                      remember_me: bool,
                      max: Option<u32>| {
            AudiencePolicy {
                idle_timeout_secs: idle,
                absolute_timeout_secs: abs.max(idle).max(HOUR),
                warning: Warning::Percent { percent: 80 },
                remember_me,
                remembered: remembered.map(|(i, a): (u64, u64)| RememberedLimits {
                    idle_timeout_secs: i,
                    absolute_timeout_secs: a.max(i).max(HOUR),
                }),
                max_sessions: max,
                ..AudiencePolicy::default()
            }
        };
        let agents = (
            (15 * 60u64)..=30 * DAY,
            HOUR..=365 * DAY,
            proptest::option::of(((15 * 60u64)..=30 * DAY, HOUR..=365 * DAY)),
            any::<bool>(),
            proptest::option::of(1u32..=100),
        )
            .prop_map(move |(i, a, r, m, n)| policy(i, a, r, m, n));
        (
            agents,
            30u64..=105,
            30u64..=105,
            any::<bool>(),
            any::<bool>(),
            0u32..=100,
        )
            .prop_map(move |(agents, f, g, own_remembered, remember_me, max)| {
                let scale = |x: u64, f: u64| (x / 100 * f).max(15 * 60);
                let base = agents.resolved(false);
                let rem = agents.resolved(true);
                let admins = policy(
                    scale(base.idle_timeout_secs, f),
                    scale(base.absolute_timeout_secs, g),
                    own_remembered.then(|| {
                        (
                            scale(rem.idle_timeout_secs, f),
                            scale(rem.absolute_timeout_secs, g),
                        )
                    }),
                    remember_me && agents.remember_me,
                    agents.max_sessions.map(|n| n.min(max.max(1))),
                );
                (agents, admins)
            })
    }

    proptest! {
        #[test]
        fn an_admins_deadlines_are_never_later_than_under_the_agents_policy(
            (agents, admins) in agents_and_admins(),
            created in 0i64..(30 * 86_400),
            idle_for in 0i64..(30 * 86_400),
            now in 0i64..(400 * 86_400),
            persistent in any::<bool>(),
        ) {
            use crate::deadline::{evaluate, SessionTimes};
            let settings = SecuritySettings {
                admins: Some(admins),
                agents,
                ..SecuritySettings::default()
            };
            prop_assume!(validate(&settings, &Limits::default()).is_empty());
            let t0 = time::macros::datetime!(2026-01-01 00:00 UTC);
            let times = SessionTimes {
                created_at: t0 + time::Duration::seconds(created),
                last_activity_at: t0 + time::Duration::seconds(created + idle_for),
                persistent,
            };
            let at = t0 + time::Duration::seconds(now);
            let admin = evaluate(&settings.policy_for(Audience::Agents, true, persistent), times, at);
            let agent = evaluate(&settings.policy_for(Audience::Agents, false, persistent), times, at);
            prop_assert!(admin.idle_expires_at <= agent.idle_expires_at);
            prop_assert!(admin.absolute_expires_at <= agent.absolute_expires_at);
            prop_assert!(admin.ends_at <= agent.ends_at);
            if matches!(agent.verdict, crate::Verdict::Expired(_)) {
                prop_assert!(matches!(admin.verdict, crate::Verdict::Expired(_)));
            }
        }

        #[test]
        fn validation_refuses_an_admins_policy_looser_than_the_agents(
            (agents, admins) in agents_and_admins(),
            looser in prop_oneof![Just(0u8), Just(1u8), Just(2u8)],
            by in 1u64..=86_400,
        ) {
            let mut admins = admins;
            match looser {
                0 => admins.idle_timeout_secs = agents.idle_timeout_secs + by,
                1 => admins.absolute_timeout_secs = agents.absolute_timeout_secs + by,
                _ => {
                    admins.max_sessions = agents.max_sessions.map(|n| n + 1);
                    prop_assume!(admins.max_sessions.is_some());
                }
            }
            let settings = SecuritySettings {
                admins: Some(admins),
                agents,
                ..SecuritySettings::default()
            };
            let errors = validate(&settings, &Limits::default());
            prop_assert!(
                errors.iter().any(|e| e.path.starts_with("admins.")),
                "{errors:?}"
            );
        }
    }
}
