//! The one-shot commands: `seed-demo`, `create-account` and `set-password`.

use std::io::BufRead;

use anyhow::{bail, Context};
use time::OffsetDateTime;
use vigil_policy::api::Role;

use crate::auth::password::{Hasher, Password};
use crate::domain::{Email, Slug, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::random::random_hex;
use crate::store::accounts::{self, NewUser};
use crate::store::{to_ms, Store};

/// The demo people: email, name, role.
const DEMO_PEOPLE: [(&str, &str, Role); 4] = [
    ("admin@demo.test", "Dana Admin", Role::Admin),
    ("agent1@demo.test", "Alex Agent", Role::Agent),
    ("agent2@demo.test", "Sam Agent", Role::Agent),
    ("requester@demo.test", "Riley Requester", Role::Requester),
];

const DEMO_SUBJECTS: [&str; 4] = [
    "Cannot reset my password",
    "Invoice shows the wrong amount",
    "How do I export my data?",
    "App crashes on start",
];

/// What `seed-demo` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    /// Created, with this password.
    Created(String),
    /// The account was already there; nothing changed.
    AlreadyThere,
}

fn check_password(p: &str) -> anyhow::Result<()> {
    if p.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password must have at least {MIN_PASSWORD_CHARS} characters");
    }
    if p.len() > MAX_PASSWORD_BYTES {
        bail!("the password must be at most {MAX_PASSWORD_BYTES} bytes");
    }
    Ok(())
}

/// Creates the `demo` account if it is missing.
pub async fn seed_demo(
    store: &Store,
    hasher: &Hasher,
    password: Option<String>,
    now: OffsetDateTime,
) -> anyhow::Result<Seeded> {
    if accounts::find_account(store, "demo").await?.is_some() {
        return Ok(Seeded::AlreadyThere);
    }
    let password = password.unwrap_or_else(|| random_hex(8));
    check_password(&password)?;
    let mut hashes = Vec::new();
    for _ in DEMO_PEOPLE {
        hashes.push(hasher.hash(Password::new(password.clone())).await?);
    }
    let mut tx = store.begin().await?;
    let account_id = accounts::create_account(&mut tx, "demo", "Demo Support", now).await?;
    let mut ids = Vec::new();
    for ((email, name, role), hash) in DEMO_PEOPLE.iter().zip(&hashes) {
        let team = *role == Role::Agent;
        let new = NewUser {
            email,
            display_name: name,
            role: *role,
            password_hash: hash,
            available: team,
            auto_assign: team,
        };
        ids.push((
            accounts::create_user(&mut tx, account_id, &new, now).await?,
            *role,
        ));
    }
    let requester = ids
        .iter()
        .find(|(_, r)| *r == Role::Requester)
        .map(|(id, _)| *id);
    let agents: Vec<i64> = ids
        .iter()
        .filter(|(_, r)| *r == Role::Agent)
        .map(|(id, _)| *id)
        .collect();
    if let Some(requester) = requester {
        for (i, subject) in DEMO_SUBJECTS.iter().enumerate() {
            let assignee = agents[i % agents.len()];
            crate::store::conversations::open(
                &mut tx,
                account_id,
                requester,
                subject,
                Some(assignee),
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Seeded::Created(password))
}

/// Prints what `seed-demo` did.
pub fn print_seeded(s: &Seeded) {
    match s {
        Seeded::AlreadyThere => println!("The demo account already exists; nothing changed."),
        Seeded::Created(password) => {
            println!("Created account demo (Demo Support). Sign in with account \"demo\" as:");
            for (email, _, role) in DEMO_PEOPLE {
                println!("  {email:<22} {}", role.as_str());
            }
            println!("Password: {password}");
        }
    }
}

/// What `create-account` is asked to create.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    /// `--slug`.
    pub slug: &'a str,
    /// `--name`.
    pub name: &'a str,
    /// `--admin-email`.
    pub admin_email: &'a str,
    /// `--admin-name`.
    pub admin_name: Option<&'a str>,
}

/// Creates an account and its first admin; the password comes from `input`.
pub async fn create_account(
    store: &Store,
    hasher: &Hasher,
    new: NewAccount<'_>,
    input: impl BufRead,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let NewAccount {
        slug,
        name,
        admin_email,
        admin_name,
    } = new;
    let slug = Slug::parse(slug).map_err(|m| anyhow::anyhow!("--slug: {m}"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        bail!("--name: the account name must be 1 to 100 characters");
    }
    let email = Email::parse(admin_email).map_err(|m| anyhow::anyhow!("--admin-email: {m}"))?;
    let display = admin_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("admin"))
        .to_owned();
    let mut line = String::new();
    input
        .take(MAX_PASSWORD_BYTES as u64 + 2)
        .read_line(&mut line)
        .context("reading the admin password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no admin password on standard input (pipe it in, e.g. `echo \"$PASSWORD\" | vigil create-account …`)");
    }
    check_password(&password)?;
    if accounts::find_account(store, slug.as_str())
        .await?
        .is_some()
    {
        bail!("an account named {:?} already exists", slug.as_str());
    }
    let hash = hasher.hash(Password::new(password)).await?;
    let mut tx = store.begin().await?;
    let account_id = accounts::create_account(&mut tx, slug.as_str(), name, now).await?;
    let admin = NewUser {
        email: email.as_str(),
        display_name: &display,
        role: Role::Admin,
        password_hash: &hash,
        available: false,
        auto_assign: false,
    };
    accounts::create_user(&mut tx, account_id, &admin, now).await?;
    tx.commit().await?;
    println!(
        "Created account {} ({name}) with admin {}.",
        slug.as_str(),
        email.as_str()
    );
    Ok(())
}

/// Sets a person's password from the first line of `input` under the rule
/// of `vigil_policy::password`, ends every session of theirs as a
/// revocation and audits `password.changed` (actor `system`).
pub async fn set_password(
    store: &Store,
    hasher: &Hasher,
    account: &str,
    email: &str,
    input: impl BufRead,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let slug = Slug::parse(account).map_err(|m| anyhow::anyhow!("--account: {m}"))?;
    let email = Email::parse(email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
    let Some(account) = accounts::find_account(store, slug.as_str()).await? else {
        bail!("--account: no account named {:?}", slug.as_str());
    };
    let Some(person) = accounts::find_user(store, account.id, email.as_str()).await? else {
        bail!(
            "--email: no person {} in account {}",
            email.as_str(),
            slug.as_str()
        );
    };
    let mut line = String::new();
    input
        .take(MAX_PASSWORD_BYTES as u64 + 2)
        .read_line(&mut line)
        .context("reading the new password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input (pipe it in, e.g. `echo \"$PASSWORD\" | vigil set-password …`)");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        bail!("the password must be at most {MAX_PASSWORD_BYTES} bytes");
    }
    let problems = vigil_policy::password::validate_new_password(&password, email.as_str());
    if !problems.is_empty() {
        let why: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        bail!("the password is refused: {}", why.join(" "));
    }
    let hash = hasher.hash(Password::new(password)).await?;
    let ended = crate::people::set_password(
        store,
        &crate::metrics::Metrics::default(),
        (account.id, person.view.id, &person.view.email),
        &hash,
        crate::people::ChangedBy::CommandLine,
        crate::store::audit::SYSTEM,
        None,
        now,
    )
    .await?;
    println!(
        "Set the password of {} in {}; ended {ended} session(s).",
        email.as_str(),
        slug.as_str()
    );
    Ok(())
}

/// Milliseconds helper re-exported for tests that poke rows directly.
pub fn ms(t: OffsetDateTime) -> i64 {
    to_ms(t)
}

/// Replaces the key device cookies are signed with: every browser counts as
/// unknown until it signs in again. Running servers read the key at start:
/// restart them after rotating.
pub async fn rotate_device_key(store: &Store, now: OffsetDateTime) -> anyhow::Result<()> {
    use crate::auth::device::{DeviceKey, KEY_NAME};
    crate::store::keys::replace(store, KEY_NAME, &DeviceKey::generate_hex(), now).await?;
    println!("Replaced the device-cookie key. Restart every `vigil serve` to use it.");
    Ok(())
}
