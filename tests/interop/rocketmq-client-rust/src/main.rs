//! Sends N messages sync and N async with rocketmq-client-rust 1.0.0 and prints one JSON line
//! per mode: {"mode":…,"sent":…,"ok":…,"failed":…,"missing_fields":…,"brokers":[…],"first_error":…}.
//! Exit status 0 only when every send succeeded with msgId, queue and queue offset.
//!
//! usage: interop-rocketmq-client-rust NAMESRV COUNT [TOPIC] [--bench CONCURRENCY [SIZE]]
//!
//! `--bench`: async sends only, at most CONCURRENCY outstanding, SIZE-byte bodies (default 128);
//! prints {"mode":"bench","sent","ok","failed","elapsed_ms","tps","p99_ms"} (scripts/bench-produce).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig, DefaultMQProducer};
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendResult;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    failed: AtomicUsize,
    missing: AtomicUsize,
    done: AtomicUsize,
    brokers: Mutex<BTreeSet<String>>,
    offsets: Mutex<BTreeSet<(String, i32, u64)>>,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn record(&self, r: Option<&SendResult>, err: Option<String>) {
        match (r, err) {
            (Some(r), None) if format!("{:?}", r.send_status) == "SendOk" => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                let has_id = r.msg_id.as_ref().is_some_and(|m| m.len() == 32);
                match &r.message_queue {
                    Some(mq) if has_id => {
                        self.brokers.lock().unwrap().insert(mq.broker_name().to_string());
                        self.offsets
                            .lock()
                            .unwrap()
                            .insert((mq.broker_name().to_string(), mq.queue_id(), r.queue_offset));
                    }
                    _ => {
                        self.missing.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            (r, e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut fe = self.first_error.lock().unwrap();
                if fe.is_none() {
                    *fe = Some(e.unwrap_or_else(|| format!("{:?}", r.map(|r| &r.send_status))));
                }
            }
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    fn report(&self, mode: &str, sent: usize, elapsed: Duration) -> bool {
        let ok = self.ok.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let missing = self.missing.load(Ordering::Relaxed);
        let distinct = self.offsets.lock().unwrap().len();
        let brokers: Vec<String> = self.brokers.lock().unwrap().iter().map(|b| format!("{b:?}")).collect();
        let fe = self.first_error.lock().unwrap().clone();
        println!(
            "{{\"mode\":\"{mode}\",\"sent\":{sent},\"ok\":{ok},\"failed\":{failed},\"missing_fields\":{missing},\"distinct_queue_offsets\":{distinct},\"brokers\":[{}],\"elapsed_ms\":{},\"first_error\":{}}}",
            brokers.join(","),
            elapsed.as_millis(),
            fe.map_or("null".to_string(), |e| format!("{e:?}"))
        );
        ok == sent && failed == 0 && missing == 0 && distinct == sent
    }
}

fn message(topic: &str, i: usize) -> Message {
    Message::builder()
        .topic(topic)
        .tags("interop")
        .body(format!("interop message {i}"))
        .build_unchecked()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: {} NAMESRV COUNT [TOPIC]", args[0]);
        std::process::exit(2);
    }
    let namesrv = args[1].clone();
    let count: usize = args[2].parse().expect("COUNT is a number");
    let topic = args.get(3).filter(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "InteropTopic".to_string());
    let bench = args.iter().position(|a| a == "--bench").map(|i| {
        let conc: usize = args.get(i + 1).and_then(|c| c.parse().ok()).expect("--bench CONCURRENCY");
        let size: usize = args.get(i + 2).and_then(|c| c.parse().ok()).unwrap_or(128);
        (conc, size)
    });

    let owner = RuntimeOwner::plan(RuntimeConfig {
        thread_name: "interop".to_string(),
        ..Default::default()
    })
    .expect("runtime plan")
    .build()
    .expect("runtime");
    let telemetry = rocketmq_observability::install_global(&rocketmq_observability::TelemetryBootstrapConfig::default())
        .expect("telemetry");
    let runtime = ClientRuntime::try_new(
        owner.root_context().component("client"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    )
    .expect("client runtime");
    let mut producer = DefaultMQProducer::builder(runtime.clone())
        .producer_group("mqtui_interop_group")
        .name_server_addr(namesrv)
        .send_msg_timeout(5000)
        .build();
    producer.start().await.expect("producer start");

    if let Some((concurrency, size)) = bench {
        let ok = run_bench(&producer, &topic, count, concurrency, size).await;
        producer.shutdown().await;
        let _ = runtime.shutdown().await;
        std::process::exit(if ok { 0 } else { 1 });
    }

    // Sync: one at a time.
    let sync = Tally::default();
    let start = Instant::now();
    for i in 0..count {
        match producer.send(message(&topic, i)).await {
            Ok(r) => sync.record(r.as_ref(), if r.is_none() { Some("no send result".into()) } else { None }),
            Err(e) => sync.record(None, Some(e.to_string())),
        }
    }
    let sync_ok = sync.report("sync", count, start.elapsed());

    // Async: callbacks, with at most WINDOW sends outstanding (the client's transport refuses
    // more than its admission queue holds).
    const WINDOW: usize = 256;
    let tally = Arc::new(Tally::default());
    let window = Arc::new(tokio::sync::Semaphore::new(WINDOW));
    let start = Instant::now();
    for i in 0..count {
        let permit = window.clone().acquire_owned().await.expect("semaphore open");
        let t = tally.clone();
        let permit = std::sync::Mutex::new(Some(permit));
        let issued = producer
            .send_with_callback(message(&topic, i), move |r, e| {
                t.record(r, e.map(|e| e.to_string()));
                permit.lock().unwrap().take();
            })
            .await;
        if let Err(e) = issued {
            tally.record(None, Some(format!("send_with_callback: {e}")));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.done.load(Ordering::Relaxed) < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let async_ok = tally.report("async", count, start.elapsed());

    producer.shutdown().await;
    let _ = runtime.shutdown().await;
    std::process::exit(if sync_ok && async_ok { 0 } else { 1 });
}

/// Async sends with a window, as `mqtui produce --concurrency N` does.
async fn run_bench(producer: &DefaultMQProducer, topic: &str, count: usize, concurrency: usize, size: usize) -> bool {
    let body = bytes_body(size);
    // Warm up: route lookup and connections, as mqtui's own run does before it starts the clock.
    let _ = producer.send(Message::builder().topic(topic).body(body.clone()).build_unchecked()).await;
    let tally = Arc::new(Tally::default());
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let window = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let start = Instant::now();
    for _ in 0..count {
        let permit = window.clone().acquire_owned().await.expect("semaphore open");
        let t = tally.clone();
        let lat = latencies.clone();
        let sent_at = Instant::now();
        let permit = std::sync::Mutex::new(Some(permit));
        let msg = Message::builder().topic(topic).body(body.clone()).build_unchecked();
        let issued = producer
            .send_with_callback(msg, move |r, e| {
                lat.lock().unwrap().push(sent_at.elapsed().as_micros() as u64);
                t.record(r, e.map(|e| e.to_string()));
                permit.lock().unwrap().take();
            })
            .await;
        if let Err(e) = issued {
            tally.record(None, Some(format!("send_with_callback: {e}")));
        }
    }
    let _ = window.acquire_many(concurrency as u32).await;
    let elapsed = start.elapsed();
    let mut l = latencies.lock().unwrap();
    l.sort_unstable();
    let p99 = l.get((l.len() * 99 / 100).min(l.len().saturating_sub(1))).copied().unwrap_or(0);
    let ok = tally.ok.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    println!(
        "{{\"mode\":\"bench\",\"sent\":{count},\"ok\":{ok},\"failed\":{failed},\"elapsed_ms\":{},\"tps\":{:.1},\"p99_ms\":{:.3}}}",
        elapsed.as_millis(),
        count as f64 / elapsed.as_secs_f64(),
        p99 as f64 / 1000.0
    );
    failed == 0
}

fn bytes_body(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}
