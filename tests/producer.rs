//! The producer's send path against the demo cluster, read as its spec. Windows and timeouts
//! are checked on tokio's paused clock, so durations are exact.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use mqtui::cluster::{BrokerFault, ClusterConfig, DemoCluster};
use mqtui::producer::{
    AttemptOutcome, Event, FailureKind, FaultTable, JavaError, JavaVersion, Producer, ProducerConfig, SendOutcome,
};
use mqtui::protocol::message::Message;
use mqtui::protocol::send::SendStatus;
use mqtui::remoting::ResponseCode;
use tokio::time::Instant;

const TOPIC: &str = "SpecTopic";

async fn cluster(brokers: usize) -> DemoCluster {
    DemoCluster::start(ClusterConfig { brokers, ..ClusterConfig::default() }).await.unwrap()
}

fn producer(c: &DemoCluster, f: impl FnOnce(&mut ProducerConfig)) -> Producer {
    let mut cfg = ProducerConfig { namesrvs: vec![c.namesrv_addr().to_string()], ..ProducerConfig::default() };
    f(&mut cfg);
    Producer::new(cfg)
}

/// A producer of the Java client `java`: its send path and its fault table.
fn java_producer(c: &DemoCluster, java: JavaVersion, heartbeats: bool) -> Producer {
    producer(c, |cfg| {
        cfg.java = java;
        cfg.fault_table = java.fault_table();
        cfg.heartbeats = heartbeats;
    })
}

fn msg() -> Message {
    Message::new(TOPIC, &b"spec body"[..])
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Every send ended in exactly one outcome, and the producer's totals agree: sent = ok + failed.
fn check_accounting(p: &Producer, outcomes: &[Arc<SendOutcome>]) {
    let c = p.counters();
    assert_eq!(c.sent, outcomes.len() as u64, "one outcome per send");
    assert_eq!(c.sent, c.ok + c.failed, "sent = ok + failed");
    assert_eq!(c.ok, outcomes.iter().filter(|o| o.is_ok()).count() as u64);
    assert_eq!(c.in_flight, 0);
    assert_eq!(c.attempts, outcomes.iter().map(|o| o.attempts.len() as u64).sum::<u64>());
    let ids: HashSet<u64> = outcomes.iter().map(|o| o.send).collect();
    assert_eq!(ids.len(), outcomes.len(), "no send completed twice");
    for o in outcomes {
        assert!(o.attempts.len() <= 1 + p.config().retries as usize);
        // Java's response-table scan fails a request 1–2 s after its timeout, never later.
        let bound = p.config().timeout + if p.config().attempt_timeout.is_some() { ms(50) } else { ms(2050) };
        assert!(o.latency <= bound, "send {} took {:?}", o.send, o.latency);
    }
}

fn first_broker(o: &Arc<SendOutcome>) -> &str {
    &o.attempts[0].broker
}

#[tokio::test]
async fn healthy_cluster_spreads_sends_and_results_carry_ids() {
    let c = cluster(3).await;
    let p = producer(&c, |_| {});
    let outcomes = join_all((0..300).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    let brokers: HashSet<&str> = outcomes.iter().map(first_broker).collect();
    assert_eq!(brokers.len(), 3);
    let mut offsets = HashSet::new();
    for o in &outcomes {
        let s = o.result.as_ref().unwrap();
        assert_eq!(s.status, SendStatus::SEND_OK);
        assert_eq!(o.msg_id.len(), 32);
        assert_eq!(s.offset_msg_id.len(), 32);
        assert!(offsets.insert((s.broker.clone(), s.queue_id, s.queue_offset)));
        assert_eq!(o.attempts.len(), 1);
    }
    assert_eq!(c.stats().iter().map(|s| s.messages).sum::<u64>(), 300);
    assert_eq!(p.name_server_lookups(), 1);
}

/// 5.x: a 700 ms reply is ≥ 550 ms → the broker is not available for exactly 2000 ms, then used again.
#[tokio::test(start_paused = true)]
async fn a_slow_broker_is_isolated_for_exactly_the_tables_window_and_comes_back() {
    let c = cluster(3).await;
    c.update_fault("broker-b", |f| f.latency = ms(700)).unwrap();
    let p = producer(&c, |_| {});
    let mut events = p.subscribe();
    // Send one at a time until one lands on broker-b.
    let slow = loop {
        let o = p.send(msg()).await;
        if first_broker(&o) == "broker-b" {
            break o;
        }
    };
    assert_eq!(slow.latency, ms(700));
    let a = &slow.attempts[0];
    assert_eq!(a.outcome, AttemptOutcome::Ok, "slow but stored: no retry");
    assert_eq!(a.isolation, Some(ms(2000)));
    let isolated_at = a.started + a.latency;
    let fault = loop {
        match events.recv().await.unwrap() {
            Event::Fault(f) if &*f.broker == "broker-b" => break f,
            _ => {}
        }
    };
    assert_eq!(fault.window, ms(2000));
    assert_eq!(fault.available_at, isolated_at + ms(2000));
    // While the window is open, nothing goes to broker-b.
    c.set_fault("broker-b", BrokerFault::default()).unwrap();
    while Instant::now() + ms(100) < fault.available_at {
        let o = p.send(msg()).await;
        assert_ne!(first_broker(&o), "broker-b", "at {:?} into the window", Instant::now() - isolated_at);
        tokio::time::sleep(ms(100)).await;
    }
    tokio::time::sleep_until(fault.available_at).await;
    // Then it is chosen again.
    let mut back = false;
    for _ in 0..12 {
        if first_broker(&p.send(msg()).await) == "broker-b" {
            back = true;
            break;
        }
    }
    assert!(back, "broker-b is used again once its window has passed");
}

/// 4.x: the same 700 ms gives a 30 s window.
#[tokio::test(start_paused = true)]
async fn the_4x_table_gives_longer_windows() {
    let c = cluster(2).await;
    c.update_fault("broker-b", |f| f.latency = ms(700)).unwrap();
    let p = producer(&c, |cfg| cfg.fault_table = FaultTable::V4);
    let slow = loop {
        let o = p.send(msg()).await;
        if first_broker(&o) == "broker-b" {
            break o;
        }
    };
    assert_eq!(slow.attempts[0].isolation, Some(ms(30_000)));
    c.set_fault("broker-b", BrokerFault::default()).unwrap();
    tokio::time::sleep(ms(29_000)).await;
    for _ in 0..8 {
        assert_eq!(first_broker(&p.send(msg()).await), "broker-a");
    }
}

/// A down broker (connections refused): the attempt fails, the broker is isolated, the retry on
/// another broker stores the message, with the time left. How each version says it and what
/// its fault table makes of it differ:
/// - 5.3.3: the connect failure comes through `operationFail`: "unknown reason", reachable;
///   isolated 10 s, so later sends avoid broker-b.
/// - 5.1.4: thrown in the caller: "connect to X failed", reachable = false; isolated 10 s.
/// - 4.9.8: thrown in the caller: "connect to X failed", isolated 600 s, and then at once cleared
///   by sendDefaultImpl's enqueue update (4.x windows are overwritten): later sends still pick
///   broker-b first and each pays a failed connect and a retry.
#[tokio::test]
async fn a_down_broker_fails_to_send_and_is_retried_on_another_broker() {
    for java in JavaVersion::ALL {
        let c = cluster(3).await;
        c.update_fault("broker-b", |f| f.down = true).unwrap();
        let p = java_producer(&c, java, true);
        let outcomes = join_all((0..60).map(|_| p.send(msg()))).await;
        check_accounting(&p, &outcomes);
        assert!(outcomes.iter().all(|o| o.result.is_ok()), "{java}: 0 FAILED");
        let retried: Vec<&Arc<SendOutcome>> = outcomes.iter().filter(|o| o.attempts.len() > 1).collect();
        assert!(!retried.is_empty(), "{java}: some first attempts went to broker-b");
        for o in retried {
            let (a1, a2) = (&o.attempts[0], &o.attempts[1]);
            assert_eq!(&*a1.broker, "broker-b");
            assert_eq!(a1.java_error, Some(JavaError::Connect));
            let err = a1.error.as_deref().unwrap();
            if java == JavaVersion::V5_3_3 {
                assert_eq!((a1.outcome, err), (AttemptOutcome::Unknown, "unknown reason"));
                assert_eq!(a1.isolation, Some(ms(10_000)));
            } else {
                assert_eq!(a1.outcome, AttemptOutcome::SendFailed);
                let addr = c.broker_addr("broker-b").unwrap();
                assert_eq!(err, format!("connect to {addr} failed"), "{java}");
                let window = if java == JavaVersion::V4_9_8 { 600_000 } else { 10_000 };
                assert_eq!(a1.isolation, Some(ms(window)), "{java}");
            }
            assert_ne!(&*a2.broker, "broker-b");
            assert_eq!(a2.outcome, AttemptOutcome::Ok);
            assert_eq!(
                a2.budget,
                p.config().timeout.saturating_sub(a2.started - o.started),
                "the time left, not a fresh timeout"
            );
            assert_eq!(a2.queue, a1.queue, "a retry keeps the first request's header");
            assert_ne!(a2.opaque, a1.opaque, "a retry gets a new opaque");
        }
        let later = join_all((0..30).map(|_| p.send(msg()))).await;
        let on_b = later.iter().filter(|o| first_broker(o) == "broker-b").count();
        if java == JavaVersion::V4_9_8 {
            assert!(on_b > 0, "4.9.8: the enqueue update cleared broker-b's window");
            assert!(later.iter().all(|o| o.is_ok()));
        } else {
            assert_eq!(on_b, 0, "{java}: isolated, broker-b is not chosen first any more");
        }
    }
}

/// A hanging broker with the faithful policy: the response-table scan fails the attempt at the
/// first scan after timeout + 1 s, so 4–5 s after it began (3 s timeout). Then:
/// - 5.3.3 does not retry without time left: one attempt, "wait response timeout, cost=N".
/// - 4.9.8 and 5.1.4 retry with the negative budget: each retry fails in `invokeAsync` before
///   anything is sent ("invokeAsync call the addr[..] timeout") and isolates a broker it never
///   contacted; three attempts in all.
#[tokio::test(start_paused = true)]
async fn a_hanging_broker_times_out_at_the_scan_and_each_version_retries_its_way() {
    for java in JavaVersion::ALL {
        let c = cluster(2).await;
        c.update_fault("broker-b", |f| f.hang = true).unwrap();
        // The scan alone (the heartbeat's own timeout also closes the connection at 4 s: the
        // next test).
        let p = java_producer(&c, java, false);
        // 8 sends at once cover all 8 queues: 4 start on broker-b.
        let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
        check_accounting(&p, &outcomes);
        let hung: Vec<&Arc<SendOutcome>> = outcomes.iter().filter(|o| first_broker(o) == "broker-b").collect();
        assert_eq!(hung.len(), 4);
        for o in hung {
            let a1 = &o.attempts[0];
            assert_eq!((a1.outcome, a1.java_error), (AttemptOutcome::Timeout, Some(JavaError::Timeout)));
            assert!(a1.latency >= ms(4000) && a1.latency <= ms(5000), "{java}: {:?}", a1.latency);
            let f = o.result.as_ref().unwrap_err();
            if java == JavaVersion::V5_3_3 {
                assert_eq!(o.attempts.len(), 1, "no time left, no retry");
                assert_eq!(f.kind, FailureKind::Timeout);
                assert_eq!(f.message, format!("wait response timeout, cost={}", a1.latency.as_millis()));
            } else {
                assert_eq!(a1.error.as_deref(), Some("wait response timeout 3000ms"));
                assert_eq!(o.attempts.len(), 3, "{java}: retried with a negative budget");
                for a in &o.attempts[1..] {
                    assert_eq!(a.java_error, Some(JavaError::TooMuchRequest));
                    assert_eq!(a.latency, ms(0), "nothing was sent");
                    let addr = c.broker_addr(&a.broker).unwrap();
                    assert_eq!(a.error.as_deref(), Some(format!("invokeAsync call the addr[{addr}] timeout").as_str()));
                    let window = if java == JavaVersion::V4_9_8 { 600_000 } else { 10_000 };
                    assert_eq!(a.isolation, Some(ms(window)), "{java}: a broker never contacted, isolated");
                }
                assert!(f.message.starts_with("invokeAsync call the addr["), "{}", f.message);
            }
        }
        // broker-a answered everything it got, and yet (4.9.8, 5.1.4) it is isolated now: by the
        // retries of sends that hung on broker-b.
        let a = p.fault_items().into_iter().find(|i| &*i.broker == "broker-a").unwrap();
        let isolated = a.available_at > Instant::now();
        assert_eq!(isolated, java != JavaVersion::V5_3_3, "{java}: {a:?}");
    }
}

/// mqtui's own attempt cap (beyond Java): its own timer, exact, so the retry gets the time left.
#[tokio::test(start_paused = true)]
async fn with_an_attempt_timeout_the_retry_gets_the_time_left() {
    let c = cluster(2).await;
    c.update_fault("broker-b", |f| f.hang = true).unwrap();
    let p = producer(&c, |cfg| cfg.attempt_timeout = Some(ms(1000)));
    let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    assert!(outcomes.iter().all(|o| o.is_ok()), "with a per-attempt cap the retry fits");
    let retried: Vec<&Arc<SendOutcome>> = outcomes.iter().filter(|o| first_broker(o) == "broker-b").collect();
    assert_eq!(retried.len(), 4);
    for o in retried {
        assert_eq!(o.attempts.len(), 2);
        assert_eq!(o.attempts[0].latency, ms(1000));
        assert_eq!(o.attempts[1].budget, ms(2000), "the time left");
        assert_eq!(&*o.attempts[1].broker, "broker-a");
        assert_eq!(o.latency, ms(1000));
    }
}

/// SYSTEM_BUSY: a broker error, the broker is isolated, and the async path does not retry.
#[tokio::test]
async fn system_busy_is_not_retried_but_isolates_the_broker() {
    let c = cluster(3).await;
    c.update_fault("broker-b", |f| f.error_code = Some(ResponseCode::SYSTEM_BUSY.code())).unwrap();
    let p = producer(&c, |_| {});
    let outcomes = join_all((0..12).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    let busy: Vec<&Arc<SendOutcome>> = outcomes.iter().filter(|o| first_broker(o) == "broker-b").collect();
    assert_eq!(busy.len(), 4, "12 queues, 12 sends: 4 on broker-b");
    for o in busy {
        assert_eq!(o.attempts.len(), 1, "no retry");
        assert_eq!(o.attempts[0].outcome, AttemptOutcome::BrokerError);
        assert_eq!(o.attempts[0].code, Some(2));
        assert_eq!(o.attempts[0].isolation, Some(ms(10_000)));
        let f = o.result.as_ref().unwrap_err();
        assert_eq!((f.kind, f.code), (FailureKind::Broker, Some(2)));
        let addr = c.broker_addr("broker-b").unwrap();
        assert!(
            f.message.starts_with("CODE: 2  DESC: ") && f.message.ends_with(&format!(" BROKER: {addr}")),
            "{}",
            f.message
        );
    }
    let later = join_all((0..30).map(|_| p.send(msg()))).await;
    assert!(later.iter().all(|o| o.is_ok() && first_broker(o) != "broker-b"), "isolated: avoided");
}

/// FLUSH_DISK_TIMEOUT: stored, returned as the status, not retried.
#[tokio::test]
async fn flush_disk_timeout_is_returned_as_a_status() {
    let c = cluster(2).await;
    c.update_fault("broker-b", |f| f.store_status = Some(ResponseCode::FLUSH_DISK_TIMEOUT.code())).unwrap();
    let p = producer(&c, |_| {});
    let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    for o in &outcomes {
        let s = o.result.as_ref().unwrap();
        assert_eq!(o.attempts.len(), 1);
        if first_broker(o) == "broker-b" {
            assert_eq!(s.status, SendStatus::FLUSH_DISK_TIMEOUT);
            assert_eq!(o.status_name(), "FLUSH_DISK_TIMEOUT");
            assert_eq!(o.attempts[0].outcome, AttemptOutcome::Status);
        } else {
            assert_eq!(s.status, SendStatus::SEND_OK);
        }
    }
    assert_eq!(p.counters().ok, 8, "ok counts every stored status");
}

/// Every broker isolated: sends still go out.
#[tokio::test]
async fn with_every_broker_isolated_sends_still_go_out() {
    let c = cluster(3).await;
    for b in c.broker_names() {
        c.update_fault(&b, |f| f.error_code = Some(ResponseCode::SYSTEM_ERROR.code())).unwrap();
    }
    let p = producer(&c, |_| {});
    let first = join_all((0..12).map(|_| p.send(msg()))).await;
    assert!(first.iter().all(|o| !o.is_ok()));
    let now = Instant::now();
    assert!(p.fault_items().iter().all(|i| !i.is_available(now)), "all three isolated");
    c.clear_all();
    let outcomes = join_all((0..30).map(|_| p.send(msg()))).await;
    assert!(outcomes.iter().all(|o| o.is_ok()), "sends went out and were stored");
    let all: Vec<Arc<SendOutcome>> = first.into_iter().chain(outcomes).collect();
    check_accounting(&p, &all);
}

/// A cold topic with 10,000 sends in flight: one route lookup, 0 failures.
#[tokio::test]
async fn a_cold_topic_with_10000_sends_in_flight_makes_one_lookup() {
    let c = cluster(3).await;
    let p = producer(&c, |cfg| cfg.timeout = Duration::from_secs(30));
    let outcomes = join_all((0..10_000).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    assert!(outcomes.iter().all(|o| o.is_ok()));
    assert_eq!(p.name_server_lookups(), 1);
    assert_eq!(c.namesrv_requests(), 1);
}

/// No name server: a clear final error within the timeout, never a hang; failover to the next.
#[tokio::test]
async fn no_name_server_is_a_clear_error_and_failover_works() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let c = cluster(2).await;
    let p = Producer::new(ProducerConfig { namesrvs: vec![dead.clone()], ..ProducerConfig::default() });
    let o = p.send(msg()).await;
    let f = o.result.as_ref().unwrap_err();
    assert_eq!(f.kind, FailureKind::NoRoute);
    assert!(f.message.contains("no name server reachable") && f.message.contains(&dead), "{}", f.message);
    assert!(o.attempts.is_empty());
    check_accounting(&p, &[o]);

    let p = Producer::new(ProducerConfig {
        namesrvs: mqtui::producer::parse_namesrvs(&format!("{dead};{}", c.namesrv_addr())),
        ..ProducerConfig::default()
    });
    let outcomes = join_all((0..5).map(|_| p.send(msg()))).await;
    assert!(outcomes.iter().all(|o| o.is_ok()));
}

/// A topic the name server does not know, and no auto-create route either.
#[tokio::test]
async fn a_missing_topic_says_so() {
    let c = cluster(1).await;
    c.update_namesrv_fault(|f| {
        f.missing_topics.insert("*".into());
    });
    let p = producer(&c, |_| {});
    let o = p.send(msg()).await;
    let f = o.result.clone().unwrap_err();
    assert_eq!(f.kind, FailureKind::NoRoute);
    assert!(f.message.contains("SpecTopic") && f.message.contains("auto-create"), "{}", f.message);
}

/// Fault avoidance off (the Java default): no fault items, only the failed broker is avoided on retry.
#[tokio::test]
async fn without_fault_avoidance_nothing_is_isolated() {
    let c = cluster(3).await;
    c.update_fault("broker-b", |f| f.down = true).unwrap();
    let p = producer(&c, |cfg| cfg.fault_avoidance = false);
    let outcomes = join_all((0..60).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    assert!(outcomes.iter().all(|o| o.is_ok()));
    assert!(p.fault_items().is_empty());
    let b_first = outcomes.iter().filter(|o| first_broker(o) == "broker-b").count();
    assert!(b_first >= 15, "broker-b keeps being tried first: {b_first}");
    for o in outcomes.iter().filter(|o| o.attempts.len() > 1) {
        assert_eq!(o.attempts[0].isolation, None);
        assert_ne!(&*o.attempts[1].broker, "broker-b");
    }
}

/// A subscriber that never reads does not slow the producer; it sees Lagged.
#[tokio::test]
async fn a_slow_subscriber_sees_lagged_and_the_producer_does_not_wait() {
    let c = cluster(2).await;
    let p = producer(&c, |cfg| cfg.event_capacity = 16);
    let mut stream = p.subscribe();
    let outcomes = join_all((0..500).map(|_| p.send(msg()))).await;
    check_accounting(&p, &outcomes);
    match stream.recv().await.unwrap() {
        Event::Lagged(n) => assert!(n > 0),
        other => panic!("expected Lagged, got {other:?}"),
    }
}

/// The outcome stream (what the console reads) has each completed send once, no attempts; a slow
/// reader of it sees Lagged with the number it missed; a dropped one costs nothing.
#[tokio::test]
async fn the_outcome_stream_has_every_send_once_and_counts_what_a_slow_reader_missed() {
    let c = cluster(2).await;
    let p = producer(&c, |cfg| cfg.event_capacity = 64);
    let mut fast = p.subscribe_outcomes();
    let mut slow = p.subscribe_outcomes();
    let gone = p.subscribe_outcomes();
    drop(gone);
    let mut seen = HashSet::new();
    let mut others = 0;
    for _ in 0..10 {
        let outcomes = join_all((0..20).map(|_| p.send(msg()))).await;
        assert!(outcomes.iter().all(|o| o.is_ok()));
        while let Some(e) = fast.try_recv() {
            match e {
                Event::Completed(o) => assert!(seen.insert(o.send), "send {} twice", o.send),
                Event::Route { .. } | Event::Fault(_) | Event::Warning(_) => others += 1,
                other => panic!("unexpected on the outcome stream: {other:?}"),
            }
        }
    }
    assert_eq!(seen.len(), 200);
    let (mut lagged, mut kept, mut completed) = (0, 0, 0);
    while let Some(e) = slow.try_recv() {
        match e {
            Event::Lagged(n) => lagged += n,
            Event::Completed(_) => {
                completed += 1;
                kept += 1
            }
            _ => kept += 1,
        }
    }
    assert!(completed <= 64 && lagged > 0, "completed {completed} lagged {lagged}");
    assert_eq!(kept, 64, "the slow reader's buffer held its capacity");
    assert_eq!(kept + lagged, 200 + others, "every event kept or counted");
}

/// A batch is one SEND_BATCH_MESSAGE: its members' ids, the broker's offset ids, one queue.
#[tokio::test]
async fn a_batch_is_one_send_of_many_messages() {
    let c = cluster(2).await;
    let p = producer(&c, |_| {});
    let o = p.send_batch((0..10).map(|i| Message::new(TOPIC, format!("m{i}"))).collect()).await;
    let s = o.result.as_ref().unwrap();
    assert_eq!(o.msg_id.split(',').count(), 10);
    assert_eq!(s.offset_msg_id.split(',').count(), 10);
    assert_eq!(c.stats().iter().map(|b| b.messages).sum::<u64>(), 10);
    assert_eq!(c.stats().iter().map(|b| b.sends).sum::<u64>(), 1);
    let mixed = p.send_batch(vec![Message::new(TOPIC, &b"a"[..]), Message::new("Other", &b"b"[..])]).await;
    assert_eq!(mixed.result.as_ref().unwrap_err().kind, FailureKind::Invalid, "one topic per batch");
    check_accounting(&p, &[o, mixed]);
}

/// The in-flight limit follows run-time changes both ways: lowered, new sends wait until fewer
/// are in flight; lowered and raised again before that, the limit is the raised one (no permit
/// lost or doubled).
#[tokio::test(start_paused = true)]
async fn the_in_flight_limit_follows_changes_down_and_up() {
    use mqtui::content::Content;
    use mqtui::producer::load::{self, LoadSettings, StopAfter};
    let c = cluster(2).await;
    for b in ["broker-a", "broker-b"] {
        c.update_fault(b, |f| f.latency = ms(100)).unwrap();
    }
    let p = producer(&c, |cfg| cfg.fault_avoidance = false);
    let settings =
        |concurrency| LoadSettings { rate: None, concurrency, paused: false, model: Default::default(), shape: None };
    let (tx, rx) = tokio::sync::watch::channel(settings(8));
    let (_cancel_tx, cancel) = tokio::sync::watch::channel(false);
    let template = Content::synthetic(TOPIC, 16);
    let stop = StopAfter { count: None, duration: Some(ms(3000)) };
    let driver = tokio::spawn(load::run(p.clone(), template, rx, stop, cancel, None, Default::default()));

    // Samples the in-flight count every 10 ms for `d`: (max, last).
    let watch = |d: Duration| {
        let p = p.clone();
        async move {
            let (mut max, mut last) = (0, 0);
            let end = Instant::now() + d;
            while Instant::now() < end {
                tokio::time::sleep(ms(10)).await;
                last = p.counters().in_flight;
                max = max.max(last);
            }
            (max, last)
        }
    };
    let (max, last) = watch(ms(500)).await;
    assert_eq!((max, last), (8, 8), "limit 8");
    tx.send(settings(2)).unwrap();
    // The 8 in flight finish (100 ms), then no more than 2.
    watch(ms(150)).await;
    let (max, _) = watch(ms(400)).await;
    assert_eq!(max, 2, "lowered to 2");
    // Down and straight up again.
    tx.send(settings(1)).unwrap();
    tokio::time::sleep(ms(1)).await;
    tx.send(settings(5)).unwrap();
    watch(ms(150)).await;
    let (max, last) = watch(ms(400)).await;
    assert_eq!((max, last), (5, 5), "down to 1 and up to 5: 5");
    driver.await.unwrap();
    // The driver stops starting sends; those in flight still end, each once.
    while p.counters().in_flight > 0 {
        tokio::time::sleep(ms(10)).await;
    }
    let n = p.counters();
    assert_eq!(n.sent, n.ok + n.failed);
    assert_eq!(n.failed, 0);
}

/// The cost of retrying a send that was only slow: broker-b stores the message and answers after
/// 700 ms, the 500 ms attempt timeout gives up on it and the retry stores it again on broker-a.
/// The cluster counts that duplicate (same UNIQ_KEY, another broker).
#[tokio::test(start_paused = true)]
async fn a_retry_after_a_timeout_on_a_slow_broker_stores_twice_and_the_cluster_counts_it() {
    let c = cluster(2).await;
    c.update_fault("broker-b", |f| f.latency = ms(700)).unwrap();
    let p = producer(&c, |cfg| cfg.attempt_timeout = Some(ms(500)));
    let mut sends = 0;
    let o = loop {
        let o = p.send(msg()).await;
        sends += 1;
        if first_broker(&o) == "broker-b" {
            break o;
        }
    };
    assert_eq!(o.attempts.len(), 2);
    assert_eq!(o.attempts[0].outcome, AttemptOutcome::Timeout);
    assert_eq!((&*o.attempts[1].broker, o.attempts[1].outcome), ("broker-a", AttemptOutcome::Ok));
    // broker-b's late reply comes and goes.
    tokio::time::sleep(ms(1000)).await;
    let stats = c.stats();
    let by = |n: &str| stats.iter().find(|s| s.name == n).unwrap().clone();
    assert_eq!(by("broker-a").duplicate_keys, 1, "{stats:?}");
    assert_eq!(by("broker-b").duplicate_keys, 0, "{stats:?}");
    assert_eq!(stats.iter().map(|s| s.messages).sum::<u64>(), sends + 1, "stored once more than sent");
    assert_eq!(stats.iter().map(|s| s.distinct_keys).sum::<u64>(), sends);
}

/// GO_AWAY (1500) from a broker draining its connections:
/// - 5.3.3 reconnects and resends once, transparently: SEND_OK on the same broker, one attempt.
/// - 5.3.3 with `enableReconnectForGoAway=false`: "send request failed", retried elsewhere.
/// - 5.1.4 and 4.9.8: a broker error, isolated, not retried: the send fails.
#[tokio::test]
async fn go_away_is_resent_by_5_3_and_a_broker_error_before() {
    for (java, reconnect) in [
        (JavaVersion::V5_3_3, true),
        (JavaVersion::V5_3_3, false),
        (JavaVersion::V5_1_4, true),
        (JavaVersion::V4_9_8, true),
    ] {
        let c = cluster(2).await;
        let p = producer(&c, |cfg| {
            cfg.java = java;
            cfg.go_away_reconnect = reconnect;
        });
        // Open connections to both brokers first, then broker-b starts going away.
        let warm = join_all((0..8).map(|_| p.send(msg()))).await;
        assert!(warm.iter().all(|o| o.is_ok()));
        c.update_fault("broker-b", |f| f.go_away = true).unwrap();
        let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
        check_accounting(&p, &[warm, outcomes.clone()].concat());
        let on_b: Vec<&Arc<SendOutcome>> = outcomes.iter().filter(|o| first_broker(o) == "broker-b").collect();
        assert!(!on_b.is_empty());
        for o in on_b {
            let a1 = &o.attempts[0];
            match (java, reconnect) {
                (JavaVersion::V5_3_3, true) => {
                    assert!(o.is_ok(), "{java}: resent on a new connection: {:?}", o.result);
                    assert_eq!((o.attempts.len(), a1.outcome), (1, AttemptOutcome::Ok));
                    assert_eq!(o.result.as_ref().unwrap().broker.as_ref(), "broker-b");
                }
                (JavaVersion::V5_3_3, false) => {
                    assert_eq!((a1.outcome, a1.java_error), (AttemptOutcome::SendFailed, Some(JavaError::SendRequest)));
                    assert_eq!(a1.error.as_deref(), Some("send request failed"));
                    assert!(o.is_ok() && o.attempts.len() == 2, "retried on broker-a: {:?}", o.attempts);
                }
                _ => {
                    assert_eq!((a1.outcome, a1.code), (AttemptOutcome::BrokerError, Some(1500)), "{java}");
                    assert_eq!(o.attempts.len(), 1, "{java}: not retried");
                    let f = o.result.as_ref().unwrap_err();
                    assert!(f.message.starts_with("CODE: 1500  DESC: please go away"), "{}", f.message);
                }
            }
        }
    }
}

/// The heartbeat (1 s after start, then every 30 s) to a hung broker times out after 3 s and,
/// as `clientCloseSocketIfTimeout` says, closes the connection: the client's own close fails
/// the sends waiting on it at once as "send request failed" (`failFast`, in 4.9.8 too: its
/// close handler calls it), and they are retried with the time left. Sends begun at 1.5 s: the
/// close comes at 4 s.
#[tokio::test(start_paused = true)]
async fn a_heartbeat_timeout_closes_the_connection_and_its_sends_fail_fast() {
    for java in JavaVersion::ALL {
        let c = cluster(2).await;
        let p = java_producer(&c, java, true);
        p.lookup(TOPIC).await.unwrap();
        c.update_fault("broker-b", |f| f.hang = true).unwrap();
        tokio::time::sleep(ms(1500)).await;
        let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
        check_accounting(&p, &outcomes);
        let hung: Vec<&Arc<SendOutcome>> = outcomes.iter().filter(|o| first_broker(o) == "broker-b").collect();
        assert_eq!(hung.len(), 4);
        for o in hung {
            let a1 = &o.attempts[0];
            assert_eq!((a1.outcome, a1.java_error), (AttemptOutcome::SendFailed, Some(JavaError::SendRequest)));
            assert_eq!(a1.error.as_deref(), Some("send request failed"));
            assert_eq!(a1.latency, ms(2500), "{java}: failed when the heartbeat closed the connection");
            assert!(o.is_ok() && o.attempts.len() == 2, "{java}: retried with 500 ms left");
        }
    }
}

/// A broker that closes the connection (FIN) on a send: 5.1.4+ fail the request at once
/// (`channelInactive` → `failFast`) and retry it; 4.9.8 has no `channelInactive` handler, so the
/// request waits for the response-table scan and times out.
#[tokio::test(start_paused = true)]
async fn a_connection_the_broker_closes_fails_fast_from_5_1_4_and_waits_for_the_scan_in_4_9_8() {
    for java in JavaVersion::ALL {
        let c = cluster(2).await;
        c.update_fault("broker-b", |f| f.close_on_send = true).unwrap();
        let p = java_producer(&c, java, false);
        let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
        check_accounting(&p, &outcomes);
        for o in outcomes.iter().filter(|o| first_broker(o) == "broker-b") {
            let a1 = &o.attempts[0];
            if java == JavaVersion::V4_9_8 {
                assert_eq!(a1.outcome, AttemptOutcome::Timeout, "4.9.8: {a1:?}");
                assert!(a1.latency >= ms(4000), "4.9.8: the scan: {:?}", a1.latency);
            } else {
                assert_eq!(a1.outcome, AttemptOutcome::SendFailed, "{java}: {a1:?}");
                assert!(a1.latency < ms(100), "{java}: at once");
                assert!(o.is_ok(), "{java}: retried on broker-a");
            }
        }
    }
}

/// From 5.2 on, a connection to a broker, once open, heartbeats it at once (`onChannelActive`);
/// 4.9.8 and 5.1.4 wait for the round (1 s after start, then every 30 s). The first round here
/// finds no routes (nothing was sent by 1 s), so only the new connections can have heartbeated.
#[tokio::test(start_paused = true)]
async fn from_5_2_a_new_connection_to_a_broker_heartbeats_it_at_once() {
    for java in JavaVersion::ALL {
        let c = cluster(2).await;
        let p = java_producer(&c, java, true);
        tokio::time::sleep(ms(1500)).await;
        let outcomes = join_all((0..8).map(|_| p.send(msg()))).await;
        check_accounting(&p, &outcomes);
        tokio::time::sleep(ms(100)).await;
        let beats: Vec<u64> = c.stats().iter().map(|s| s.heartbeats).collect();
        let expected = if java >= JavaVersion::V5_3_3 { vec![1, 1] } else { vec![0, 0] };
        assert_eq!(beats, expected, "{java}: heartbeats per broker");
    }
}
