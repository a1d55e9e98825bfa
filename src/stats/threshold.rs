//! Pass/fail criteria of a run (`--threshold`), as k6's thresholds: `p99<500ms`, `failed=0`,
//! `failed<0.1%`, `tps>10000`, `behind_schedule=0`, `retries<100`, per broker
//! `broker-a.p99<50ms`. Evaluated on the run's [`RunStats`], the same aggregates every view
//! reads.

use std::fmt;
use std::time::Duration;

use super::{max_ms, quantile_ms, RunStats};

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    /// A latency quantile (1.0: the maximum), milliseconds.
    Latency(f64),
    Failed,
    Retries,
    Tps,
    BehindSchedule,
    Sent,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expr: String,
    broker: Option<String>,
    metric: Metric,
    op: Op,
    /// Milliseconds for latencies; a count, or with `percent` a share of the sends, otherwise.
    limit: f64,
    percent: bool,
}

/// A threshold's verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub expr: String,
    /// The measured value, in the threshold's own unit (ms, a count, a percent, msgs/s).
    pub value: f64,
    pub ok: bool,
}

impl Threshold {
    /// Parses `[BROKER.]METRIC OP VALUE[UNIT]`.
    pub fn parse(expr: &str) -> Result<Threshold, String> {
        let bad = |why: &str| format!("threshold {expr:?}: {why}");
        let text: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
        let at = text.find(['<', '>', '=']).ok_or_else(|| bad("no comparison (<, <=, >, >=, =)"))?;
        let (lhs, rest) = text.split_at(at);
        let (op, rhs) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix("==") {
            (Op::Eq, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else if let Some(r) = rest.strip_prefix('>') {
            (Op::Gt, r)
        } else {
            (Op::Eq, &rest[1..])
        };
        // A broker name may hold dots: the metric is what follows the last one.
        let (broker, name) = match lhs.rsplit_once('.') {
            Some((b, m)) if !b.is_empty() => (Some(b.to_string()), m),
            _ => (None, lhs),
        };
        let metric = match name {
            "p50" => Metric::Latency(0.5),
            "p90" => Metric::Latency(0.9),
            "p99" => Metric::Latency(0.99),
            "p999" => Metric::Latency(0.999),
            "max" => Metric::Latency(1.0),
            "failed" => Metric::Failed,
            "retries" => Metric::Retries,
            "tps" => Metric::Tps,
            "behind_schedule" => Metric::BehindSchedule,
            "sent" => Metric::Sent,
            "" => return Err(bad("no metric before the comparison")),
            other => {
                return Err(bad(&format!(
                    "unknown metric {other:?} (p50, p90, p99, p999, max, failed, retries, tps, behind_schedule, sent)"
                )))
            }
        };
        if broker.is_some() && !matches!(metric, Metric::Latency(_) | Metric::Failed | Metric::Sent) {
            return Err(bad("a broker's threshold is on p50, p90, p99, p999, max, failed or sent"));
        }
        let (number, unit) = rhs.split_at(rhs.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rhs.len()));
        let value: f64 = number.parse().map_err(|_| bad(&format!("{rhs:?} is not a number")))?;
        let (limit, percent) = match (metric, unit) {
            (Metric::Latency(_), "ms") => (value, false),
            (Metric::Latency(_), "s") => (value * 1000.0, false),
            (Metric::Latency(_), "us" | "µs") => (value / 1000.0, false),
            (Metric::Latency(_), _) => return Err(bad("a latency needs its unit: ms, s or us")),
            (Metric::Failed | Metric::Retries | Metric::BehindSchedule, "%") => (value, true),
            (_, "") => (value, false),
            (_, u) => return Err(bad(&format!("unit {u:?} does not apply to {name}"))),
        };
        Ok(Threshold { expr: expr.trim().to_string(), broker, metric, op, limit, percent })
    }

    /// Whether a value once past the limit can come back: an upper bound on a count or the
    /// maximum only grows, so `--abort-on-fail` may stop at it at once.
    pub fn broken_for_good(&self) -> bool {
        matches!(self.op, Op::Lt | Op::Le | Op::Eq)
            && !self.percent
            && matches!(self.metric, Metric::Failed | Metric::Retries | Metric::BehindSchedule | Metric::Latency(1.0))
    }

    /// The unit of its measured value: ms for a latency, % for a share, /s for tps, none for a
    /// count.
    pub fn unit(&self) -> &'static str {
        match self.metric {
            Metric::Latency(_) => " ms",
            Metric::Tps => "/s",
            _ if self.percent => "%",
            _ => "",
        }
    }

    /// The measured value in its unit, short: `412 ms`, `0.25%`, `1204/s`, `3`; `none` when
    /// nothing was measured.
    pub fn measured(&self, v: &Verdict) -> String {
        if v.value.is_nan() {
            return "none".into();
        }
        let x = v.value;
        let n = if (x - x.round()).abs() < 1e-9 || x >= 100.0 {
            format!("{:.0}", x)
        } else if x >= 10.0 {
            format!("{:.1}", x)
        } else {
            format!("{:.2}", x)
        };
        format!("{n}{}", self.unit())
    }

    /// Measures the threshold on `s` (a run `elapsed` long).
    pub fn check(&self, s: &RunStats, elapsed: Duration) -> Verdict {
        let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 };
        let value = match &self.broker {
            None => {
                let count = |n: u64| if self.percent { share(n, s.sent) } else { n as f64 };
                match self.metric {
                    Metric::Latency(q) if q >= 1.0 => max_ms(&s.latency),
                    Metric::Latency(q) => quantile_ms(&s.latency, q),
                    Metric::Failed => count(s.failed),
                    Metric::Retries => count(s.retries),
                    Metric::BehindSchedule => count(s.behind_schedule),
                    Metric::Sent => s.sent as f64,
                    Metric::Tps => {
                        let secs = elapsed.as_secs_f64();
                        if secs > 0.0 {
                            (s.sent as f64 / secs * 1000.0).round() / 1000.0
                        } else {
                            0.0
                        }
                    }
                }
            }
            Some(b) => match s.brokers.get(b.as_str()) {
                // No such broker in the run (a typo, or it took no attempt): nothing measured,
                // which fails the threshold rather than passing it unseen.
                None => f64::NAN,
                Some(b) => match self.metric {
                    Metric::Latency(q) if q >= 1.0 => max_ms(&b.latency),
                    Metric::Latency(q) => quantile_ms(&b.latency, q),
                    Metric::Failed if self.percent => share(b.failed, b.attempts),
                    Metric::Failed => b.failed as f64,
                    _ => b.attempts as f64,
                },
            },
        };
        let l = self.limit;
        let ok = !value.is_nan()
            && match self.op {
                Op::Lt => value < l,
                Op::Le => value <= l,
                Op::Gt => value > l,
                Op::Ge => value >= l,
                Op::Eq => (value - l).abs() < 1e-9,
            };
        Verdict { expr: self.expr.clone(), value, ok }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.ok { "PASS" } else { "FAIL" };
        if self.value.is_nan() {
            write!(f, "{verdict} {}  (nothing measured: no such broker in the run)", self.expr)
        } else {
            write!(f, "{verdict} {}  (measured {})", self.expr, self.value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{attempt, outcome};
    use super::*;
    use crate::producer::AttemptOutcome;
    use tokio::time::Instant;

    fn run() -> RunStats {
        let mut s = RunStats::new(Instant::now());
        let t0 = Instant::now();
        for i in 0..999 {
            let b = if i % 2 == 0 { "broker-a" } else { "broker-b" };
            s.record(&outcome(vec![attempt(b, AttemptOutcome::Ok, t0, 10, 0)], true));
        }
        // Two timeouts of 1.5 s: one send of 3 s, failed, retried once.
        let timeout = attempt("broker-b", AttemptOutcome::Timeout, t0, 1500, 0);
        s.record(&outcome(vec![timeout.clone(), timeout], false));
        s
    }

    fn check(expr: &str) -> Verdict {
        Threshold::parse(expr).unwrap().check(&run(), Duration::from_secs(2))
    }

    #[test]
    fn thresholds_measure_the_run() {
        assert!(check("p99<500ms").ok);
        assert!(!check("max<2s").ok);
        assert!((check("max < 2s").value - 3000.0).abs() < 5.0, "3 s, to the histogram's precision");
        assert!(!check("failed=0").ok);
        assert!(check("failed<0.2%").ok && !check("failed<0.1%").ok, "1 of 1000 is 0.1 %");
        assert_eq!(check("tps>400").value, 500.0);
        assert!(check("retries<=1").ok && !check("retries<1").ok);
        assert!(check("behind_schedule=0").ok);
        assert!(check("broker-a.p99<50ms").ok);
        assert!(!check("broker-b.max<100ms").ok);
        assert!(check("broker-b.failed=2").ok, "a broker counts its failed attempts");
        let none = check("broker-z.p99<1ms");
        assert!(!none.ok && none.value.is_nan(), "a broker the run never met fails, measured nothing");
        assert_eq!(serde_json::to_value(&none).unwrap()["value"], serde_json::Value::Null);
    }

    #[test]
    fn a_measured_value_reads_in_its_unit() {
        let m = |e: &str| Threshold::parse(e).unwrap().measured(&check(e));
        assert_eq!(m("max<2s"), format!("{:.0} ms", check("max<2s").value));
        assert_eq!(m("failed<0.1%"), "0.10%");
        assert_eq!(m("tps>400"), "500/s");
        assert_eq!(m("retries<1"), "1");
        assert_eq!(m("broker-z.p99<1ms"), "none");
    }

    #[test]
    fn bad_thresholds_say_why() {
        for (expr, why) in [
            ("p99", "no comparison"),
            ("p98<5ms", "unknown metric"),
            ("p99<5", "needs its unit"),
            ("failed<a", "not a number"),
            ("tps>5%", "does not apply"),
            ("broker-a.tps>5", "broker's threshold"),
            ("<5ms", "no metric"),
        ] {
            let e = Threshold::parse(expr).unwrap_err();
            assert!(e.contains(why) && e.contains(expr), "{expr}: {e}");
        }
    }

    #[test]
    fn only_bounds_that_cannot_come_back_abort_at_once() {
        let t = |e: &str| Threshold::parse(e).unwrap().broken_for_good();
        assert!(t("failed=0") && t("max<2s") && t("retries<100") && t("behind_schedule=0"));
        assert!(!t("p99<500ms") && !t("tps>100") && !t("failed<0.1%"));
    }
}
