//! The one validation of [`SecuritySettings`], run by the console as the
//! admin types and by the server on every write.

use serde::{Deserialize, Serialize};

use crate::settings::{describe_secs, Audience, AudiencePolicy, Limits, SecuritySettings, Warning};

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
    errors
}

fn validate_policy(prefix: &str, p: &AudiencePolicy, limits: &Limits, out: &mut Vec<FieldError>) {
    let idle_path = format!("{prefix}.idle_timeout_secs");
    let idle = p.idle_timeout_secs;
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
    let abs = p.absolute_timeout_secs;
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
}
