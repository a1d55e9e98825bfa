//! Durations and failures in the console's words (`0.41 ms`, `7.3 s`, `timeout 3000 ms`),
//! shared by the live aggregates (the isolation spans' causes) and the panels.

use std::time::Duration;

use crate::producer::{AttemptOutcome, AttemptRecord};

/// Milliseconds, short: `0.41 ms`, `12.3 ms`, `3001 ms`.
pub fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Seconds, short: `2 s`, `7.3 s`, `10 min`.
pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 120.0 {
        format!("{:.0} min", s / 60.0)
    } else if (s - s.round()).abs() < 0.05 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// A failed attempt in a few words, from the Java exception behind it.
pub fn failure_words(a: &AttemptRecord) -> String {
    use crate::producer::JavaError;
    match (a.java_error, a.outcome) {
        (Some(JavaError::Connect), _) => "connect failed".into(),
        (Some(JavaError::TooMuchRequest), _) => "no time left to send".into(),
        (Some(JavaError::Client), AttemptOutcome::SendFailed) => "no broker address".into(),
        (_, AttemptOutcome::Timeout) => format!("timeout {} ms", a.timeout.as_millis()),
        (_, AttemptOutcome::SendFailed) => "send failed".into(),
        _ => "unknown reason".into(),
    }
}
