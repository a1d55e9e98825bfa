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

/// A recording read one line at a time: what `report` and `compare` fold into their
/// aggregates without keeping the lines (memory grows with brokers and buckets, not sends).
pub struct Reader {
    pub name: String,
    pub started_ms: i64,
    pub run: RunInfo,
    /// The run's thresholds (its `run.thresholds`), to measure again on the recorded sends.
    pub thresholds: Vec<Threshold>,
    /// What could not be read so far (see [`Recording::problems`]).
    pub problems: Vec<String>,
    r: Box<dyn BufRead>,
    raw: Vec<u8>,
    n: usize,
    saw_end: bool,
    done: bool,
}

/// A line longer than this is skipped (the longest a recorder writes is a send with its
/// attempts, a few KB).
const MAX_LINE: usize = crate::bounds::MAX_LINE;

/// Reads one line of at most `max` bytes into `buf` (its newline kept); a longer one is read
/// to its end and dropped: `Ok(None)` then. `Ok(Some(0))` at the end of the stream.
fn read_line_bounded(r: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Option<usize>> {
    buf.clear();
    let n = (&mut *r).take(max as u64 + 1).read_until(b'\n', buf)?;
    if buf.len() <= max || buf.last() == Some(&b'\n') {
        return Ok(Some(n));
    }
    // Too long: skip the rest of it without keeping it.
    buf.clear();
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            return Ok(None);
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                return Ok(None);
            }
            None => {
                let len = chunk.len();
                r.consume(len);
            }
        }
    }
}

impl Reader {
    /// Opens `path` and reads its first line (the run's settings).
    pub fn open(path: &Path) -> Result<Reader, String> {
        let shown = path.display().to_string();
        let mut reader = Reader {
            name: shown.clone(),
            started_ms: 0,
            run: RunInfo::default(),
            thresholds: Vec::new(),
            problems: Vec::new(),
            r: decoded(path)?,
            raw: Vec::new(),
            n: 0,
            saw_end: false,
            done: false,
        };
        loop {
            let got = read_line_bounded(&mut reader.r, &mut reader.raw, MAX_LINE)
                .map_err(|e| format!("{shown}: not an mqtui recording: {e}"))?;
            reader.n += 1;
            let raw = match got {
                Some(0) => return Err(format!("{shown}: empty: not an mqtui recording")),
                Some(_) => String::from_utf8_lossy(&reader.raw),
                None => {
                    return Err(format!("{shown}: not an mqtui recording (its first line is over {MAX_LINE} bytes)"))
                }
            };
            let text = raw.trim();
            if text.is_empty() {
                if reader.n > 1000 {
                    return Err(format!("{shown}: not an mqtui recording (no \"run\" line)"));
                }
                continue;
            }
            match serde_json::from_str::<Line>(text) {
                Ok(Line::Run { v, started_ms, run, .. }) => {
                    if v > RECORDING_VERSION {
                        return Err(format!(
                            "{shown}: a recording of schema {v}; this mqtui reads schema {RECORDING_VERSION}"
                        ));
                    }
                    reader.started_ms = started_ms;
                    reader.run = *run;
                }
                Ok(_) => return Err(format!("{shown}: not an mqtui recording (line 1 is not a \"run\" line)")),
                Err(e) => return Err(format!("{shown}: not an mqtui recording: line 1: {e}")),
            }
            break;
        }
        let mut problems = Vec::new();
        reader.thresholds = reader
            .run
            .thresholds
            .iter()
            .filter_map(|t| Threshold::parse(t).map_err(|e| problems.push(format!("{shown}: {e}: not measured"))).ok())
            .collect();
        reader.problems = problems;
        Ok(reader)
    }

    /// The next line the recording holds, in order; None at its end. A line that cannot be read
    /// is skipped and said in [`Reader::problems`] (the first few of each kind).
    pub fn next_line(&mut self) -> Option<Line> {
        while !self.done {
            let got = match read_line_bounded(&mut self.r, &mut self.raw, MAX_LINE) {
                Ok(g) => g,
                Err(e) => {
                    // A zstd frame cut short (the run was killed): what came before it stands.
                    self.problem(format!("{}: read stopped after line {}: {e}", self.name, self.n));
                    self.done = true;
                    break;
                }
            };
            self.n += 1;
            let n = self.n;
            let complete = match got {
                Some(0) => {
                    self.done = true;
                    break;
                }
                Some(_) => self.raw.last() == Some(&b'\n'),
                None => {
                    self.problem(format!("{}: line {n} skipped: longer than {MAX_LINE} bytes", self.name));
                    continue;
                }
            };
            let parsed = {
                let text = String::from_utf8_lossy(&self.raw);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                serde_json::from_str::<Line>(text)
            };
            match parsed {
                Ok(Line::Run { .. }) => self.problem(format!("{}: line {n} skipped: a second run line", self.name)),
                Ok(line) => {
                    if let Line::Lagged { missed, .. } = &line {
                        self.problem(format!("the recorder missed {missed} events (it fell behind the producer)"));
                    }
                    self.saw_end |= matches!(line, Line::End { .. });
                    return Some(line);
                }
                Err(_) if !complete => {
                    self.problem(format!("{}: line {n} is cut short (the run was stopped while writing)", self.name))
                }
                // A kind this version does not know is skipped, and said.
                Err(e) => self.problem(format!("{}: line {n} skipped: {e}", self.name)),
            }
        }
        if !self.saw_end {
            self.saw_end = true;
            self.problem(format!("{}: no end line: the run did not finish (its last sends may be missing)", self.name));
        }
        None
    }

    /// Keeps the first [`MAX_PROBLEMS`] problems, and counts the rest.
    fn problem(&mut self, p: String) {
        match self.problems.len() {
            n if n < MAX_PROBLEMS => self.problems.push(p),
            n if n == MAX_PROBLEMS => self.problems.push("… more problems, not listed".to_string()),
            _ => {}
        }
    }
}

/// Problems listed at most (a file of garbage would otherwise list one a line).
const MAX_PROBLEMS: usize = 100;

impl Recording {
    /// Reads the whole recording into memory (the replay seeks through it); `report` and
    /// `compare` stream it through a [`Reader`] instead.
    pub fn open(path: &Path) -> Result<Recording, String> {
        let mut r = Reader::open(path)?;
        let mut lines = Vec::new();
        while let Some(l) = r.next_line() {
            lines.push(l);
        }
        Ok(Recording {
            name: r.name,
            started_ms: r.started_ms,
            run: r.run,
            lines,
            problems: r.problems,
            thresholds: r.thresholds,
        })
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
