//! Configuration: one declaration per setting, each a flag and an
//! environment variable, parsed and range-checked by clap into a typed
//! [`Config`]. A bad value stops the program with one line naming the
//! setting; `--help` never prints a value taken from the environment, and
//! the database URL lives in a secret that never prints.
//!
//! To add a setting: one field in [`Config`] with its doc comment (the help
//! text), `env`, default and value parser. Nothing else names it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use vigil_policy::settings::DAY;
use vigil_policy::Limits;

use crate::net::Networks;
use crate::store::DatabaseUrl;
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
    pub config: Config,
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
    /// Add a new key CAEP Security Event Tokens are signed with: it signs
    /// from the next attempt on, on every server; the previous one stays
    /// published (no restart needed).
    RotateCaepKey,
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
    /// Set a person's password, read from standard input, and end all of their sessions.
    SetPassword {
        /// Slug of the person's account.
        #[arg(long)]
        account: String,
        /// The person's email.
        #[arg(long)]
        email: String,
    },
}

/// Every setting. Each is a flag and an environment variable (an empty
/// variable counts as unset); the doc comments are the `--help` text.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: sqlite://PATH or postgres://…
    #[arg(long, env = "VIGIL_DATABASE_URL", default_value = "sqlite://vigil.db", value_parser = DatabaseUrl::parse)]
    pub database_url: DatabaseUrl,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VIGIL_LISTEN", default_value = "127.0.0.1:8080", value_parser = address)]
    pub listen: SocketAddr,
    /// Address of the management listener (/metrics, /livez, /healthz, /readyz; port 0 picks a free port).
    #[arg(long, env = "VIGIL_MANAGEMENT_LISTEN", default_value = "127.0.0.1:9000", value_parser = address)]
    pub management_listen: SocketAddr,
    /// Directory of the built console (default: `dist` in the working
    /// directory, else `dist` beside the binary, as `cargo xtask dist` lays
    /// it out).
    #[arg(long, env = "VIGIL_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// The origin browsers use to reach Vigil, e.g. https://desk.example.com.
    #[arg(long, env = "VIGIL_PUBLIC_ORIGIN", value_parser = origin)]
    pub public_origin: Option<String>,
    /// Shortest idle timeout an admin may choose, in seconds.
    #[arg(long, env = "VIGIL_IDLE_MIN_SECS", default_value_t = Limits::default().idle_min_secs,
          value_parser = number_in::<u64, 1, { Limits::ABSOLUTE_MAX_SECS }>)]
    pub idle_min_secs: u64,
    /// Longest idle timeout an admin may choose, in seconds (at most the longest session lifetime, 365 days).
    #[arg(long, env = "VIGIL_IDLE_MAX_SECS", default_value_t = Limits::default().idle_max_secs,
          value_parser = number_in::<u64, 1, { Limits::ABSOLUTE_MAX_SECS }>)]
    pub idle_max_secs: u64,
    /// Seconds between sweeps for expired sessions.
    #[arg(long, env = "VIGIL_SWEEP_INTERVAL_SECS", default_value_t = 5, value_parser = number_in::<u64, 1, 3600>)]
    pub sweep_interval_secs: u64,
    /// Longest gap, in seconds, between writes of a session's last activity.
    #[arg(long, env = "VIGIL_ACTIVITY_WRITE_SECS", default_value_t = 15, value_parser = number_in::<u64, 0, DAY>)]
    pub activity_write_secs: u64,
    /// Most sessions each server keeps in memory (the least recently used
    /// leave first; when full, sessions only polled in the background get
    /// in one time in sixteen). About 400-560 bytes each (docs/scaling.md).
    #[arg(long, env = "VIGIL_SESSION_MEMORY", default_value_t = 500_000, value_parser = number_in::<usize, 1_000, 10_000_000>)]
    pub session_memory: usize,
    /// How many password hashes may run at once (default: the number of CPUs).
    #[arg(long, env = "VIGIL_HASH_CONCURRENCY", default_value_t = cpus(), value_parser = number_in::<usize, 1, 256>)]
    pub hash_concurrency: usize,
    /// How many sign-ins may wait for a password hash; more get 503 at once.
    #[arg(long, env = "VIGIL_HASH_QUEUE", default_value_t = 64, value_parser = number_in::<usize, 0, 100_000>)]
    pub hash_queue: usize,
    /// Most live channels (`GET /api/session/events`) one session may hold
    /// open on this server; more get 429 `too_many_channels`.
    #[arg(long, env = "VIGIL_CHANNELS_PER_SESSION", default_value_t = 16, value_parser = number_in::<usize, 1, 1_000>)]
    pub channels_per_session: usize,
    /// How recent, in seconds, a session's sign-in or re-authentication
    /// must be for sensitive actions (security settings, ending others'
    /// sessions, deactivating people, SSO connections, API tokens,
    /// webhooks); older answers 403 `reauthentication_required`.
    #[arg(long, env = "VIGIL_REAUTH_SECS", default_value_t = 900, value_parser = number_in::<u64, 60, DAY>)]
    pub reauth_secs: u64,
    /// Proxies (comma-separated networks) allowed to name the client in X-Forwarded-For.
    #[arg(long, env = "VIGIL_TRUSTED_PROXIES", default_value = "", hide_default_value = true, value_parser = Networks::parse)]
    pub trusted_proxies: Networks,
    /// Networks (comma-separated) Vigil may reach on an admin's behalf although
    /// they are internal (loopback, private, link-local…), and over plain http:
    /// an identity provider inside the company network, say.
    #[arg(long, env = "VIGIL_OUTBOUND_ALLOW", default_value = "", hide_default_value = true, value_parser = Networks::parse)]
    pub outbound_allow: Networks,
    /// Log format: text or json.
    #[arg(long, env = "VIGIL_LOG_FORMAT", default_value = "text", value_parser = LogFormat::parse)]
    pub log_format: LogFormat,
    /// Longest silence on a live channel before a heartbeat comment (tests
    /// shorten it).
    #[arg(skip = Duration::from_secs(20))]
    pub live_heartbeat: Duration,
    /// Longest the listening connection may hear nothing before it is
    /// replaced (PostgreSQL; tests shorten it).
    #[arg(skip = crate::sessions::listener::SILENCE)]
    pub listener_silence: Duration,
    /// Where the listener for other replicas' changes connects (PostgreSQL):
    /// the database unless a test points it through a proxy to cut it.
    #[arg(skip)]
    pub listen_url: Option<DatabaseUrl>,
}

/// What is wrong with the command line, in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting with a bad value: names the setting, says what is wrong.
    #[error("invalid {env} (--{flag}): {message}")]
    Setting {
        /// Environment variable name.
        env: String,
        /// Flag name.
        flag: String,
        /// What is wrong.
        message: String,
    },
    /// Anything else (an unknown flag or command).
    #[error("{0} (see vigil --help)")]
    Usage(String),
}

impl Cli {
    /// The command line and the environment, checked. `--help` and
    /// `--version` print and exit here.
    pub fn load() -> Result<Cli, ConfigError> {
        let matches = match command().try_get_matches() {
            Ok(m) => m,
            Err(e)
                if !e.use_stderr()
                    || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
            {
                e.exit()
            }
            Err(e) => return Err(ConfigError::from_clap(&e)),
        };
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| ConfigError::from_clap(&e))?;
        cli.config.check()?;
        Ok(cli)
    }
}

/// The command-line definition, with the rules every setting shares: its
/// environment value never shown in `--help`, accepted after the command
/// too, and an empty variable counting as unset.
pub fn command() -> clap::Command {
    Cli::command().mut_args(|arg| {
        let Some(env) = arg.get_env().map(std::ffi::OsStr::to_owned) else {
            return arg;
        };
        let arg = arg.hide_env_values(true).global(true);
        if std::env::var_os(&env).is_some_and(|v| v.is_empty()) {
            arg.env(None)
        } else {
            arg
        }
    })
}

impl Config {
    /// Settings from flags alone (`["--listen", "127.0.0.1:0", …]`), the
    /// environment ignored: tests and benchmarks build servers with it.
    pub fn from_args<I, T>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cmd = Config::augment_args(clap::Command::new("vigil").no_binary_name(true))
            .mut_args(|arg| arg.env(None));
        let matches = cmd
            .try_get_matches_from(args)
            .map_err(|e| ConfigError::from_clap(&e))?;
        let mut config =
            Config::from_arg_matches(&matches).map_err(|e| ConfigError::from_clap(&e))?;
        config.check()?;
        Ok(config)
    }

    /// The checks that involve more than one setting.
    fn check(&mut self) -> Result<(), ConfigError> {
        if self.idle_max_secs < self.idle_min_secs {
            return Err(ConfigError::Setting {
                env: "VIGIL_IDLE_MAX_SECS".into(),
                flag: "idle-max-secs".into(),
                message: format!(
                    "{} is below VIGIL_IDLE_MIN_SECS ({})",
                    self.idle_max_secs, self.idle_min_secs
                ),
            });
        }
        Ok(())
    }

    /// Bounds the admin's choices are checked against.
    pub fn limits(&self) -> Limits {
        Limits::with_idle_bounds(self.idle_min_secs, self.idle_max_secs)
    }

    /// Time between sweeps.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs)
    }

    /// Directory of the built console.
    pub fn static_dir(&self) -> PathBuf {
        self.static_dir.clone().unwrap_or_else(default_static_dir)
    }

    /// Where the listener for other replicas' changes connects.
    pub fn listen_url(&self) -> &DatabaseUrl {
        self.listen_url.as_ref().unwrap_or(&self.database_url)
    }
}

impl ConfigError {
    /// One line from clap's error: the setting's variable and flag, and
    /// what the value parser said (never the value itself, which may be a
    /// secret).
    fn from_clap(e: &clap::Error) -> ConfigError {
        let flag = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => s
                .trim_start_matches('-')
                .split([' ', '='])
                .next()
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        let env = command()
            .get_arguments()
            .find(|a| a.get_long() == Some(flag.as_str()))
            .and_then(|a| a.get_env())
            .map(|env| env.to_string_lossy().into_owned());
        match (env, e.kind(), std::error::Error::source(e)) {
            (Some(env), ErrorKind::ValueValidation, Some(why)) => ConfigError::Setting {
                env,
                flag,
                message: why.to_string(),
            },
            _ => ConfigError::Usage(
                e.render()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_owned(),
            ),
        }
    }
}

/// A whole number from `LO` to `HI`.
fn number_in<T: TryFrom<u64>, const LO: u64, const HI: u64>(s: &str) -> Result<T, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if !(LO..=HI).contains(&n) {
        return Err(format!("{n} is outside {LO} to {HI}"));
    }
    T::try_from(n).map_err(|_| format!("{n} is too large for this machine"))
}

fn address(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an address like 127.0.0.1:8080"))
}

fn origin(s: &str) -> Result<String, String> {
    parse_origin(s.trim()).ok_or_else(|| {
        format!("{s:?} is not an origin like https://desk.example.com (scheme, host, optional port, no path)")
    })
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
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

    #[test]
    fn defaults_follow_the_spec() {
        let c = Config::from_args::<_, &str>([]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.management_listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.static_dir(), PathBuf::from("dist"));
        assert_eq!(c.database_url.expose(), "sqlite://vigil.db?mode=rwc");
        assert_eq!(c.sweep_interval(), Duration::from_secs(5));
        assert_eq!(c.limits(), Limits::default());
        assert_eq!(c.hash_queue, 64);
        assert_eq!(c.session_memory, 500_000);
        assert_eq!(c.channels_per_session, 16);
        assert_eq!(c.reauth_secs, 900);
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn each_bad_setting_is_named_in_one_line() {
        let cases: [(&str, &[&str]); 15] = [
            ("VIGIL_LISTEN", &["--listen", "nowhere"]),
            ("VIGIL_MANAGEMENT_LISTEN", &["--management-listen", "9000"]),
            ("VIGIL_DATABASE_URL", &["--database-url", "mysql://x"]),
            ("VIGIL_IDLE_MIN_SECS", &["--idle-min-secs", "five"]),
            ("VIGIL_IDLE_MIN_SECS", &["--idle-min-secs", "0"]),
            (
                "VIGIL_IDLE_MAX_SECS",
                &["--idle-min-secs", "100", "--idle-max-secs", "50"],
            ),
            ("VIGIL_IDLE_MAX_SECS", &["--idle-max-secs", "99999999999"]),
            ("VIGIL_SWEEP_INTERVAL_SECS", &["--sweep-interval-secs", "0"]),
            (
                "VIGIL_PUBLIC_ORIGIN",
                &["--public-origin", "example.com/path"],
            ),
            ("VIGIL_LOG_FORMAT", &["--log-format", "xml"]),
            (
                "VIGIL_TRUSTED_PROXIES",
                &["--trusted-proxies", "10.0.0.0/8, nginx"],
            ),
            ("VIGIL_SESSION_MEMORY", &["--session-memory", "12"]),
            (
                "VIGIL_CHANNELS_PER_SESSION",
                &["--channels-per-session", "0"],
            ),
            ("VIGIL_REAUTH_SECS", &["--reauth-secs", "59"]),
            ("VIGIL_REAUTH_SECS", &["--reauth-secs", "86401"]),
        ];
        for (env, args) in cases {
            let e = Config::from_args(args).expect_err(env);
            let line = e.to_string();
            assert!(line.contains(env), "{env}: {line}");
            assert!(!line.contains('\n'), "{env}: one line: {line}");
        }
    }

    #[test]
    fn flags_set_what_they_name() {
        let c = Config::from_args([
            "--listen=127.0.0.1:0",
            "--trusted-proxies=10.0.0.0/8,::1",
            "--public-origin=HTTPS://Desk.Example.com/",
            "--log-format=json",
            "--hash-queue=0",
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 0);
        assert!(c.trusted_proxies.contains("10.1.1.1".parse().unwrap()));
        assert_eq!(c.public_origin.as_deref(), Some("https://desk.example.com"));
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.hash_queue, 0);
    }

    #[test]
    fn a_database_password_never_reaches_an_error() {
        let e = Config::from_args(["--database-url", "mysql://root:hunter2@db/x?password=pw2"])
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2") && !e.contains("pw2"), "{e}");
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
