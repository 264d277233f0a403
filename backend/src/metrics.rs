//! The process's metrics, on `prometheus-client`: requests and their
//! durations by route and status, expiries by reason, sweeper durations,
//! sign-in failures and build information, plus the figures read when
//! Prometheus scrapes ([`Scrape`]: live sessions by audience, of the whole
//! database; the password-hashing queue; activity writes; memory; open live
//! channels). `GET /metrics` (in `routes/health.rs`) writes them out.
//! Counters and histograms are per process, so Prometheus can add replicas
//! up; `vigil_live_sessions` is the database's count, the same on every
//! replica (take the max, not the sum).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use vigil_policy::EndReason;

/// The `Content-Type` of what [`Metrics::encode`] writes: the Prometheus
/// text format 0.0.4, which every Prometheus reads (OpenMetrics would have
/// to be negotiated).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds of the duration histograms' buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A resource's label in the request metrics: its full pattern
/// (`/api/me/sessions/{session_id}`). Each resource carries it as app data,
/// so the edge reads a `&'static str` instead of rebuilding the pattern per
/// request (actix's `match_pattern()` allocates a `String` each call).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, EncodeLabelSet)]
struct RequestLabels {
    /// Borrowed from the route table on every matched route; owned only on
    /// the rare paths that never reached a resource (see `web::handle`).
    route: Cow<'static, str>,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AudienceLabel {
    audience: String,
}

/// One route and status: its count and its durations.
#[derive(Debug)]
struct Series {
    total: Counter,
    durations: Histogram,
}

impl Series {
    fn observe(&self, secs: f64) {
        self.total.inc();
        self.durations.observe(secs);
    }
}

/// Responses by route and status, for `vigil_http_requests_total` and
/// `vigil_http_request_duration_seconds` (two families over the same
/// series: two `Family`s would cost two lookups per response, and a
/// `Family` cannot be read back for [`Metrics::api_requests`]). A response
/// costs one lookup under a shared read lock; the write lock is taken only
/// the first time a route answers with a status.
#[derive(Debug, Clone, Default)]
struct Requests(Arc<RwLock<BTreeMap<RequestLabels, Series>>>);

impl Requests {
    fn observe(&self, labels: RequestLabels, secs: f64) {
        {
            let series = self.0.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = series.get(&labels) {
                s.observe(secs);
                return;
            }
        }
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(labels)
            .or_insert_with(|| Series {
                total: Counter::default(),
                durations: Histogram::new(BUCKETS),
            })
            .observe(secs);
    }
}

impl Collector for Requests {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let series = self.0.read().unwrap_or_else(PoisonError::into_inner);
        {
            let mut totals = encoder.encode_descriptor(
                "vigil_http_requests",
                "Responses by route pattern and status.",
                None,
                MetricType::Counter,
            )?;
            for (labels, s) in series.iter() {
                s.total.encode(totals.encode_family(labels)?)?;
            }
        }
        let mut durations = encoder.encode_descriptor(
            "vigil_http_request_duration",
            "Time from a request's arrival to its response head, by route pattern and status (a live channel's stream is not timed).",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (labels, s) in series.iter() {
            s.durations.encode(durations.encode_family(labels)?)?;
        }
        Ok(())
    }
}

/// The process's counters, in their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Requests,
    /// Handles into `vigil_sessions_ended_total`, indexed like
    /// [`EndReason::ALL`], so counting takes no lookup.
    ended: [Counter; 4],
    login_failures: Counter,
    sweeps: Histogram,
    sweep_last: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        registry.register(
            "vigil_build",
            "Always 1; the version of this server in a label",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        let requests = Requests::default();
        registry.register_collector(Box::new(requests.clone()));

        let ended_family = Family::<ReasonLabel, Counter>::default();
        // Every reason from the start, at 0, so a rate over it exists
        // before the first expiry.
        let ended = EndReason::ALL.map(|reason| {
            ended_family.get_or_create_owned(&ReasonLabel {
                reason: reason.as_str(),
            })
        });
        registry.register(
            "vigil_sessions_ended",
            "Sessions this process ended, by reason",
            ended_family,
        );

        let sweeps = Histogram::new(BUCKETS);
        registry.register_with_unit(
            "vigil_sweep_duration",
            "Durations of this process's sweeper passes",
            Unit::Seconds,
            sweeps.clone(),
        );
        let sweep_last = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "vigil_sweep_last_duration",
            "Duration of the latest sweeper pass",
            Unit::Seconds,
            sweep_last.clone(),
        );

        let login_failures = Counter::default();
        registry.register(
            "vigil_login_failures",
            "Failed sign-ins (wrong credentials or throttled)",
            login_failures.clone(),
        );

        Metrics {
            registry,
            requests,
            ended,
            login_failures,
            sweeps,
            sweep_last,
        }
    }
}

/// What [`Metrics`] does not count itself: read from the database and the
/// other services when Prometheus scrapes.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Live sessions in the whole database, by audience.
    pub live_sessions: Vec<(String, i64)>,
    /// Password hashes waiting for a slot.
    pub hash_queue: usize,
    /// Sign-ins refused because too many were waiting for a hash.
    pub hash_rejected: u64,
    /// Last-activity writes this process made.
    pub activity_writes: u64,
    /// Sessions this process holds in memory.
    pub session_memory: usize,
    /// Live channels open on this process.
    pub live_channels: usize,
    /// Whether this process may answer checks from memory.
    pub memory_trusted: bool,
    /// Times the memory was emptied because it could not be trusted.
    pub memory_resets: u64,
    /// Times a late heartbeat stopped trust for a while, memory kept.
    pub late_heartbeats: u64,
}

impl Scrape {
    /// The registry of this scrape's figures.
    fn registry(self) -> Registry {
        let mut registry = Registry::default();
        let live = Family::<AudienceLabel, Gauge>::default();
        for audience in ["agents", "requesters"] {
            live.get_or_create(&AudienceLabel {
                audience: audience.to_owned(),
            })
            .set(0);
        }
        for (audience, n) in self.live_sessions {
            live.get_or_create(&AudienceLabel { audience }).set(n);
        }
        registry.register(
            "vigil_live_sessions",
            "Live sessions in the whole database, by audience: every replica reports the same figure (take the max across replicas, not the sum)",
            live,
        );
        registry.register(
            "vigil_password_hash_queue",
            "Password hashes waiting for a slot",
            ConstGauge::new(self.hash_queue),
        );
        registry.register(
            "vigil_password_hash_rejected",
            "Sign-ins refused with 503 because too many were waiting for a password hash",
            ConstCounter::new(self.hash_rejected),
        );
        registry.register(
            "vigil_activity_writes",
            "Last-activity writes this process made (coalesced)",
            ConstCounter::new(self.activity_writes),
        );
        registry.register(
            "vigil_session_memory",
            "Sessions this process holds in memory",
            ConstGauge::new(self.session_memory),
        );
        registry.register(
            "vigil_live_channels",
            "Live channels (GET /api/session/events) open on this process",
            ConstGauge::new(self.live_channels),
        );
        registry.register(
            "vigil_session_memory_trusted",
            "1 while this process may answer checks from memory (on PostgreSQL: while it hears other replicas' changes)",
            ConstGauge::new(i64::from(self.memory_trusted)),
        );
        registry.register(
            "vigil_session_memory_resets",
            "Times this process emptied its session memory because it could not trust it (on PostgreSQL: its listening connection was lost); each sends checks to the database until the memory fills again",
            ConstCounter::new(self.memory_resets),
        );
        registry.register(
            "vigil_session_heartbeats_late",
            "Times this replica heard its own heartbeat later than it trusts its memory (PostgreSQL: the database or this process was slow); checks read the database until it came, and the memory was kept",
            ConstCounter::new(self.late_heartbeats),
        );
        registry
    }
}

impl Metrics {
    /// Counts a response. `route` is the matched pattern, so ids do not
    /// explode the label set; a `&'static str` from the route table costs
    /// no allocation.
    pub fn request(&self, route: impl Into<Cow<'static, str>>, status: u16, took: Duration) {
        let labels = RequestLabels {
            route: route.into(),
            status,
        };
        self.requests.observe(labels, took.as_secs_f64());
    }

    /// Requests answered on API routes so far (tests count a page's
    /// requests with it).
    pub fn api_requests(&self) -> u64 {
        self.requests
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(labels, _)| labels.route.starts_with("/api/"))
            .map(|(_, s)| s.total.get())
            .sum()
    }

    /// Counts sessions that ended.
    pub fn ended(&self, why: EndReason, n: u64) {
        if let Some(i) = EndReason::ALL.iter().position(|r| *r == why) {
            self.ended[i].inc_by(n);
        }
    }

    /// Counts a failed sign-in.
    pub fn login_failed(&self) {
        self.login_failures.inc();
    }

    /// Records one sweeper pass.
    pub fn swept(&self, took: Duration) {
        let secs = took.as_secs_f64();
        self.sweeps.observe(secs);
        self.sweep_last.set(secs);
    }

    /// Everything, in the Prometheus text format ([`CONTENT_TYPE`]): this
    /// process's counters, then `now`.
    pub fn encode(&self, now: Scrape) -> Result<String, fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_text::encode(&mut out, &self.registry)?;
        prometheus_text::encode(&mut out, &now.registry())?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} in\n{text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn the_text_carries_every_name_with_its_type_labels_and_cumulative_buckets() {
        let m = Metrics::default();
        for secs in [0.0005, 0.003, 0.003, 20.0] {
            m.request("/a", 200, Duration::from_secs_f64(secs));
        }
        m.request("/a", 404, Duration::from_millis(2));
        m.ended(EndReason::IdleTimeout, 2);
        m.login_failed();
        m.swept(Duration::from_millis(30));
        let text = m
            .encode(Scrape {
                live_sessions: vec![("agents".into(), 3)],
                hash_queue: 2,
                hash_rejected: 5,
                activity_writes: 7,
                session_memory: 11,
                live_channels: 13,
                memory_trusted: true,
                memory_resets: 17,
                late_heartbeats: 19,
            })
            .unwrap();

        for (name, kind) in [
            ("vigil_build_info", "gauge"),
            ("vigil_http_requests_total", "counter"),
            ("vigil_http_request_duration_seconds", "histogram"),
            ("vigil_live_sessions", "gauge"),
            ("vigil_sessions_ended_total", "counter"),
            ("vigil_sweep_duration_seconds", "histogram"),
            ("vigil_sweep_last_duration_seconds", "gauge"),
            ("vigil_login_failures_total", "counter"),
            ("vigil_password_hash_queue", "gauge"),
            ("vigil_password_hash_rejected_total", "counter"),
            ("vigil_activity_writes_total", "counter"),
            ("vigil_session_memory", "gauge"),
            ("vigil_live_channels", "gauge"),
            ("vigil_session_memory_trusted", "gauge"),
            ("vigil_session_memory_resets_total", "counter"),
            ("vigil_session_heartbeats_late_total", "counter"),
        ] {
            let type_line = format!("# TYPE {name} {kind}");
            assert_eq!(
                text.lines().filter(|l| *l == type_line).count(),
                1,
                "{type_line} once in\n{text}"
            );
            let help = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("# HELP {name} ")))
                .unwrap_or_else(|| panic!("help of {name} in\n{text}"));
            assert!(help.ends_with('.') && !help.ends_with(".."), "{help}");
        }

        // The durations: every bound, cumulative, then +Inf, sum and count.
        let series = "vigil_http_request_duration_seconds";
        let labels = "route=\"/a\",status=\"200\"";
        let bounds: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{series}_bucket{{{labels},le=\"")))
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert_eq!(
            bounds,
            [
                "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                "2.5", "10", "+Inf"
            ]
        );
        for (le, n) in [
            ("0.001", 1),
            ("0.0025", 1),
            ("0.005", 3),
            ("10", 3),
            ("+Inf", 4),
        ] {
            let line = format!("{series}_bucket{{{labels},le=\"{le}\"}} {n}");
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert_eq!(value(&text, &format!("{series}_count{{{labels}}}")), 4.0);
        let sum = value(&text, &format!("{series}_sum{{{labels}}}"));
        assert!((sum - 20.0065).abs() < 1e-9, "{sum}");

        for line in [
            "vigil_http_requests_total{route=\"/a\",status=\"200\"} 4",
            "vigil_http_requests_total{route=\"/a\",status=\"404\"} 1",
            concat!(
                "vigil_build_info{version=\"",
                env!("CARGO_PKG_VERSION"),
                "\"} 1"
            ),
            "vigil_sessions_ended_total{reason=\"idle_timeout\"} 2",
            "vigil_sessions_ended_total{reason=\"absolute_timeout\"} 0",
            "vigil_sessions_ended_total{reason=\"revoked\"} 0",
            "vigil_sessions_ended_total{reason=\"logged_out\"} 0",
            "vigil_sweep_duration_seconds_bucket{le=\"0.025\"} 0",
            "vigil_sweep_duration_seconds_bucket{le=\"0.05\"} 1",
            "vigil_sweep_duration_seconds_bucket{le=\"+Inf\"} 1",
            "vigil_sweep_duration_seconds_count 1",
            "vigil_login_failures_total 1",
            "vigil_live_sessions{audience=\"agents\"} 3",
            "vigil_live_sessions{audience=\"requesters\"} 0",
            "vigil_password_hash_queue 2",
            "vigil_password_hash_rejected_total 5",
            "vigil_activity_writes_total 7",
            "vigil_session_memory 11",
            "vigil_live_channels 13",
            "vigil_session_memory_trusted 1",
            "vigil_session_memory_resets_total 17",
            "vigil_session_heartbeats_late_total 19",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!((value(&text, "vigil_sweep_last_duration_seconds") - 0.03).abs() < 1e-9);
        assert!((value(&text, "vigil_sweep_duration_seconds_sum") - 0.03).abs() < 1e-9);
    }

    #[test]
    fn an_empty_histogram_is_written_with_zero_buckets_sum_and_count() {
        let text = Metrics::default().encode(Scrape::default()).unwrap();
        for line in [
            "vigil_sweep_duration_seconds_bucket{le=\"0.001\"} 0",
            "vigil_sweep_duration_seconds_bucket{le=\"+Inf\"} 0",
            "vigil_sweep_duration_seconds_count 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert_eq!(value(&text, "vigil_sweep_duration_seconds_sum"), 0.0);
    }

    #[test]
    fn a_route_counts_as_one_series_whether_its_label_is_borrowed_or_owned() {
        let m = Metrics::default();
        m.request("/api/auth/login", 403, Duration::ZERO);
        m.request(String::from("/api/auth/login"), 403, Duration::ZERO);
        m.request("/healthz", 200, Duration::ZERO);
        m.request("/api/session", 200, Duration::ZERO);
        assert_eq!(m.api_requests(), 3);
        let text = m.encode(Scrape::default()).unwrap();
        assert!(
            text.lines()
                .any(|l| l
                    == "vigil_http_requests_total{route=\"/api/auth/login\",status=\"403\"} 2"),
            "{text}"
        );
    }
}
