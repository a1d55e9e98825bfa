//! The replay's [`Player`]: a recording fed to a fresh [`App`] on a clock of its own, read from
//! the file as it plays (nothing of a send is kept once it is shown). A first pass builds a
//! small index — how many sends were in flight, how late the waiting send was, the load
//! settings' schedules — exact for any run up to a few hundred thousand distinct moments and
//! coarsened (its time steps doubled) past that, so memory stays bounded whatever the length.
//! A seek back reads the file again from the start into a new App, as the live one was built.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::{Path, PathBuf};
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
use crate::record::{Line, Reader};

/// What happens at a moment of the recording.
#[derive(Debug, Clone)]
enum Item {
    Event(Event),
    Injection(Arc<str>, String),
    Settings(LoadSettings),
}

/// Distinct moments an index keeps before it coarsens.
const INDEX_CAP: usize = 1 << 18;
/// Load settings changes kept for the schedule (an operator's changes, a few in practice).
const MAX_SCHEDULES: usize = 100_000;
/// Lines are written in nearly the order of their times (a send when it ends, a fault when it
/// is set): items are held this long past their time, at most [`REORDER_ITEMS`] of them, so that
/// lines a little out of order still play in time order.
const REORDER_NS: i64 = 200_000_000;
const REORDER_ITEMS: usize = 1 << 13;

/// Values at moments, merged by `merge` where two fall in one step; the step doubles when more
/// than [`INDEX_CAP`] moments are held (exact while it is 1 ns).
struct Steps {
    step: i64,
    at: BTreeMap<i64, i64>,
    merge: fn(i64, i64) -> i64,
}

impl Steps {
    fn new(merge: fn(i64, i64) -> i64) -> Steps {
        Steps { step: 1, at: BTreeMap::new(), merge }
    }

    fn key(&self, t: i64) -> i64 {
        t.div_euclid(self.step).saturating_mul(self.step)
    }

    fn add(&mut self, t: i64, v: i64) {
        let k = self.key(t);
        let merge = self.merge;
        self.at.entry(k).and_modify(|x| *x = merge(*x, v)).or_insert(v);
        while self.at.len() > INDEX_CAP && self.step < i64::MAX / 4 {
            self.step *= 2;
            let old = std::mem::take(&mut self.at);
            for (t, v) in old {
                let k = self.key(t);
                self.at.entry(k).and_modify(|x| *x = merge(*x, v)).or_insert(v);
            }
        }
    }

    fn into_vec(self) -> Vec<(i64, i64)> {
        self.at.into_iter().collect()
    }
}

/// What the first pass learns of a recording.
struct Index {
    /// (moment, sends in flight after it).
    in_flight: Vec<(i64, i64)>,
    /// (moment a send started, the earliest slot of the sends that start then or later).
    slots: Vec<(i64, i64)>,
    /// Each schedule the load driver followed: from when (ns), and its shape (None: a constant
    /// rate or none); a change of rate, model or shape starts a new one, as live.
    schedules: Vec<(i64, Option<Arc<Shape>>)>,
    /// The settings the run started with.
    settings: LoadSettings,
    /// The last item's moment, the end line's length, the first route's brokers.
    last_ns: i64,
    elapsed: Option<Duration>,
    brokers: usize,
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

impl Index {
    fn build(r: &mut Reader) -> Index {
        let run = &r.run;
        let settings = settings_of(run.rate, run.concurrency, false, &run.load_model, run.shape.as_deref());
        let mut ix = Index {
            in_flight: Vec::new(),
            slots: Vec::new(),
            schedules: vec![(0, settings.shape.clone())],
            settings: settings.clone(),
            last_ns: 0,
            elapsed: None,
            brokers: 0,
        };
        let mut flight = Steps::new(|a, b| a + b);
        let mut slots = Steps::new(i64::min);
        let mut first_settings = true;
        let mut last = settings;
        let origin = Instant::now();
        while let Some(l) = r.next_line() {
            match &l {
                Line::Send(s) => {
                    if s.outcome(origin).is_err() {
                        continue;
                    }
                    flight.add(s.t_ns, 1);
                    flight.add(s.end_ns(), -1);
                    if let Some(slot) = s.scheduled_ns {
                        slots.add(s.t_ns, slot);
                    }
                }
                Line::Settings { t_ns, rate, concurrency, paused, model, shape } => {
                    let s = settings_of(*rate, *concurrency, *paused, model, shape.as_deref());
                    if first_settings {
                        ix.schedules[0].1 = s.shape.clone();
                        ix.settings = s.clone();
                        last = s;
                        first_settings = false;
                        continue;
                    }
                    let changed = s.rate != last.rate || s.model != last.model || s.shape != last.shape;
                    if changed && ix.schedules.len() < MAX_SCHEDULES {
                        ix.schedules.push((*t_ns, s.shape.clone()));
                    }
                    last = s;
                }
                Line::Route { brokers, .. } if ix.brokers == 0 => ix.brokers = brokers.len(),
                Line::End { elapsed_ns, .. } => {
                    ix.elapsed = Some(Duration::from_nanos(*elapsed_ns));
                    continue;
                }
                Line::Run { .. } => continue,
                _ => {}
            }
            ix.last_ns = ix.last_ns.max(l.t_ns());
        }
        let mut total = 0i64;
        ix.in_flight = flight
            .into_vec()
            .into_iter()
            .map(|(t, d)| {
                total = total.saturating_add(d);
                (t, total)
            })
            .collect();
        ix.slots = slots.into_vec();
        // Earliest slot from each moment on (sends start in their slots' order).
        let mut min = i64::MAX;
        for (_, slot) in ix.slots.iter_mut().rev() {
            min = min.min(*slot);
            *slot = min;
        }
        ix.schedules.sort_by_key(|(t, _)| *t);
        ix
    }
}

/// An item waiting its turn: ordered by its moment, then by the order it was read in.
struct Pending(i64, u64, Item);

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(o.0, o.1))
    }
}

/// The recording's items in time order, read from the file as they are due.
struct Stream {
    reader: Option<Reader>,
    held: BinaryHeap<Reverse<Pending>>,
    read: u64,
    /// The latest moment read so far.
    read_ns: i64,
    first_settings: bool,
    origin: Instant,
}

impl Stream {
    fn open(path: &Path, origin: Instant) -> Stream {
        let reader = Reader::open(path).map_err(|e| tracing::warn!("replay: {e}")).ok();
        Stream { reader, held: BinaryHeap::new(), read: 0, read_ns: i64::MIN, first_settings: true, origin }
    }

    fn item(&mut self, l: Line) -> Option<Item> {
        let origin = self.origin;
        Some(match l {
            Line::Send(s) => Item::Event(Event::Completed(Arc::new(s.outcome(origin).ok()?))),
            Line::Fault(f) => Item::Event(Event::Fault(Arc::new(f.change(origin)))),
            Line::Route { topic, brokers, queues, .. } => Item::Event(Event::Route {
                topic: topic.as_str().into(),
                brokers: brokers.iter().map(|b| Arc::from(b.as_str())).collect(),
                queues,
            }),
            Line::Warning { text, .. } => Item::Event(Event::Warning(text)),
            Line::Lagged { missed, .. } => Item::Event(Event::Lagged(missed)),
            Line::Injection { broker, fault, .. } => Item::Injection(broker.as_str().into(), fault),
            Line::Settings { rate, concurrency, paused, model, shape, .. } => {
                // The first is the settings the run started with, not a change.
                if std::mem::take(&mut self.first_settings) {
                    return None;
                }
                Item::Settings(settings_of(rate, concurrency, paused, &model, shape.as_deref()))
            }
            Line::Run { .. } | Line::End { .. } => return None,
        })
    }

    /// The next item due by `upto`, in time order.
    fn next(&mut self, upto: i64) -> Option<Item> {
        while self.read_ns <= upto.saturating_add(REORDER_NS) && self.held.len() < REORDER_ITEMS {
            let Some(line) = self.reader.as_mut().and_then(Reader::next_line) else {
                self.reader = None;
                break;
            };
            let t = line.t_ns();
            if let Some(item) = self.item(line) {
                self.read_ns = self.read_ns.max(t);
                self.held.push(Reverse(Pending(t, self.read, item)));
                self.read += 1;
            }
        }
        match self.held.peek() {
            Some(Reverse(Pending(t, ..))) if *t <= upto => self.held.pop().map(|Reverse(p)| p.2),
            _ => None,
        }
    }
}

/// Plays a recording into an App.
pub struct Player {
    path: PathBuf,
    index: Index,
    stream: Stream,
    origin: Instant,
    ctx: RunContext,
    theme: Theme,
    fault_table: FaultTable,
    avoidance: bool,
    thresholds: Vec<crate::stats::threshold::Threshold>,
    /// What could not be read (from the first pass).
    pub problems: Vec<String>,
    pub length: Duration,
    pub at: Duration,
    pub speed: u32,
    pub paused: bool,
}

impl Player {
    /// A player of the recording at `path` whose run started at `origin` on the replay's clock.
    pub fn open(path: &Path, origin: Instant, theme: Theme) -> Result<Player, String> {
        let mut r = Reader::open(path)?;
        let index = Index::build(&mut r);
        let run = &r.run;
        let length = index.elapsed.unwrap_or_default().max(Duration::from_nanos(index.last_ns.max(0) as u64));
        let wall_base = chrono::DateTime::from_timestamp_millis(r.started_ms)
            .map(|d| d.with_timezone(&chrono::Local))
            .unwrap_or_else(chrono::Local::now);
        let ctx = RunContext {
            target: run.target.clone(),
            topic: run.topic.clone(),
            brokers: index.brokers,
            attempt_timeout: run.attempt_timeout_ms.map(Duration::from_millis),
            java: crate::producer::JavaVersion::parse(&run.java).unwrap_or_default(),
            wall_base,
            clock_base: origin,
        };
        Ok(Player {
            path: path.to_path_buf(),
            stream: Stream::open(path, origin),
            index,
            origin,
            ctx,
            theme,
            fault_table: FaultTable::parse(&run.fault_table).unwrap_or(FaultTable::V5),
            avoidance: run.fault_avoidance,
            thresholds: r.thresholds.clone(),
            problems: std::mem::take(&mut r.problems),
            length,
            at: Duration::ZERO,
            speed: 1,
            paused: false,
        })
    }

    /// A console at the recording's start.
    pub fn fresh(&self) -> App {
        let mut app = App::new(
            self.ctx.clone(),
            self.theme.clone(),
            self.index.settings.clone(),
            self.fault_table,
            self.avoidance,
        );
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
            self.stream = Stream::open(&self.path, self.origin);
        }
        self.at = t;
        let upto = t.as_nanos().min(i64::MAX as u128) as i64;
        while let Some(item) = self.stream.next(upto) {
            // The sends the App let go of (the live console hands them to the producer's thread
            // to drop) are dropped here as they go: a long seek lets go of many.
            if app.live.evicted.len() >= 1024 {
                app.live.evicted.clear();
            }
            match item {
                Item::Event(e) => app.apply(&e),
                Item::Injection(b, f) => {
                    app.injected.insert(b, f);
                }
                Item::Settings(s) => app.settings = s,
            }
        }
        app.live.evicted.clear();
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
        let i = self.index.in_flight.partition_point(|(t, _)| *t <= t_ns);
        i.checked_sub(1).map_or(0, |i| self.index.in_flight[i].1.max(0) as u64)
    }

    /// The shaped rate at `t_ns` (None without a shape).
    fn schedule_rate(&self, t_ns: i64) -> Option<f64> {
        let i = self.index.schedules.partition_point(|(from, _)| *from <= t_ns).checked_sub(1)?;
        let (from, shape) = &self.index.schedules[i];
        shape.as_ref().map(|s| s.rate_at(Duration::from_nanos(t_ns.saturating_sub(*from).max(0) as u64)))
    }

    /// How late, at `t_ns`, the first send not yet started was on its slot (zero: none due).
    fn lag(&self, t_ns: i64) -> Duration {
        let i = self.index.slots.partition_point(|(start, _)| *start <= t_ns);
        match self.index.slots.get(i) {
            Some((_, slot)) if *slot <= t_ns => Duration::from_nanos(t_ns.saturating_sub(*slot) as u64),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_exact_until_the_cap_then_coarsen_keeping_totals() {
        let mut s = Steps::new(|a, b| a + b);
        s.add(5, 1);
        s.add(5, 1);
        s.add(7, -1);
        assert_eq!(s.into_vec(), vec![(5, 2), (7, -1)]);
        let mut s = Steps::new(|a, b| a + b);
        for t in 0..(INDEX_CAP as i64 * 3) {
            s.add(t * 10, 1);
        }
        assert!(s.at.len() <= INDEX_CAP, "{}", s.at.len());
        assert!(s.step >= 2);
        assert_eq!(s.at.values().sum::<i64>(), INDEX_CAP as i64 * 3, "nothing lost");
    }
}
