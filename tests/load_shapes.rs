//! Load shapes, read as their spec: `--stages` ramps the rate linearly from stage to stage,
//! `--burst N --burst-every D` puts N sends due at once every D on top. On tokio's paused clock
//! against the demo cluster, so the counts per second are exact.

use std::sync::Arc;
use std::time::Duration;

use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::content::Content;
use mqtui::producer::load::{self, LoadSettings, LoadStatus, StopAfter};
use mqtui::producer::schedule::LoadModel;
use mqtui::producer::shape::{parse_stages, Burst, Shape};
use mqtui::producer::{Producer, ProducerConfig, SendOutcome};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `shape` for `length` against brokers that take `latency` to answer; returns every
/// outcome with the run's start, and the driver's rate, sampled every `sample`.
async fn run_shape(
    shape: Shape,
    length: Duration,
    sample: Duration,
    latency: Duration,
) -> (Instant, Vec<Arc<SendOutcome>>, Vec<f64>) {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    for b in ["broker-a", "broker-b"] {
        c.update_fault(b, |f| f.latency = latency).unwrap();
    }
    let p = Producer::new(ProducerConfig { namesrvs: vec![c.namesrv_addr().to_string()], ..ProducerConfig::default() });
    p.lookup("ShapeTopic").await.unwrap();
    let settings = LoadSettings {
        rate: Some(shape.start_rate).filter(|r| *r > 0.0),
        concurrency: 256,
        paused: false,
        model: LoadModel::Open,
        shape: Some(Arc::new(shape)),
    };
    let (_settings_tx, settings_rx) = tokio::sync::watch::channel(settings);
    let (_cancel_tx, cancel) = tokio::sync::watch::channel(false);
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let status = Arc::new(LoadStatus::default());
    let start = Instant::now();
    let stop = StopAfter { count: None, duration: Some(length) };
    let driver = tokio::spawn(load::run(
        p,
        Content::synthetic("ShapeTopic", 64),
        settings_rx,
        stop,
        cancel,
        Some(tx),
        status.clone(),
    ));
    let sampler = {
        let status = status.clone();
        tokio::spawn(async move {
            let mut rates = Vec::new();
            let mut at = start + sample;
            while at < start + length {
                tokio::time::sleep_until(at).await;
                rates.push(status.rate().unwrap_or(f64::NAN));
                at += sample;
            }
            rates
        })
    };
    let mut got = Vec::new();
    while let Some(o) = rx.recv().await {
        got.push(o);
    }
    driver.await.unwrap();
    (start, got, sampler.await.unwrap())
}

/// Sends whose slot falls in each second of the run.
fn per_second(start: Instant, got: &[Arc<SendOutcome>], secs: usize) -> Vec<usize> {
    let mut v = vec![0; secs];
    for o in got {
        let slot = o.scheduled.expect("an open shaped run gives every send a slot");
        let s = slot.duration_since(start).as_secs() as usize;
        if s < secs {
            v[s] += 1;
        }
    }
    v
}

#[tokio::test(start_paused = true)]
async fn stages_ramp_the_rate_up_hold_it_and_ramp_it_down() {
    // 0 → 200/s over 2 s, 200/s for 2 s, 200 → 0 over 2 s: 200 + 400 + 200 sends.
    let shape = Shape { start_rate: 0.0, stages: parse_stages("2s:200,2s:200,2s:0").unwrap(), burst: None };
    let (start, got, rates) = run_shape(shape, Duration::from_secs(6), ms(500), ms(0)).await;
    let secs = per_second(start, &got, 6);
    eprintln!("per second {secs:?}, rates {rates:?}");
    assert!(got.iter().all(|o| o.is_ok()), "the demo cluster is healthy");
    // The area under the ramp, second by second: 50, 150, 200, 200, 150, 50; the first send
    // is due when the count reaches 1 (a ramp from 0 sends nothing at its start) and the last,
    // count 800, falls on the end and is not sent.
    assert_eq!(secs, vec![49, 150, 200, 200, 150, 50]);
    assert_eq!(got.len(), 799);
    // The driver says where the ramp is (at the slot before each sample).
    assert!((rates[1] - 100.0).abs() < 2.0, "1 s into a 2 s ramp to 200: {rates:?}");
    assert!((rates[5] - 200.0).abs() < 1e-9, "the plateau: {rates:?}");
    assert!(rates[10] < 60.0, "ramping down: {rates:?}");
    // Every send went on its slot: the ramp asked for no more than 256 in flight allow.
    assert!(got.iter().all(|o| o.lag() <= mqtui::producer::schedule::BEHIND), "none behind schedule");
}

#[tokio::test(start_paused = true)]
async fn bursts_come_on_top_of_the_rate_and_are_held_back_honestly() {
    // 100/s, and 300 at once every 2 s; 256 in flight, each send 50 ms: each burst's last 45
    // wait for a slot.
    let shape = Shape {
        start_rate: 100.0,
        stages: Vec::new(),
        burst: Some(Burst { size: 300, every: Duration::from_secs(2) }),
    };
    let (start, got, _) = run_shape(shape, Duration::from_secs(5), ms(1000), ms(50)).await;
    let secs = per_second(start, &got, 5);
    eprintln!("per second {secs:?}");
    assert_eq!(secs, vec![100, 100, 400, 100, 400], "bursts at 2 s and 4 s");
    let at_2s: Vec<_> = got.iter().filter(|o| o.scheduled == Some(start + Duration::from_secs(2))).collect();
    // 301: the burst and the paced slot at 2 s.
    assert_eq!(at_2s.len(), 301);
    // A burst bigger than the in-flight limit: the sends past it start late and say so.
    let late = at_2s.iter().filter(|o| o.lag() > mqtui::producer::schedule::BEHIND).count();
    assert!(late >= 301 - 256, "{late} of the burst waited for an in-flight slot");
    assert!(at_2s.iter().all(|o| o.latency >= o.service_latency));
    let worst = at_2s.iter().map(|o| o.latency).max().unwrap();
    assert!(worst >= ms(95), "the last of the burst waited about a send's time, then took its own: {worst:?}");
}

#[tokio::test(start_paused = true)]
async fn bursts_alone_send_only_the_bursts() {
    let shape = Shape { start_rate: 0.0, stages: Vec::new(), burst: Some(Burst { size: 50, every: ms(1500) }) };
    let (start, got, _) = run_shape(shape, Duration::from_secs(5), ms(1000), ms(0)).await;
    let mut slots: Vec<Duration> = got.iter().map(|o| o.scheduled.unwrap().duration_since(start)).collect();
    slots.sort();
    slots.dedup();
    assert_eq!(slots, vec![ms(1500), ms(3000), ms(4500)]);
    assert_eq!(got.len(), 150);
}
