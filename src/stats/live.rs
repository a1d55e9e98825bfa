//! The console's live aggregates, fed from the producer's events: per broker, a second by
//! second history of attempt latencies (a 10 s window for the table, 60 s for sparklines,
//! timeline and chart), its isolation spans and failures, and the newest sends. The run's
//! totals are [`RunStats`]; this adds what only a live view needs (windows, spans, the log).
//! Views read it; only events and the clock change it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::words::{failure_words, fmt_ms, fmt_secs};
use super::RunStats;
use crate::producer::{AttemptOutcome, Event, SendOutcome};
use crate::remoting::ResponseCode;

/// Plain successes per frame whose latency goes into the percentiles; above it, an even sample.
pub const SAMPLE_PER_FRAME: usize = 1000;

/// Sends kept in the log.
pub const LOG_CAPACITY: usize = 2000;
/// Seconds of history for sparklines, the timeline and the chart.
pub const HISTORY_SECS: u64 = 60;
/// The sliding window of the brokers table's latency columns.
pub const WINDOW_SECS: u64 = 10;

/// µs, 1 µs … 60 s (longer is counted as 60 s), 2 significant digits, u32 counts: small (about
/// 10 KB a second a broker) and fast to query every frame.
pub type Hist = Histogram<u32>;
const HIST_MAX_US: u64 = 60_000_000;

fn histogram() -> Hist {
    Histogram::new_with_bounds(1, HIST_MAX_US, 2).expect("valid bounds")
}

/// A quantile in µs, the middle of its bucket (2 significant digits: within ±0.4 %).
pub fn hist_quantile(h: &Hist, q: f64) -> Option<u64> {
    (!h.is_empty()).then(|| h.median_equivalent(h.value_at_quantile(q)))
}

pub fn hist_max(h: &Hist) -> Option<u64> {
    (!h.is_empty()).then(|| h.lowest_equivalent(h.max()))
}

/// One second of one broker's attempts.
#[derive(Debug, Clone)]
pub struct Second {
    /// Seconds since the console started.
    pub index: u64,
    pub hist: Hist,
    /// The largest latency (µs) of every attempt, sampled or not.
    pub exact_max: u64,
    pub failed: u64,
    /// p99 and max (µs), cached once the second is over (charts read them every frame).
    pub p99: Option<u64>,
    pub max: Option<u64>,
    pub done: bool,
}

impl Second {
    fn finish(&mut self) {
        self.p99 = hist_quantile(&self.hist, 0.99);
        self.max = (self.exact_max > 0).then_some(self.exact_max);
        self.done = true;
    }
}

/// An isolation window on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub start: Instant,
    pub end: Instant,
    /// What opened it: `timeout 3000 ms → 10 s`.
    pub why: String,
}

/// What the console knows about one broker.
#[derive(Debug, Clone)]
pub struct BrokerView {
    pub name: Arc<str>,
    pub seconds: VecDeque<Second>,
    /// The last [`WINDOW_SECS`] seconds, merged.
    pub window: Hist,
    /// Not available before (from the producer's fault item).
    pub available_at: Option<Instant>,
    pub reachable: bool,
    pub last_outcome: Option<AttemptOutcome>,
    /// The Java exception of the last attempt, if it failed.
    pub last_java_error: Option<crate::producer::JavaError>,
    pub last_latency: Option<Duration>,
    pub last_code: Option<i32>,
    pub spans: VecDeque<Span>,
    /// Ends of failed attempts.
    pub failures: VecDeque<Instant>,
}

impl BrokerView {
    fn new(name: Arc<str>) -> Self {
        BrokerView {
            name,
            seconds: VecDeque::new(),
            window: histogram(),
            available_at: None,
            reachable: true,
            last_outcome: None,
            last_java_error: None,
            last_latency: None,
            last_code: None,
            spans: VecDeque::new(),
            failures: VecDeque::new(),
        }
    }

    pub fn isolated_for(&self, now: Instant) -> Option<Duration> {
        self.available_at.filter(|a| *a > now).map(|a| a - now)
    }

    /// The state word of the brokers table.
    pub fn state(&self, now: Instant) -> BrokerState {
        match self.isolated_for(now) {
            Some(left) if self.last_java_error == Some(crate::producer::JavaError::Connect) || !self.reachable => {
                BrokerState::Down(left)
            }
            Some(left) => BrokerState::Isolated(left),
            None => BrokerState::Ok,
        }
    }

    /// A per-second statistic for each of the last `n` seconds up to `now_index`, oldest first,
    /// always `n` long (None: no attempt that second, or before the start).
    fn per_second(&self, now_index: u64, n: u64, stat: impl Fn(&Second) -> Option<u64>) -> Vec<Option<u64>> {
        let mut out = vec![None; n as usize];
        let first = (now_index + 1).saturating_sub(n);
        let offset = n - (now_index + 1 - first); // leading slots before the start
        for s in self.seconds.iter().filter(|s| s.index >= first && s.index <= now_index && !s.hist.is_empty()) {
            out[(offset + s.index - first) as usize] = stat(s);
        }
        out
    }

    /// The largest latency (µs) of the last [`WINDOW_SECS`] seconds up to `now_index`.
    pub fn window_max(&self, now_index: u64) -> Option<u64> {
        let from = now_index.saturating_sub(WINDOW_SECS - 1);
        self.seconds.iter().filter(|s| s.index >= from && s.index <= now_index).map(|s| s.exact_max).max()
    }

    /// The per-second maximum latency (µs) of the last `n` seconds.
    pub fn per_second_max(&self, now_index: u64, n: u64) -> Vec<Option<u64>> {
        self.per_second(now_index, n, |s| if s.done { s.max } else { Some(s.exact_max) })
    }

    /// The per-second p99 latency (µs) of the last `n` seconds.
    pub fn per_second_p99(&self, now_index: u64, n: u64) -> Vec<Option<u64>> {
        self.per_second(now_index, n, |s| if s.done { s.p99 } else { hist_quantile(&s.hist, 0.99) })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BrokerState {
    Ok,
    Isolated(Duration),
    Down(Duration),
}

/// Everything derived from the producer's events: what panels draw. Frozen, a copy of it stays
/// on screen while the live one keeps counting.
#[derive(Debug, Clone)]
pub struct ViewData {
    pub now: Instant,
    pub stats: RunStats,
    pub brokers: BTreeMap<Arc<str>, BrokerView>,
    pub log: VecDeque<Arc<SendOutcome>>,
    pub lagged: u64,
    /// Operator warnings with when they came (the header shows a recent one).
    pub warnings: VecDeque<(Instant, String)>,
    pub in_flight: u64,
    /// The Java client's async sender executor and async permits, as full as they are.
    pub sender: crate::producer::SenderState,
    /// The brokers' check-backs answered so far.
    pub check_backs: u64,
    /// How far behind its schedule the load driver is now (open model; zero when on time).
    pub schedule_lag: Duration,
    /// The rate the schedule follows now (with a shape, where its ramp is).
    pub schedule_rate: Option<f64>,
    /// The second the latency windows were last rebuilt for.
    window_second: u64,
    /// Sends that left the log, to be dropped elsewhere (see `ui::Engine`'s reaper).
    pub evicted: Vec<Arc<SendOutcome>>,
}

impl ViewData {
    pub fn new(now: Instant) -> Self {
        ViewData {
            now,
            stats: RunStats::new(now),
            brokers: BTreeMap::new(),
            log: VecDeque::new(),
            lagged: 0,
            warnings: VecDeque::new(),
            in_flight: 0,
            sender: Default::default(),
            check_backs: 0,
            schedule_lag: Duration::ZERO,
            schedule_rate: None,
            window_second: 0,
            evicted: Vec::new(),
        }
    }

    /// Seconds since the console started, for per-second buckets.
    pub fn second_of(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.stats.started).as_secs()
    }

    pub fn broker(&mut self, name: &Arc<str>) -> &mut BrokerView {
        if !self.brokers.contains_key(name) {
            self.brokers.insert(name.clone(), BrokerView::new(name.clone()));
        }
        self.brokers.get_mut(name).expect("just inserted")
    }

    /// Moves time on: old seconds leave the window and the history.
    pub fn tick(&mut self, now: Instant) {
        self.now = now;
        let cur = self.second_of(now);
        let keep_from = cur.saturating_sub(HISTORY_SECS);
        let window_from = cur.saturating_sub(WINDOW_SECS - 1);
        let horizon = now.checked_sub(Duration::from_secs(HISTORY_SECS)).unwrap_or(self.stats.started);
        let rebuild = cur != self.window_second;
        self.window_second = cur;
        for b in self.brokers.values_mut() {
            while b.seconds.front().is_some_and(|s| s.index < keep_from) {
                b.seconds.pop_front();
            }
            if rebuild {
                for s in b.seconds.iter_mut().filter(|s| s.index < cur && !s.done) {
                    s.finish();
                }
            }
            // Rebuild the window when a second has left it (once a second, not every frame).
            if rebuild && !b.window.is_empty() {
                let mut w = histogram();
                for s in b.seconds.iter().filter(|s| s.index >= window_from) {
                    let _ = w.add(&s.hist);
                }
                b.window = w;
            }
            while b.spans.front().is_some_and(|s| s.end < horizon) {
                b.spans.pop_front();
            }
            while b.failures.front().is_some_and(|t| *t < horizon) {
                b.failures.pop_front();
            }
        }
    }

    /// Applies one producer event.
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::Completed(o) => self.completed(o, true),
            Event::Fault(f) => {
                let b = self.broker(&f.broker);
                b.reachable = f.reachable;
                let start = f.available_at.checked_sub(f.window).unwrap_or(f.available_at);
                if !f.window.is_zero() {
                    // Extend the last span when this one overlaps it.
                    let why = format!("latency {} → {}", fmt_ms(f.latency), fmt_secs(f.window));
                    match b.spans.back_mut() {
                        Some(last) if last.end >= start => last.end = last.end.max(f.available_at),
                        _ => b.spans.push_back(Span { start, end: f.available_at, why }),
                    }
                } else if let Some(last) = b.spans.back_mut() {
                    // A 4.x window cut short.
                    if last.end > f.available_at {
                        last.end = f.available_at.max(last.start);
                    }
                }
                b.available_at = Some(f.available_at);
            }
            Event::Route { brokers, .. } => {
                for b in brokers {
                    self.broker(b);
                }
            }
            Event::Warning(w) => {
                self.warnings.push_back((self.now, w.clone()));
                while self.warnings.len() > 5 {
                    self.warnings.pop_front();
                }
            }
            Event::Lagged(n) => self.lagged += n,
            Event::Attempt { .. } => {}
        }
    }

    /// Applies a frame's worth of events. Counts, maxima, failures and the log take every send;
    /// above [`SAMPLE_PER_FRAME`] plain successes in one frame, the latency histograms (the
    /// percentiles) take an even sample of them, so the view keeps up at any rate.
    pub fn apply_batch(&mut self, events: &[Event]) {
        self.apply_batch_sampled(events, SAMPLE_PER_FRAME);
    }

    /// [`ViewData::apply_batch`] for a part of a frame: `budget` is that part's share of
    /// [`SAMPLE_PER_FRAME`].
    pub fn apply_batch_sampled(&mut self, events: &[Event], budget: usize) {
        let plain = |o: &SendOutcome| o.attempts.len() == 1 && o.attempts[0].outcome == AttemptOutcome::Ok;
        let n_plain = events.iter().filter(|e| matches!(e, Event::Completed(o) if plain(o))).count();
        let stride = n_plain.div_ceil(budget.max(1)).max(1);
        let mut k = 0usize;
        for e in events {
            match e {
                Event::Completed(o) if plain(o) => {
                    self.completed(o, k % stride == 0);
                    k += 1;
                }
                Event::Completed(o) => self.completed(o, true),
                other => self.apply(other),
            }
        }
    }

    fn completed(&mut self, o: &Arc<SendOutcome>, sample: bool) {
        self.stats.record_with(o, sample);
        let window_from = self.second_of(self.now).saturating_sub(WINDOW_SECS - 1);
        let current_second = self.window_second;
        for a in &o.attempts {
            // A oneway write says nothing of the broker: no latency, no failure.
            if a.outcome == AttemptOutcome::Written {
                continue;
            }
            let end = a.started + a.latency;
            let idx = self.second_of(end);
            let b = self.broker(&a.broker);
            let us = (a.latency.as_micros() as u64).clamp(1, HIST_MAX_US);
            match b.seconds.iter_mut().rev().find(|s| s.index == idx) {
                Some(s) => {
                    if sample {
                        let _ = s.hist.record(us);
                    }
                    s.exact_max = s.exact_max.max(us);
                    if !a.outcome.is_stored() {
                        s.failed += 1;
                    }
                    if s.done {
                        // A late attempt for a second already over: refresh its cache.
                        s.finish();
                    }
                }
                None => {
                    let mut hist = histogram();
                    let _ = hist.record(us);
                    let mut sec = Second {
                        index: idx,
                        hist,
                        exact_max: us,
                        failed: u64::from(!a.outcome.is_stored()),
                        p99: None,
                        max: None,
                        done: false,
                    };
                    if idx < current_second {
                        sec.finish();
                    }
                    // Keep seconds in order (a late attempt may belong to an earlier second).
                    let pos = b.seconds.iter().position(|s| s.index > idx).unwrap_or(b.seconds.len());
                    b.seconds.insert(pos, sec);
                }
            }
            if idx >= window_from && sample {
                let _ = b.window.record(us);
            }
            if b.last_outcome.is_none() || end >= b.failures.back().copied().unwrap_or(end) {
                b.last_outcome = Some(a.outcome);
                b.last_java_error = a.java_error;
                b.last_latency = Some(a.latency);
                b.last_code = a.code;
            }
            if !a.outcome.is_stored() {
                b.failures.push_back(end);
            }
            // Name the cause of the window this attempt opened.
            if let (Some(w), true) = (a.isolation, a.fault_moved) {
                if !w.is_zero() {
                    let cause = match a.outcome {
                        AttemptOutcome::Timeout | AttemptOutcome::SendFailed | AttemptOutcome::Unknown => {
                            failure_words(a)
                        }
                        AttemptOutcome::BrokerError => a
                            .code
                            .and_then(ResponseCode::from_code)
                            .map_or("broker error".to_string(), |c| c.name().to_string()),
                        _ => format!("latency {}", fmt_ms(a.latency)),
                    };
                    let isolation = if a.outcome.is_stored() { "" } else { " (isolation)" };
                    let why = format!("{cause} → {}{isolation}", fmt_secs(w));
                    if let Some(span) =
                        b.spans.iter_mut().rev().find(|s| s.end >= end && s.start <= end + Duration::from_millis(5))
                    {
                        span.why = why;
                    } else {
                        b.spans.push_back(Span { start: end, end: end + w, why });
                    }
                }
            }
        }
        self.log.push_front(o.clone());
        while self.log.len() > LOG_CAPACITY {
            if let Some(old) = self.log.pop_back() {
                self.evicted.push(old);
            }
        }
    }
}
