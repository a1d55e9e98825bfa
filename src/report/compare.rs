//! `mqtui compare BASE NEW`: two recorded runs side by side — throughput, latency quantiles
//! overall and per broker, failures, retries, behind schedule — with the size of each change,
//! and a verdict against `--max-regression`.

use std::io::Write;

use serde::Serialize;

use super::Summary;

/// One compared figure.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delta {
    pub metric: String,
    pub base: f64,
    pub new: f64,
    pub change: f64,
    /// The change against the base, percent (null when the base is 0 and the new is not).
    pub change_pct: Option<f64>,
    /// Whether NEW is worse on this figure (slower, fewer msg/s, more failures).
    pub worse: bool,
    /// Whether `--max-regression` applies to it (the run's throughput, p50/p99/p99.9, service
    /// p99, failed, retries, behind schedule; max and the per-broker figures are shown only: a
    /// single sample or a broker's share moves too much between two runs to gate on).
    pub gated: bool,
    /// Worse by more than `--max-regression` allows.
    pub regressed: bool,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: String,
    pub new: String,
    pub max_regression_pct: Option<f64>,
    pub deltas: Vec<Delta>,
    /// Any gated figure worse than allowed (exit 4).
    pub regressed: bool,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Comparison {
    pub fn new(
        base_name: &str,
        base: &Summary,
        new_name: &str,
        new: &Summary,
        max_regression_pct: Option<f64>,
    ) -> Comparison {
        let mut deltas = Vec::new();
        let mut add = |metric: String, b: f64, n: f64, lower_is_better: bool, gated: bool| {
            let change = n - b;
            let change_pct = if b != 0.0 {
                Some(round3(change / b * 100.0))
            } else if n == 0.0 {
                Some(0.0)
            } else {
                None
            };
            let worse = if lower_is_better { n > b } else { n < b };
            // How much worse, percent (an increase from 0 is worse than any percentage).
            let by = change_pct.map_or(f64::INFINITY, f64::abs);
            let regressed = gated && worse && max_regression_pct.is_some_and(|max| by > max);
            deltas.push(Delta { metric, base: b, new: n, change: round3(change), change_pct, worse, gated, regressed });
        };
        add("tps".into(), base.tps, new.tps, false, true);
        add("p50_ms".into(), base.latency_ms.p50, new.latency_ms.p50, true, true);
        add("p99_ms".into(), base.latency_ms.p99, new.latency_ms.p99, true, true);
        add("p999_ms".into(), base.latency_ms.p999, new.latency_ms.p999, true, true);
        add("max_ms".into(), base.latency_ms.max, new.latency_ms.max, true, false);
        add("service_p99_ms".into(), base.service_latency_ms.p99, new.service_latency_ms.p99, true, true);
        add("failed".into(), base.failed as f64, new.failed as f64, true, true);
        add("retries".into(), base.retries as f64, new.retries as f64, true, true);
        add("behind_schedule".into(), base.behind_schedule as f64, new.behind_schedule as f64, true, true);
        for b in &base.brokers {
            let Some(n) = new.brokers.iter().find(|n| n.name == b.name) else { continue };
            add(format!("{}.p50_ms", b.name), b.latency_ms.p50, n.latency_ms.p50, true, false);
            add(format!("{}.p99_ms", b.name), b.latency_ms.p99, n.latency_ms.p99, true, false);
            add(format!("{}.max_ms", b.name), b.latency_ms.max, n.latency_ms.max, true, false);
            add(format!("{}.failed", b.name), b.failed as f64, n.failed as f64, true, false);
            add(format!("{}.isolations", b.name), b.isolations as f64, n.isolations as f64, true, false);
        }
        let regressed = deltas.iter().any(|d| d.regressed);
        Comparison { base: base_name.to_string(), new: new_name.to_string(), max_regression_pct, deltas, regressed }
    }

    fn change_text(d: &Delta) -> String {
        let pct = d.change_pct.map_or("new".to_string(), |p| format!("{p:+.1}%"));
        format!("{:+} ({pct})", d.change)
    }

    fn verdict(d: &Delta) -> &'static str {
        if d.regressed {
            "REGRESSED"
        } else if d.change == 0.0 {
            ""
        } else if d.worse {
            "worse"
        } else {
            "better"
        }
    }

    pub fn write_text(&self, w: &mut impl Write) -> std::io::Result<()> {
        writeln!(w, "base {}\nnew  {}", self.base, self.new)?;
        writeln!(w, "{:<24} {:>12} {:>12} {:>22}", "metric", "base", "new", "change")?;
        for d in &self.deltas {
            writeln!(
                w,
                "{:<24} {:>12} {:>12} {:>22}  {}",
                d.metric,
                d.base,
                d.new,
                Self::change_text(d),
                Self::verdict(d)
            )?;
        }
        match self.max_regression_pct {
            Some(max) if self.regressed => {
                let names: Vec<&str> = self.deltas.iter().filter(|d| d.regressed).map(|d| d.metric.as_str()).collect();
                writeln!(w, "REGRESSION: worse than {max}% on {}", names.join(", "))
            }
            Some(max) => writeln!(w, "no regression beyond {max}%"),
            None => Ok(()),
        }
    }

    pub fn write_markdown(&self, w: &mut impl Write) -> std::io::Result<()> {
        writeln!(w, "## mqtui compare\n\nbase `{}` · new `{}`\n", self.base, self.new)?;
        writeln!(w, "| metric | base | new | change | |\n|---|---:|---:|---:|---|")?;
        for d in &self.deltas {
            writeln!(w, "| {} | {} | {} | {} | {} |", d.metric, d.base, d.new, Self::change_text(d), Self::verdict(d))?;
        }
        if let Some(max) = self.max_regression_pct {
            writeln!(
                w,
                "\n{}",
                if self.regressed {
                    format!("**Regression** beyond {max}%.")
                } else {
                    format!("No regression beyond {max}%.")
                }
            )?;
        }
        Ok(())
    }
}

/// `10%` or `10`: a percentage ≥ 0.
pub fn parse_pct(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().trim_end_matches('%').parse().map_err(|_| format!("{s:?}: give a percentage, as 10%"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?}: a percentage is 0 or more"));
    }
    Ok(v)
}
