//! `/admin/security`: the account's session-security settings.
//!
//! Validation is vigil-policy's own `validate`, run on every change; the
//! server's 400s map back onto the same fields; a 409 offers a reload.
//! One sub-form ([`policy_block`]) serves the agents', the requesters' and
//! the optional admins' policy.

use std::collections::BTreeSet;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use vigil_policy::api::{Impact, PreviewResponse, SettingsEnvelope, SettingsUpdate};
use vigil_policy::compliance::{badges, best_practice_hint};
use vigil_policy::settings::OnSessionLimit;
use vigil_policy::settings::{
    describe_secs, DAY, HOUR, MAX_SESSIONS_MAX, MAX_SESSIONS_MIN, MINUTE,
};
use vigil_policy::{
    validate, ActivityRules, AudiencePolicy, FieldError, Limits, SecuritySettings, Warning,
    IDLE_PRESETS_SECS,
};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{self, failed};
use crate::clock::local_stamp;
use crate::components::{confirm_dialog, timeline, use_current_session, DurationField, Page};
use crate::pages::{described, error_for, error_line};

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

/// Units of idle timeouts and warnings.
const SHORT: Units = &[
    ("seconds", 1),
    ("minutes", MINUTE),
    ("hours", HOUR),
    ("days", DAY),
];
/// Units of session lifetimes.
const LONG: Units = &[("hours", HOUR), ("days", DAY)];
const PERCENT: Units = &[("%", 1)];
const SESSIONS: Units = &[("sessions", 1)];

/// A duration field's units.
type Units = &'static [(&'static str, u64)];

/// An edit of the draft, applied by the reducer to the newest draft.
type Edit = Box<dyn FnOnce(&mut SecuritySettings)>;

/// A checkbox (or, given a group name, a radio button) with its label; a
/// hint and an error below it are its description.
fn choice(
    group: Option<String>,
    id: String,
    label: &'static str,
    checked: bool,
    hint: Option<&'static str>,
    error: Option<String>,
    on: Callback<bool>,
) -> Html {
    html! {
        <>
            <div class="check">
                <input type={if group.is_some() { "radio" } else { "checkbox" }} id={id.clone()} name={group}
                       {checked} aria-describedby={described(&id, hint.is_some(), error.is_some())}
                       aria-invalid={error.as_ref().map(|_| "true")}
                       onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked())} />
                <label for={id.clone()}>{ label }</label>
            </div>
            if let Some(h) = hint { <p id={format!("{id}-hint")} class="muted small">{ h }</p> }
            { error_line(&id, error) }
        </>
    }
}

fn badge_row(p: &AudiencePolicy) -> Html {
    html! {
        <div class="badges">
            { for badges(p).iter().map(|b| html! { <span class="badge" title={b.requirement()}>{ b.label() }</span> }) }
        </div>
    }
}

/// A titled card: a region named by its heading's words.
fn card(title: &'static str, body: Html) -> Html {
    html! {
        <section class="card audience" aria-label={title}>
            <h2>{ title }</h2>
            { body }
        </section>
    }
}

/// What never changes about one policy's sub-form.
struct Meta {
    /// The first segment of its fields' paths, which are also their ids.
    key: &'static str,
    /// The region's name, also its timeline's.
    title: &'static str,
    /// Whose sessions, in the impact preview.
    who: &'static str,
    /// The "Remember me" checkbox's label.
    remember: &'static str,
    /// Whether the 15-minute best practice is asked of it: it is about
    /// team members' access to customer data, not requesters'.
    best_practice: bool,
}

const AGENTS: Meta = Meta {
    key: "agents",
    title: "Agents",
    who: "agent",
    remember: "Offer Remember me at agent login",
    best_practice: true,
};
const REQUESTERS: Meta = Meta {
    key: "requesters",
    title: "Requesters",
    who: "requester",
    remember: "Offer Remember me at requester login",
    best_practice: false,
};
const ADMINS: Meta = Meta {
    key: "admins",
    title: "Admins",
    who: "admin",
    remember: "Offer Remember me to admins",
    best_practice: true,
};

/// One policy's sub-form: the agents', the requesters' or the admins'.
struct Block<'a> {
    meta: &'static Meta,
    policy: AudiencePolicy,
    limits: Limits,
    /// Every error on the page (each field picks its own by path).
    errors: &'a [FieldError],
    impact: Option<Impact>,
    on_change: Callback<AudiencePolicy>,
    /// A field's path, and whether its text is not a number; a path with
    /// `false` clears every path it begins (fields gone from the page).
    on_text: Callback<(String, bool)>,
}

impl Block<'_> {
    fn path(&self, field: &str) -> String {
        format!("{}.{field}", self.meta.key)
    }

    fn error(&self, field: &str) -> Option<String> {
        error_for(self.errors, &self.path(field))
    }

    /// Emits the policy changed by `f`.
    fn set<T: 'static>(&self, f: fn(&mut AudiencePolicy, T)) -> Callback<T> {
        let (p, on_change) = (self.policy.clone(), self.on_change.clone());
        Callback::from(move |v: T| {
            let mut next = p.clone();
            f(&mut next, v);
            on_change.emit(next);
        })
    }

    /// A checkbox's or radio button's change; the fields under `field`
    /// that it hides take their half-typed text with them.
    fn toggle(&self, field: &str, f: fn(&mut AudiencePolicy, bool)) -> Callback<bool> {
        let (set, on_text, key) = (self.set(f), self.on_text.clone(), self.path(field));
        Callback::from(move |on: bool| {
            on_text.emit((key.clone(), false));
            set.emit(on);
        })
    }

    /// A duration (or count) of the policy, its id and its errors' path
    /// the same. It reports `None` while its text is not a number.
    fn duration(
        &self,
        field: &str,
        label: AttrValue,
        value: u64,
        units: Units,
        f: fn(&mut AudiencePolicy, u64),
    ) -> Html {
        let key = self.path(field);
        let on_change = on_duration(key.clone(), self.on_text.clone(), self.set(f));
        html! {
            <DurationField id={key.clone()} {label} {value} {units} {on_change}
                error={error_for(self.errors, &key)} />
        }
    }
}

/// A duration field's change: whether its text (at `key`) is not a
/// number, then the value, once it is one, to `set`.
fn on_duration(
    key: String,
    on_text: Callback<(String, bool)>,
    set: Callback<u64>,
) -> Callback<Option<u64>> {
    Callback::from(move |v: Option<u64>| {
        on_text.emit((key.clone(), v.is_none()));
        if let Some(v) = v {
            set.emit(v);
        }
    })
}

/// One policy's fields (a plain function: no state of its own).
fn policy_block(b: &Block) -> Html {
    let p = &b.policy;
    let offered = presets(&b.limits);
    let index = nearest_preset(&offered, p.idle_timeout_secs);
    let is_preset = offered.contains(&p.idle_timeout_secs);
    let idle_words = describe_secs(p.idle_timeout_secs);
    let on_slider = {
        let set = b.set(|p, v| p.idle_timeout_secs = v);
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
        let (p, on_change, on_text, key) = (
            p.clone(),
            b.on_change.clone(),
            b.on_text.clone(),
            b.path("warning"),
        );
        Callback::from(move |_: bool| {
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
            on_text.emit((key.clone(), false));
            on_change.emit(next);
        })
    };
    let warning_field = match p.warning {
        Warning::Before { secs } => b.duration(
            "warning.secs",
            "Warn this long before sign-out".into(),
            secs,
            &SHORT[..2],
            |p, v| p.warning = Warning::Before { secs: v },
        ),
        Warning::Percent { percent } => b.duration(
            "warning.percent",
            "Warn once this much of the idle timeout has passed".into(),
            u64::from(percent),
            PERCENT,
            |p, v| {
                p.warning = Warning::Percent {
                    percent: u32::try_from(v).unwrap_or(u32::MAX),
                }
            },
        ),
    };
    let hint = if b.meta.best_practice {
        best_practice_hint(p)
    } else {
        None
    };
    // Remembered sessions under limits of their own: their deadlines and
    // badges too.
    let remembered = p.remember_me && p.remembered.is_some();
    let as_remembered = p.resolved(true);
    let (slider, warning, on_limit) = (b.path("idle"), b.path("warning"), b.path("on_limit"));
    html! {
        <>
            <div class="field">
                <label for={slider.clone()}>{ "Idle timeout" }</label>
                <input id={slider} type="range" min="0" max={(offered.len().max(1) - 1).to_string()}
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
            { b.duration("idle_timeout_secs", "Custom idle timeout".into(), p.idle_timeout_secs, SHORT,
                         |p, v| p.idle_timeout_secs = v) }
            <p class="muted small">{ format!("Allowed: {} to {}.", describe_secs(b.limits.idle_min_secs), describe_secs(b.limits.idle_max_secs)) }</p>
            { b.duration("absolute_timeout_secs", "Session lifetime (sign out after this, whatever the activity)".into(),
                         p.absolute_timeout_secs, LONG, |p, v| p.absolute_timeout_secs = v) }
            <fieldset class="field">
                <legend>{ "Warning" }</legend>
                { choice(Some(warning.clone()), b.path("warn-before"), "A fixed time before sign-out",
                         matches!(p.warning, Warning::Before { .. }), None, None, on_mode(false)) }
                { choice(Some(warning), b.path("warn-percent"), "At a share of the idle timeout",
                         matches!(p.warning, Warning::Percent { .. }), None, None, on_mode(true)) }
                { warning_field }
            </fieldset>
            { badge_row(p) }
            { timeline(p, b.meta.title) }
            { choice(None, b.path("remember_me"), b.meta.remember, p.remember_me, None, b.error("remember_me"),
                     b.toggle("remember_me", |p, on| p.remember_me = on)) }
            <fieldset class="field">
                <legend>{ "Remembered sessions" }</legend>
                { choice(None, b.path("remembered"), "Limits of their own", p.remembered.is_some(),
                         Some("Off: the same limits as other sessions. They apply while Remember me is offered."), None,
                         b.toggle("remembered", |p, on| p.remembered = on.then(|| p.remembered_limits()))) }
                if let Some(r) = p.remembered {
                    { b.duration("remembered.idle_timeout_secs", "Idle timeout of remembered sessions".into(),
                                 r.idle_timeout_secs, SHORT,
                                 |p, v| if let Some(r) = &mut p.remembered { r.idle_timeout_secs = v }) }
                    { b.duration("remembered.absolute_timeout_secs", "Lifetime of remembered sessions".into(),
                                 r.absolute_timeout_secs, LONG,
                                 |p, v| if let Some(r) = &mut p.remembered { r.absolute_timeout_secs = v }) }
                }
                if remembered {
                    { badge_row(&as_remembered) }
                    { timeline(&as_remembered, "Remembered sessions") }
                }
            </fieldset>
            <fieldset class="field">
                <legend>{ "Sessions per person" }</legend>
                { choice(None, b.path("limit"), "Limit how many live sessions a person may hold", p.max_sessions.is_some(),
                         Some("Off: no limit."), p.max_sessions.map_or_else(|| b.error("max_sessions"), |_| None),
                         b.toggle("max_sessions", |p, on| p.max_sessions = on.then_some(3))) }
                if let Some(n) = p.max_sessions {
                    { b.duration("max_sessions", format!("Most live sessions per person ({MAX_SESSIONS_MIN} to {MAX_SESSIONS_MAX})").into(), u64::from(n), SESSIONS,
                                 |p, v| p.max_sessions = Some(u32::try_from(v).unwrap_or(u32::MAX))) }
                    { choice(Some(on_limit.clone()), b.path("end_oldest"), "A sign-in beyond it ends the person's oldest session",
                             p.on_session_limit == OnSessionLimit::EndOldest, None, None,
                             b.set(|p, _: bool| p.on_session_limit = OnSessionLimit::EndOldest)) }
                    { choice(Some(on_limit), b.path("refuse"), "A sign-in beyond it is refused",
                             p.on_session_limit == OnSessionLimit::Refuse, None, None,
                             b.set(|p, _: bool| p.on_session_limit = OnSessionLimit::Refuse)) }
                }
            </fieldset>
            if let Some(i) = b.impact {
                <p class="impact" role="status">
                    { format!("If you save now: {} of {} live {} sessions end at once, {} get the warning.", i.end_now, i.live, b.meta.who, i.warn_now) }
                    if i.people_at_limit > 0 {
                        { format!(" People at the session limit or over it: {} ({} sessions beyond it); their next sign-in {}",
                                  i.people_at_limit, i.sessions_over_limit,
                                  if p.on_session_limit == OnSessionLimit::Refuse { "is refused." } else { "ends their oldest." }) }
                    }
                </p>
            }
        </>
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
fn activity_section(
    rules: ActivityRules,
    errors: &[FieldError],
    on_change: &Callback<ActivityRules>,
    on_text: &Callback<(String, bool)>,
) -> Html {
    let toggle = |f: fn(&mut ActivityRules, bool)| {
        let on_change = on_change.clone();
        Callback::from(move |on: bool| {
            let mut next = rules;
            f(&mut next, on);
            on_change.emit(next);
        })
    };
    let on_call_max = on_duration(
        "activity.call_max_secs".to_owned(),
        on_text.clone(),
        on_change.reform(move |v| ActivityRules {
            call_max_secs: v,
            ..rules
        }),
    );
    let r = rules;
    html! {
        <section class="card" aria-label="Activity rules">
            <h2>{ "What counts as activity" }</h2>
            <p class="muted">{ "Keyboard, mouse and touch input always count." }</p>
            { choice(None, "bg".to_owned(), "Background refreshes keep sessions alive", r.background_requests_extend,
                     None, None, toggle(|r, v| r.background_requests_extend = v)) }
            { choice(None, "hidden".to_owned(), "A hidden or minimised tab counts as idle", r.hidden_tab_is_idle,
                     None, None, toggle(|r, v| r.hidden_tab_is_idle = v)) }
            { choice(None, "call".to_owned(), "An agent on a live call stays signed in", r.active_call_extends,
                     None, None, toggle(|r, v| r.active_call_extends = v)) }
            <DurationField id="call-max" label="A call keeps a session alive at most this long after the last input"
                value={r.call_max_secs} units={&SHORT[1..3]} on_change={on_call_max}
                error={error_for(errors, "activity.call_max_secs")} />
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
    /// The draft was edited.
    Edited(Edit),
    /// A duration field's text (by key) is not a number (or is again:
    /// then every key the given one begins is cleared).
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
            Action::Edited(edit) => {
                if let Some(d) = &mut f.draft {
                    edit(d);
                }
                f.server_errors.clear();
                f.status = None;
            }
            Action::EditedText(key, bad) => {
                if bad {
                    f.bad_text.insert(key);
                } else {
                    f.bad_text.retain(|k| !k.starts_with(&key));
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

    // Each policy's edits, applied to the newest draft.
    let edit = |f: fn(&mut SecuritySettings, AudiencePolicy)| {
        let dispatch = form.dispatcher();
        Callback::from(move |p: AudiencePolicy| {
            dispatch.dispatch(Action::Edited(Box::new(move |s| f(s, p))))
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
        Callback::from(move |r: ActivityRules| {
            dispatch.dispatch(Action::Edited(Box::new(move |s| s.activity = r)))
        })
    };
    // Off: the agents' policy governs admins; on: a copy of it to tighten.
    let on_admins = {
        let (dispatch, on_text) = (form.dispatcher(), on_text.clone());
        Callback::from(move |on: bool| {
            on_text.emit(("admins".to_owned(), false));
            dispatch.dispatch(Action::Edited(Box::new(move |s| {
                s.admins = on.then(|| s.agents.clone());
            })))
        })
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
    let block = |meta: &'static Meta,
                 policy: AudiencePolicy,
                 impact: Option<Impact>,
                 on_change: Callback<AudiencePolicy>| {
        policy_block(&Block {
            meta,
            policy,
            limits,
            errors: &errors,
            impact,
            on_change,
            on_text: on_text.clone(),
        })
    };
    let preview = form.preview;
    let agents = block(
        &AGENTS,
        current.agents.clone(),
        preview.map(|p| p.agents),
        edit(|s, p| s.agents = p),
    );
    let requesters = block(
        &REQUESTERS,
        current.requesters.clone(),
        preview.map(|p| p.requesters),
        edit(|s, p| s.requesters = p),
    );
    let admins = html! {
        <>
            { choice(None, "admins".to_owned(), "A stricter policy for admins", current.admins.is_some(),
                     Some("For people with the admin role or who manage security. Off: the agents' policy. On: each limit may only be as strict as the agents' or stricter."),
                     None, on_admins) }
            if let Some(p) = current.admins.clone() {
                { block(&ADMINS, p, None, edit(|s, p| s.admins = Some(p))) }
            }
        </>
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
                { card(AGENTS.title, agents) }
                { card(ADMINS.title, admins) }
                { card(REQUESTERS.title, requesters) }
                { activity_section(current.activity, &errors, &on_rules, &on_text) }
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
