//! Configuration: command-line flags, each with an environment variable,
//! checked once at start-up into a [`Config`]. A bad value stops the program
//! with one line naming the setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vigil_policy::settings::DAY;
use vigil_policy::Limits;

use crate::store::Dialect;
use crate::telemetry::LogFormat;

/// `vigil`: session security for help-desk teams.
#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    about = "Session security for help-desk teams"
)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: RawSettings,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands (contract).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve the API and the built console.
    Serve,
    /// Apply migrations and exit.
    Migrate,
    /// Create the `demo` account with sample people and conversations, if missing.
    SeedDemo {
        /// Password for every demo user (random when not given).
        #[arg(long)]
        password: Option<String>,
    },
    /// Replace the key device cookies are signed with (restart servers afterwards).
    RotateDeviceKey,
    /// Create an account and its admin; the admin password is read from standard input.
    CreateAccount {
        /// URL name of the account: 2 to 40 lowercase letters, digits and dashes.
        #[arg(long)]
        slug: String,
        /// Display name of the account.
        #[arg(long)]
        name: String,
        /// Email of the first admin.
        #[arg(long)]
        admin_email: String,
        /// Display name of the first admin (defaults to the part of the email before @).
        #[arg(long)]
        admin_name: Option<String>,
    },
}

/// Settings as given, before checking. Every one is also an environment variable.
#[derive(Debug, Args, Default)]
pub struct RawSettings {
    /// Database: sqlite://PATH or postgres://…
    #[arg(
        long,
        env = "VIGIL_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "VIGIL_LISTEN", global = true, hide_env_values = true)]
    pub listen: Option<String>,
    /// Address of the management listener (/metrics, /livez, /healthz, /readyz).
    #[arg(
        long,
        env = "VIGIL_MANAGEMENT_LISTEN",
        global = true,
        hide_env_values = true
    )]
    pub management_listen: Option<String>,
    /// Directory of the built console (default: `dist` in the working
    /// directory, else `dist` beside the binary, as `cargo xtask dist` lays
    /// it out).
    #[arg(long, env = "VIGIL_STATIC_DIR", global = true, hide_env_values = true)]
    pub static_dir: Option<String>,
    /// The origin browsers use to reach Vigil, e.g. https://desk.example.com.
    #[arg(
        long,
        env = "VIGIL_PUBLIC_ORIGIN",
        global = true,
        hide_env_values = true
    )]
    pub public_origin: Option<String>,
    /// Shortest idle timeout an admin may choose, in seconds.
    #[arg(
        long,
        env = "VIGIL_IDLE_MIN_SECS",
        global = true,
        hide_env_values = true
    )]
    pub idle_min_secs: Option<String>,
    /// Longest idle timeout an admin may choose, in seconds.
    #[arg(
        long,
        env = "VIGIL_IDLE_MAX_SECS",
        global = true,
        hide_env_values = true
    )]
    pub idle_max_secs: Option<String>,
    /// Seconds between sweeps for expired sessions.
    #[arg(
        long,
        env = "VIGIL_SWEEP_INTERVAL_SECS",
        global = true,
        hide_env_values = true
    )]
    pub sweep_interval_secs: Option<String>,
    /// Longest gap, in seconds, between writes of a session's last activity.
    #[arg(
        long,
        env = "VIGIL_ACTIVITY_WRITE_SECS",
        global = true,
        hide_env_values = true
    )]
    pub activity_write_secs: Option<String>,
    /// Most sessions each server keeps in memory (the least recently used
    /// leave first).
    #[arg(
        long,
        env = "VIGIL_SESSION_MEMORY",
        global = true,
        hide_env_values = true
    )]
    pub session_memory: Option<String>,
    /// How many password hashes may run at once.
    #[arg(
        long,
        env = "VIGIL_HASH_CONCURRENCY",
        global = true,
        hide_env_values = true
    )]
    pub hash_concurrency: Option<String>,
    /// How many sign-ins may wait for a password hash; more get 503 at once.
    #[arg(long, env = "VIGIL_HASH_QUEUE", global = true, hide_env_values = true)]
    pub hash_queue: Option<String>,
    /// Proxies (comma-separated CIDRs) allowed to name the client in X-Forwarded-For.
    #[arg(
        long,
        env = "VIGIL_TRUSTED_PROXIES",
        global = true,
        hide_env_values = true
    )]
    pub trusted_proxies: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "VIGIL_LOG_FORMAT", global = true, hide_env_values = true)]
    pub log_format: Option<String>,
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL, normalised.
    pub database_url: String,
    /// Which SQL dialect the URL selects.
    pub dialect: Dialect,
    /// Listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The management listener's address (port 0 picks a free port).
    pub management_listen: SocketAddr,
    /// Directory of the built console.
    pub static_dir: PathBuf,
    /// The origin unsafe requests must come from, when set.
    pub public_origin: Option<String>,
    /// Bounds the admin's choices are checked against.
    pub limits: Limits,
    /// Time between sweeps.
    pub sweep_interval: Duration,
    /// Longest gap between writes of a session's last activity, in seconds.
    pub activity_write_secs: u64,
    /// Most sessions kept in memory.
    pub session_memory: usize,
    /// Longest silence on a live channel before a heartbeat comment (20 s;
    /// tests shorten it).
    pub live_heartbeat: Duration,
    /// Where the listener for other replicas' changes connects (PostgreSQL);
    /// the database URL unless a test points it through a proxy to cut it.
    pub listen_url: Option<String>,
    /// Concurrent password hashes.
    pub hash_concurrency: usize,
    /// Sign-ins allowed to wait for a hash.
    pub hash_queue: usize,
    /// Peers allowed to name the client in `X-Forwarded-For`.
    pub trusted_proxies: Vec<crate::net::Cidr>,
    /// Log format.
    pub log_format: LogFormat,
}

/// A setting with a bad value: names the setting, says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid {env} (--{flag}): {message}")]
pub struct ConfigError {
    /// Environment variable name.
    pub env: &'static str,
    /// Flag name.
    pub flag: &'static str,
    /// What is wrong.
    pub message: String,
}

fn bad(env: &'static str, flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        env,
        flag,
        message: message.into(),
    }
}

fn parse_u64(
    raw: &Option<String>,
    env: &'static str,
    flag: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| bad(env, flag, format!("{v:?} is not a whole number of seconds"))),
    }
}

impl Config {
    /// Checks raw settings, filling in defaults.
    pub fn from_raw(raw: &RawSettings) -> Result<Config, ConfigError> {
        let database_url = raw
            .database_url
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "sqlite://vigil.db".to_owned());
        let (database_url, dialect) = crate::store::db::normalise_url(database_url.trim())
            .map_err(|m| bad("VIGIL_DATABASE_URL", "database-url", m))?;

        let listen_raw = raw.listen.as_deref().unwrap_or("127.0.0.1:8080").trim();
        let listen: SocketAddr = listen_raw.parse().map_err(|_| {
            bad(
                "VIGIL_LISTEN",
                "listen",
                format!("{listen_raw:?} is not an address like 127.0.0.1:8080"),
            )
        })?;

        let management_raw = raw
            .management_listen
            .as_deref()
            .unwrap_or("127.0.0.1:9000")
            .trim();
        let management_listen: SocketAddr = management_raw.parse().map_err(|_| {
            bad(
                "VIGIL_MANAGEMENT_LISTEN",
                "management-listen",
                format!("{management_raw:?} is not an address like 127.0.0.1:9000"),
            )
        })?;

        let static_dir = raw
            .static_dir
            .as_deref()
            .map_or_else(default_static_dir, PathBuf::from);

        let public_origin = match raw.public_origin.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(o) => Some(parse_origin(o).ok_or_else(|| {
                bad(
                    "VIGIL_PUBLIC_ORIGIN",
                    "public-origin",
                    format!("{o:?} is not an origin like https://desk.example.com (scheme, host, optional port, no path)"),
                )
            })?),
        };

        let defaults = Limits::default();
        let idle_min = parse_u64(
            &raw.idle_min_secs,
            "VIGIL_IDLE_MIN_SECS",
            "idle-min-secs",
            defaults.idle_min_secs,
        )?;
        let idle_max = parse_u64(
            &raw.idle_max_secs,
            "VIGIL_IDLE_MAX_SECS",
            "idle-max-secs",
            defaults.idle_max_secs,
        )?;
        if idle_min == 0 {
            return Err(bad(
                "VIGIL_IDLE_MIN_SECS",
                "idle-min-secs",
                "must be at least 1 second",
            ));
        }
        if idle_max < idle_min {
            return Err(bad(
                "VIGIL_IDLE_MAX_SECS",
                "idle-max-secs",
                format!("{idle_max} is below VIGIL_IDLE_MIN_SECS ({idle_min})"),
            ));
        }
        if idle_max > defaults.absolute_max_secs {
            return Err(bad(
                "VIGIL_IDLE_MAX_SECS",
                "idle-max-secs",
                format!(
                    "{idle_max} is above the longest session lifetime ({} seconds, 365 days)",
                    defaults.absolute_max_secs
                ),
            ));
        }

        let sweep = parse_u64(
            &raw.sweep_interval_secs,
            "VIGIL_SWEEP_INTERVAL_SECS",
            "sweep-interval-secs",
            5,
        )?;
        if !(1..=3600).contains(&sweep) {
            return Err(bad(
                "VIGIL_SWEEP_INTERVAL_SECS",
                "sweep-interval-secs",
                format!("{sweep} is outside 1 to 3600 seconds"),
            ));
        }

        let write = parse_u64(
            &raw.activity_write_secs,
            "VIGIL_ACTIVITY_WRITE_SECS",
            "activity-write-secs",
            15,
        )?;
        if write > DAY {
            return Err(bad(
                "VIGIL_ACTIVITY_WRITE_SECS",
                "activity-write-secs",
                format!("{write} is above one day"),
            ));
        }

        let session_memory = match raw.session_memory.as_deref().map(str::trim) {
            None | Some("") => 100_000,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1_000..=10_000_000).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "VIGIL_SESSION_MEMORY",
                        "session-memory",
                        format!("{v:?} is not a number of sessions from 1000 to 10000000"),
                    ))
                }
            },
        };

        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hash_concurrency = parse_u64(
            &raw.hash_concurrency,
            "VIGIL_HASH_CONCURRENCY",
            "hash-concurrency",
            cpus as u64,
        )?;
        if !(1..=256).contains(&hash_concurrency) {
            return Err(bad(
                "VIGIL_HASH_CONCURRENCY",
                "hash-concurrency",
                format!("{hash_concurrency} is outside 1 to 256"),
            ));
        }

        let hash_queue = parse_u64(&raw.hash_queue, "VIGIL_HASH_QUEUE", "hash-queue", 64)?;
        if hash_queue > 100_000 {
            return Err(bad(
                "VIGIL_HASH_QUEUE",
                "hash-queue",
                format!("{hash_queue} is above 100000"),
            ));
        }

        let trusted_proxies =
            crate::net::Cidr::parse_list(raw.trusted_proxies.as_deref().unwrap_or(""))
                .map_err(|m| bad("VIGIL_TRUSTED_PROXIES", "trusted-proxies", m))?;

        let log_format = match raw.log_format.as_deref().map(str::trim) {
            None | Some("") | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(
                    "VIGIL_LOG_FORMAT",
                    "log-format",
                    format!("{other:?} is neither text nor json"),
                ))
            }
        };

        Ok(Config {
            database_url,
            dialect,
            listen,
            management_listen,
            static_dir,
            public_origin,
            limits: Limits::with_idle_bounds(idle_min, idle_max),
            sweep_interval: Duration::from_secs(sweep),
            activity_write_secs: write,
            session_memory: usize::try_from(session_memory).unwrap_or(usize::MAX),
            live_heartbeat: Duration::from_secs(20),
            listen_url: None,
            hash_concurrency: hash_concurrency as usize,
            hash_queue: hash_queue as usize,
            trusted_proxies,
            log_format,
        })
    }
}

/// Normalises `scheme://host[:port]`; `None` for anything else.
pub fn parse_origin(s: &str) -> Option<String> {
    let s = s.trim_end_matches('/');
    let (scheme, rest) = s.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', ' '])
        || rest.starts_with(':')
        || rest.ends_with(':')
    {
        return None;
    }
    Some(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

/// `dist` in the working directory when there is one, else `dist` beside
/// the binary (an unpacked `cargo xtask dist` archive), else `dist`.
fn default_static_dir() -> PathBuf {
    let here = PathBuf::from("dist");
    if here.is_dir() {
        return here;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("dist")))
        .filter(|beside| beside.is_dir())
        .unwrap_or(here)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(f: impl FnOnce(&mut RawSettings)) -> RawSettings {
        let mut r = RawSettings::default();
        f(&mut r);
        r
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = Config::from_raw(&RawSettings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.management_listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.static_dir, PathBuf::from("dist"));
        assert_eq!(c.dialect, Dialect::Sqlite);
        assert_eq!(c.sweep_interval, Duration::from_secs(5));
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn each_bad_setting_is_named_in_one_line() {
        let cases: Vec<(&str, RawSettings)> = vec![
            ("VIGIL_LISTEN", raw(|r| r.listen = Some("nowhere".into()))),
            (
                "VIGIL_MANAGEMENT_LISTEN",
                raw(|r| r.management_listen = Some("9000".into())),
            ),
            (
                "VIGIL_DATABASE_URL",
                raw(|r| r.database_url = Some("mysql://x".into())),
            ),
            (
                "VIGIL_IDLE_MIN_SECS",
                raw(|r| r.idle_min_secs = Some("five".into())),
            ),
            (
                "VIGIL_IDLE_MIN_SECS",
                raw(|r| r.idle_min_secs = Some("0".into())),
            ),
            (
                "VIGIL_IDLE_MAX_SECS",
                raw(|r| {
                    r.idle_min_secs = Some("100".into());
                    r.idle_max_secs = Some("50".into());
                }),
            ),
            (
                "VIGIL_SWEEP_INTERVAL_SECS",
                raw(|r| r.sweep_interval_secs = Some("0".into())),
            ),
            (
                "VIGIL_PUBLIC_ORIGIN",
                raw(|r| r.public_origin = Some("example.com/path".into())),
            ),
            (
                "VIGIL_LOG_FORMAT",
                raw(|r| r.log_format = Some("xml".into())),
            ),
            (
                "VIGIL_TRUSTED_PROXIES",
                raw(|r| r.trusted_proxies = Some("10.0.0.0/8, nginx".into())),
            ),
            (
                "VIGIL_SESSION_MEMORY",
                raw(|r| r.session_memory = Some("12".into())),
            ),
        ];
        for (env, r) in cases {
            let e = Config::from_raw(&r).expect_err(env);
            let line = e.to_string();
            assert!(line.contains(env), "{env}: {line}");
            assert!(!line.contains('\n'), "{env}: one line");
        }
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            parse_origin("HTTPS://Desk.Example.com/").as_deref(),
            Some("https://desk.example.com")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(parse_origin("ftp://x"), None);
        assert_eq!(parse_origin("https://x/y"), None);
    }
}
