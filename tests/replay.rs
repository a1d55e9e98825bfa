//! `mqtui replay`, read as its spec: a recording of a run, played back, shows the same screens
//! at the same moments as the live console did (the header's LIVE badge becomes the replay's),
//! seeking back and forth included. The live run is the demo cluster under a broker going down,
//! its console fed from the producer's events on tokio's paused clock, recorded by the same
//! recorder `--record` starts; snapshots of both.

mod common;

use std::time::Duration;

use chrono::TimeZone;
use futures::future::join_all;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::load::LoadSettings;
use mqtui::producer::{Producer, ProducerConfig};
use mqtui::protocol::message::Message;
use mqtui::record::writer::{EndInfo, Sources};
use mqtui::record::{Recorder, Recording};
use mqtui::report::RunInfo;
use mqtui::ui::app::{App, RunContext};
use mqtui::ui::replay::Player;
use mqtui::ui::theme::Theme;
use tokio::time::Instant;

const TOPIC: &str = "DemoTopic";

fn draw(app: &App, w: u16, h: u16) -> String {
    common::screen::text(app, w, h)
}

fn snapshot(name: &str, screen: &str) {
    insta::with_settings!({filters => vec![
        (r"[0-9A-F]{32}", "<ID>"),
        (r"[0-9A-F]{11}…", "<MSGID>…"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>"),
        (r"opaque \d+", "opaque <N>"),
    ]}, {
        insta::assert_snapshot!(name, screen);
    });
}

/// The screen without its first line (the badge: LIVE or REPLAY).
fn body(screen: &str) -> String {
    screen.lines().skip(1).collect::<Vec<_>>().join("\n")
}

#[tokio::test(start_paused = true)]
async fn a_replay_shows_the_live_screens_at_the_same_moments() {
    let cluster = DemoCluster::start(ClusterConfig::default()).await.unwrap();
    let cfg = ProducerConfig {
        namesrvs: vec![cluster.namesrv_addr().to_string()],
        queue_seed: Some(0),
        ..Default::default()
    };
    let producer = Producer::new(cfg);
    let mut events = producer.subscribe();
    let wall_base = chrono::Local.with_ymd_and_hms(2026, 11, 25, 12, 4, 0).unwrap();
    let origin = Instant::now();
    let ctx = RunContext {
        target: "demo cluster (3 brokers, scenario demo)".into(),
        topic: TOPIC.into(),
        brokers: 3,
        attempt_timeout: None,
        java: producer.config().java,
        wall_base,
        clock_base: origin,
    };
    let settings =
        LoadSettings { rate: Some(200.0), concurrency: 64, paused: false, model: Default::default(), shape: None };
    let mut app = App::new(ctx, Theme::dark(), settings.clone(), producer.fault_table(), producer.fault_avoidance());
    // Thresholds that pass until broker-b goes down (its sends are retried around it).
    let thresholds = ["p99<100ms", "retries=0"];
    app.thresholds = thresholds.iter().map(|t| mqtui::stats::threshold::Threshold::parse(t).unwrap()).collect();
    let route = producer.lookup(TOPIC).await.unwrap();
    for b in route.brokers.iter() {
        app.live.broker(b);
    }
    let file = std::env::temp_dir().join(format!("mqtui-replay-{}.jsonl.zst", std::process::id()));
    let run = RunInfo {
        command: "console".into(),
        target: app.ctx.target.clone(),
        topic: TOPIC.into(),
        java: producer.config().java.to_string(),
        fault_table: producer.fault_table().name().into(),
        fault_avoidance: producer.fault_avoidance(),
        timeout_ms: 3000,
        attempt_timeout_ms: None,
        retries: 2,
        load_model: "open".into(),
        rate: Some(200.0),
        concurrency: 64,
        shape: None,
        thresholds: thresholds.iter().map(|t| t.to_string()).collect(),
    };
    let injected = {
        let c = cluster.clone();
        Box::new(move || {
            c.broker_names().into_iter().filter_map(|n| c.fault(&n).ok().map(|f| (n, f.to_string()))).collect()
        })
    };
    let (_settings_tx, settings_rx) = tokio::sync::watch::channel(settings);
    let recorder = Recorder::start(
        &file,
        run,
        origin,
        wall_base,
        Sources {
            events: producer.subscribe_outcomes(),
            settings: Some(settings_rx),
            injected: Some(injected),
            routes: vec![(TOPIC.into(), route.brokers.iter().map(|b| b.to_string()).collect(), route.queues.len())],
        },
    )
    .unwrap();

    // The console's own view of injected faults (what its refresh reads from the cluster).
    let refresh = |app: &mut App| {
        for n in cluster.broker_names() {
            app.injected.insert(n.as_str().into(), cluster.fault(&n).unwrap().to_string());
        }
    };
    let mut moments = Vec::new();
    let shoot = |app: &mut App, events: &mut mqtui::producer::EventStream, moments: &mut Vec<(Duration, String)>| {
        while let Some(e) = events.try_recv() {
            app.apply(&e);
        }
        app.tick(Instant::now());
        moments.push((Instant::now() - origin, draw(app, 160, 48)));
    };
    // On the paused clock what follows a picture would share its instant: a replay at that
    // instant would show it too. A millisecond apart, as on a real clock.
    let apart = || tokio::time::sleep(Duration::from_millis(1));
    let send = |n: usize| {
        let p = producer.clone();
        async move {
            for _ in 0..n / 4 {
                join_all((0..4).map(|_| p.send(Message::new(TOPIC, &b"replay"[..])))).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    refresh(&mut app);
    send(40).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    shoot(&mut app, &mut events, &mut moments);
    apart().await;
    cluster.update_fault("broker-b", |f| f.down = true).unwrap();
    refresh(&mut app);
    send(24).await;
    tokio::time::sleep(Duration::from_millis(2700)).await;
    send(12).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    shoot(&mut app, &mut events, &mut moments);
    apart().await;
    cluster.update_fault("broker-b", |f| f.down = false).unwrap();
    refresh(&mut app);
    tokio::time::sleep(Duration::from_secs(8)).await;
    send(24).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    shoot(&mut app, &mut events, &mut moments);
    let live_screens: Vec<&str> = moments.iter().map(|(_, s)| s.as_str()).collect();
    assert!(live_screens[1].contains("ISOLATED") || live_screens[1].contains("DOWN"), "{}", live_screens[1]);
    assert!(live_screens[0].contains("thresholds 2/2 ✓"), "{}", live_screens[0]);
    assert!(live_screens[1].contains("✗ retries=0 at "), "{}", live_screens[1]);
    recorder.finish(EndInfo { elapsed: Instant::now() - origin, ..Default::default() }).await.unwrap();

    let mut player = Player::open(&file, Instant::now(), Theme::dark()).unwrap();
    assert!(player.problems.is_empty(), "{:?}", player.problems);
    let mut replay = player.fresh();
    player.seek(&mut replay, Duration::ZERO);
    let mut replayed = Vec::new();
    for (i, (at, live)) in moments.iter().enumerate() {
        player.seek(&mut replay, *at);
        let screen = draw(&replay, 160, 48);
        assert!(screen.lines().next().unwrap().contains("REPLAY ×1"), "{screen}");
        assert!(live.lines().next().unwrap().contains("● LIVE"), "{live}");
        assert_eq!(body(&screen), body(live), "moment {i} at {at:?}: the replay differs from the live screen");
        snapshot(&format!("live_{i}"), live);
        snapshot(&format!("replay_{i}"), &screen);
        replayed.push(screen);
    }
    // Seeking back rebuilds the run up to there: the same screen again.
    player.seek(&mut replay, moments[1].0);
    assert_eq!(body(&draw(&replay, 160, 48)), body(&moments[1].1), "seek back");
    // Played on at ×100 from the start, it ends where the run ended, and pauses there.
    player.speed = 100;
    player.seek(&mut replay, Duration::ZERO);
    // (The last moment was the run's end: the replay had paused there.)
    player.paused = false;
    for _ in 0..20 {
        player.advance(&mut replay, Duration::from_millis(100));
    }
    assert!(player.paused && player.at == player.length, "{:?} of {:?}", player.at, player.length);
    let _ = std::fs::remove_file(&file);
}

/// A shaped run in the open model falling behind (one send in flight, 50 ms a send, a ramp to
/// 200/s): the replay's header shows where the ramp was and how late the waiting send was, as
/// the live header did from the load driver.
#[test]
fn a_replay_shows_the_ramps_rate_and_the_lag_now() {
    let dir = std::env::temp_dir().join(format!("mqtui-replay-shape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (scenario, file) = (dir.join("slow.toml"), dir.join("shaped.jsonl"));
    std::fs::write(
        &scenario,
        "[[step]]\nat = 0\nbroker = \"broker-a\"\nlatency_ms = 50\n[[step]]\nat = 0\nbroker = \"broker-b\"\nlatency_ms = 50\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mqtui"))
        .args(["produce", "--brokers", "2", "--scenario", scenario.to_str().unwrap(), "--stages", "3s:200"])
        .args(["--concurrency", "1", "--duration", "3", "--output", "json", "--record", file.to_str().unwrap()])
        .env("MQTUI_LOG_DIR", std::env::temp_dir().join("mqtui-test-logs"))
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    let rec = Recording::open(&file).unwrap();
    assert_eq!(rec.run.shape.as_deref(), Some("stages 3s:200"));
    let mut player = Player::open(&file, Instant::now(), Theme::dark()).unwrap();
    let mut replay = player.fresh();
    player.seek(&mut replay, Duration::from_millis(1500));
    let screen = draw(&replay, 160, 48);
    let header = screen.lines().nth(1).unwrap();
    let rate: u64 = header.split("rate ").nth(1).and_then(|r| r.split("/s").next()).unwrap().parse().unwrap();
    assert!((98..=100).contains(&rate), "half way up a ramp to 200/s: {header}");
    assert!(header.contains("/s shaped open"), "{header}");
    // About 75 sends were due by 1.5 s and about 30 could start: the waiting one is late by
    // most of a second.
    let lag = header.split("lag now ").nth(1).unwrap_or_else(|| panic!("{header}"));
    assert!(lag.contains(" ms") || lag.contains(" s"), "{header}");
    let _ = std::fs::remove_dir_all(&dir);
}
