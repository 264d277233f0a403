//! Prometheus metrics at `GET /metrics`: requests by route and status, live
//! sessions by audience, expiries by reason, sweeper duration, sign-in
//! failures, the password-hashing queue and activity writes. Counters are
//! per process; Prometheus adds up replicas.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use actix_web::{web, HttpResponse};
use vigil_policy::EndReason;

use crate::error::ApiError;
use crate::state::AppState;

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Sessions ended, indexed like [`EndReason::ALL`].
    ended: [AtomicU64; 4],
    login_failures: AtomicU64,
    sweeps: AtomicU64,
    sweep_micros_total: AtomicU64,
    sweep_micros_last: AtomicU64,
}

impl Metrics {
    /// Counts a response; `route` is the matched pattern, so ids do not
    /// explode the label set.
    pub fn request(&self, route: &str, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((route.to_owned(), status)).or_insert(0) += 1;
    }

    /// Requests answered on API routes so far (tests count a page's
    /// requests with it).
    pub fn api_requests(&self) -> u64 {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((route, _), _)| route.starts_with("/api/"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Counts sessions that ended.
    pub fn ended(&self, why: EndReason, n: u64) {
        if let Some(i) = EndReason::ALL.iter().position(|r| *r == why) {
            self.ended[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts a failed sign-in.
    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one sweeper pass.
    pub fn swept(&self, took: std::time::Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sweeps.fetch_add(1, Ordering::Relaxed);
        self.sweep_micros_total.fetch_add(micros, Ordering::Relaxed);
        self.sweep_micros_last.store(micros, Ordering::Relaxed);
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let m = &state.metrics;
    let mut out = String::new();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);

    family(
        &mut out,
        "vigil_http_requests_total",
        "counter",
        "Responses by route pattern and status.",
    );
    for ((route, status), n) in m.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(
            out,
            "vigil_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
            escape(route)
        );
    }

    family(
        &mut out,
        "vigil_live_sessions",
        "gauge",
        "Live sessions in the database, by audience.",
    );
    let mut live: BTreeMap<String, i64> =
        [("agents".to_owned(), 0), ("requesters".to_owned(), 0)].into();
    for (audience, n) in crate::store::sessions::live_counts(&state.store).await? {
        live.insert(audience, n);
    }
    for (audience, n) in live {
        let _ = writeln!(
            out,
            "vigil_live_sessions{{audience=\"{}\"}} {n}",
            escape(&audience)
        );
    }

    family(
        &mut out,
        "vigil_sessions_ended_total",
        "counter",
        "Sessions this process ended, by reason.",
    );
    for (reason, n) in EndReason::ALL.iter().zip(&m.ended) {
        let _ = writeln!(
            out,
            "vigil_sessions_ended_total{{reason=\"{}\"}} {}",
            reason.as_str(),
            get(n)
        );
    }

    family(
        &mut out,
        "vigil_sweep_duration_seconds",
        "summary",
        "Time spent in sweeper passes.",
    );
    let _ = writeln!(
        out,
        "vigil_sweep_duration_seconds_sum {:.6}",
        get(&m.sweep_micros_total) as f64 / 1e6
    );
    let _ = writeln!(out, "vigil_sweep_duration_seconds_count {}", get(&m.sweeps));
    family(
        &mut out,
        "vigil_sweep_last_duration_seconds",
        "gauge",
        "Duration of the latest sweeper pass.",
    );
    let _ = writeln!(
        out,
        "vigil_sweep_last_duration_seconds {:.6}",
        get(&m.sweep_micros_last) as f64 / 1e6
    );

    family(
        &mut out,
        "vigil_login_failures_total",
        "counter",
        "Failed sign-ins (wrong credentials or throttled).",
    );
    let _ = writeln!(out, "vigil_login_failures_total {}", get(&m.login_failures));

    family(
        &mut out,
        "vigil_password_hash_queue",
        "gauge",
        "Password hashes waiting for a slot.",
    );
    let _ = writeln!(out, "vigil_password_hash_queue {}", state.hasher.waiting());
    family(
        &mut out,
        "vigil_password_hash_rejected_total",
        "counter",
        "Sign-ins refused with 503 because too many were waiting for a password hash.",
    );
    let _ = writeln!(
        out,
        "vigil_password_hash_rejected_total {}",
        state.hasher.rejected()
    );

    family(
        &mut out,
        "vigil_activity_writes_total",
        "counter",
        "Last-activity writes this process made (coalesced).",
    );
    let _ = writeln!(
        out,
        "vigil_activity_writes_total {}",
        state.activity.writes()
    );

    family(
        &mut out,
        "vigil_session_memory",
        "gauge",
        "Sessions this process holds in memory.",
    );
    let _ = writeln!(out, "vigil_session_memory {}", state.memory.len());
    family(
        &mut out,
        "vigil_session_memory_trusted",
        "gauge",
        "1 while this process may answer checks from memory (on PostgreSQL: while it hears other replicas' changes).",
    );
    let _ = writeln!(
        out,
        "vigil_session_memory_trusted {}",
        u8::from(state.memory.trusted())
    );

    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}
