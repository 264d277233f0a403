//! A whole-number field with a unit (seconds, minutes, hours, days, %).
//! It keeps what the person typed while they type, and reports `None` while
//! the text is not a whole number so the page can keep Save disabled.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Props of [`DurationField`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Element id (also the base of the unit select's id).
    pub id: AttrValue,
    /// Visible label.
    pub label: AttrValue,
    /// Current value in base units (seconds, or percent).
    pub value: u64,
    /// Units: name and size in base units, smallest first (a constant, so
    /// nothing is allocated per render).
    pub units: &'static [(&'static str, u64)],
    /// New value, or `None` while the text is not a number.
    pub on_change: Callback<Option<u64>>,
    /// Error to show under the field.
    #[prop_or_default]
    pub error: Option<String>,
}

/// The largest unit that divides `value` exactly.
fn best_unit(value: u64, units: &[(&'static str, u64)]) -> usize {
    units
        .iter()
        .enumerate()
        .rev()
        .find(|(_, (_, size))| *size > 0 && value % size == 0 && value > 0)
        .map(|(i, _)| i)
        .unwrap_or(0)
}

/// The field.
#[component]
pub fn DurationField(props: &Props) -> Html {
    let unit = use_state(|| best_unit(props.value, props.units));
    let text = use_state(|| {
        let size = props.units.get(*unit).map_or(1, |u| u.1).max(1);
        (props.value / size).to_string()
    });
    // Follow changes made elsewhere (the slider, a reload).
    {
        let (unit, text, units) = (unit.clone(), text.clone(), props.units);
        use_effect_with(props.value, move |value| {
            let size = units.get(*unit).map_or(1, |u| u.1).max(1);
            let typed = text
                .trim()
                .parse::<u64>()
                .ok()
                .map(|n| n.saturating_mul(size));
            if typed != Some(*value) {
                let best = best_unit(*value, units);
                let size = units.get(best).map_or(1, |u| u.1).max(1);
                unit.set(best);
                text.set((value / size).to_string());
            }
        });
    }
    let parse = |t: &str, size: u64| t.trim().parse::<u64>().ok().map(|n| n.saturating_mul(size));
    let oninput = {
        let (text, unit, units, on_change) = (
            text.clone(),
            unit.clone(),
            props.units,
            props.on_change.clone(),
        );
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let size = units.get(*unit).map_or(1, |u| u.1);
            text.set(input.value());
            on_change.emit(parse(&input.value(), size));
        })
    };
    let onunit = {
        let (text, unit, units, on_change) = (
            text.clone(),
            unit.clone(),
            props.units,
            props.on_change.clone(),
        );
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            let i = select.selected_index().max(0) as usize;
            let old = units.get(*unit).map_or(1, |u| u.1).max(1);
            let new = units.get(i).map_or(1, |u| u.1).max(1);
            unit.set(i);
            // The same duration in the new unit (15 minutes stays 15
            // minutes: 900 seconds, or 0.25 hours shown as the nearest
            // whole number, which is then the value).
            if let Some(base) = parse(&text, old) {
                let converted = ((base + new / 2) / new).max(u64::from(base > 0));
                text.set(converted.to_string());
                on_change.emit(Some(converted.saturating_mul(new)));
            } else {
                on_change.emit(None);
            }
        })
    };
    let typed_ok = text.trim().parse::<u64>().is_ok();
    let error = if typed_ok {
        props.error.clone()
    } else {
        Some("Enter a whole number.".to_owned())
    };
    let error_id = format!("{}-error", props.id);
    let unit_id = format!("{}-unit", props.id);
    html! {
        <div class="field">
            <label for={props.id.clone()}>{ &props.label }</label>
            <div class="row">
                <input id={props.id.clone()} type="number" min="0" inputmode="numeric"
                       value={(*text).clone()} {oninput}
                       aria-invalid={error.is_some().to_string()}
                       aria-describedby={error.as_ref().map(|_| error_id.clone())} />
                if props.units.len() > 1 {
                    <select id={unit_id} aria-label={format!("{} unit", props.label)} onchange={onunit}>
                        { for props.units.iter().enumerate().map(|(i, (name, _))| html! {
                            <option value={*name} selected={i == *unit}>{ *name }</option>
                        }) }
                    </select>
                } else if let Some((name, _)) = props.units.first() {
                    <span class="unit">{ *name }</span>
                }
            </div>
            if let Some(message) = error {
                <p id={error_id} class="error">{ message }</p>
            }
        </div>
    }
}
