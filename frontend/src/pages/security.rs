//! `/admin/security`: the account's session-security settings.
//!
//! Validation is vigil-policy's own `validate`, run on every change; the
//! server's 400s map back onto the same fields; a 409 offers a reload.

use std::collections::BTreeSet;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use vigil_policy::api::{Impact, PreviewResponse, SettingsEnvelope, SettingsUpdate};
use vigil_policy::compliance::{badges, best_practice_hint};
use vigil_policy::settings::{describe_secs, DAY, HOUR, MINUTE};
use vigil_policy::{
    validate, ActivityRules, Audience, AudiencePolicy, FieldError, Limits, SecuritySettings,
    Warning, IDLE_PRESETS_SECS,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::local_stamp;
use crate::components::{confirm_dialog, timeline, use_current_session, DurationField, Page};
use crate::pages::error_for;

/// The slider's presets: those within ops' bounds (a custom value covers
/// the rest).
fn presets(limits: &Limits) -> Vec<u64> {
    let within: Vec<u64> = IDLE_PRESETS_SECS
        .iter()
        .copied()
        .filter(|p| (limits.idle_min_secs..=limits.idle_max_secs).contains(p))
        .collect();
    if within.is_empty() {
        vec![limits.idle_min_secs]
    } else {
        within
    }
}

fn nearest_preset(presets: &[u64], secs: u64) -> usize {
    presets
        .iter()
        .enumerate()
        .min_by_key(|(_, p)| p.abs_diff(secs))
        .map_or(0, |(i, _)| i)
}

/// What one audience's section shows.
struct SectionProps {
    audience: Audience,
    policy: AudiencePolicy,
    limits: Limits,
    errors: Vec<FieldError>,
    impact: Option<Impact>,
    on_change: Callback<AudiencePolicy>,
    on_text: Callback<(String, bool)>,
}

/// One audience's section (a plain function: no state of its own).
fn audience_section(props: &SectionProps) -> Html {
    let a = props.audience.as_str();
    let title = match props.audience {
        Audience::Agents => "Agents",
        Audience::Requesters => "Requesters",
    };
    let who = match props.audience {
        Audience::Agents => "agent",
        Audience::Requesters => "requester",
    };
    let p = props.policy.clone();
    let path = |field: &str| format!("{a}.{field}");
    let id = |field: &str| format!("{a}-{field}");
    let change = |f: fn(&mut AudiencePolicy, u64)| {
        let (p, on_change) = (p.clone(), props.on_change.clone());
        Callback::from(move |v: u64| {
            let mut next = p.clone();
            f(&mut next, v);
            on_change.emit(next);
        })
    };
    // A duration field reports `None` while its text is not a number.
    let typed = |field: &'static str, f: fn(&mut AudiencePolicy, u64)| {
        let (set, on_text, key) = (change(f), props.on_text.clone(), format!("{a}.{field}"));
        Callback::from(move |v: Option<u64>| {
            on_text.emit((key.clone(), v.is_none()));
            if let Some(v) = v {
                set.emit(v);
            }
        })
    };

    let offered = presets(&props.limits);
    let index = nearest_preset(&offered, p.idle_timeout_secs);
    let is_preset = offered.contains(&p.idle_timeout_secs);
    let idle_words = describe_secs(p.idle_timeout_secs);
    let on_slider = {
        let set = change(|p, v| p.idle_timeout_secs = v);
        let offered = offered.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(v) = input
                .value()
                .parse::<usize>()
                .ok()
                .and_then(|i| offered.get(i))
            {
                set.emit(*v);
            }
        })
    };
    let on_mode = |percent: bool| {
        let (p, on_change) = (p.clone(), props.on_change.clone());
        Callback::from(move |_: Event| {
            // The same warning instant, as near as the other mode allows.
            let mut next = p.clone();
            let idle = p.idle_timeout_secs.max(1);
            let lead = p.warning_lead_ms() / 1000;
            next.warning = if percent {
                let share = 100 - (lead.saturating_mul(100) / idle).min(100);
                Warning::Percent {
                    percent: u32::try_from(share.clamp(50, 95)).unwrap_or(80),
                }
            } else {
                Warning::Before {
                    secs: lead.clamp(10, (idle / 2).max(10)),
                }
            };
            on_change.emit(next);
        })
    };
    let on_remember = {
        let (p, on_change) = (p.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = p.clone();
            next.remember_me = input.checked();
            on_change.emit(next);
        })
    };
    let warning_field = match p.warning {
        Warning::Before { secs } => html! {
            <DurationField id={id("warning-secs")} label="Warn this long before sign-out" value={secs}
                units={vec![("seconds", 1), ("minutes", MINUTE)]}
                on_change={typed("warning.secs", |p, v| p.warning = Warning::Before { secs: v })}
                error={error_for(&props.errors, &path("warning.secs"))} />
        },
        Warning::Percent { percent } => html! {
            <DurationField id={id("warning-percent")} label="Warn once this much of the idle timeout has passed"
                value={u64::from(percent)} units={vec![("%", 1)]}
                on_change={typed("warning.percent", |p, v| p.warning = Warning::Percent { percent: u32::try_from(v).unwrap_or(u32::MAX) })}
                error={error_for(&props.errors, &path("warning.percent"))} />
        },
    };
    let earned = badges(&p);
    // The 15-minute best practice is about team members' access to
    // customer data; requesters are not asked to meet it.
    let hint = match props.audience {
        Audience::Agents => best_practice_hint(&p),
        Audience::Requesters => None,
    };
    html! {
        <section class="card audience" aria-label={title}>
            <h2>{ title }</h2>
            <div class="field">
                <label for={id("idle-slider")}>{ "Idle timeout" }</label>
                <input id={id("idle-slider")} type="range" min="0" max={(offered.len().max(1) - 1).to_string()}
                       step="1" value={index.to_string()} aria-label="Idle timeout"
                       aria-valuetext={idle_words.clone()} oninput={on_slider} />
                <div class="ticks" aria-hidden="true">
                    { for offered.iter().map(|s| html! { <span>{ short(*s) }</span> }) }
                </div>
                <p class="value">
                    { format!("Signed out after {idle_words} without activity") }
                    if !is_preset { <span class="tag">{ "custom" }</span> }
                </p>
                if let Some(hint) = hint { <p class="hint">{ hint }</p> }
            </div>
            <DurationField id={id("idle-custom")} label="Custom idle timeout" value={p.idle_timeout_secs}
                units={vec![("seconds", 1), ("minutes", MINUTE), ("hours", HOUR), ("days", DAY)]}
                on_change={typed("idle_timeout_secs", |p, v| p.idle_timeout_secs = v)}
                error={error_for(&props.errors, &path("idle_timeout_secs"))} />
            <p class="muted small">{ format!("Allowed: {} to {}.", describe_secs(props.limits.idle_min_secs), describe_secs(props.limits.idle_max_secs)) }</p>
            <DurationField id={id("absolute")} label="Session lifetime (sign out after this, whatever the activity)"
                value={p.absolute_timeout_secs} units={vec![("hours", HOUR), ("days", DAY)]}
                on_change={typed("absolute_timeout_secs", |p, v| p.absolute_timeout_secs = v)}
                error={error_for(&props.errors, &path("absolute_timeout_secs"))} />
            <fieldset class="field">
                <legend>{ "Warning" }</legend>
                <div class="check">
                    <input type="radio" id={id("warn-before")} name={id("warn-mode")}
                           checked={matches!(p.warning, Warning::Before { .. })} onchange={on_mode(false)} />
                    <label for={id("warn-before")}>{ "A fixed time before sign-out" }</label>
                </div>
                <div class="check">
                    <input type="radio" id={id("warn-percent")} name={id("warn-mode")}
                           checked={matches!(p.warning, Warning::Percent { .. })} onchange={on_mode(true)} />
                    <label for={id("warn-percent")}>{ "At a share of the idle timeout" }</label>
                </div>
                { warning_field }
            </fieldset>
            <div class="check">
                <input type="checkbox" id={id("remember")} checked={p.remember_me} onchange={on_remember} />
                <label for={id("remember")}>{ format!("Offer Remember me at {who} login") }</label>
            </div>
            <div class="badges">
                { for earned.iter().map(|b| html! { <span class="badge" title={b.requirement()}>{ b.label() }</span> }) }
            </div>
            { timeline(&p, title) }
            if let Some(i) = props.impact {
                <p class="impact" role="status">
                    { format!("If you save now: {} of {} live {} sessions end at once, {} get the warning.", i.end_now, i.live, who, i.warn_now) }
                </p>
            }
        </section>
    }
}

fn short(secs: u64) -> String {
    if secs < HOUR {
        format!("{} min", secs / MINUTE)
    } else {
        format!("{} h", secs / HOUR)
    }
}

/// The account's activity rules.
fn activity_section(rules: ActivityRules, on_change: &Callback<ActivityRules>) -> Html {
    let toggle = |f: fn(&mut ActivityRules, bool)| {
        let on_change = on_change.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut next = rules;
            f(&mut next, input.checked());
            on_change.emit(next);
        })
    };
    let r = rules;
    html! {
        <section class="card" aria-label="Activity rules">
            <h2>{ "What counts as activity" }</h2>
            <p class="muted">{ "Keyboard, mouse and touch input always count." }</p>
            <div class="check">
                <input type="checkbox" id="bg" checked={r.background_requests_extend}
                       onchange={toggle(|r, v| r.background_requests_extend = v)} />
                <label for="bg">{ "Background refreshes keep sessions alive" }</label>
            </div>
            <div class="check">
                <input type="checkbox" id="hidden" checked={r.hidden_tab_is_idle}
                       onchange={toggle(|r, v| r.hidden_tab_is_idle = v)} />
                <label for="hidden">{ "A hidden or minimised tab counts as idle" }</label>
            </div>
            <div class="check">
                <input type="checkbox" id="call" checked={r.active_call_extends}
                       onchange={toggle(|r, v| r.active_call_extends = v)} />
                <label for="call">{ "An agent on a live call stays signed in" }</label>
            </div>
        </section>
    }
}

/// The page's state.
#[derive(Clone, Default)]
struct Form {
    /// The settings as stored, once loaded.
    loaded: Option<SettingsEnvelope>,
    /// The settings as edited.
    draft: Option<SecuritySettings>,
    /// Fields the server refused.
    server_errors: Vec<FieldError>,
    /// Duration fields whose text is not a number now.
    bad_text: BTreeSet<String>,
    /// Someone else saved since this page loaded.
    conflict: bool,
    /// What the page says.
    status: Option<String>,
    saving: bool,
    /// What saving the draft would do to live sessions.
    preview: Option<PreviewResponse>,
    /// Bumped to load the settings again.
    reloads: u32,
    /// Asking before a save that signs people out.
    confirming: bool,
}

/// What happens to the page.
enum Action {
    /// The stored settings arrived: editing starts from them.
    Loaded(SettingsEnvelope),
    /// A load failed, saying this.
    Failed(String),
    /// One audience's policy was edited.
    EditedPolicy(Audience, AudiencePolicy),
    /// The activity rules were edited.
    EditedRules(ActivityRules),
    /// A duration field's text (by key) is not a number (or is again).
    EditedText(String, bool),
    /// "Discard changes".
    Discarded,
    /// "Save" when sessions would end: asks first (or cancelled).
    Confirming(bool),
    /// The save is on its way.
    Saving,
    /// Saved: the stored settings now.
    Saved(SettingsEnvelope),
    /// Someone else saved first.
    Conflict,
    /// Not saved: the fields the server refused (if any) and what to say.
    NotSaved(Vec<FieldError>, String),
    /// The impact of the draft, or none.
    Previewed(Option<PreviewResponse>),
    /// "Reload current settings".
    Reload,
}

impl Reducible for Form {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut f = Rc::unwrap_or_clone(self);
        match action {
            Action::Loaded(env) => {
                f.draft = Some(env.settings.clone());
                f.loaded = Some(env);
                f.server_errors.clear();
                f.conflict = false;
            }
            Action::Failed(message) => f.status = Some(message),
            Action::EditedPolicy(audience, policy) => {
                if let Some(d) = &mut f.draft {
                    *d.policy_mut(audience) = policy;
                }
                f.server_errors.clear();
                f.status = None;
            }
            Action::EditedRules(rules) => {
                if let Some(d) = &mut f.draft {
                    d.activity = rules;
                }
                f.status = None;
            }
            Action::EditedText(key, bad) => {
                if bad {
                    f.bad_text.insert(key);
                } else {
                    f.bad_text.remove(&key);
                }
            }
            Action::Discarded => {
                f.draft = f.loaded.as_ref().map(|l| l.settings.clone());
                f.server_errors.clear();
                f.bad_text.clear();
                f.status = Some("Changes discarded.".to_owned());
            }
            Action::Confirming(on) => f.confirming = on,
            Action::Saving => {
                f.confirming = false;
                f.saving = true;
            }
            Action::Saved(env) => {
                f.status = Some(format!("Saved (version {}).", env.version));
                f.draft = Some(env.settings.clone());
                f.loaded = Some(env);
                f.saving = false;
            }
            Action::Conflict => {
                f.conflict = true;
                f.saving = false;
            }
            Action::NotSaved(fields, message) => {
                if !fields.is_empty() {
                    f.server_errors = fields;
                }
                f.status = Some(message);
                f.saving = false;
            }
            Action::Previewed(preview) => f.preview = preview,
            Action::Reload => f.reloads = f.reloads.wrapping_add(1),
        }
        Rc::new(f)
    }
}

/// The page.
#[component]
pub fn Security() -> Html {
    let session = use_current_session();
    let form = use_reducer(Form::default);

    {
        let (dispatch, session) = (form.dispatcher(), session.clone());
        use_effect_with(form.reloads, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(match api::settings().await {
                    Ok(env) => Action::Loaded(env),
                    Err(e) => Action::Failed(failed(session.as_ref(), &e)),
                });
            });
        });
    }

    let limits = form.loaded.as_ref().map(|l| l.limits).unwrap_or_default();
    let errors: Vec<FieldError> = match form.draft.as_ref() {
        Some(d) => {
            let mut e = validate(d, &limits);
            let extra: Vec<FieldError> = form
                .server_errors
                .iter()
                .filter(|s| !e.iter().any(|x| x.path == s.path))
                .cloned()
                .collect();
            e.extend(extra);
            e
        }
        None => Vec::new(),
    };

    // Impact preview, a moment after the draft settles, when it is valid.
    {
        let dispatch = form.dispatcher();
        let version = form.loaded.as_ref().map(|l| l.version);
        let valid = errors.is_empty() && form.bad_text.is_empty();
        use_effect_with((form.draft.clone(), valid), move |(draft, valid)| {
            let timer = match (draft.clone(), version, *valid) {
                (Some(settings), Some(version), true) => Some(Timeout::new(400, move || {
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(p) = api::preview(&SettingsUpdate { version, settings }).await {
                            dispatch.dispatch(Action::Previewed(Some(p)));
                        }
                    });
                })),
                _ => {
                    dispatch.dispatch(Action::Previewed(None));
                    None
                }
            };
            move || drop(timer)
        });
    }

    // While there are unsaved changes the browser asks before leaving;
    // leaving the page drops the guard.
    let changed = match (&form.loaded, &form.draft) {
        (Some(env), Some(current)) => *current != env.settings,
        _ => false,
    };
    use_effect_with(changed, |&changed| {
        set_unsaved(changed);
        || set_unsaved(false)
    });

    let (Some(env), Some(current)) = (form.loaded.clone(), form.draft.clone()) else {
        return Page::new(session.as_ref(), "Session security").render(html! {
            if let Some(s) = form.status.clone() { <p class="error" role="alert">{ s }</p> } else { <p>{ "Loading…" }</p> }
        });
    };

    let set_policy = |audience: Audience| {
        let dispatch = form.dispatcher();
        Callback::from(move |p: AudiencePolicy| {
            dispatch.dispatch(Action::EditedPolicy(audience, p))
        })
    };
    let on_text = {
        let dispatch = form.dispatcher();
        Callback::from(move |(key, bad): (String, bool)| {
            dispatch.dispatch(Action::EditedText(key, bad))
        })
    };
    let on_rules = {
        let dispatch = form.dispatcher();
        Callback::from(move |rules: ActivityRules| dispatch.dispatch(Action::EditedRules(rules)))
    };
    let can_save = changed && errors.is_empty() && form.bad_text.is_empty() && !form.saving;
    let do_save = {
        let (dispatch, session) = (form.dispatcher(), session.clone());
        let update = SettingsUpdate {
            version: env.version,
            settings: current.clone(),
        };
        Callback::from(move |()| {
            let (dispatch, session, update) = (dispatch.clone(), session.clone(), update.clone());
            dispatch.dispatch(Action::Saving);
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(match api::save_settings(&update).await {
                    Ok(env) => Action::Saved(env),
                    Err(e) if e.code() == Some(vigil_policy::api::ErrorCode::VersionConflict) => {
                        Action::Conflict
                    }
                    Err(e) if !e.fields().is_empty() => Action::NotSaved(e.fields(), e.message()),
                    Err(e) => Action::NotSaved(Vec::new(), failed(session.as_ref(), &e)),
                });
            });
        })
    };
    let on_reload = {
        let dispatch = form.dispatcher();
        Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::Reload))
    };
    // Sessions that would end at once if saved: ask first.
    let ending = form
        .preview
        .as_ref()
        .map_or(0, |p| p.agents.end_now + p.requesters.end_now);
    let on_save = {
        let (do_save, dispatch) = (do_save.clone(), form.dispatcher());
        Callback::from(move |_: MouseEvent| {
            if ending > 0 {
                dispatch.dispatch(Action::Confirming(true));
            } else {
                do_save.emit(());
            }
        })
    };
    let on_discard = {
        let dispatch = form.dispatcher();
        Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::Discarded))
    };
    let dialog = form.confirming.then(|| {
        let cancel = {
            let dispatch = form.dispatcher();
            Callback::from(move |()| dispatch.dispatch(Action::Confirming(false)))
        };
        confirm_dialog(
            "Sign people out now?",
            &format!(
                "Saving ends {ending} live session{} at once: {} signed out immediately and must sign in again.",
                if ending == 1 { "" } else { "s" },
                if ending == 1 { "that person is" } else { "those people are" }
            ),
            "Save and sign them out",
            do_save,
            cancel,
        )
    });
    let section = |audience: Audience| {
        let prefix = format!("{}.", audience.as_str());
        let mine: Vec<FieldError> = errors
            .iter()
            .filter(|e| e.path.starts_with(&prefix))
            .cloned()
            .collect();
        let impact = form.preview.as_ref().map(|p| match audience {
            Audience::Agents => p.agents,
            Audience::Requesters => p.requesters,
        });
        audience_section(&SectionProps {
            audience,
            policy: current.policy(audience).clone(),
            limits,
            errors: mine,
            impact,
            on_change: set_policy(audience),
            on_text: on_text.clone(),
        })
    };
    let problems = errors.len() + form.bad_text.len();
    let saving = form.saving;
    Page::new(session.as_ref(), "Session security")
        .dialog(dialog)
        .render(html! {
            <>
                <p class="muted">
                    { match &env.updated_by {
                        Some(by) => format!("Saved by {by} at {} (version {}).", local_stamp(env.updated_at), env.version),
                        None => format!("The defaults, never changed (version {}).", env.version),
                    } }
                </p>
                if form.conflict {
                    <div class="banner" role="alert">
                        <p>{ "Someone else changed these settings since you opened this page. Your changes were not saved." }</p>
                        <button onclick={on_reload}>{ "Reload current settings" }</button>
                    </div>
                }
                { section(Audience::Agents) }
                { section(Audience::Requesters) }
                { activity_section(current.activity, &on_rules) }
                <div class="actions">
                    <button class="primary" disabled={!can_save} onclick={on_save}>{ "Save" }</button>
                    <button disabled={!changed || saving} onclick={on_discard}>{ "Discard changes" }</button>
                    if problems > 0 {
                        <span class="error">{ format!("Fix {problems} field{} to save.", if problems == 1 { "" } else { "s" }) }</span>
                    } else if !changed {
                        <span class="muted">{ "No unsaved changes." }</span>
                    }
                    if let Some(s) = form.status.clone() { <span role="status">{ s }</span> }
                </div>
            </>
        })
}

/// While there are unsaved changes, the browser asks before the page is
/// closed or reloaded.
fn set_unsaved(unsaved: bool) {
    thread_local! {
        static GUARD: std::cell::RefCell<Option<gloo_events::EventListener>> =
            const { std::cell::RefCell::new(None) };
    }
    GUARD.with(|g| {
        let mut g = g.borrow_mut();
        match (unsaved, g.is_some()) {
            (true, false) => {
                if let Some(w) = web_sys::window() {
                    *g = Some(gloo_events::EventListener::new_with_options(
                        &w,
                        "beforeunload",
                        gloo_events::EventListenerOptions::enable_prevent_default(),
                        |e| e.prevent_default(),
                    ));
                }
            }
            (false, true) => *g = None,
            _ => {}
        }
    });
}
