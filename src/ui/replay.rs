//! `mqtui replay FILE`: the console on a recording. A [`Player`] feeds the recorded events to a
//! fresh [`App`] on a clock of its own — the same events at the same moments as live, so every
//! panel shows what it showed then — with pause, speed (×1, ×10, ×100) and seek (a seek back
//! replays from the start into a new App, as the live one was built).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::app::{App, ReplayBadge, RunContext};
use super::theme::Theme;
use crate::producer::events::Event;
use crate::producer::load::LoadSettings;
use crate::producer::schedule::LoadModel;
use crate::producer::shape::Shape;
use crate::producer::FaultTable;
use crate::record::schema::at_ns;
use crate::record::{Line, Recording};

/// What happens at a moment of the recording.
#[derive(Debug, Clone)]
enum Item {
    Event(Event),
    Injection(Arc<str>, String),
    Settings(LoadSettings),
}

/// Plays a recording into an App.
pub struct Player {
    /// Items by time since the run's start (negative: before it, applied at once).
    items: Vec<(i64, Item)>,
    /// The sends' starts and ends, sorted: how many were in flight at a moment.
    starts: Vec<i64>,
    ends: Vec<i64>,
    next: usize,
    origin: Instant,
    ctx: RunContext,
    theme: Theme,
    settings: LoadSettings,
    fault_table: FaultTable,
    avoidance: bool,
    thresholds: Vec<crate::stats::threshold::Threshold>,
    /// Each schedule the load driver followed: from when (ns), and its shape (None: a constant
    /// rate or none); a change of rate, model or shape starts a new one, as live.
    schedules: Vec<(i64, Option<Arc<Shape>>)>,
    /// The open model's sends: (slot, real start) in ns, by slot.
    slots: Vec<(i64, i64)>,
    pub length: Duration,
    pub at: Duration,
    pub speed: u32,
    pub paused: bool,
}

fn settings_of(rate: Option<f64>, concurrency: usize, paused: bool, model: &str, shape: Option<&str>) -> LoadSettings {
    LoadSettings {
        rate,
        concurrency,
        paused,
        model: LoadModel::parse(model).unwrap_or(LoadModel::Closed),
        // As written ("stages 10s:100,30s:2000 · burst 500 every 5s"), ramping from the rate.
        shape: shape.and_then(|s| Shape::parse_described(rate.unwrap_or(0.0), s).ok()).map(Arc::new),
    }
}

impl Player {
    /// A player whose run started at `origin` on the replay's clock.
    pub fn new(rec: &Recording, origin: Instant, theme: Theme) -> Player {
        let run = &rec.run;
        let mut settings = settings_of(run.rate, run.concurrency, false, &run.load_model, run.shape.as_deref());
        let mut items = Vec::new();
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        let mut first_settings = true;
        let mut schedules = vec![(0, settings.shape.clone())];
        let mut last = settings.clone();
        let mut slots = Vec::new();
        for l in &rec.lines {
            let item = match l {
                Line::Send(s) => match s.outcome(origin) {
                    Ok(o) => {
                        starts.push(s.t_ns);
                        ends.push(s.end_ns());
                        if let Some(slot) = s.scheduled_ns {
                            slots.push((slot, s.t_ns));
                        }
                        Item::Event(Event::Completed(Arc::new(o)))
                    }
                    Err(_) => continue,
                },
                Line::Fault(f) => Item::Event(Event::Fault(Arc::new(f.change(origin)))),
                Line::Route { topic, brokers, queues, .. } => Item::Event(Event::Route {
                    topic: topic.as_str().into(),
                    brokers: brokers.iter().map(|b| Arc::from(b.as_str())).collect(),
                    queues: *queues,
                }),
                Line::Warning { text, .. } => Item::Event(Event::Warning(text.clone())),
                Line::Lagged { missed, .. } => Item::Event(Event::Lagged(*missed)),
                Line::Injection { broker, fault, .. } => Item::Injection(broker.as_str().into(), fault.clone()),
                Line::Settings { t_ns, rate, concurrency, paused, model, shape } => {
                    let s = settings_of(*rate, *concurrency, *paused, model, shape.as_deref());
                    if first_settings {
                        // The settings the run started with.
                        schedules[0].1 = s.shape.clone();
                        settings = s.clone();
                        last = s;
                        first_settings = false;
                        continue;
                    }
                    if s.rate != last.rate || s.model != last.model || s.shape != last.shape {
                        schedules.push((*t_ns, s.shape.clone()));
                    }
                    last = s.clone();
                    Item::Settings(s)
                }
                Line::Run { .. } | Line::End { .. } => continue,
            };
            items.push((l.t_ns(), item));
        }
        // Stable: lines of one moment keep the order they were written in.
        items.sort_by_key(|(t, _)| *t);
        starts.sort_unstable();
        ends.sort_unstable();
        slots.sort_unstable();
        let last = items.last().map_or(0, |(t, _)| *t).max(0) as u64;
        let length = rec.elapsed().max(Duration::from_nanos(last));
        let wall_base = chrono::DateTime::from_timestamp_millis(rec.started_ms)
            .map(|d| d.with_timezone(&chrono::Local))
            .unwrap_or_else(chrono::Local::now);
        let brokers = rec
            .lines
            .iter()
            .find_map(|l| match l {
                Line::Route { brokers, .. } => Some(brokers.len()),
                _ => None,
            })
            .unwrap_or(0);
        let ctx = RunContext {
            target: run.target.clone(),
            topic: run.topic.clone(),
            brokers,
            attempt_timeout: run.attempt_timeout_ms.map(Duration::from_millis),
            java: crate::producer::JavaVersion::parse(&run.java).unwrap_or_default(),
            wall_base,
            clock_base: origin,
        };
        Player {
            items,
            starts,
            ends,
            next: 0,
            origin,
            ctx,
            theme,
            settings,
            fault_table: FaultTable::parse(&run.fault_table).unwrap_or(FaultTable::V5),
            avoidance: run.fault_avoidance,
            thresholds: rec.thresholds.clone(),
            schedules,
            slots,
            length,
            at: Duration::ZERO,
            speed: 1,
            paused: false,
        }
    }

    /// A console at the recording's start.
    pub fn fresh(&self) -> App {
        let mut app =
            App::new(self.ctx.clone(), self.theme.clone(), self.settings.clone(), self.fault_table, self.avoidance);
        app.replay = Some(self.badge());
        app.thresholds = self.thresholds.clone();
        app
    }

    fn badge(&self) -> ReplayBadge {
        ReplayBadge { at: self.at, length: self.length, speed: self.speed, paused: self.paused }
    }

    /// Moves the replay to `t` (clamped to the recording): what happened up to then is applied,
    /// the App's clock set there. Back in time: `app` is rebuilt from the start.
    pub fn seek(&mut self, app: &mut App, t: Duration) {
        let t = t.min(self.length);
        if t < self.at {
            // What the operator has open (panel, selection, popup) stays.
            let old = std::mem::replace(app, self.fresh());
            app.ui = old.ui;
            self.next = 0;
        }
        self.at = t;
        let upto = t.as_nanos() as i64;
        while let Some((at, item)) = self.items.get(self.next) {
            if *at > upto {
                break;
            }
            match item {
                Item::Event(e) => app.apply(e),
                Item::Injection(b, f) => {
                    app.injected.insert(b.clone(), f.clone());
                }
                Item::Settings(s) => app.settings = s.clone(),
            }
            self.next += 1;
        }
        let now = at_ns(self.origin, upto);
        app.tick(now);
        app.live.in_flight = self.in_flight(upto);
        // What the load driver reported live: where a shape's ramp is, how late the send
        // waiting for its slot is.
        app.live.schedule_rate = self.schedule_rate(upto);
        app.live.schedule_lag = self.lag(upto);
        if self.at >= self.length {
            self.paused = true;
        }
        app.replay = Some(self.badge());
        app.dirty = true;
    }

    /// Sends started and not ended at `t_ns`.
    fn in_flight(&self, t_ns: i64) -> u64 {
        let started = self.starts.partition_point(|s| *s <= t_ns);
        let ended = self.ends.partition_point(|e| *e <= t_ns);
        started.saturating_sub(ended) as u64
    }

    /// The shaped rate at `t_ns` (None without a shape).
    fn schedule_rate(&self, t_ns: i64) -> Option<f64> {
        let i = self.schedules.partition_point(|(from, _)| *from <= t_ns).checked_sub(1)?;
        let (from, shape) = &self.schedules[i];
        shape.as_ref().map(|s| s.rate_at(Duration::from_nanos(t_ns.saturating_sub(*from).max(0) as u64)))
    }

    /// How late, at `t_ns`, the first send not yet started was on its slot (zero: none due).
    /// Sends start in their slots' order.
    fn lag(&self, t_ns: i64) -> Duration {
        let i = self.slots.partition_point(|(_, start)| *start <= t_ns);
        match self.slots.get(i) {
            Some((slot, _)) if *slot <= t_ns => Duration::from_nanos((t_ns - slot) as u64),
            _ => Duration::ZERO,
        }
    }

    /// Plays on by `real` time at the current speed (nothing while paused).
    pub fn advance(&mut self, app: &mut App, real: Duration) {
        if !self.paused {
            let to = self.at + real * self.speed;
            self.seek(app, to);
        }
    }

    /// The replay's own keys: p pause/play, 1/2/3 ×1/×10/×100, ,/. seek ∓10 s, 0 the start.
    /// Returns whether the key was one of them.
    pub fn key(&mut self, app: &mut App, key: &crossterm::event::KeyEvent) -> bool {
        use crossterm::event::KeyCode;
        if app.ui.filter_editing || key.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) {
            return false;
        }
        let ten = Duration::from_secs(10);
        match key.code {
            KeyCode::Char('p') => {
                if self.at >= self.length {
                    self.seek(app, Duration::ZERO);
                }
                self.paused = !self.paused;
            }
            KeyCode::Char('1') => self.speed = 1,
            KeyCode::Char('2') => self.speed = 10,
            KeyCode::Char('3') => self.speed = 100,
            KeyCode::Char('.') => self.seek(app, self.at + ten),
            KeyCode::Char(',') => self.seek(app, self.at.saturating_sub(ten)),
            KeyCode::Char('0') => self.seek(app, Duration::ZERO),
            _ => return false,
        }
        app.replay = Some(self.badge());
        app.dirty = true;
        true
    }
}

/// Keys of the live console that act on the producer or the cluster: nothing to act on in a
/// replay (said so, not silently ignored).
pub fn inert(action: super::keymap::Action) -> bool {
    use super::keymap::Action::*;
    matches!(
        action,
        Pause
            | RateUp
            | RateDown
            | ConcurrencyUp
            | ConcurrencyDown
            | Compose
            | ToggleAvoidance
            | ToggleTable
            | FaultLatency
            | FaultError
            | FaultHang
            | FaultDown
            | FaultGoAway
            | FaultClear
    )
}

/// Runs the console on the recording `args.file` until the operator quits.
pub async fn run(args: crate::cli::ReplayArgs) -> Result<u8, crate::engine::StartError> {
    use crate::engine::StartError;
    use futures::StreamExt;
    super::need_terminal("replay needs a terminal: use mqtui report")?;
    let rec = Recording::open(&args.file).map_err(|e| StartError::start(format!("cannot read the recording: {e}")))?;
    let mut theme = Theme::load(&args.theme).map_err(StartError::config)?;
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        theme = theme.monochrome();
    }
    let mut player = Player::new(&rec, Instant::now(), theme);
    player.speed = args.speed;
    let mut app = player.fresh();
    player.seek(&mut app, Duration::ZERO);
    let problems = if rec.problems.is_empty() { String::new() } else { format!(" · warning: {}", rec.problems[0]) };
    app.say(format!("replay: p play/pause · 1 2 3 speed ×1 ×10 ×100 · , . seek ∓10 s · 0 start{problems}"));
    let frame = Duration::from_millis(1000 / u64::from(args.fps.clamp(1, 120)));
    let mut input = crossterm::event::EventStream::new();
    let mut terminal = ratatui::try_init().map_err(|e| StartError::config(format!("cannot open the console: {e}")))?;
    super::install_panic_guard();
    let mut last = Instant::now();
    let result: std::io::Result<()> = async {
        loop {
            tokio::select! {
                ev = input.next() => match ev {
                    Some(Ok(crossterm::event::Event::Key(key))) if key.kind != crossterm::event::KeyEventKind::Release => {
                        if !player.key(&mut app, &key) {
                            match super::keymap::action_for(&key) {
                                Some(a) if inert(a) && !app.ui.filter_editing => {
                                    app.say("a replay: the producer and the cluster are the recording's, nothing to change")
                                }
                                _ => super::handle_input(&mut app, crossterm::event::Event::Key(key)),
                            }
                        }
                    }
                    Some(Ok(ev)) => super::handle_input(&mut app, ev),
                    Some(Err(e)) => return Err(e),
                    None => app.quit = true,
                },
                _ = tokio::time::sleep(frame) => {}
            }
            if app.quit {
                return Ok(());
            }
            let now = Instant::now();
            player.advance(&mut app, now - last);
            last = now;
            if app.dirty {
                terminal.draw(|f| super::render(f, &app))?;
                app.dirty = false;
            }
        }
    }
    .await;
    ratatui::restore();
    result.map_err(|e| StartError::start(format!("terminal: {e}")))?;
    Ok(0)
}
