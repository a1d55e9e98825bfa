//! Whole-app snapshots of the console (ratatui TestBackend + insta), its state fed from real
//! producer events against the demo cluster, on tokio's paused clock.

mod common;

use std::time::Duration;

use chrono::TimeZone;
use futures::future::join_all;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::load::LoadSettings;
use mqtui::producer::{EventStream, Producer, ProducerConfig};
use mqtui::protocol::message::Message;
use mqtui::remoting::ResponseCode;
use mqtui::ui::app::{App, RunContext};
use mqtui::ui::keymap::Action;
use mqtui::ui::theme::Theme;
use tokio::time::Instant;

const TOPIC: &str = "DemoTopic";

struct Rig {
    cluster: DemoCluster,
    producer: Producer,
    events: EventStream,
    app: App,
}

async fn rig(f: impl FnOnce(&mut ProducerConfig)) -> Rig {
    let cluster = DemoCluster::start(ClusterConfig::default()).await.unwrap();
    let mut cfg = ProducerConfig {
        namesrvs: vec![cluster.namesrv_addr().to_string()],
        queue_seed: Some(0),
        ..Default::default()
    };
    f(&mut cfg);
    let producer = Producer::new(cfg);
    let events = producer.subscribe();
    let ctx = RunContext {
        target: "demo cluster (3 brokers, scenario healthy)".into(),
        topic: TOPIC.into(),
        brokers: 3,
        attempt_timeout: producer.config().attempt_timeout,
        java: producer.config().java,
        wall_base: chrono::Local.with_ymd_and_hms(2026, 11, 25, 12, 4, 0).unwrap(),
        clock_base: Instant::now(),
    };
    let settings =
        LoadSettings { rate: Some(200.0), concurrency: 64, paused: false, model: Default::default(), shape: None };
    let mut app = App::new(ctx, Theme::dark(), settings, producer.fault_table(), producer.fault_avoidance());
    for b in producer.lookup(TOPIC).await.unwrap().brokers.iter() {
        app.live.broker(b);
    }
    Rig { cluster, producer, events, app }
}

impl Rig {
    /// Sends `n` messages, `at_once` at a time, 5 ms apart (as a 200/s console would).
    async fn send(&mut self, n: usize, at_once: usize) {
        let mut left = n;
        while left > 0 {
            let k = at_once.min(left);
            join_all((0..k).map(|_| self.producer.send(Message::new(TOPIC, &b"snapshot"[..])))).await;
            left -= k;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(e) = self.events.try_recv() {
            self.app.apply(&e);
        }
        self.app.tick(Instant::now());
    }

    fn draw(&mut self, w: u16, h: u16) -> String {
        self.drain();
        common::screen::text(&self.app, w, h)
    }
}

/// Random parts of ids and ports are masked; everything else is exact on the paused clock.
fn snapshot(name: &str, screen: String) {
    insta::with_settings!({filters => vec![
        (r"[0-9A-F]{32}", "<ID>"),
        (r"[0-9A-F]{11}…", "<MSGID>…"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>"),
        (r"opaque \d+", "opaque <N>"),
    ]}, {
        insta::assert_snapshot!(name, screen);
    });
}

#[tokio::test(start_paused = true)]
async fn healthy_cluster() {
    let mut r = rig(|_| {}).await;
    r.send(120, 4).await;
    snapshot("healthy_cluster", r.draw(160, 48));
}

#[tokio::test(start_paused = true)]
async fn a_broker_isolated_with_its_countdown() {
    let mut r = rig(|_| {}).await;
    r.send(24, 4).await;
    r.cluster.update_fault("broker-b", |f| f.down = true).unwrap();
    r.send(24, 4).await;
    tokio::time::sleep(Duration::from_millis(2700)).await;
    r.send(12, 4).await;
    let screen = r.draw(160, 48);
    // Its connection was lost mid-send (then connects are refused): isolated 10 s, 7.3 s left.
    assert!(screen.contains("broker-b   ISOLATED 7.3 s") || screen.contains("broker-b   DOWN 7.3 s"), "{screen}");
    snapshot("broker_isolated_countdown", screen);
}

#[tokio::test(start_paused = true)]
async fn failing_sends_with_retry_trails() {
    let mut r = rig(|c| c.attempt_timeout = Some(Duration::from_millis(1000))).await;
    r.send(12, 4).await;
    r.cluster.update_fault("broker-b", |f| f.hang = true).unwrap();
    r.cluster.update_fault("broker-c", |f| f.error_code = Some(ResponseCode::SYSTEM_BUSY.code())).unwrap();
    r.send(12, 12).await;
    let screen = r.draw(160, 48);
    assert!(screen.contains("broker-b ✕ timeout 1000 ms → broker-a ✓"), "{screen}");
    assert!(screen.contains("FAILED"), "{screen}");
    snapshot("failing_sends_retry_trails", screen);
}

#[tokio::test(start_paused = true)]
async fn help_overlay() {
    let mut r = rig(|_| {}).await;
    r.send(12, 4).await;
    r.app.update(Action::Help);
    snapshot("help_overlay", r.draw(160, 48));
}

#[tokio::test(start_paused = true)]
async fn a_filtered_log() {
    let mut r = rig(|_| {}).await;
    r.send(24, 4).await;
    r.cluster.update_fault("broker-c", |f| f.error_code = Some(ResponseCode::SYSTEM_BUSY.code())).unwrap();
    r.send(12, 12).await;
    r.cluster.clear_all();
    r.send(12, 4).await;
    r.app.update(Action::Filter);
    for c in "failed".chars() {
        r.app.type_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c)));
    }
    r.app.type_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter));
    let screen = r.draw(160, 48);
    assert_eq!(r.app.filtered_log().count(), 4, "the 4 sends that hit broker-c while busy");
    snapshot("filtered_log", screen);
}

/// Escape and the next key sent at once arrive as Alt-key; the console takes them as the two keys.
#[tokio::test(start_paused = true)]
async fn escape_and_a_key_at_once_are_two_keys() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let mut r = rig(|_| {}).await;
    r.send(8, 4).await;
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    mqtui::ui::handle_input(&mut r.app, key(KeyCode::Char('/'), KeyModifiers::NONE));
    for c in "broker-a".chars() {
        mqtui::ui::handle_input(&mut r.app, key(KeyCode::Char(c), KeyModifiers::NONE));
    }
    mqtui::ui::handle_input(&mut r.app, key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(r.app.ui.filter, "broker-a");
    // "\x1b?" in one read: Escape clears the filter, `?` opens the help.
    mqtui::ui::handle_input(&mut r.app, key(KeyCode::Char('?'), KeyModifiers::ALT));
    assert_eq!(r.app.ui.filter, "", "Escape cleared the filter");
    assert!(r.draw(160, 48).contains("show or hide this help"), "then ? opened the help");
}

#[tokio::test(start_paused = true)]
async fn a_send_in_detail() {
    let mut r = rig(|c| c.attempt_timeout = Some(Duration::from_millis(1000))).await;
    r.cluster.update_fault("broker-a", |f| f.hang = true).unwrap();
    r.send(1, 1).await;
    r.app.update(Action::NextPanel);
    r.app.update(Action::Open);
    snapshot("send_detail", r.draw(160, 48));
}

#[tokio::test(start_paused = true)]
async fn an_80x24_terminal_and_a_too_small_one() {
    let mut r = rig(|_| {}).await;
    r.send(12, 4).await;
    let screen = r.draw(80, 24);
    // Every fact of the header and every key of the footer stays on screen at 80 columns.
    let lines: Vec<&str> = screen.lines().collect();
    for fact in ["Java 5.3.3", "5.x", "avoid ON", "attempt off", "● LIVE", "12:04:00"] {
        assert!(lines[0].contains(fact), "{fact:?} in the header: {}", lines[0]);
    }
    for fact in ["rate 200/s", "open", "0/64", "sent 12", "ok 12", "fail 0", "retry 0", "p50/99"] {
        assert!(lines[1].contains(fact), "{fact:?} in the header: {}", lines[1]);
    }
    let footer = lines[23];
    for key in ["?", "q", "␣", "p", "+/-", "[/]", "s", "dehkwc", "a", "t", "v", "l", "/"] {
        assert!(footer.split(' ').any(|w| w.starts_with(key)), "key {key:?} in the footer: {footer}");
    }
    snapshot("terminal_80x24", screen);
    snapshot("terminal_too_small", r.draw(50, 12));
    let wide = r.draw(200, 60);
    assert!(wide.lines().next().unwrap().contains("avoidance ON (Java's default: OFF)"), "the long forms at 200");
    assert!(wide.lines().last().unwrap().contains("d e h k w c fault on broker"), "{wide}");
    snapshot("terminal_200x60", wide);
}

/// `l`: the latency histogram view, per broker, log-scaled buckets over the window.
#[tokio::test(start_paused = true)]
async fn the_latency_histogram_view_shows_each_brokers_spread() {
    let mut r = rig(|_| {}).await;
    r.send(24, 4).await;
    r.cluster.update_fault("broker-b", |f| f.latency = Duration::from_millis(40)).unwrap();
    r.send(24, 4).await;
    r.app.update(Action::Histogram);
    let screen = r.draw(120, 40);
    assert!(screen.contains("Latency histogram") && screen.contains("≤ 50 ms"), "{screen}");
    let row = screen.lines().find(|l| l.contains("≤ 50 ms")).unwrap();
    assert!(row.contains('█'), "broker-b's slow attempts in their bucket: {row}");
    snapshot("latency_histogram", screen);
    r.app.update(Action::Histogram);
    assert!(!r.draw(120, 40).contains("Latency histogram"), "l closes it");
}

#[tokio::test(start_paused = true)]
async fn freeze_keeps_the_view_while_counting_goes_on() {
    let mut r = rig(|_| {}).await;
    r.send(12, 4).await;
    r.app.update(Action::Freeze);
    r.send(12, 4).await;
    assert_eq!(r.app.view().stats.sent, 12, "the frozen view");
    assert_eq!(r.app.live.stats.sent, 24, "still counting");
    let screen = r.draw(160, 48);
    assert!(screen.contains("FROZEN"));
    r.app.update(Action::Freeze);
    assert_eq!(r.app.view().stats.sent, 24, "unfreezing jumps to now");
}

#[tokio::test(start_paused = true)]
async fn a_banner_says_why_when_the_name_server_is_gone() {
    let mut r = rig(|_| {}).await;
    r.send(12, 4).await;
    r.cluster.update_namesrv_fault(|f| f.down = true);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    r.producer.refresh_routes().await;
    r.send(12, 4).await;
    let screen = r.draw(160, 48);
    assert!(
        screen
            .contains("⚠ route refresh for DemoTopic failed, sending with the cached route: no name server reachable"),
        "{screen}"
    );
    snapshot("banner_name_server_gone", screen);
}

#[tokio::test(start_paused = true)]
async fn ordered_and_transactional_sends_are_counted_and_shown() {
    use mqtui::protocol::transaction::LocalState;
    let mut r = rig(|_| {}).await;
    for i in 0..6 {
        let key = format!("order-{}", i % 2);
        r.producer.send_ordered(Message::new(TOPIC, &b"ordered"[..]), &key, false).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for local in [LocalState::Commit, LocalState::Rollback, LocalState::Unknown] {
        r.producer.send_in_transaction(Message::new(TOPIC, &b"tx"[..]), local).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let screen = r.draw(160, 30);
    // Too wide for 160 columns in full: the last facts take their short forms, all still there.
    assert!(screen.contains("ordered 6"), "{screen}");
    assert!(screen.contains("half 3 c/r/u 1/1/1 chk 0"), "{screen}");
    let wide = r.draw(220, 30);
    assert!(wide.contains("ordered 6 (by key, no failover)"), "{wide}");
    assert!(wide.contains("half 3: commit 1 rollback 1 unknown 1 · check-backs 0"), "{wide}");
    assert!(screen.contains("key order-1"), "{screen}");
    assert!(screen.contains("half → rollback"), "{screen}");
    snapshot("ordered_and_transactional", screen);
}

/// The header says which load model the latency follows, and how far behind its schedule the
/// driver is while it falls behind.
#[tokio::test(start_paused = true)]
async fn the_header_says_the_load_model_and_the_lag() {
    use mqtui::producer::schedule::LoadModel;
    let mut r = rig(|_| {}).await;
    r.send(4, 4).await;
    let screen = r.draw(160, 48);
    assert!(screen.lines().nth(1).unwrap().starts_with(" rate 200/s open  in flight"), "{screen}");
    r.app.live.schedule_lag = Duration::from_millis(2500);
    let screen = r.draw(160, 48);
    assert!(screen.lines().nth(1).unwrap().contains("behind 0 (lag now 2.5 s)"), "{screen}");
    r.app.live.schedule_lag = Duration::ZERO;
    r.app.settings.model = LoadModel::Closed;
    let screen = r.draw(160, 48);
    assert!(screen.lines().nth(1).unwrap().starts_with(" rate 200/s closed  in flight"), "{screen}");
}

/// `--threshold` in the console: the header says how the run's thresholds stand now (all
/// passing, or the first one failing with its measured value), at 160 and at 80 columns.
#[tokio::test(start_paused = true)]
async fn the_header_says_how_the_thresholds_stand() {
    use mqtui::stats::threshold::Threshold;
    let mut r = rig(|_| {}).await;
    r.app.thresholds =
        ["p99<100ms", "failed=0", "broker-b.max<50ms"].iter().map(|t| Threshold::parse(t).unwrap()).collect();
    r.send(24, 4).await;
    let screen = r.draw(160, 48);
    assert!(screen.lines().nth(1).unwrap().contains("thresholds 3/3 ✓"), "{screen}");
    // broker-b answers after 300 ms: the run's p99 and broker-b's max go past their limits.
    r.cluster.update_fault("broker-b", |f| f.latency = Duration::from_millis(300)).unwrap();
    r.send(24, 4).await;
    let screen = r.draw(160, 48);
    let header = screen.lines().nth(1).unwrap();
    assert!(header.contains("✗ p99<100ms at 300 ms +1 more"), "{header}");
    snapshot("thresholds_failing", screen);
    let narrow = r.draw(80, 24);
    let header = narrow.lines().nth(1).unwrap();
    assert!(header.contains("✗ p99<100ms+"), "the short form at 80 columns: {header}");
    assert!(r.app.verdicts().iter().map(|v| v.ok).eq([false, true, false]));
}
