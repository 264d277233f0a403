//! Prometheus metrics at `GET /metrics` (management listener): requests and
//! their durations by route and status, live sessions by audience (of the
//! whole database), expiries by reason, sweeper durations, sign-in
//! failures, the password-hashing queue, activity writes, open live
//! channels and build information. Counters and histograms are per
//! process, so Prometheus can add replicas up; `vigil_live_sessions` is the
//! database's count, the same on every replica (take the max, not the sum).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use actix_web::{web, HttpResponse};
use vigil_policy::EndReason;

use crate::error::ApiError;
use crate::state::AppState;

/// Upper bounds of the duration histograms' buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A Prometheus histogram of durations (cumulative when written out).
#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations per bucket (not cumulative), the last one for +Inf.
    counts: [u64; BUCKETS.len() + 1],
    sum_secs: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        let i = BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(BUCKETS.len());
        self.counts[i] += 1;
        self.sum_secs += secs;
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Writes `name_bucket`, `name_sum` and `name_count` with `labels`
    /// (`key="value",…` or empty).
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (le, n) in BUCKETS.iter().zip(&self.counts) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count()
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {:.6}", self.sum_secs);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count());
    }
}

/// The process's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Durations of responses by route pattern and status.
    requests: Mutex<BTreeMap<(String, u16), Histogram>>,
    /// Sessions ended, indexed like [`EndReason::ALL`].
    ended: [AtomicU64; 4],
    login_failures: AtomicU64,
    sweeps: Mutex<Histogram>,
    sweep_micros_last: AtomicU64,
}

impl Metrics {
    /// Counts a response; `route` is the matched pattern, so ids do not
    /// explode the label set.
    pub fn request(&self, route: &str, status: u16, took: std::time::Duration) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let secs = took.as_secs_f64();
        match map.get_mut(&(route.to_owned(), status)) {
            Some(h) => h.observe(secs),
            None => {
                let mut h = Histogram::default();
                h.observe(secs);
                map.insert((route.to_owned(), status), h);
            }
        }
    }

    /// Requests answered on API routes so far (tests count a page's
    /// requests with it).
    pub fn api_requests(&self) -> u64 {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|((route, _), _)| route.starts_with("/api/"))
            .map(|(_, h)| h.count())
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
        self.sweeps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(took.as_secs_f64());
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
    let m = &state.sessions.metrics;
    let mut out = String::new();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);

    family(
        &mut out,
        "vigil_build_info",
        "gauge",
        "Always 1; the version of this server in a label.",
    );
    let _ = writeln!(
        out,
        "vigil_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );

    let requests = m.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
    family(
        &mut out,
        "vigil_http_requests_total",
        "counter",
        "Responses by route pattern and status.",
    );
    for ((route, status), h) in &requests {
        let _ = writeln!(
            out,
            "vigil_http_requests_total{{route=\"{}\",status=\"{status}\"}} {}",
            escape(route),
            h.count()
        );
    }
    family(
        &mut out,
        "vigil_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to its response head, by route pattern and status (a live channel's stream is not timed).",
    );
    for ((route, status), h) in &requests {
        h.write(
            &mut out,
            "vigil_http_request_duration_seconds",
            &format!("route=\"{}\",status=\"{status}\"", escape(route)),
        );
    }

    family(
        &mut out,
        "vigil_live_sessions",
        "gauge",
        "Live sessions in the whole database, by audience: every replica reports the same figure (take the max across replicas, not the sum).",
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
        "histogram",
        "Durations of this process's sweeper passes.",
    );
    m.sweeps.lock().unwrap_or_else(|e| e.into_inner()).write(
        &mut out,
        "vigil_sweep_duration_seconds",
        "",
    );
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
        state.sessions.activity.writes()
    );

    family(
        &mut out,
        "vigil_session_memory",
        "gauge",
        "Sessions this process holds in memory.",
    );
    let _ = writeln!(out, "vigil_session_memory {}", state.sessions.memory.len());
    family(
        &mut out,
        "vigil_live_channels",
        "gauge",
        "Live channels (GET /api/session/events) open on this process.",
    );
    let _ = writeln!(
        out,
        "vigil_live_channels {}",
        state.sessions.memory.live.open()
    );
    family(
        &mut out,
        "vigil_session_memory_trusted",
        "gauge",
        "1 while this process may answer checks from memory (on PostgreSQL: while it hears other replicas' changes).",
    );
    let _ = writeln!(
        out,
        "vigil_session_memory_trusted {}",
        u8::from(state.sessions.memory.trusted())
    );

    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let mut h = Histogram::default();
        for secs in [0.0005, 0.003, 0.003, 20.0] {
            h.observe(secs);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "route=\"/a\"");
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"0.001\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"0.005\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"10\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 4\n"),
            "{out}"
        );
        assert!(out.contains("x_count{route=\"/a\"} 4\n"), "{out}");
        assert!(out.contains("x_sum{route=\"/a\"} 20.006500\n"), "{out}");
        let mut plain = String::new();
        Histogram::default().write(&mut plain, "y", "");
        assert!(plain.contains("y_bucket{le=\"+Inf\"} 0\n") && plain.contains("y_count 0\n"));
    }
}
