//! Starting a session: the one way in, whether the person proved who they
//! are with a password or through single sign-on. The row, its deadlines
//! under the account's policy and the `session.login` audit entry commit
//! together.

use serde_json::json;
use time::OffsetDateTime;
use vigil_policy::api::{SessionPolicy, SessionView, UserView};
use vigil_policy::settings::OnSessionLimit;
use vigil_policy::sso::SignInMethod;
use vigil_policy::{evaluate, EndReason, SessionTimes, Verdict};

use super::end;
use super::token::SessionToken;
use super::Sessions;
use crate::random::random_hex;
use crate::store::audit::{self, action, Event};
use crate::store::sessions::{Ending, NewSession, SessionRow, SsoLink};
use crate::store::{self, Tx};

/// How the person proved who they are.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// Their Vigil password; `break_glass` when single sign-on is required
    /// for their audience and they may skip it (`manage_security`).
    Password {
        /// Signed in with a password where SSO is required.
        break_glass: bool,
    },
    /// Single sign-on through a connection.
    Sso {
        /// What the provider said.
        link: &'a SsoLink,
        /// The connection's name, for the audit log.
        connection_name: &'a str,
    },
}

impl Proof<'_> {
    /// How the session begins.
    pub fn method(&self) -> SignInMethod {
        match self {
            Proof::Password { .. } => SignInMethod::Password,
            Proof::Sso { .. } => SignInMethod::Sso,
        }
    }
}

/// A person about to get a session.
#[derive(Debug, Clone)]
pub struct SignIn<'a> {
    /// Their account.
    pub account_id: i64,
    /// Who.
    pub person: UserView,
    /// Asked for a remembered session (honoured only where the policy
    /// offers it).
    pub remember_me: bool,
    /// Client address.
    pub ip: &'a str,
    /// Browser.
    pub user_agent: Option<String>,
    /// How they proved it.
    pub proof: Proof<'a>,
}

/// A session just started.
#[derive(Debug)]
pub struct Started {
    /// The token for the cookie.
    pub token: SessionToken,
    /// The view to answer with.
    pub view: SessionView,
    /// The cookie's Max-Age: only for remembered sessions.
    pub max_age_secs: Option<i64>,
}

/// Why a session did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The person holds `max_sessions` live sessions and their policy
    /// refuses more (`on_session_limit: refuse`); nothing was started.
    #[error("the person holds {live} live sessions, as many as their policy allows")]
    SessionLimit {
        /// Their live sessions.
        live: u64,
    },
}

impl From<StartError> for crate::error::ApiError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Store(e) => e.into(),
            StartError::SessionLimit { live } => crate::error::ApiError::SessionLimit { live },
        }
    }
}

/// The actor the audit log names for sessions a sign-in ended to stay
/// within `max_sessions`.
pub const SESSION_LIMIT_ACTOR: &str = "session limit";

/// Starts a session in a transaction of its own, within the person's
/// session limit (see [`limit`]).
///
/// The person's row is locked first, so sign-ins of one person take turns
/// (on PostgreSQL under READ COMMITTED; SQLite's `BEGIN IMMEDIATE` already
/// admits one writer): each counts the sessions the ones before it
/// committed, and the limit holds at every commit.
pub async fn start(
    sessions: &Sessions,
    sign_in: SignIn<'_>,
    now: OffsetDateTime,
) -> Result<Started, StartError> {
    let person = sign_in.person.clone();
    let (account_id, method) = (sign_in.account_id, sign_in.proof.method());
    let mut tx = sessions.store.begin().await?;
    store::accounts::lock_people(&mut tx, &[person.id]).await?;
    let started = start_in(&mut tx, sign_in, now).await?;
    let room = limit(
        sessions,
        &mut tx,
        account_id,
        &person,
        &started.view.session_id,
        now,
    )
    .await?;
    let ended = match room {
        Room::Made(ended) => ended,
        Room::Refused { live } => {
            drop(tx); // rolled back: nothing started, nothing ended
            tracing::info!(user = person.id, live, "sign-in refused: session limit");
            let mut tx = sessions.store.begin().await?;
            audit::record(
                &mut tx,
                now,
                Event {
                    account_id,
                    actor: &person.email,
                    action: action::LOGIN_FAILED,
                    target: None,
                    details: json!({
                        "user_id": person.id,
                        "email": person.email,
                        "method": method.as_str(),
                        "reason": "session_limit",
                        "live": live,
                    }),
                },
            )
            .await?;
            tx.commit().await?;
            return Err(StartError::SessionLimit { live });
        }
    };
    tx.commit().await?;
    for reason in ended {
        sessions.metrics.ended(reason, 1);
    }
    Ok(started)
}

/// What [`limit`] found.
enum Room {
    /// Within the limit, after ending these (the oldest live sessions, as
    /// `revoked`, and any past a deadline the sweeper had not reached).
    Made(Vec<EndReason>),
    /// Over it, and the policy refuses: the person holds `live` sessions.
    Refused { live: u64 },
}

/// Keeps the person within their policy's `max_sessions` once the session
/// `started` is inserted (in `tx`, after the person's row is locked): with
/// `end_oldest` the oldest live sessions end as revocations by
/// [`SESSION_LIMIT_ACTOR`] (audited, their live channels told, routing as
/// for any revocation; the new session is live, so an agent stays in
/// routing); with `refuse` the caller rolls back. Sessions past a deadline
/// do not count, and end here with their reason.
async fn limit(
    sessions: &Sessions,
    tx: &mut Tx,
    account_id: i64,
    person: &UserView,
    started: &str,
    now: OffsetDateTime,
) -> store::Result<Room> {
    let stored = store::settings::load_in(tx, account_id).await?;
    let (audience, is_admin) = (person.role.audience(), person.is_admin());
    let policy = stored.settings.base_policy(audience, is_admin);
    let Some(max) = policy.max_sessions else {
        return Ok(Room::Made(Vec::new()));
    };
    let ending = |id: String| Ending {
        session_id: id,
        account_id,
        user_id: person.id,
        email: person.email.clone(),
        role: person.role,
    };
    let (mut live, mut expired) = (Vec::new(), Vec::new());
    for row in store::sessions::live_rows_of(tx, person.id).await? {
        if row.id == started {
            continue;
        }
        let mut times = row.times();
        times.last_activity_at = sessions.memory.last_activity_of(&row);
        let p = stored
            .settings
            .policy_for(row.audience, is_admin, row.persistent);
        match evaluate(&p, times, now).verdict {
            Verdict::Expired(reason) => expired.push((ending(row.id), reason)),
            _ => live.push(ending(row.id)),
        }
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let surplus = (live.len() + 1).saturating_sub(max);
    if surplus > 0 && policy.on_session_limit == OnSessionLimit::Refuse {
        return Ok(Room::Refused {
            live: live.len() as u64,
        });
    }
    let mut reasons = Vec::new();
    if !expired.is_empty() {
        let ended = end::end_sessions(tx, &expired, audit::SYSTEM, now).await?;
        reasons.extend(
            expired
                .iter()
                .filter(|(e, _)| ended.contains(&e.session_id))
                .map(|(_, r)| *r),
        );
    }
    if surplus > 0 {
        // Oldest first (by creation), as the rows came.
        let oldest: Vec<(Ending, EndReason)> = live
            .into_iter()
            .take(surplus)
            .map(|e| (e, EndReason::Revoked))
            .collect();
        let ended = end::end_sessions(tx, &oldest, SESSION_LIMIT_ACTOR, now).await?;
        reasons.extend(ended.iter().map(|_| EndReason::Revoked));
    }
    Ok(Room::Made(reasons))
}

/// Starts a session inside `tx`.
pub async fn start_in(
    tx: &mut Tx,
    sign_in: SignIn<'_>,
    now: OffsetDateTime,
) -> store::Result<Started> {
    let SignIn {
        account_id,
        person,
        remember_me,
        ip,
        user_agent,
        proof,
    } = sign_in;
    let stored = store::settings::load_in(tx, account_id).await?;
    let audience = person.role.audience();
    let is_admin = person.is_admin();
    let persistent = stored
        .settings
        .base_policy(audience, is_admin)
        .keeps_persistence(remember_me);
    let policy = stored.settings.policy_for(audience, is_admin, persistent);
    let times = SessionTimes {
        created_at: now,
        last_activity_at: now,
        persistent,
    };
    let e = evaluate(&policy, times, now);
    let token = SessionToken::generate();
    let (method, sso) = match proof {
        Proof::Password { .. } => (SignInMethod::Password, None),
        Proof::Sso { link, .. } => (SignInMethod::Sso, Some(link)),
    };
    let row = SessionRow {
        id: random_hex(16),
        account_id,
        user_id: person.id,
        audience,
        persistent,
        created_at: now,
        last_activity_at: now,
        last_input_at: now,
        authenticated_at: now,
        ip: Some(ip.to_owned()),
        user_agent,
        method,
        sso_connection_id: sso.map(|l| l.connection_id.clone()),
    };
    store::sessions::insert(
        tx,
        NewSession {
            row: &row,
            token_hash: &token.hash(),
            expires_at: e.ends_at,
            sso,
        },
    )
    .await?;
    let mut details = json!({
        "session_id": row.id,
        "user_id": person.id,
        "email": person.email,
        "persistent": persistent,
        "ip": ip,
        "method": method.as_str(),
    });
    match proof {
        Proof::Password { break_glass: true } => details["break_glass"] = true.into(),
        Proof::Password { break_glass: false } => {}
        Proof::Sso {
            link,
            connection_name,
        } => {
            details["connection"] = json!({"id": link.connection_id, "name": connection_name});
        }
    }
    audit::record(
        tx,
        now,
        Event {
            account_id,
            actor: &person.email,
            action: action::SESSION_LOGIN,
            target: Some(format!("session:{}", row.id)),
            details,
        },
    )
    .await?;
    crate::webhooks::emit_one(
        tx,
        account_id,
        crate::webhooks::event::SESSION_STARTED,
        json!({
            "session_id": row.id,
            "user": {"id": person.id, "email": person.email},
            "audience": audience.as_str(),
            "method": method.as_str(),
            "persistent": persistent,
            "started_at": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        }),
        now,
    )
    .await?;
    let max_age_secs = persistent.then(|| (e.absolute_expires_at - now).whole_seconds());
    let view = SessionView {
        session_id: row.id,
        audience,
        persistent,
        method,
        created_at: now,
        authenticated_at: now,
        last_activity_at: now,
        idle_expires_at: e.idle_expires_at,
        absolute_expires_at: e.absolute_expires_at,
        warn_at: e.warn_at,
        server_time: now,
        policy: SessionPolicy::from_settings(&stored.settings, audience, is_admin, persistent),
        user: person,
    };
    Ok(Started {
        token,
        view,
        max_age_secs,
    })
}
