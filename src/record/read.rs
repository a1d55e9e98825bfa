//! Reading a recording back: its lines in order, and the run's statistics rebuilt from its sends
//! by the same `stats` code that built them live.

use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::schema::Line;
use super::schema::RunInfo;
use super::RECORDING_VERSION;
use crate::producer::SendOutcome;
use crate::stats::threshold::Threshold;
use crate::stats::RunStats;

/// A recording, read.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Its file name, as given.
    pub name: String,
    pub started_ms: i64,
    pub run: RunInfo,
    /// Every line after the first, in the order written.
    pub lines: Vec<Line>,
    /// What could not be read: a truncated last line (a run cut short), lines of a newer schema
    /// kind (skipped), events the recorder missed, a threshold this version cannot read.
    pub problems: Vec<String>,
    /// The run's thresholds (its `run.thresholds`), to measure again on the recorded sends.
    pub thresholds: Vec<Threshold>,
}

/// Reads `r`, a zstd stream when it starts with zstd's magic number.
fn decoded(path: &Path) -> Result<Box<dyn BufRead>, String> {
    let shown = path.display();
    let mut f = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(|e| format!("{shown}: {e}"))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let chained = head.chain(f);
    if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        let dec = zstd::stream::read::Decoder::new(chained).map_err(|e| format!("{shown}: {e}"))?;
        Ok(Box::new(std::io::BufReader::new(dec)))
    } else {
        Ok(Box::new(std::io::BufReader::new(chained)))
    }
}

impl Recording {
    pub fn open(path: &Path) -> Result<Recording, String> {
        let shown = path.display().to_string();
        let mut r = decoded(path)?;
        let mut text = String::new();
        let mut raw = Vec::new();
        let mut problems = Vec::new();
        let mut lines = Vec::new();
        let mut head: Option<(i64, RunInfo)> = None;
        let mut n = 0usize;
        loop {
            raw.clear();
            match r.read_until(b'\n', &mut raw) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    // A zstd frame cut short (the run was killed): what came before it stands.
                    problems.push(format!("{shown}: read stopped after line {n}: {e}"));
                    break;
                }
            }
            n += 1;
            let complete = raw.last() == Some(&b'\n');
            text.clear();
            text.push_str(String::from_utf8_lossy(&raw).trim());
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Line>(&text) {
                Ok(Line::Run { v, started_ms, run, .. }) if n == 1 => {
                    if v > RECORDING_VERSION {
                        return Err(format!(
                            "{shown}: a recording of schema {v}; this mqtui reads schema {RECORDING_VERSION}"
                        ));
                    }
                    head = Some((started_ms, *run));
                }
                Ok(_) if n == 1 => {
                    return Err(format!("{shown}: not an mqtui recording (line 1 is not a \"run\" line)"))
                }
                Ok(line) => {
                    if let Line::Lagged { missed, .. } = &line {
                        problems.push(format!("the recorder missed {missed} events (it fell behind the producer)"));
                    }
                    lines.push(line);
                }
                Err(_) if !complete => {
                    problems.push(format!("{shown}: line {n} is cut short (the run was stopped while writing)"))
                }
                Err(e) if n == 1 => return Err(format!("{shown}: not an mqtui recording: line 1: {e}")),
                Err(e) => {
                    // A kind this version does not know is skipped, and said.
                    problems.push(format!("{shown}: line {n} skipped: {e}"));
                }
            }
        }
        let (started_ms, run) = head.ok_or_else(|| format!("{shown}: empty: not an mqtui recording"))?;
        if !lines.iter().any(|l| matches!(l, Line::End { .. })) {
            problems.push(format!("{shown}: no end line: the run did not finish (its last sends may be missing)"));
        }
        let thresholds = run
            .thresholds
            .iter()
            .filter_map(|t| Threshold::parse(t).map_err(|e| problems.push(format!("{shown}: {e}: not measured"))).ok())
            .collect();
        Ok(Recording { name: shown, started_ms, run, lines, problems, thresholds })
    }

    /// The sends, as the producer reported them, on a clock whose run starts at `origin`.
    pub fn outcomes(&self, origin: Instant) -> Vec<Arc<SendOutcome>> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                Line::Send(s) => s.outcome(origin).ok().map(Arc::new),
                _ => None,
            })
            .collect()
    }

    /// The end line's facts, if the run finished.
    pub fn end(&self) -> Option<&Line> {
        self.lines.iter().rev().find(|l| matches!(l, Line::End { .. }))
    }

    /// The run's length: the live summary's, else up to the last send's end.
    pub fn elapsed(&self) -> Duration {
        match self.end() {
            Some(Line::End { elapsed_ns, .. }) => Duration::from_nanos(*elapsed_ns),
            _ => {
                let last = self.lines.iter().filter(|l| matches!(l, Line::Send(_))).map(Line::t_ns).max().unwrap_or(0);
                Duration::from_nanos(last.max(0) as u64)
            }
        }
    }

    /// The statistics of the run, rebuilt (the same aggregates the live run kept).
    pub fn stats(&self, origin: Instant) -> RunStats {
        let mut stats = RunStats::new(origin);
        for l in &self.lines {
            if let Line::Route { brokers, .. } = l {
                for b in brokers {
                    stats.broker(&Arc::from(b.as_str()));
                }
            }
        }
        for o in self.outcomes(origin) {
            stats.record(&o);
        }
        stats
    }
}
