//! The load driver: keeps sends going at a rate and a number in flight, both changeable while
//! it runs (the console's `+`/`-`, `[`/`]`, `p`), and hands every outcome to its consumer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use super::{Producer, SendOutcome};
use crate::protocol::message::Message;

/// What to send.
#[derive(Debug, Clone)]
pub struct MessageTemplate {
    pub topic: String,
    pub size: usize,
    pub tag: Option<String>,
    pub keys: Option<String>,
    /// User properties on every message.
    pub props: Vec<(String, String)>,
    /// Messages per send: 1, or a SEND_BATCH_MESSAGE of this many.
    pub batch: usize,
}

impl MessageTemplate {
    fn body(&self) -> Bytes {
        // Printable, so a body shows as text in any tool.
        Bytes::from((0..self.size).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
    }

    pub fn build(&self, body: &Bytes) -> Message {
        let mut m = Message::new(self.topic.clone(), body.clone());
        if let Some(t) = &self.tag {
            m = m.with_tags(t);
        }
        if let Some(k) = &self.keys {
            m = m.with_keys(&k.split_whitespace().collect::<Vec<_>>());
        }
        for (k, v) in &self.props {
            m.set_property(k, v.clone());
        }
        m
    }
}

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
    template: MessageTemplate,
    mut settings: watch::Receiver<LoadSettings>,
    stop: StopAfter,
    mut cancel: watch::Receiver<bool>,
    out: Option<mpsc::Sender<Arc<SendOutcome>>>,
) -> u64 {
    let body = template.body();
    let start = Instant::now();
    let end = stop.duration.map(|d| start + d);
    let mut current = *settings.borrow_and_update();
    let max_permits = 1 << 20;
    let sem = Arc::new(Semaphore::new(current.concurrency.clamp(1, max_permits)));
    let mut permits_total = current.concurrency.clamp(1, max_permits);
    let mut started: u64 = 0;
    let mut next_at = start;
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
        let msgs: Vec<Message> = (0..template.batch.max(1)).map(|_| template.build(&body)).collect();
        let out = out.clone();
        tokio::spawn(async move {
            let outcome = if msgs.len() == 1 {
                p.send(msgs.into_iter().next().expect("one message")).await
            } else {
                p.send_batch(msgs).await
            };
            drop(permit);
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
