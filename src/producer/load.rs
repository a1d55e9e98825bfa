//! The load driver: keeps sends going at a rate and a number in flight, both changeable while
//! it runs (the console's `+`/`-`, `[`/`]`, `p`), and hands every outcome to its consumer.
//!
//! With a rate, each send has a slot on the schedule (start + n / rate). Under the open model
//! ([`LoadModel::Open`], the default) the schedule is kept however far behind the sends fall:
//! a send held back (no in-flight slot, its key's previous send not done) starts as soon as it
//! can, its latency counting from its slot ([`schedule`](super::schedule)). Under the closed
//! model a schedule more than 100 ms behind restarts from now, as mqtui did before. Only an
//! operator's own change restarts the schedule in either model: a new rate, or a resume.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use super::schedule::{self, LoadModel};
use super::shape::{Shape, Slots};
use super::{Producer, SendOutcome};
use crate::content::Content;
use crate::protocol::message::Message;

/// Settings that may change while the driver runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSettings {
    /// Messages per second; `None`: as fast as the in-flight limit allows.
    pub rate: Option<f64>,
    /// Sends in flight at most.
    pub concurrency: usize,
    /// No new sends while paused (sends in flight finish).
    pub paused: bool,
    /// Where latency counts from under a rate.
    pub model: LoadModel,
    /// `--stages` / `--burst`: the rate over time (it replaces `rate`, which is then its start).
    pub shape: Option<Arc<Shape>>,
}

impl LoadSettings {
    /// Whether sends carry an intended start (open model with a rate).
    pub fn is_open(&self) -> bool {
        self.model == LoadModel::Open && self.scheduled()
    }
    /// Whether sends follow a schedule (a rate, or a shape).
    pub fn scheduled(&self) -> bool {
        self.shape.is_some() || self.paced().is_some()
    }
    /// The schedule's shape: the given one, or the constant rate (None: no schedule).
    pub fn schedule(&self) -> Option<Arc<Shape>> {
        self.shape.clone().or_else(|| self.paced().map(|r| Arc::new(Shape::constant(r))))
    }
    /// The rate the schedule follows (None: no schedule, as fast as the in-flight limit allows).
    pub fn paced(&self) -> Option<f64> {
        self.rate.filter(|r| r.is_finite() && *r > 0.0)
    }
}

/// The timer's resolution.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// When to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StopAfter {
    pub count: Option<u64>,
    pub duration: Option<Duration>,
}

/// What the driver is doing, read by views while it runs (it never waits on them).
#[derive(Debug)]
pub struct LoadStatus {
    origin: Instant,
    /// The slot of the send waiting to start, as µs since `origin` + 1 (0: none waiting).
    waiting: AtomicU64,
    /// Slots that came due before the run ended and never started (the open model owes them).
    not_started: AtomicU64,
    /// The schedule's rate now (f64 bits; NaN: no schedule).
    rate: AtomicU64,
}

impl Default for LoadStatus {
    fn default() -> Self {
        LoadStatus {
            origin: Instant::now(),
            waiting: AtomicU64::new(0),
            not_started: AtomicU64::new(0),
            rate: AtomicU64::new(f64::NAN.to_bits()),
        }
    }
}

impl LoadStatus {
    pub fn not_started(&self) -> u64 {
        self.not_started.load(Ordering::Relaxed)
    }
    /// How far behind its schedule the driver is at `now`: the age of the slot of the send
    /// waiting to start (zero when none waits, or it is not yet late).
    pub fn lag(&self, now: Instant) -> Duration {
        match self.waiting.load(Ordering::Relaxed) {
            0 => Duration::ZERO,
            us => now.saturating_duration_since(self.origin + Duration::from_micros(us - 1)),
        }
    }
    /// The rate the schedule follows now (with `--stages`, where the ramp is); None: none.
    pub fn rate(&self) -> Option<f64> {
        Some(f64::from_bits(self.rate.load(Ordering::Relaxed))).filter(|r| !r.is_nan())
    }
    fn set_rate(&self, rate: Option<f64>) {
        self.rate.store(rate.unwrap_or(f64::NAN).to_bits(), Ordering::Relaxed);
    }
    fn set_waiting(&self, slot: Option<Instant>) {
        let v = slot.map_or(0, |s| s.saturating_duration_since(self.origin).as_micros() as u64 + 1);
        self.waiting.store(v, Ordering::Relaxed);
    }
}

/// Runs until `stop` is reached or `cancel` turns true, sending `template` under `settings`;
/// every outcome goes to `out` if given (bounded: a slow consumer slows new sends, never the producer's
/// hot path); `status` says live how it goes. Returns the number of sends started.
pub async fn run(
    producer: Producer,
    content: Content,
    mut settings: watch::Receiver<LoadSettings>,
    stop: StopAfter,
    mut cancel: watch::Receiver<bool>,
    out: Option<mpsc::Sender<Arc<SendOutcome>>>,
    status: Arc<LoadStatus>,
) -> u64 {
    let start = Instant::now();
    let end = stop.duration.map(|d| start + d);
    let mut current = settings.borrow_and_update().clone();
    let max_permits = 1 << 20;
    let sem = Arc::new(Semaphore::new(current.concurrency.clamp(1, max_permits)));
    let mut permits_total = current.concurrency.clamp(1, max_permits);
    let mut started: u64 = 0;
    // The schedule (None: as fast as the in-flight limit allows).
    let mut slots = current.schedule().map(|s| Slots::new(start, s));
    status.set_rate(slots.as_ref().map(|s| s.rate_at(start)));
    // The slot taken for the next send, kept while it waits for an in-flight slot (a settings
    // change meanwhile must not lose it).
    let mut slot: Option<Instant> = None;
    // Per sharding key, the end of its last send.
    let mut chains: std::collections::HashMap<String, tokio::sync::oneshot::Receiver<()>> = Default::default();
    loop {
        if stop.count.is_some_and(|c| started >= c) || *cancel.borrow() {
            break;
        }
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        // Settings changes: resize the in-flight limit; a new rate starts a new schedule.
        if *settings.borrow_and_update() != current {
            let new = settings.borrow().clone();
            let want = new.concurrency.clamp(1, max_permits);
            if want > permits_total {
                sem.add_permits(want - permits_total);
            } else if want < permits_total {
                let sem = sem.clone();
                let n = (permits_total - want) as u32;
                tokio::spawn(async move {
                    if let Ok(p) = sem.acquire_many_owned(n).await {
                        p.forget();
                    }
                });
            }
            permits_total = want;
            if new.rate != current.rate || new.model != current.model || new.shape != current.shape {
                slots = new.schedule().map(|s| Slots::new(Instant::now(), s));
                slot = None;
            }
            current = new;
        }
        if current.paused {
            status.set_waiting(None);
            tokio::select! {
                _ = settings.changed() => {}
                _ = cancel.changed() => {}
                _ = sleep_until_opt(end) => {}
            }
            // Resumed: the schedule goes on from now (the pause was the operator's; the slots
            // it covered are not owed).
            if let Some(s) = &mut slots {
                s.skip_to(Instant::now());
            }
            slot = None;
            continue;
        }
        if slot.is_none() {
            if let Some(s) = &mut slots {
                let now = Instant::now();
                let Some(mut next_at) = s.peek() else {
                    // The shape has ended (its last stage at rate 0, no bursts).
                    if end.is_some() || stop.count.is_some() {
                        break;
                    }
                    // A run without an end (the console) waits for the operator's next change.
                    tokio::select! {
                        _ = settings.changed() => {}
                        _ = cancel.changed() => {}
                    }
                    continue;
                };
                // tokio's timer rounds a sleep up to its next millisecond tick: wake a tick
                // early, so that a send on time starts within its slot's millisecond rather
                // than up to 2 ms after it (which would count as behind schedule).
                let wake = next_at.checked_sub(TIMER_TICK).unwrap_or(next_at);
                if wake > now {
                    if end.is_some_and(|e| next_at >= e) {
                        // The run's slots are those before its end.
                        break;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(wake) => {}
                        _ = settings.changed() => continue,
                        _ = cancel.changed() => continue,
                    }
                } else if current.model == LoadModel::Closed && now.duration_since(next_at) > Duration::from_millis(100)
                {
                    // Closed model: fell behind (slow sends), do not burst to catch up.
                    s.skip_to(now);
                    next_at = s.peek().unwrap_or(now);
                }
                if end.is_some_and(|e| next_at >= e) {
                    break;
                }
                slot = s.take();
                status.set_rate(Some(s.rate_at(now)));
            }
        }
        let open = current.model == LoadModel::Open;
        if open {
            status.set_waiting(slot);
        }
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::select! {
                p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = settings.changed() => continue,
                _ = cancel.changed() => continue,
                _ = sleep_until_opt(end) => continue,
            },
        };
        let intended = slot.take().filter(|_| open);
        status.set_waiting(None);
        let p = producer.clone();
        let per_send = if content.oneway { 1 } else { content.batch as u64 };
        let oneway = content.oneway;
        // One message, or a batch (Vec::new allocates nothing for the single send).
        let (one, msgs): (Option<Message>, Vec<Message>) = if per_send == 1 {
            (Some(content.build(started + 1)), Vec::new())
        } else {
            (None, (1..=per_send).map(|i| content.build(started * per_send + i)).collect())
        };
        let key = if per_send == 1 { content.sharding_key(started + 1) } else { None };
        let tx = if per_send == 1 { content.transaction(started + 1) } else { None };
        // An ordered send waits for the previous send of its key to end, as an application that
        // orders by key sends them one after the other (Java's ordered example sends them sync):
        // sends of one key in flight together could be stored in any order.
        let (after, done) = match &key {
            Some(k) => {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                (chains.insert(k.clone(), rx), Some(tx))
            }
            None => (None, None),
        };
        if chains.len() > 4096 && started % 4096 == 0 {
            // Keys whose last send has ended need no entry.
            chains.retain(|_, rx| matches!(rx.try_recv(), Err(tokio::sync::oneshot::error::TryRecvError::Empty)));
        }
        let out = out.clone();
        let send = async move {
            if let Some(prev) = after {
                // Ended or dropped: either way the previous send is over.
                let _ = prev.await;
            }
            // Each kind of send on the heap: the task itself stays a few words, so spawning it and
            // storing its output copy little (inline, the largest of these futures was copied
            // several times per send, 12% of its CPU).
            let outcome = if let Some(local) = tx {
                Box::pin(p.send_in_transaction(one.expect("one message"), local)).await
            } else if let Some(key) = key {
                Box::pin(p.send_ordered(one.expect("one message"), &key, oneway)).await
            } else if oneway {
                Box::pin(p.send_oneway(one.expect("one message"))).await
            } else if let Some(msg) = one {
                Box::pin(p.send(msg)).await
            } else {
                Box::pin(p.send_batch(msgs)).await
            };
            drop(permit);
            if let Some(done) = done {
                let _ = done.send(());
            }
            if let Some(out) = out {
                let _ = out.send(outcome).await;
            }
        };
        match intended {
            Some(at) => tokio::spawn(schedule::scoped(at, send)),
            None => tokio::spawn(send),
        };
        started += 1;
    }
    status.set_waiting(None);
    // The open model owes every slot that came due before the end: say how many never started.
    if let (Some(s), Some(end), true) = (&slots, end, current.model == LoadModel::Open) {
        let due_by = Instant::now().min(end);
        if stop.count.is_none_or(|c| started < c) {
            let owed = s.owed_before(due_by) + u64::from(slot.is_some_and(|at| at < due_by));
            let owed = stop.count.map_or(owed, |c| owed.min(c - started));
            status.not_started.store(owed, Ordering::Relaxed);
        }
    }
    started
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
