//! A picture of what a person under a policy experiences: signed in,
//! warned, signed out when idle, and the absolute limit.

use vigil_policy::settings::describe_secs;
use vigil_policy::AudiencePolicy;
use yew::prelude::*;

/// Props of [`Timeline`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The policy to draw.
    pub policy: AudiencePolicy,
    /// Audience name for the accessible title.
    pub audience: AttrValue,
}

const W: f64 = 600.0;
const LEFT: f64 = 20.0;
const RIGHT: f64 = 580.0;

/// An SVG timeline, scaled so the idle part is readable: the idle timeout
/// takes the first 70% and the rest of the lifetime the remainder.
#[component]
pub fn Timeline(props: &Props) -> Html {
    let p = &props.policy;
    let idle = p.idle_timeout_secs.max(1) as f64;
    let lead = p.warning_lead_secs() as f64;
    let span = RIGHT - LEFT;
    let idle_x = LEFT + span * 0.7;
    let warn_x = LEFT + span * 0.7 * ((idle - lead).max(0.0) / idle);
    let abs_x = RIGHT;
    let title = format!(
        "{}: warned after {} idle, signed out after {} idle, and after {} in any case",
        props.audience,
        describe_secs((idle - lead).max(0.0) as u64),
        describe_secs(p.idle_timeout_secs),
        describe_secs(p.absolute_timeout_secs),
    );
    let label = |x: f64, y: f64, text: String, anchor: &'static str| {
        html! { <text x={x.to_string()} y={y.to_string()} text-anchor={anchor} class="tl-label">{ text }</text> }
    };
    html! {
        <svg class="timeline" viewBox={format!("0 0 {W} 90")} role="img" aria-label={title.clone()}>
            <title>{ title }</title>
            <line x1={LEFT.to_string()} y1="45" x2={RIGHT.to_string()} y2="45" class="tl-axis" />
            <rect x={LEFT.to_string()} y="38" width={(warn_x - LEFT).to_string()} height="14" class="tl-active" />
            <rect x={warn_x.to_string()} y="38" width={(idle_x - warn_x).max(2.0).to_string()} height="14" class="tl-warn" />
            <circle cx={LEFT.to_string()} cy="45" r="5" class="tl-dot" />
            <circle cx={warn_x.to_string()} cy="45" r="5" class="tl-dot warn" />
            <circle cx={idle_x.to_string()} cy="45" r="5" class="tl-dot end" />
            <circle cx={abs_x.to_string()} cy="45" r="5" class="tl-dot end" />
            { label(LEFT, 25.0, "signed in".into(), "start") }
            { label(warn_x, 75.0, format!("warned at {}", describe_secs((idle - lead).max(0.0) as u64)), "middle") }
            { label(idle_x, 25.0, format!("signed out at {} idle", describe_secs(p.idle_timeout_secs)), "middle") }
            { label(abs_x, 75.0, format!("limit {}", describe_secs(p.absolute_timeout_secs)), "end") }
        </svg>
    }
}
