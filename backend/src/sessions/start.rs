//! Starting a session: the one way in, whether the person proved who they
//! are with a password or through single sign-on. The row, its deadlines
//! under the account's policy and the `session.login` audit entry commit
//! together.

use serde_json::json;
use time::OffsetDateTime;
use vigil_policy::api::{SessionPolicy, SessionView, UserView};
use vigil_policy::sso::SignInMethod;
use vigil_policy::{evaluate, SessionTimes};

use super::token::SessionToken;
use super::Sessions;
use crate::random::random_hex;
use crate::store::audit::{self, action, Event};
use crate::store::sessions::{NewSession, SessionRow, SsoLink};
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

/// Starts a session in a transaction of its own.
pub async fn start(
    sessions: &Sessions,
    sign_in: SignIn<'_>,
    now: OffsetDateTime,
) -> store::Result<Started> {
    let mut tx = sessions.store.begin().await?;
    let started = start_in(&mut tx, sign_in, now).await?;
    tx.commit().await?;
    Ok(started)
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
    let policy = stored.settings.policy(audience);
    let persistent = remember_me && policy.remember_me;
    let times = SessionTimes {
        created_at: now,
        last_activity_at: now,
        persistent,
    };
    let e = evaluate(policy, times, now);
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
        last_activity_at: now,
        idle_expires_at: e.idle_expires_at,
        absolute_expires_at: e.absolute_expires_at,
        warn_at: e.warn_at,
        server_time: now,
        policy: SessionPolicy::from_settings(&stored.settings, audience),
        user: person,
    };
    Ok(Started {
        token,
        view,
        max_age_secs,
    })
}
        authenticated_at: now,
