//! `cargo xtask dist`: the thing one copies to a server.
//!
//! Builds the release binary and the optimised console (the same trunk and
//! wasm-opt steps as `run` and `test`), and writes
//! `target/dist/vigil-<version>-<target>.tar.gz` holding one folder:
//!
//! ```text
//! vigil-<version>-<target>/
//!   vigil               the server (finds dist/ beside itself)
//!   dist/               the built console, each file with its .br and .gz copies
//!   vigil.env.example   every setting, commented; copy to vigil.env and edit
//!   vigil.service       a hardened systemd unit
//!   README.txt          how to install it
//! ```
//!
//! Then it checks the archive the way ops would use it: unpacks it into a
//! scratch folder, edits only the environment file (a scratch database and
//! free ports), starts `./vigil serve` from there, and asks for the console
//! (its wasm brotli-compressed and cached as immutable), the API and
//! readiness.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::http;
use crate::process::{cargo, free_port, status, step};
use crate::{console, root, tools, xtask_dir, Result};

const ENV_EXAMPLE: &str = r#"# Vigil's settings: copy to vigil.env, edit, and point the service at it
# (systemd: EnvironmentFile=). Each is also a command-line flag; see
# `vigil serve --help`.

# The database: SQLite (one server) or PostgreSQL (any number of replicas).
VIGIL_DATABASE_URL=sqlite:///var/lib/vigil/vigil.db
# VIGIL_DATABASE_URL=postgres://vigil:secret@db.internal/vigil

# Where the public listener (API and console) binds; put a TLS-terminating
# proxy in front of it.
VIGIL_LISTEN=127.0.0.1:8080
# The origin browsers use; https:// also turns on HSTS.
VIGIL_PUBLIC_ORIGIN=https://vigil.example.com
# Proxies allowed to name the client in X-Forwarded-For and pass X-Request-Id.
VIGIL_TRUSTED_PROXIES=127.0.0.1/32

# Metrics and health for the platform (/metrics, /livez, /healthz, /readyz).
VIGIL_MANAGEMENT_LISTEN=127.0.0.1:9000

# The built console; by default the dist/ folder beside the binary.
# VIGIL_STATIC_DIR=/opt/vigil/dist

# Bounds for custom idle timeouts (seconds), the sweeper's interval.
# VIGIL_IDLE_MIN_SECS=900
# VIGIL_IDLE_MAX_SECS=2592000
# VIGIL_SWEEP_INTERVAL_SECS=5

# Logs: RUST_LOG filters; json for log shippers.
RUST_LOG=info
VIGIL_LOG_FORMAT=json
"#;

const SERVICE: &str = r#"[Unit]
Description=Vigil session security
Documentation=file:///opt/vigil/README.txt
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/opt/vigil/vigil serve
WorkingDirectory=/opt/vigil
EnvironmentFile=/etc/vigil/vigil.env
# SIGTERM: /readyz turns 503 at once, live channels close, requests in
# flight finish, held activity is written.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2

# Its own user, its own state directory, nothing else writable.
DynamicUser=yes
StateDirectory=vigil
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
UMask=0077

[Install]
WantedBy=multi-user.target
"#;

const README: &str = r#"Vigil — session security for help-desk teams

Install (as root):

  mkdir -p /opt/vigil /etc/vigil
  cp -r vigil dist README.txt /opt/vigil/
  cp vigil.env.example /etc/vigil/vigil.env     # then edit it
  cp vigil.service /etc/systemd/system/
  systemctl daemon-reload
  systemctl enable --now vigil
  /opt/vigil/vigil create-account --slug acme --name "Acme Support" \
      --admin-email admin@acme.test < password-file

`vigil serve` applies migrations before it serves. The console is the
dist/ folder beside the binary (VIGIL_STATIC_DIR overrides it). Health:
GET /livez, /readyz and /metrics on the management listener.
"#;

/// The host's target triple, as rustc names it.
fn host_target() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| "rustc -vV did not name the host target".to_owned())
}

fn version() -> Result<String> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).map_err(|e| e.to_string())?;
    manifest
        .lines()
        .find_map(|l| {
            l.strip_prefix("version = \"")
                .and_then(|r| r.strip_suffix('"'))
                .map(str::to_owned)
        })
        .ok_or_else(|| "no version in the workspace Cargo.toml".to_owned())
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            fs::copy(&path, to.join(entry.file_name()))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `cargo xtask dist`.
pub(crate) fn run(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("unknown option {extra:?} for `cargo xtask dist`"));
    }
    tools::ensure_wasm_target()?;
    step("building the server (cargo build --release)");
    let mut build = cargo();
    build.args(["build", "--release", "-p", "vigil-server", "--bin", "vigil"]);
    status(build, "building vigil")?;
    let console = console::build()?;

    let name = format!("vigil-{}-{}", version()?, host_target()?);
    let out = root().join("target").join("dist");
    let folder = out.join(&name);
    step(&format!("assembling {}", folder.display()));
    let _ = fs::remove_dir_all(&folder);
    fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    fs::copy(
        root().join("target").join("release").join("vigil"),
        folder.join("vigil"),
    )
    .map_err(|e| format!("copying the binary: {e}"))?;
    copy_dir(&console, &folder.join("dist"))?;
    write(&folder.join("vigil.env.example"), ENV_EXAMPLE)?;
    write(&folder.join("vigil.service"), SERVICE)?;
    write(&folder.join("README.txt"), README)?;

    let archive = out.join(format!("{name}.tar.gz"));
    step(&format!("writing {}", archive.display()));
    let mut tar = Command::new("tar");
    tar.current_dir(&out).arg("czf").arg(&archive).arg(&name);
    status(tar, "tar (needed to write the archive)")?;
    let _ = fs::remove_dir_all(&folder);

    check(&archive, &name)?;
    let size = fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} ({:.1} MB): unpack it, copy vigil.env.example to vigil.env and edit it, run ./vigil serve",
        archive.display(),
        size as f64 / 1e6
    );
    Ok(())
}

/// Unpacks the archive into a scratch folder and runs it as ops would.
fn check(archive: &Path, name: &str) -> Result {
    step("checking the archive: unpack, edit vigil.env, ./vigil serve");
    let scratch = xtask_dir().join("dist-check");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let mut tar = Command::new("tar");
    tar.current_dir(&scratch).arg("xzf").arg(archive);
    status(tar, "unpacking the archive")?;
    let folder = scratch.join(name);
    let (port, management) = (free_port()?, free_port()?);
    let env = ENV_EXAMPLE
        .replace(
            "VIGIL_DATABASE_URL=sqlite:///var/lib/vigil/vigil.db",
            &format!(
                "VIGIL_DATABASE_URL=sqlite://{}",
                scratch.join("check.db").display()
            ),
        )
        .replace(
            "VIGIL_LISTEN=127.0.0.1:8080",
            &format!("VIGIL_LISTEN=127.0.0.1:{port}"),
        )
        .replace(
            "VIGIL_MANAGEMENT_LISTEN=127.0.0.1:9000",
            &format!("VIGIL_MANAGEMENT_LISTEN=127.0.0.1:{management}"),
        )
        .replace(
            "VIGIL_PUBLIC_ORIGIN=https://vigil.example.com",
            &format!("VIGIL_PUBLIC_ORIGIN=http://127.0.0.1:{port}"),
        );
    let mut server = Command::new(folder.join("vigil"));
    server
        .current_dir(&scratch) // not the folder: the console is found beside the binary
        .arg("serve")
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for line in env.lines().map(str::trim) {
        if let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            server.env(k, v);
        }
    }
    let mut child = server
        .spawn()
        .map_err(|e| format!("starting the unpacked vigil: {e}"))?;
    let started = Instant::now();
    let result = loop {
        if http::get(management, "/readyz").is_ok_and(|r| r.status == 200) {
            break Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            break Err("the unpacked vigil did not become ready in 30 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    .and_then(|()| {
        let console = http::get(port, "/admin/security")
            .map_err(|_| "no answer for the console".to_owned())?;
        if console.status != 200 || !console.body.contains("<script") {
            return Err(format!("the console was not served: {}", console.status));
        }
        compressed_console(port, &folder.join("dist"))?;
        let api = http::get(port, "/api/accounts/nobody/login-options")
            .map_err(|_| "no answer from the API".to_owned())?;
        if api.status != 404 || !api.body.contains("\"error\"") {
            return Err(format!(
                "the API did not answer as expected: {}",
                api.status
            ));
        }
        Ok(())
    });
    let _ = child.kill();
    let _ = child.wait();
    result?;
    println!(
        "    the unpacked archive serves the console (compressed, cached), the API and /readyz"
    );
    Ok(())
}

/// Each file of the unpacked console has its brotli and gzip copies, and
/// the server sends them: the wasm as brotli, cached for a year.
fn compressed_console(port: u16, dist: &Path) -> Result {
    let entries = fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for name in names
        .iter()
        .filter(|n| !n.ends_with(".br") && !n.ends_with(".gz"))
    {
        for ext in ["br", "gz"] {
            if !names.contains(&format!("{name}.{ext}")) {
                return Err(format!("the archive's dist/{name} has no .{ext} copy"));
            }
        }
    }
    let wasm = names
        .iter()
        .find(|n| n.ends_with(".wasm"))
        .ok_or("the archive's dist/ has no wasm")?;
    let head = http::request(
        port,
        "HEAD",
        &format!("/{wasm}"),
        &[("Accept-Encoding", "gzip, deflate, br")],
        "",
    )?
    .head
    .to_ascii_lowercase();
    for wanted in [
        "content-encoding: br",
        "cache-control: public, max-age=31536000, immutable",
        "vary: accept-encoding",
        "content-type: application/wasm",
    ] {
        if !head.contains(wanted) {
            return Err(format!("the wasm was not sent with {wanted:?}: {head}"));
        }
    }
    Ok(())
}
