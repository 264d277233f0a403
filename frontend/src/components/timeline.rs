//! A picture of what a person under a policy experiences: signed in,
//! warned, signed out when idle, and the absolute limit.

use vigil_policy::settings::describe_secs;
use vigil_policy::AudiencePolicy;
use yew::prelude::*;

const W: f64 = 600.0;
const LEFT: f64 = 20.0;
const RIGHT: f64 = 580.0;

/// An SVG timeline, scaled so the idle part is readable: the idle timeout
/// takes the first 70% and the rest of the lifetime the remainder. (A plain
/// function, not a component: it has no state, and components cost bundle size.)
pub fn timeline(p: &AudiencePolicy, audience: &str) -> Html {
    let idle = p.idle_timeout_secs.max(1) as f64;
    let lead = p.warning_lead_ms() as f64 / 1000.0;
    let span = RIGHT - LEFT;
    let idle_x = LEFT + span * 0.7;
    let warn_x = LEFT + span * 0.7 * ((idle - lead).max(0.0) / idle);
    let abs_x = RIGHT;
    let title = format!(
        "{}: warned after {} idle, signed out after {} idle, and after {} in any case",
        audience,
        describe_secs((idle - lead).max(0.0) as u64),
        describe_secs(p.idle_timeout_secs),
        describe_secs(p.absolute_timeout_secs),
    );
    // Whole pixels: formatting floats would add kilobytes to the bundle.
    let px = |x: f64| (x.round() as i64).to_string();
    let label = |x: f64, y: f64, text: String, anchor: &'static str| {
        html! { <text x={px(x)} y={px(y)} text-anchor={anchor} class="tl-label">{ text }</text> }
    };
    html! {
        <svg class="timeline" viewBox={format!("0 0 {} 90", W as i64)} role="img" aria-label={title.clone()}>
            <title>{ title }</title>
            <line x1={px(LEFT)} y1="45" x2={px(RIGHT)} y2="45" class="tl-axis" />
            <rect x={px(LEFT)} y="38" width={px(warn_x - LEFT)} height="14" class="tl-active" />
            <rect x={px(warn_x)} y="38" width={px((idle_x - warn_x).max(2.0))} height="14" class="tl-warn" />
            <circle cx={px(LEFT)} cy="45" r="5" class="tl-dot" />
            <circle cx={px(warn_x)} cy="45" r="5" class="tl-dot warn" />
            <circle cx={px(idle_x)} cy="45" r="5" class="tl-dot end" />
            <circle cx={px(abs_x)} cy="45" r="5" class="tl-dot end" />
            { label(LEFT, 25.0, "signed in".into(), "start") }
            // Below the axis: the warning ends at its dot (its text runs left)
            // and the limit at the right edge, so the two never meet; above,
            // "signed in" at the left and the idle end in the middle.
            { label(warn_x, 75.0, format!("warned at {}", describe_secs((idle - lead).max(0.0) as u64)), "end") }
            { label(idle_x, 25.0, format!("signed out at {} idle", describe_secs(p.idle_timeout_secs)), "middle") }
            { label(abs_x, 75.0, format!("limit {}", describe_secs(p.absolute_timeout_secs)), "end") }
        </svg>
    }
}
