//! The console's state: the live aggregates of the producer's events ([`crate::stats::live`]:
//! per-broker windows, isolation spans, the latest sends) and what the operator is doing
//! (selection, filter, popups). Keys become
//! [`Action`]s; only actions and events change the state; panels only read it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::keymap::Action;
use super::theme::Theme;
use crate::cluster::DemoCluster;
use crate::producer::load::LoadSettings;
use crate::producer::{Event, FaultTable, Producer, SendOutcome};
use crate::remoting::ResponseCode;

/// How long the header shows a warning.
pub const WARNING_SECS: u64 = 60;

pub use crate::stats::live::*;
pub use crate::stats::words::{fmt_ms, fmt_secs};

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
    /// `--threshold` and the scenario's `[[threshold]]`s (a replay: the recording's), measured
    /// on the run's totals every frame.
    pub thresholds: Vec<crate::stats::threshold::Threshold>,
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
            thresholds: Vec::new(),
        }
    }

    /// The data on screen: the frozen copy, or the live one.
    pub fn view(&self) -> &ViewData {
        self.frozen.as_ref().unwrap_or(&self.live)
    }

    /// Each threshold measured on the data on screen: the run's totals up to its moment.
    pub fn verdicts(&self) -> Vec<crate::stats::threshold::Verdict> {
        let v = self.view();
        let elapsed = v.now.saturating_duration_since(v.stats.started);
        self.thresholds.iter().map(|t| t.check(&v.stats, elapsed)).collect()
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
