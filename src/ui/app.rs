//! The console's state: what the producer's events say (per-broker windows, isolation spans,
//! the latest sends) and what the operator is doing (selection, filter, popups). Keys become
//! [`Action`]s; only actions and events change the state; panels only read it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio::time::Instant;

use super::keymap::Action;
use super::theme::Theme;
use crate::cluster::DemoCluster;
use crate::producer::load::LoadSettings;
use crate::producer::{AttemptOutcome, Event, FaultTable, Producer, SendOutcome};
use crate::remoting::ResponseCode;
use crate::stats::RunStats;

/// How long the header shows a warning.
pub const WARNING_SECS: u64 = 60;

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
                            super::log::failure_words(a)
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

/// Which panel has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Brokers,
    Log,
}

pub use super::compose::Compose;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// A send's details, by send id.
    Send(u64),
    /// A broker's details.
    Broker(Arc<str>),
    Compose(Compose),
    /// The composed message's own result (a sending note until it completes).
    Composed,
    /// The cluster and the topic's route.
    Cluster,
    /// Per broker, the latencies of the window over log-scaled buckets.
    Histogram,
}

/// What the operator is doing.
#[derive(Debug, Clone)]
pub struct UiState {
    pub focus: Focus,
    pub broker_sel: usize,
    pub log_sel: usize,
    pub filter: String,
    pub filter_editing: bool,
    pub overlay: Overlay,
    /// A message for the operator, shown until `until`.
    pub status: Option<(String, Instant)>,
}

/// Where a replay is (`mqtui replay`), for the header's badge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayBadge {
    pub at: Duration,
    pub length: Duration,
    pub speed: u32,
    pub paused: bool,
}

/// Fixed facts about the run, for the header.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub target: String,
    pub topic: String,
    pub brokers: usize,
    pub attempt_timeout: Option<Duration>,
    /// The Java client profile the producer reproduces.
    pub java: crate::producer::JavaVersion,
    /// Wall clock at `clock_base`, so that the console shows times from its own clock (tests
    /// run on a paused one).
    pub wall_base: chrono::DateTime<chrono::Local>,
    pub clock_base: Instant,
}

impl RunContext {
    pub fn wall(&self, t: Instant) -> chrono::DateTime<chrono::Local> {
        let d = t.saturating_duration_since(self.clock_base);
        self.wall_base + chrono::Duration::from_std(d).unwrap_or_default()
    }
}

/// What the console drives. Absent in snapshot tests that feed events by hand.
pub struct Controls {
    /// The name server's view, refreshed every few seconds (for the cluster view).
    pub cluster_view: Arc<std::sync::Mutex<Option<(Instant, crate::admin::ClusterView)>>>,
    pub producer: Producer,
    pub cluster: Option<DemoCluster>,
    /// `--chaos`: the proxies in front of a real cluster's brokers.
    pub chaos: Option<crate::chaos::Chaos>,
    pub settings: watch::Sender<LoadSettings>,
    /// The load driver's live state (how far behind its schedule it is).
    pub load: Arc<crate::producer::load::LoadStatus>,
}

/// Where the fault keys act.
enum FaultTarget {
    Demo(DemoCluster),
    Chaos(crate::chaos::Chaos),
}

/// The whole console.
pub struct App {
    pub live: ViewData,
    pub frozen: Option<ViewData>,
    pub ui: UiState,
    pub ctx: RunContext,
    pub theme: Theme,
    pub settings: LoadSettings,
    pub fault_table: FaultTable,
    pub avoidance: bool,
    pub controls: Option<Controls>,
    /// The demo cluster's injected faults by broker, as text (empty outside demo mode).
    pub injected: BTreeMap<Arc<str>, String>,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// The composed message's outcome, once it completes.
    pub composed: Arc<std::sync::Mutex<Option<Arc<SendOutcome>>>>,
    /// A replay of a recording, not a live run.
    pub replay: Option<ReplayBadge>,
}

const RATE_STEPS: [f64; 16] =
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0, 100000.0];
const CONCURRENCY_STEPS: [usize; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

impl App {
    pub fn new(ctx: RunContext, theme: Theme, settings: LoadSettings, fault_table: FaultTable, avoidance: bool) -> App {
        App {
            live: ViewData::new(ctx.clock_base),
            frozen: None,
            ui: UiState {
                focus: Focus::Brokers,
                broker_sel: 0,
                log_sel: 0,
                filter: String::new(),
                filter_editing: false,
                overlay: Overlay::None,
                status: None,
            },
            ctx,
            theme,
            settings,
            fault_table,
            avoidance,
            controls: None,
            injected: BTreeMap::new(),
            quit: false,
            dirty: true,
            composed: Default::default(),
            replay: None,
        }
    }

    /// The data on screen: the frozen copy, or the live one.
    pub fn view(&self) -> &ViewData {
        self.frozen.as_ref().unwrap_or(&self.live)
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    pub fn apply(&mut self, e: &Event) {
        self.live.apply(e);
        if self.frozen.is_none() {
            self.dirty = true;
        }
    }

    /// Applies a frame's events at once (see [`ViewData::apply_batch`]).
    pub fn apply_batch(&mut self, events: &[Event]) {
        self.apply_batch_sampled(events, SAMPLE_PER_FRAME);
    }

    /// Applies a part of a frame's events (see [`ViewData::apply_batch_sampled`]).
    pub fn apply_batch_sampled(&mut self, events: &[Event], budget: usize) {
        if events.is_empty() {
            return;
        }
        self.live.apply_batch_sampled(events, budget);
        if self.frozen.is_none() {
            self.dirty = true;
        }
    }

    /// Reads the demo cluster's injected faults (shown beside the producer's view of them).
    pub fn refresh_injected(&mut self) {
        let Some(c) = self.controls.as_ref() else { return };
        let faults: Vec<(String, crate::cluster::BrokerFault)> = match (&c.cluster, &c.chaos) {
            (Some(cluster), _) => {
                cluster.broker_names().into_iter().filter_map(|n| cluster.fault(&n).ok().map(|f| (n, f))).collect()
            }
            (None, Some(chaos)) => {
                chaos.broker_names().into_iter().filter_map(|n| chaos.fault(&n).map(|f| (n, f))).collect()
            }
            _ => return,
        };
        let mut changed = false;
        for (name, f) in faults {
            let text = f.to_string();
            let key: Arc<str> = name.as_str().into();
            if self.injected.get(&key) != Some(&text) {
                self.injected.insert(key, text);
                changed = true;
            }
        }
        if changed {
            self.dirty = true;
        }
    }

    /// Moves the live view's clock; redraw when something on screen moves with it.
    pub fn tick(&mut self, now: Instant) {
        self.refresh_injected();
        let before = self.live.second_of(self.live.now);
        self.live.tick(now);
        if let Some(c) = &self.controls {
            self.live.in_flight = c.producer.counters().in_flight;
            self.live.sender = c.producer.sender_state();
            self.live.check_backs = c.producer.counters().check_backs;
            self.live.schedule_lag = c.load.lag(now);
            self.live.schedule_rate = c.load.rate();
        }
        if self.ui.overlay == Overlay::Composed {
            // The outcome lands from the producer's task: look each tick.
            self.dirty = true;
        }
        if self.ui.status.as_ref().is_some_and(|(_, until)| *until <= now) {
            self.ui.status = None;
            self.dirty = true;
        }
        let counting_down = self.live.brokers.values().any(|b| b.isolated_for(now).is_some());
        if self.frozen.is_none() && (counting_down || self.live.second_of(now) != before) {
            self.dirty = true;
        }
    }

    pub fn say(&mut self, msg: impl Into<String>) {
        self.ui.status = Some((msg.into(), self.live.now + Duration::from_secs(4)));
        self.dirty = true;
    }

    /// The broker names in table order.
    pub fn broker_names(&self) -> Vec<Arc<str>> {
        self.view().brokers.keys().cloned().collect()
    }

    pub fn selected_broker(&self) -> Option<Arc<str>> {
        self.broker_names().get(self.ui.broker_sel).cloned()
    }

    /// The sends the log shows, newest first, filtered.
    pub fn filtered_log(&self) -> impl Iterator<Item = &Arc<SendOutcome>> {
        let f = self.ui.filter.to_ascii_lowercase();
        self.view().log.iter().filter(move |o| f.is_empty() || matches_filter(o, &f))
    }

    fn push_settings(&mut self) {
        if let Some(c) = &self.controls {
            let _ = c.settings.send(self.settings.clone());
        }
        self.dirty = true;
    }

    /// Does what an action asks.
    pub fn update(&mut self, action: Action) {
        self.dirty = true;
        match action {
            Action::Quit => self.quit = true,
            Action::Help => {
                self.ui.overlay = if self.ui.overlay == Overlay::Help { Overlay::None } else { Overlay::Help };
            }
            Action::Close => {
                if self.ui.overlay != Overlay::None {
                    self.ui.overlay = Overlay::None;
                } else {
                    self.ui.filter.clear();
                }
            }
            Action::Freeze => {
                self.frozen = match self.frozen.take() {
                    Some(_) => None,
                    None => Some(self.live.clone()),
                };
            }
            Action::Pause => {
                self.settings.paused = !self.settings.paused;
                self.push_settings();
            }
            Action::RateUp | Action::RateDown => {
                // None is "max": above every step. A shape's rate is where its ramp is now; the
                // operator's rate replaces the shape.
                let cur = match self.settings.shape.take() {
                    Some(_) => self.live.schedule_rate.unwrap_or(0.0),
                    None => self.settings.rate.unwrap_or(f64::INFINITY),
                };
                self.settings.rate = if action == Action::RateUp {
                    RATE_STEPS.iter().copied().find(|r| *r > cur)
                } else {
                    RATE_STEPS.iter().rev().copied().find(|r| *r < cur).or(Some(RATE_STEPS[0]))
                };
                self.push_settings();
            }
            Action::ConcurrencyUp | Action::ConcurrencyDown => {
                let cur = self.settings.concurrency;
                self.settings.concurrency = if action == Action::ConcurrencyUp {
                    CONCURRENCY_STEPS.iter().copied().find(|c| *c > cur).unwrap_or(cur)
                } else {
                    CONCURRENCY_STEPS.iter().rev().copied().find(|c| *c < cur).unwrap_or(1)
                };
                self.push_settings();
            }
            Action::ToggleAvoidance => {
                self.avoidance = !self.avoidance;
                if let Some(c) = &self.controls {
                    c.producer.set_fault_avoidance(self.avoidance);
                }
                self.say(format!("fault avoidance {}", if self.avoidance { "ON" } else { "OFF (the Java default)" }));
            }
            Action::ToggleTable => {
                self.fault_table = match self.fault_table {
                    FaultTable::V5 => FaultTable::V4,
                    FaultTable::V4 => FaultTable::V5,
                };
                if let Some(c) = &self.controls {
                    c.producer.set_fault_table(self.fault_table);
                }
                self.say(format!("fault table {}", self.fault_table));
            }
            Action::NextPanel | Action::PrevPanel => {
                self.ui.focus = match self.ui.focus {
                    Focus::Brokers => Focus::Log,
                    Focus::Log => Focus::Brokers,
                };
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.move_selection(action)
            }
            Action::Filter => {
                self.ui.focus = Focus::Log;
                self.ui.filter_editing = true;
            }
            Action::Open => {
                self.ui.overlay = match self.ui.focus {
                    Focus::Brokers => self.selected_broker().map_or(Overlay::None, Overlay::Broker),
                    Focus::Log => {
                        self.filtered_log().nth(self.ui.log_sel).map_or(Overlay::None, |o| Overlay::Send(o.send))
                    }
                };
            }
            Action::Compose => {
                self.ui.overlay = Overlay::Compose(Compose::open(&self.ctx.topic));
            }
            Action::ClusterView => {
                self.ui.overlay = if self.ui.overlay == Overlay::Cluster { Overlay::None } else { Overlay::Cluster };
            }
            Action::Histogram => {
                self.ui.overlay =
                    if self.ui.overlay == Overlay::Histogram { Overlay::None } else { Overlay::Histogram };
            }
            Action::FaultLatency
            | Action::FaultError
            | Action::FaultHang
            | Action::FaultDown
            | Action::FaultGoAway
            | Action::FaultClear => self.fault(action),
        }
    }

    fn move_selection(&mut self, action: Action) {
        let len = match self.ui.focus {
            Focus::Brokers => self.view().brokers.len(),
            Focus::Log => self.filtered_log().count(),
        };
        let sel = match self.ui.focus {
            Focus::Brokers => &mut self.ui.broker_sel,
            Focus::Log => &mut self.ui.log_sel,
        };
        let last = len.saturating_sub(1);
        *sel = match action {
            Action::Up => sel.saturating_sub(1),
            Action::Down => (*sel + 1).min(last),
            Action::PageUp => sel.saturating_sub(10),
            Action::PageDown => (*sel + 10).min(last),
            Action::Top => 0,
            _ => last,
        };
    }

    fn fault(&mut self, action: Action) {
        let target = self.controls.as_ref().and_then(|c| match (&c.cluster, &c.chaos) {
            (Some(cluster), _) => Some(FaultTarget::Demo(cluster.clone())),
            (None, Some(chaos)) => Some(FaultTarget::Chaos(chaos.clone())),
            _ => None,
        });
        let Some(target) = target else {
            self.say("fault keys act on the demo cluster, or with --chaos on proxies in front of a real cluster; nothing is changed on a real cluster");
            return;
        };
        let Some(broker) = self.selected_broker() else {
            self.say("no broker selected");
            return;
        };
        let change = |f: &mut crate::cluster::BrokerFault| match action {
            Action::FaultLatency => {
                f.latency = (f.latency + Duration::from_millis(700)).min(Duration::from_secs(10));
                f.jitter = Duration::from_millis(100);
            }
            Action::FaultError => {
                f.error_code = if f.error_code.is_some() { None } else { Some(ResponseCode::SYSTEM_BUSY.code()) };
            }
            Action::FaultHang => f.hang = !f.hang,
            Action::FaultGoAway => f.go_away = !f.go_away,
            Action::FaultDown => f.down = !f.down,
            _ => *f = Default::default(),
        };
        let result = match target {
            FaultTarget::Demo(cluster) => cluster.update_fault(&broker, change).map_err(|e| e.to_string()),
            FaultTarget::Chaos(chaos) => chaos.update_fault(&broker, change),
        };
        match result {
            Ok(now) => self.say(format!("{broker}: {now}")),
            Err(e) => self.say(e.to_string()),
        }
    }

    /// A key typed into the filter or the compose form; true if it was consumed.
    pub fn type_key(&mut self, key: &crossterm::event::KeyEvent) -> bool {
        use crossterm::event::{KeyCode, KeyModifiers};
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return false;
        }
        if self.ui.filter_editing {
            self.dirty = true;
            match key.code {
                KeyCode::Enter => self.ui.filter_editing = false,
                KeyCode::Esc => {
                    self.ui.filter_editing = false;
                    self.ui.filter.clear();
                }
                KeyCode::Backspace => {
                    self.ui.filter.pop();
                }
                KeyCode::Char(c) => self.ui.filter.push(c),
                _ => {}
            }
            self.ui.log_sel = 0;
            return true;
        }
        if let Overlay::Compose(form) = &mut self.ui.overlay {
            self.dirty = true;
            match form.key(key) {
                super::compose::Step::Stay => {}
                super::compose::Step::Cancel => self.ui.overlay = Overlay::None,
                super::compose::Step::Send(c) => self.send_one(c),
            }
            return true;
        }
        if self.ui.overlay == Overlay::Composed && key.code == KeyCode::Esc {
            self.ui.overlay = Overlay::None;
            self.dirty = true;
            return true;
        }
        false
    }

    /// Sends the composed message; its outcome opens in its own popup when it completes.
    fn send_one(&mut self, c: super::compose::Composed) {
        let Some(controls) = &self.controls else { return };
        let p = controls.producer.clone();
        let slot = self.composed.clone();
        *slot.lock().unwrap() = None;
        let topic = c.msg.topic.clone();
        tokio::spawn(async move {
            let o = match &c.sharding_key {
                Some(k) => p.send_ordered(c.msg, k, false).await,
                None => p.send(c.msg).await,
            };
            *slot.lock().unwrap() = Some(o);
        });
        self.ui.overlay = Overlay::Composed;
        self.say(format!("sent one message to {topic}"));
    }
}

/// Whether a send matches the filter text (lowercase): anything its log row shows (status,
/// the trail as written, e.g. `broker-b ✕ timeout`), its ids or its error.
pub fn matches_filter(o: &SendOutcome, f: &str) -> bool {
    if o.status_name().to_ascii_lowercase().contains(f) || o.msg_id.to_ascii_lowercase().contains(f) {
        return true;
    }
    let trail: Vec<String> = o.attempts.iter().map(super::log::attempt_text).collect();
    if trail.join(" → ").to_lowercase().contains(f) {
        return true;
    }
    match &o.result {
        Ok(s) => s.offset_msg_id.to_ascii_lowercase().contains(f),
        Err(e) => e.message.to_lowercase().contains(f),
    }
}
