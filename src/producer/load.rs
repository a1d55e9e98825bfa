//! The load driver: keeps sends going at a rate and a number in flight, both changeable while
//! it runs (the console's `+`/`-`, `[`/`]`, `p`), and hands every outcome to its consumer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use super::{Producer, SendOutcome};
use crate::content::Content;
use crate::protocol::message::Message;

/// Settings that may change while the driver runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadSettings {
    /// Messages per second; `None`: as fast as the in-flight limit allows.
    pub rate: Option<f64>,
    /// Sends in flight at most.
    pub concurrency: usize,
    /// No new sends while paused (sends in flight finish).
    pub paused: bool,
}

/// When to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StopAfter {
    pub count: Option<u64>,
    pub duration: Option<Duration>,
}

/// Runs until `stop` is reached or `cancel` turns true, sending `template` under `settings`;
/// every outcome goes to `out` if given (bounded: a slow consumer slows new sends, never the producer's
/// hot path). Returns the number of sends started.
pub async fn run(
    producer: Producer,
    content: Content,
    mut settings: watch::Receiver<LoadSettings>,
    stop: StopAfter,
    mut cancel: watch::Receiver<bool>,
    out: Option<mpsc::Sender<Arc<SendOutcome>>>,
) -> u64 {
    let start = Instant::now();
    let end = stop.duration.map(|d| start + d);
    let mut current = *settings.borrow_and_update();
    let max_permits = 1 << 20;
    let sem = Arc::new(Semaphore::new(current.concurrency.clamp(1, max_permits)));
    let mut permits_total = current.concurrency.clamp(1, max_permits);
    let mut started: u64 = 0;
    let mut next_at = start;
    // Per sharding key, the end of its last send.
    let mut chains: std::collections::HashMap<String, tokio::sync::oneshot::Receiver<()>> = Default::default();
    loop {
        if stop.count.is_some_and(|c| started >= c) || *cancel.borrow() {
            break;
        }
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        // Settings changes: resize the in-flight limit, restart pacing.
        let new = *settings.borrow_and_update();
        if new != current {
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
            if new.rate != current.rate {
                next_at = Instant::now();
            }
            current = new;
        }
        if current.paused {
            tokio::select! {
                _ = settings.changed() => {}
                _ = cancel.changed() => {}
                _ = sleep_until_opt(end) => {}
            }
            next_at = Instant::now();
            continue;
        }
        if let Some(rate) = current.rate.filter(|r| *r > 0.0) {
            let now = Instant::now();
            if next_at > now {
                tokio::select! {
                    _ = tokio::time::sleep_until(next_at) => {}
                    _ = settings.changed() => continue,
                    _ = cancel.changed() => continue,
                }
            } else if now.duration_since(next_at) > Duration::from_millis(100) {
                // Fell behind (paused, slow sends): do not burst to catch up.
                next_at = now;
            }
            next_at += Duration::from_secs_f64(1.0 / rate);
        }
        let permit = tokio::select! {
            p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = settings.changed() => continue,
            _ = cancel.changed() => continue,
        };
        let p = producer.clone();
        let per_send = if content.oneway { 1 } else { content.batch as u64 };
        let oneway = content.oneway;
        let msgs: Vec<Message> = (1..=per_send).map(|i| content.build(started * per_send + i)).collect();
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
        tokio::spawn(async move {
            if let Some(prev) = after {
                // Ended or dropped: either way the previous send is over.
                let _ = prev.await;
            }
            let outcome = if let Some(local) = tx {
                p.send_in_transaction(msgs.into_iter().next().expect("one message"), local).await
            } else if let Some(key) = key {
                p.send_ordered(msgs.into_iter().next().expect("one message"), &key, oneway).await
            } else if oneway {
                p.send_oneway(msgs.into_iter().next().expect("one message")).await
            } else if msgs.len() == 1 {
                p.send(msgs.into_iter().next().expect("one message")).await
            } else {
                p.send_batch(msgs).await
            };
            drop(permit);
            if let Some(done) = done {
                let _ = done.send(());
            }
            if let Some(out) = out {
                let _ = out.send(outcome).await;
            }
        });
        started += 1;
    }
    started
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
