//! The browser's clock, corrected by the server's `server_time`.

use time::OffsetDateTime;

/// Milliseconds since the epoch on this machine's clock.
pub fn local_ms() -> f64 {
    js_sys::Date::now()
}

/// An epoch-milliseconds value as a time.
pub fn from_ms(ms: f64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos((ms as i128) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A time as epoch milliseconds.
pub fn to_ms(t: OffsetDateTime) -> f64 {
    (t.unix_timestamp_nanos() / 1_000_000) as f64
}

/// "in 3 min", "in 42 s", "2 h ago": short relative times for tables.
pub fn relative(from_now_secs: i64) -> String {
    let (n, past) = if from_now_secs < 0 {
        (-from_now_secs, true)
    } else {
        (from_now_secs, false)
    };
    let text = if n < 60 {
        format!("{n} s")
    } else if n < 3600 {
        format!("{} min", n / 60)
    } else if n < 48 * 3600 {
        format!("{} h {} min", n / 3600, (n % 3600) / 60)
    } else {
        format!("{} days", n / 86_400)
    };
    if past {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

/// A UTC time as "2026-01-05 09:00:00 UTC".
pub fn stamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An epoch-milliseconds instant as the person's own wall-clock time,
/// "17:00".
pub fn local_clock(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// A time in the person's own time zone, "2026-01-05 10:00:00".
pub fn local_stamp(t: OffsetDateTime) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(to_ms(t)));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}
