//! A picture of what a person under a policy experiences: signed in,
//! warned, signed out when idle, and the absolute limit.

use vigil_policy::settings::describe_secs;
use vigil_policy::AudiencePolicy;
use yew::prelude::*;

const W: f64 = 600.0;
const LEFT: f64 = 20.0;
const RIGHT: f64 = 580.0;
const AXIS_Y: f64 = 45.0;
/// Baselines of the rows of labels: one above the axis, then below it,
/// further down as labels need room.
const ABOVE_Y: f64 = 25.0;
const BELOW_Y: f64 = 75.0;
const ROW: f64 = 17.0;
/// A label's width is estimated (SVG text cannot be measured before it is
/// drawn): 7 units a character is wider than the 12-unit system fonts
/// draw, so estimates err towards room; `GAP` more keeps labels apart.
const CHAR_W: f64 = 7.0;
const GAP: f64 = 12.0;

/// Where a label goes: its left edge and its row (0 above the axis, 1, 2,
/// … below it).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Placed {
    start: f64,
    row: usize,
}

/// Places labels, each centred on its point as far as the picture allows,
/// on its preferred row, or the first row below the axis where it meets no
/// label already placed: labels never overlap, whatever the policy.
fn place(labels: &[(f64, &str, usize)]) -> Vec<Placed> {
    let mut placed: Vec<(Placed, f64)> = Vec::new();
    for &(x, text, preferred) in labels {
        let width = text.chars().count() as f64 * CHAR_W;
        let start = (x - width / 2.0).clamp(0.0, (W - width).max(0.0));
        let free = |row: usize| {
            placed.iter().all(|(p, w)| {
                p.row != row || start + width + GAP <= p.start || p.start + w + GAP <= start
            })
        };
        let row = std::iter::once(preferred)
            .chain(1..)
            .find(|&r| free(r))
            .unwrap_or(preferred);
        placed.push((Placed { start, row }, width));
    }
    placed.into_iter().map(|(p, _)| p).collect()
}

fn row_y(row: usize) -> f64 {
    if row == 0 {
        ABOVE_Y
    } else {
        BELOW_Y + ROW * (row - 1) as f64
    }
}

/// Whole seconds of idle after which the warning appears.
fn warned_after_secs(p: &AudiencePolicy) -> u64 {
    (p.idle_timeout_secs * 1000).saturating_sub(p.warning_lead_ms()) / 1000
}

/// Where the picture's points fall, and what each label says: the point,
/// the words, the preferred row.
fn labels(p: &AudiencePolicy) -> ([f64; 2], [(f64, String, usize); 4]) {
    let idle = p.idle_timeout_secs.max(1) as f64;
    let lead = p.warning_lead_ms() as f64 / 1000.0;
    let span = RIGHT - LEFT;
    let idle_x = LEFT + span * 0.7;
    let warn_x = LEFT + span * 0.7 * ((idle - lead).max(0.0) / idle);
    let warned_after = describe_secs(warned_after_secs(p));
    (
        [warn_x, idle_x],
        [
            (LEFT, "signed in".to_owned(), 0),
            (
                idle_x,
                format!("signed out at {} idle", describe_secs(p.idle_timeout_secs)),
                0,
            ),
            (warn_x, format!("warned at {warned_after}"), 1),
            (
                RIGHT,
                format!("limit {}", describe_secs(p.absolute_timeout_secs)),
                1,
            ),
        ],
    )
}

/// An SVG timeline, scaled so the idle part is readable: the idle timeout
/// takes the first 70% and the rest of the lifetime the remainder. (A plain
/// function, not a component: it has no state, and components cost bundle size.)
pub fn timeline(p: &AudiencePolicy, audience: &str) -> Html {
    let ([warn_x, idle_x], texts) = labels(p);
    let title = format!(
        "{}: warned after {} idle, signed out after {} idle, and after {} in any case",
        audience,
        describe_secs(warned_after_secs(p)),
        describe_secs(p.idle_timeout_secs),
        describe_secs(p.absolute_timeout_secs),
    );
    let spots = place(
        &texts
            .iter()
            .map(|(x, t, r)| (*x, t.as_str(), *r))
            .collect::<Vec<_>>(),
    );
    let height = spots.iter().map(|s| row_y(s.row)).fold(BELOW_Y, f64::max) + 15.0;
    // Whole units: formatting floats would add kilobytes to the bundle.
    let px = |x: f64| (x.round() as i64).to_string();
    html! {
        <div class="timeline-box">
            <svg class="timeline" viewBox={format!("0 0 {} {}", W as i64, px(height))} role="img" aria-label={title.clone()}>
                <title>{ title }</title>
                <line x1={px(LEFT)} y1={px(AXIS_Y)} x2={px(RIGHT)} y2={px(AXIS_Y)} class="tl-axis" />
                <rect x={px(LEFT)} y="38" width={px(warn_x - LEFT)} height="14" class="tl-active" />
                <rect x={px(warn_x)} y="38" width={px((idle_x - warn_x).max(2.0))} height="14" class="tl-warn" />
                <circle cx={px(LEFT)} cy={px(AXIS_Y)} r="5" class="tl-dot" />
                <circle cx={px(warn_x)} cy={px(AXIS_Y)} r="5" class="tl-dot warn" />
                <circle cx={px(idle_x)} cy={px(AXIS_Y)} r="5" class="tl-dot end" />
                <circle cx={px(RIGHT)} cy={px(AXIS_Y)} r="5" class="tl-dot end" />
                { for texts.iter().zip(&spots).map(|((_, text, _), spot)| html! {
                    <text x={px(spot.start)} y={px(row_y(spot.row))} class="tl-label">{ text.clone() }</text>
                }) }
            </svg>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlaps(labels: &[(f64, &str, usize)]) -> Vec<(usize, usize)> {
        let spots = place(labels);
        let mut found = Vec::new();
        for (i, a) in spots.iter().enumerate() {
            let wa = labels[i].1.chars().count() as f64 * CHAR_W;
            assert!(
                a.start >= 0.0 && a.start + wa <= W,
                "label {i} leaves the picture"
            );
            for (j, b) in spots.iter().enumerate().skip(i + 1) {
                let wb = labels[j].1.chars().count() as f64 * CHAR_W;
                if a.row == b.row && a.start < b.start + wb && b.start < a.start + wa {
                    found.push((i, j));
                }
            }
        }
        found
    }

    #[test]
    fn labels_that_would_meet_move_to_another_row() {
        // The case: warned just before 8 hours, a 30-day limit.
        let labels = [
            (20.0, "signed in", 0),
            (412.0, "signed out at 8 hours idle", 0),
            (411.0, "warned at 7 hours 59 minutes", 1),
            (580.0, "limit 29 days 23 hours 59 minutes", 1),
        ];
        assert!(overlaps(&labels).is_empty());
        let spots = place(&labels);
        assert_eq!(spots[2].row, 1);
        assert_eq!(spots[3].row, 2, "the limit moves down a row");
    }

    #[test]
    fn labels_stay_inside_the_picture_and_on_their_rows_when_there_is_room() {
        let labels = [
            (20.0, "signed in", 0),
            (412.0, "signed out at 15 minutes idle", 0),
            (25.0, "warned at 10 seconds", 1),
            (580.0, "limit 12 hours", 1),
        ];
        assert!(overlaps(&labels).is_empty());
        let spots = place(&labels);
        assert_eq!(spots[0].start, 0.0, "clamped to the left edge");
        assert_eq!(
            spots.iter().map(|s| s.row).collect::<Vec<_>>(),
            [0, 0, 1, 1]
        );
    }

    #[test]
    fn no_policy_within_the_bounds_makes_labels_meet() {
        use vigil_policy::settings::{Warning, DAY, HOUR, IDLE_PRESETS_SECS, MINUTE};
        use vigil_policy::Limits;
        let limits = Limits::default();
        let longest = |secs: u64| secs - 1; // "29 days 23 hours 59 minutes 59 seconds"
        let idles = IDLE_PRESETS_SECS.into_iter().chain([
            limits.idle_min_secs + 7,
            23 * HOUR + 59 * MINUTE + 59,
            longest(limits.idle_max_secs),
            limits.idle_max_secs,
        ]);
        let mut checked = 0;
        for idle in idles {
            for absolute in [
                idle,
                12 * HOUR,
                longest(30 * DAY),
                longest(limits.absolute_max_secs),
                limits.absolute_max_secs,
            ] {
                for warning in [
                    Warning::Before {
                        secs: limits.warning_before_min_secs,
                    },
                    Warning::Before { secs: idle / 2 },
                    Warning::Before {
                        secs: 59 * MINUTE + 59,
                    },
                    Warning::Percent {
                        percent: limits.warning_percent_min,
                    },
                    Warning::Percent { percent: 80 },
                    Warning::Percent {
                        percent: limits.warning_percent_max,
                    },
                ] {
                    let p = AudiencePolicy {
                        idle_timeout_secs: idle,
                        absolute_timeout_secs: absolute.max(idle),
                        warning,
                        remember_me: false,
                        ..AudiencePolicy::default()
                    };
                    let (_, texts) = labels(&p);
                    let texts: Vec<_> =
                        texts.iter().map(|(x, t, r)| (*x, t.as_str(), *r)).collect();
                    assert_eq!(overlaps(&texts), [], "{p:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 300, "{checked}");
    }
}
