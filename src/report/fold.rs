//! A recording folded line by line into what `report` and `compare` say of it: the run's
//! statistics (the same `stats` aggregates the live run kept), its isolation windows, the faults
//! injected, its seconds. Nothing keeps a line once it is folded: memory grows with brokers,
//! histogram buckets, isolations and seconds, not with sends.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::offline::{Injection, Isolation, Second};
use super::Summary;
use crate::record::schema::RunInfo;
use crate::record::{Line, Reader};
use crate::stats::threshold::Threshold;
use crate::stats::RunStats;

/// Seconds of the run kept one by one for the per-second table (about 11.5 days; a second
/// past it is left out, and said).
pub const MAX_SECONDS: usize = 1_000_000;

/// Isolation windows and injections kept at most (each a few dozen bytes).
pub const MAX_WINDOWS: usize = 1_000_000;

/// One recording, folded.
pub struct Folded {
    pub name: String,
    pub started_ms: i64,
    pub run: RunInfo,
    pub thresholds: Vec<Threshold>,
    pub problems: Vec<String>,
    pub origin: Instant,
    pub stats: RunStats,
    /// The end line's facts: elapsed, sends not started, name server lookups, aborted by.
    end: Option<(Duration, u64, u64, Option<String>)>,
    /// The latest end of a send (ns since the start): the run's length when it has no end line.
    last_send_ns: i64,
    pub isolations: Vec<Isolation>,
    pub injections: Vec<Injection>,
    pub per_second: Vec<Second>,
    left_out: u64,
}

fn secs(t_ns: i64) -> f64 {
    (t_ns as f64 / 1e9 * 1000.0).round() / 1000.0
}

impl Folded {
    /// Reads `path` through once.
    pub fn read(path: &std::path::Path) -> Result<Folded, String> {
        let mut r = Reader::open(path)?;
        let origin = Instant::now();
        let mut f = Folded {
            name: r.name.clone(),
            started_ms: r.started_ms,
            run: r.run.clone(),
            thresholds: r.thresholds.clone(),
            problems: Vec::new(),
            origin,
            stats: RunStats::new(origin),
            end: None,
            last_send_ns: 0,
            isolations: Vec::new(),
            injections: Vec::new(),
            per_second: Vec::new(),
            left_out: 0,
        };
        while let Some(line) = r.next_line() {
            f.take(line);
        }
        let mut problems = std::mem::take(&mut r.problems);
        problems.append(&mut f.problems);
        f.problems = problems;
        f.finish();
        Ok(f)
    }

    fn take(&mut self, line: Line) {
        match line {
            Line::Route { brokers, .. } => {
                for b in brokers {
                    self.stats.broker(&Arc::from(b.as_str()));
                }
            }
            Line::Send(s) => {
                let end_ns = s.end_ns();
                self.last_send_ns = self.last_send_ns.max(end_ns);
                let at = (end_ns.max(0) / 1_000_000_000) as usize;
                if at < MAX_SECONDS {
                    if self.per_second.len() <= at {
                        self.per_second.resize_with(at + 1, Default::default);
                    }
                    let sec = &mut self.per_second[at];
                    sec.sent += 1;
                    sec.failed += u64::from(s.status == "FAILED");
                    sec.retries += s.attempts.len().saturating_sub(1) as u64;
                    sec.max_ms = sec.max_ms.max(s.latency_ns as f64 / 1e6);
                } else {
                    self.left_out += 1;
                }
                match s.outcome(self.origin) {
                    Ok(o) => self.stats.record(&o),
                    Err(e) if self.problems.len() < 100 => self.problems.push(format!("{}: {e}", self.name)),
                    Err(_) => {}
                }
            }
            Line::Fault(f) if f.window_ns > 0 => {
                let to_ns = f.t_ns.saturating_add(i64::try_from(f.window_ns).unwrap_or(i64::MAX));
                let (from, to) = (secs(f.t_ns), secs(to_ns));
                // Windows per broker, merged where one extends another (as RunStats counts them).
                let room = self.isolations.len() < MAX_WINDOWS;
                match self.isolations.iter_mut().rev().find(|i| i.broker == f.broker) {
                    Some(open) if from <= open.to_s => open.to_s = open.to_s.max(to),
                    _ if room => self.isolations.push(Isolation {
                        broker: f.broker,
                        from_s: from,
                        to_s: to,
                        latency_ms: f.latency_ns as f64 / 1e6,
                    }),
                    _ => self.left_out += 1,
                }
            }
            Line::Injection { t_ns, broker, fault } if self.injections.len() < MAX_WINDOWS => {
                self.injections.push(Injection { at_s: secs(t_ns), broker, fault })
            }
            Line::End { elapsed_ns, not_started, name_server_lookups, aborted_by, .. } => {
                self.end = Some((Duration::from_nanos(elapsed_ns), not_started, name_server_lookups, aborted_by))
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        for (i, s) in self.per_second.iter_mut().enumerate() {
            s.at_s = i as u64;
        }
        // A window still open at the end is cut there.
        let end = self.elapsed().as_secs_f64();
        for i in &mut self.isolations {
            i.to_s = i.to_s.min(end.max(i.from_s));
        }
        // The first reading of each broker ("healthy") is the start, not an injection.
        let mut first = std::collections::BTreeSet::new();
        self.injections.retain(|i| !(first.insert(i.broker.clone()) && i.fault == "healthy"));
        if self.left_out > 0 {
            self.problems.push(format!(
                "{}: {} sends past {MAX_SECONDS} s or windows past {MAX_WINDOWS} are in the totals, not the tables",
                self.name, self.left_out
            ));
        }
    }

    /// The run's length: the live summary's, else up to the last send's end.
    pub fn elapsed(&self) -> Duration {
        match &self.end {
            Some((elapsed, ..)) => *elapsed,
            None => Duration::from_nanos(self.last_send_ns.max(0) as u64),
        }
    }

    /// The summary the live run printed, rebuilt.
    pub fn summary(&self) -> Summary {
        let elapsed = self.elapsed();
        let (not_started, lookups, aborted_by) = match &self.end {
            Some((_, not_started, lookups, aborted_by)) => (*not_started, *lookups, aborted_by.clone()),
            None => (0, 0, None),
        };
        let end = self.origin.checked_add(elapsed).unwrap_or(self.origin);
        let mut s = Summary::new(&self.stats, elapsed, end, lookups, self.run.clone());
        s.not_started = not_started;
        s.aborted_by = aborted_by;
        s.thresholds = self.thresholds.iter().map(|t| t.check(&self.stats, elapsed)).collect();
        s
    }
}
