//! The open load model, read as its spec: under `--rate`, a send's latency counts from its slot
//! on the schedule, so that the time a hung broker held the in-flight slots (and with them every
//! send after) is in the numbers; `--load-model closed` is the old closed loop. On tokio's
//! paused clock, so the figures are exact.

use std::sync::Arc;
use std::time::Duration;

use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::content::Content;
use mqtui::producer::load::{self, LoadSettings, LoadStatus, StopAfter};
use mqtui::producer::schedule::LoadModel;
use mqtui::producer::{Producer, ProducerConfig};
use mqtui::report::Latency;
use mqtui::stats::RunStats;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct Run {
    stats: RunStats,
    status: Arc<LoadStatus>,
    /// The live lag the driver showed, sampled every 10 ms: the largest.
    max_live_lag: Duration,
}

/// 15 s at 1000/s with 64 in flight; broker-b hangs (reads requests, answers none) from 1 s to
/// 3 s. The sends it holds fill the 64 slots within ~130 ms and keep them until they fail
/// (3 s timeout, then the response-table scan): every send due meanwhile waits.
async fn hang_under_load(model: LoadModel) -> Run {
    let c = DemoCluster::start(ClusterConfig { brokers: 2, ..ClusterConfig::default() }).await.unwrap();
    let p = Producer::new(ProducerConfig { namesrvs: vec![c.namesrv_addr().to_string()], ..ProducerConfig::default() });
    p.lookup("OpenTopic").await.unwrap();
    let settings = LoadSettings { rate: Some(1000.0), concurrency: 64, paused: false, model, shape: None };
    let (_settings_tx, settings_rx) = tokio::sync::watch::channel(settings);
    let (_cancel_tx, cancel) = tokio::sync::watch::channel(false);
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let status = Arc::new(LoadStatus::default());
    let stop = StopAfter { count: None, duration: Some(ms(15_000)) };
    let start = Instant::now();
    let driver = tokio::spawn(load::run(
        p.clone(),
        Content::synthetic("OpenTopic", 128),
        settings_rx,
        stop,
        cancel,
        Some(tx),
        status.clone(),
    ));
    let fault = {
        let c = c.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(start + ms(1000)).await;
            c.update_fault("broker-b", |f| f.hang = true).unwrap();
            tokio::time::sleep_until(start + ms(3000)).await;
            c.update_fault("broker-b", |f| f.hang = false).unwrap();
        })
    };
    let sampler = {
        let status = status.clone();
        tokio::spawn(async move {
            let mut max = Duration::ZERO;
            while Instant::now() < start + ms(15_000) {
                tokio::time::sleep(ms(10)).await;
                max = max.max(status.lag(Instant::now()));
            }
            max
        })
    };
    let mut stats = RunStats::new(start);
    while let Some(o) = rx.recv().await {
        stats.record(&o);
    }
    driver.await.unwrap();
    fault.await.unwrap();
    Run { stats, status, max_live_lag: sampler.await.unwrap() }
}

#[tokio::test(start_paused = true)]
async fn a_hung_broker_under_a_rate_shows_in_the_latency_of_every_send_it_held_back() {
    let hang = ms(2000);
    let open = hang_under_load(LoadModel::Open).await;
    let s = &open.stats;
    let latency = Latency::of(&s.latency);
    let service = Latency::of(&s.service_latency);
    eprintln!(
        "open: sent {} behind {} max lag {:?} p99 {} ms, service p99 {} ms",
        s.sent, s.behind_schedule, s.max_lag, latency.p99, service.p99
    );
    // Nothing owed: the schedule was kept, the sends held back went out once slots freed.
    assert_eq!(s.sent, 15_000, "every slot of 15 s at 1000/s was sent");
    assert_eq!(open.status.not_started(), 0);
    assert!(s.behind_schedule > 1000, "the sends due while the slots were held started late: {}", s.behind_schedule);
    assert!(s.max_lag >= hang, "the longest wait for a slot: {:?}", s.max_lag);
    assert!(open.max_live_lag >= hang, "the driver showed the lag while it grew: {:?}", open.max_live_lag);
    assert!(latency.p99 >= hang.as_millis() as f64, "p99 counts what the held-back sends waited: {latency:?}");
    assert!(service.p99 < 100.0, "from their real start, only the 64 hung sends (0.4 %) were slow: {service:?}");

    let closed = hang_under_load(LoadModel::Closed).await;
    let s = &closed.stats;
    let latency = Latency::of(&s.latency);
    eprintln!("closed: sent {} p99 {} ms max {} ms", s.sent, latency.p99, latency.max);
    // The closed loop: the sends due while the slots were held are never sent, the schedule
    // restarts, and the wait is counted nowhere.
    assert!(s.sent < 13_000, "the stall's slots were dropped: {} sent", s.sent);
    assert_eq!((s.behind_schedule, closed.max_live_lag), (0, Duration::ZERO));
    assert!(latency.p99 < 100.0, "the closed loop's p99 hides the stall: {latency:?}");
    assert_eq!(Latency::of(&s.service_latency), latency, "closed: latency is service latency");
}

/// A send held back counts from its slot: the first send due while the slots are full starts
/// late, by as long as it waited, and its result line says both.
#[tokio::test(start_paused = true)]
async fn a_held_back_send_reports_its_lag_and_both_latencies() {
    let c = DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap();
    c.update_fault("broker-a", |f| f.latency = ms(50)).unwrap();
    let p = Producer::new(ProducerConfig { namesrvs: vec![c.namesrv_addr().to_string()], ..ProducerConfig::default() });
    p.lookup("OpenTopic").await.unwrap();
    // 100/s, one in flight, each takes 50 ms: the second send (slot 10 ms) starts at 50 ms.
    let settings =
        LoadSettings { rate: Some(100.0), concurrency: 1, paused: false, model: LoadModel::Open, shape: None };
    let (_s, settings_rx) = tokio::sync::watch::channel(settings);
    let (_c, cancel) = tokio::sync::watch::channel(false);
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let stop = StopAfter { count: Some(2), duration: None };
    load::run(p, Content::synthetic("OpenTopic", 16), settings_rx, stop, cancel, Some(tx), Default::default()).await;
    let mut got = Vec::new();
    while let Some(o) = rx.recv().await {
        got.push(o);
    }
    got.sort_by_key(|o| o.send);
    let (first, second) = (&got[0], &got[1]);
    assert_eq!(first.lag(), Duration::ZERO);
    assert_eq!(second.lag(), ms(40), "slot at 10 ms, started at 50 ms");
    assert_eq!(second.service_latency, ms(50));
    assert_eq!(second.latency, ms(90), "what it waited for: from its slot");
    let line: serde_json::Value = serde_json::to_value(mqtui::report::ResultLine::new(second)).unwrap();
    assert_eq!((line["latency_ms"].as_f64(), line["service_latency_ms"].as_f64()), (Some(90.0), Some(50.0)));
    assert_eq!(line["lag_ms"].as_f64(), Some(40.0));
}
