//! Frame build time: the whole console drawn into a 200×60 buffer with 12 brokers and a full
//! log (2000 sends, some with retry trails). Target: ≤ 2 ms a frame.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use mqtui::producer::load::LoadSettings;
use mqtui::producer::{AttemptOutcome, AttemptRecord, Event, FaultChange, FaultTable, SendOutcome, Stored};
use mqtui::protocol::send::SendStatus;
use mqtui::ui::app::{App, RunContext};
use mqtui::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::time::Instant;

fn attempt(broker: &Arc<str>, n: u32, outcome: AttemptOutcome, started: Instant, latency_us: u64) -> AttemptRecord {
    AttemptRecord {
        attempt: n,
        broker: broker.clone(),
        addr: Some("127.0.0.1:10911".into()),
        queue: (n % 4) as i32,
        opaque: n as i32,
        budget: Duration::from_millis(3000),
        timeout: Duration::from_millis(3000),
        latency: Duration::from_micros(latency_us),
        outcome,
        code: Some(0),
        error: None,
        java_error: None,
        isolation: Some(if outcome.is_stored() { Duration::ZERO } else { Duration::from_secs(10) }),
        fault_moved: !outcome.is_stored(),
        started,
    }
}

/// Send `i` stored on `broker` after `attempts`.
fn stored_outcome(i: u64, broker: &Arc<str>, started: Instant, attempts: Vec<AttemptRecord>) -> SendOutcome {
    SendOutcome {
        send: i + 1,
        topic: "BenchTopic".into(),
        msg_id: "7F0000011F904B8F2D3A1C2B00000001".into(),
        started,
        started_wall_ms: mqtui::protocol::msgid::wall_ms(),
        scheduled: None,
        latency: attempts.iter().map(|a| a.latency).sum(),
        service_latency: attempts.iter().map(|a| a.latency).sum(),
        result: Ok(Stored {
            status: SendStatus::SEND_OK,
            broker: broker.clone(),
            queue_id: (i % 4) as i32,
            queue_offset: i as i64,
            offset_msg_id: "7F00000100002A9F0000000000001234".into(),
        }),
        attempts,
        oneway: false,
        sharding_key: None,
        transaction: None,
    }
}

fn app() -> App {
    let start = Instant::now();
    let ctx = RunContext {
        target: "demo cluster (12 brokers, scenario demo)".into(),
        topic: "BenchTopic".into(),
        brokers: 12,
        attempt_timeout: None,
        java: mqtui::producer::JavaVersion::default(),
        wall_base: chrono::Local::now(),
        clock_base: start,
    };
    let settings =
        LoadSettings { rate: Some(200.0), concurrency: 256, paused: false, model: Default::default(), shape: None };
    let mut app = App::new(ctx, Theme::dark(), settings, FaultTable::V5, true);
    let brokers: Vec<Arc<str>> = (0..12).map(|i| Arc::from(mqtui::cluster::broker_name(i).as_str())).collect();
    // 60 s of sends, 2000 kept in the log; every 7th retried after a timeout.
    for i in 0..6000u64 {
        let t = start + Duration::from_millis(i * 10);
        let b = &brokers[(i % 12) as usize];
        let mut attempts = Vec::new();
        if i % 7 == 0 {
            let bad = &brokers[((i + 1) % 12) as usize];
            attempts.push(attempt(bad, 1, AttemptOutcome::Timeout, t, 3_000_000));
            attempts.push(attempt(b, 2, AttemptOutcome::Ok, t + Duration::from_secs(3), 400 + i % 300));
            app.live.apply(&Event::Fault(Arc::new(FaultChange {
                broker: bad.clone(),
                latency: Duration::from_secs(3),
                window: Duration::from_secs(10),
                available_at: t + Duration::from_secs(13),
                reachable: true,
                cause: Some((i, 1)),
            })));
        } else {
            attempts.push(attempt(b, 1, AttemptOutcome::Ok, t, 300 + i % 500));
        }
        let o = stored_outcome(i, b, t, attempts);
        app.live.apply(&Event::Completed(Arc::new(o)));
        if i % 100 == 0 {
            app.live.tick(t);
        }
    }
    app.tick(start + Duration::from_secs(60));
    app
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _guard = rt.enter();
    let app = app();
    assert_eq!(app.view().log.len(), mqtui::ui::app::LOG_CAPACITY);
    assert_eq!(app.view().brokers.len(), 12);
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("frame/200x60_12_brokers_full_log", |b| {
        b.iter(|| {
            term.draw(|f| mqtui::ui::render(f, &app)).unwrap();
        })
    });
    let mut app = app;
    app.ui.filter = "broker-b".into();
    c.bench_function("frame/200x60_12_brokers_full_log_filtered", |b| {
        b.iter(|| {
            term.draw(|f| mqtui::ui::render(f, &app)).unwrap();
        })
    });
}

/// The console's cost per completed send when it drains a frame's events (6000: a frame at
/// 180,000 sends/s).
fn apply(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _guard = rt.enter();
    let start = Instant::now();
    let brokers: Vec<Arc<str>> = (0..3).map(|i| Arc::from(mqtui::cluster::broker_name(i).as_str())).collect();
    let events: Vec<Event> = (0..6000u64)
        .map(|i| {
            let t = start + Duration::from_micros(i * 5);
            let b = &brokers[(i % 3) as usize];
            Event::Completed(Arc::new(stored_outcome(i, b, t, vec![attempt(b, 1, AttemptOutcome::Ok, t, 800)])))
        })
        .collect();
    let mut app = app();
    let mut g = c.benchmark_group("apply");
    g.throughput(criterion::Throughput::Elements(events.len() as u64));
    g.bench_function("6000_completed_sends", |b| b.iter(|| app.apply_batch(&events)));
    g.finish();
}

criterion_group!(benches, bench, apply);
criterion_main!(benches);
