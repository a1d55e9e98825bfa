//! `mqtui report FILE…`: a recorded run re-reported offline — the summary table, each broker's
//! latency and isolations, a latency histogram, the isolation timeline, throughput per second —
//! as text, markdown (pastes into a ticket), csv, json or one self-contained html page.

use std::io::Write;

use serde::Serialize;

use super::fold::Folded;
use super::Summary;

pub use crate::stats::{bucket_label, LOG_BUCKETS_MS as BUCKETS_MS};

/// Sends per latency bucket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Histogram {
    /// Name (the run, or a broker).
    pub of: String,
    /// `counts[i]`: latencies ≤ `BUCKETS_MS[i]` and above the bucket before.
    pub counts: Vec<u64>,
}

impl Histogram {
    fn of(name: &str, h: &hdrhistogram::Histogram<u64>) -> Histogram {
        Histogram { of: name.to_string(), counts: crate::stats::log_buckets(h) }
    }
}

/// A window during which the producer's fault strategy kept a broker out.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Isolation {
    pub broker: String,
    pub from_s: f64,
    pub to_s: f64,
    /// The latency that opened it (the attempt's), ms.
    pub latency_ms: f64,
}

/// A fault injected on a demo broker or chaos proxy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Injection {
    pub at_s: f64,
    pub broker: String,
    pub fault: String,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Second {
    pub at_s: u64,
    pub sent: u64,
    pub failed: u64,
    pub retries: u64,
    /// The largest latency of the sends that ended in it, ms.
    pub max_ms: f64,
}

/// Everything a report says of one recording.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub recording: String,
    pub started_ms: i64,
    pub summary: Summary,
    pub histograms: Vec<Histogram>,
    pub isolations: Vec<Isolation>,
    pub injections: Vec<Injection>,
    pub per_second: Vec<Second>,
    pub problems: Vec<String>,
}

impl RunReport {
    /// The report of a recording folded by [`Folded::read`].
    pub fn new(f: &Folded) -> RunReport {
        let mut histograms = vec![Histogram::of("all", &f.stats.latency)];
        histograms.extend(f.stats.brokers.values().map(|b| Histogram::of(&b.name, &b.latency)));
        RunReport {
            recording: f.name.clone(),
            started_ms: f.started_ms,
            summary: f.summary(),
            histograms,
            isolations: f.isolations.clone(),
            injections: f.injections.clone(),
            per_second: f.per_second.clone(),
            problems: f.problems.clone(),
        }
    }

    fn started(&self) -> String {
        chrono::DateTime::from_timestamp_millis(self.started_ms)
            .map(|d| d.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    }

    pub fn write_text(&self, w: &mut impl Write) -> std::io::Result<()> {
        writeln!(w, "recording {} · started {}", self.recording, self.started())?;
        for p in &self.problems {
            writeln!(w, "warning: {p}")?;
        }
        self.summary.write_table(w)?;
        writeln!(w)?;
        writeln!(w, "latency histogram (sends per bucket)")?;
        let all = &self.histograms[0];
        let widest = all.counts.iter().copied().max().unwrap_or(0).max(1);
        let last = all.counts.iter().rposition(|c| *c > 0).unwrap_or(0);
        let first = all.counts.iter().position(|c| *c > 0).unwrap_or(0);
        for i in first..=last {
            let c = all.counts[i];
            let bar = "█".repeat(((c as f64 / widest as f64) * 40.0).ceil() as usize);
            writeln!(w, "  {:>10} {:>9}  {bar}", bucket_label(i), c)?;
        }
        writeln!(w)?;
        if self.isolations.is_empty() {
            writeln!(w, "isolations: none")?;
        } else {
            writeln!(w, "isolations (the fault strategy kept the broker out)")?;
            for i in &self.isolations {
                writeln!(
                    w,
                    "  {:<12} {:>8.3} s → {:>8.3} s  ({:.1} s, opened by a {:.1} ms attempt)",
                    i.broker,
                    i.from_s,
                    i.to_s,
                    i.to_s - i.from_s,
                    i.latency_ms
                )?;
            }
        }
        if !self.injections.is_empty() {
            writeln!(w, "faults injected")?;
            for i in &self.injections {
                writeln!(w, "  {:>8.3} s  {:<12} {}", i.at_s, i.broker, i.fault)?;
            }
        }
        Ok(())
    }

    pub fn write_markdown(&self, w: &mut impl Write) -> std::io::Result<()> {
        let s = &self.summary;
        writeln!(w, "## mqtui run `{}`\n", self.recording)?;
        writeln!(
            w,
            "Started {} · {} · topic `{}` · Java {} · load model {}\n",
            self.started(),
            s.run.target,
            s.run.topic,
            s.run.java,
            s.run.load_model
        )?;
        for p in &self.problems {
            writeln!(w, "> **warning:** {p}\n")?;
        }
        let row = |cells: &[String]| format!("| {} |", cells.join(" | "));
        let head = |cols: &[&str]| format!("| {} |", cols.join(" | "));
        writeln!(w, "{}", head(&RUN_COLUMNS))?;
        writeln!(w, "|{}", "---:|".repeat(RUN_COLUMNS.len()))?;
        writeln!(w, "{}\n", row(&run_cells(s)))?;
        if !s.thresholds.is_empty() {
            writeln!(w, "**Thresholds**\n")?;
            for t in &s.thresholds {
                writeln!(w, "- {t}")?;
            }
            writeln!(w)?;
        }
        writeln!(w, "{}", head(&BROKER_COLUMNS))?;
        writeln!(w, "|---|{}", "---:|".repeat(BROKER_COLUMNS.len() - 1))?;
        for b in &s.brokers {
            writeln!(w, "{}", row(&broker_cells(b)))?;
        }
        writeln!(w, "\n**Latency histogram** (sends per bucket)\n")?;
        writeln!(w, "| bucket | sends |")?;
        writeln!(w, "|---|---:|")?;
        for (i, c) in self.histograms[0].counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            writeln!(w, "| {} | {c} |", bucket_label(i))?;
        }
        writeln!(w, "\n**Isolations**\n")?;
        if self.isolations.is_empty() {
            writeln!(w, "None.")?;
        } else {
            writeln!(w, "| broker | from s | to s | opened by ms |")?;
            writeln!(w, "|---|---:|---:|---:|")?;
            for i in &self.isolations {
                writeln!(w, "| {} | {:.3} | {:.3} | {:.1} |", i.broker, i.from_s, i.to_s, i.latency_ms)?;
            }
        }
        if !self.injections.is_empty() {
            writeln!(w, "\n**Faults injected**\n")?;
            for i in &self.injections {
                writeln!(w, "- {:.3} s · {} · {}", i.at_s, i.broker, i.fault)?;
            }
        }
        writeln!(w)
    }
}

/// The run table's columns, and a run's cells (markdown and html write the same table).
pub const RUN_COLUMNS: [&str; 11] = [
    "sent",
    "ok",
    "failed",
    "retries",
    "elapsed s",
    "msg/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "behind schedule",
];

pub fn run_cells(s: &Summary) -> Vec<String> {
    let l = &s.latency_ms;
    let mut v: Vec<String> = [s.sent, s.ok, s.failed, s.retries].iter().map(u64::to_string).collect();
    v.push(s.elapsed_s.to_string());
    v.push(format!("{:.0}", s.tps));
    v.extend([l.p50, l.p99, l.p999, l.max].iter().map(f64::to_string));
    v.push(s.behind_schedule.to_string());
    v
}

/// The brokers table's columns, and a broker's cells.
pub const BROKER_COLUMNS: [&str; 11] = [
    "broker",
    "attempts",
    "ok",
    "failed",
    "retried away",
    "retried onto",
    "isolations",
    "isolated s",
    "p50 ms",
    "p99 ms",
    "max ms",
];

pub fn broker_cells(b: &super::BrokerSummary) -> Vec<String> {
    let mut v = vec![b.name.clone()];
    v.extend([b.attempts, b.ok, b.failed, b.retried_away, b.retried_onto, b.isolations].iter().map(u64::to_string));
    v.push(format!("{:.1}", b.isolated_ms as f64 / 1000.0));
    v.extend([b.latency_ms.p50, b.latency_ms.p99, b.latency_ms.max].iter().map(f64::to_string));
    v
}

/// The csv header: one row per run (broker empty) and one per broker of it.
pub const CSV_HEADER: &str = "recording,broker,sent,ok,failed,attempts,retries,elapsed_s,tps,p50_ms,p99_ms,p999_ms,max_ms,isolations,isolated_ms,behind_schedule,max_lag_ms";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn write_csv(reports: &[RunReport], w: &mut impl Write) -> std::io::Result<()> {
    writeln!(w, "{CSV_HEADER}")?;
    for r in reports {
        let s = &r.summary;
        let name = csv_field(&r.recording);
        let l = &s.latency_ms;
        writeln!(
            w,
            "{name},,{},{},{},{},{},{},{},{},{},{},{},,,{},{}",
            s.sent,
            s.ok,
            s.failed,
            s.attempts,
            s.retries,
            s.elapsed_s,
            s.tps,
            l.p50,
            l.p99,
            l.p999,
            l.max,
            s.behind_schedule,
            s.max_lag_ms
        )?;
        for b in &s.brokers {
            writeln!(
                w,
                "{name},{},,{},{},{},,,,{},{},,{},{},{},,",
                csv_field(&b.name),
                b.ok,
                b.failed,
                b.attempts,
                b.latency_ms.p50,
                b.latency_ms.p99,
                b.latency_ms.max,
                b.isolations,
                b.isolated_ms
            )?;
        }
    }
    Ok(())
}
