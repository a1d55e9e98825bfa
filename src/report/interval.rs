//! `--every`: one line per interval of a headless run — what the interval did (throughput,
//! latency, failures, retries, sends behind schedule) and each broker's state at its end — so
//! that a long run in a script or CI shows how it went, not only its totals.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::stats::{quantile_ms, RunStats};

/// `{"type":"interval", …}`.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct IntervalLine {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub v: u32,
    /// Seconds from the run's start to the interval's end.
    pub t_s: f64,
    pub interval_s: f64,
    /// Sends completed in the interval, and how.
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub retries: u64,
    pub tps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub behind_schedule: u64,
    /// Sends completed since the run began.
    pub total_sent: u64,
    pub brokers: Vec<IntervalBroker>,
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct IntervalBroker {
    pub name: String,
    /// ok | isolated (its not-available window runs past the interval's end)
    pub state: &'static str,
    pub attempts: u64,
    pub failed: u64,
    pub p99_ms: f64,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl IntervalLine {
    /// The line of the interval `part` (its own aggregates), ending at `now`; `total` is the
    /// whole run so far (broker states and the running count).
    pub fn new(part: &RunStats, total: &RunStats, now: Instant) -> Self {
        let secs = now.saturating_duration_since(part.started).as_secs_f64();
        IntervalLine {
            kind: "interval",
            v: super::SCHEMA_VERSION,
            t_s: round3(now.saturating_duration_since(total.started).as_secs_f64()),
            interval_s: round3(secs),
            sent: part.sent,
            ok: part.ok,
            failed: part.failed,
            retries: part.retries,
            tps: if secs > 0.0 { round3(part.sent as f64 / secs) } else { 0.0 },
            p50_ms: quantile_ms(&part.latency, 0.5),
            p99_ms: quantile_ms(&part.latency, 0.99),
            behind_schedule: part.behind_schedule,
            total_sent: total.sent,
            brokers: total
                .brokers
                .values()
                .map(|b| {
                    let here = part.brokers.get(&b.name);
                    IntervalBroker {
                        name: b.name.to_string(),
                        state: if b.until.is_some_and(|u| u > now) { "isolated" } else { "ok" },
                        attempts: here.map_or(0, |h| h.attempts),
                        failed: here.map_or(0, |h| h.failed),
                        p99_ms: here.map_or(0.0, |h| quantile_ms(&h.latency, 0.99)),
                    }
                })
                .collect(),
        }
    }

    /// The readable form: one line.
    pub fn write_text(&self, w: &mut impl Write) -> std::io::Result<()> {
        write!(
            w,
            "[{:>7.1}s] sent {} ({:.0}/s)  ok {}  failed {}  retries {}  p50 {} ms  p99 {} ms  behind {}  |",
            self.t_s,
            self.sent,
            self.tps,
            self.ok,
            self.failed,
            self.retries,
            self.p50_ms,
            self.p99_ms,
            self.behind_schedule
        )?;
        for b in &self.brokers {
            let state = if b.state == "isolated" { " ISOLATED" } else { "" };
            write!(w, "  {}{state} {}/{} p99 {} ms", b.name, b.attempts, b.failed, b.p99_ms)?;
        }
        writeln!(w)
    }
}

/// The interval's aggregates, restarted at each line.
pub fn restart(part: &mut RunStats, total: &RunStats, now: Instant) {
    *part = RunStats::new(now);
    for b in total.brokers.keys() {
        part.broker(b);
    }
}

/// `--every 10s`: a duration with its unit (ms, s, m), at least 100 ms.
pub fn parse_every(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("{s:?}: give a duration such as 10s, 500ms or 1m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit is ms, s or m")),
    };
    if !(0.1..=86_400.0).contains(&secs) {
        return Err(format!("{s:?}: an interval is 100 ms to 24 h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_their_units() {
        assert_eq!(parse_every("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_every("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_every("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_every("2"), Ok(Duration::from_secs(2)));
        assert!(parse_every("10h").unwrap_err().contains("unit"));
        assert!(parse_every("5ms").unwrap_err().contains("100 ms"));
        assert!(parse_every("soon").is_err());
    }
}
