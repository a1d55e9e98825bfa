//! Overload as the Java client makes it: the async sender executor (its threads and its queue of
//! 50,000) and the remoting client's async semaphore (65,535 requests in flight), shrunk here to
//! one thread, a queue of two and one permit. A hung broker holds each permit until Java's scan
//! fails its request. Paused clock: the waits are the Java client's, not the machine's.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use mqtui::cluster::{ClusterConfig, DemoCluster};
use mqtui::producer::{
    AttemptOutcome, FailureKind, JavaError, JavaVersion, Producer, ProducerConfig, SendOutcome, SenderLimits,
    SenderState,
};
use mqtui::protocol::message::Message;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn failure(o: &SendOutcome) -> (FailureKind, &str) {
    let f = o.result.as_ref().unwrap_err();
    (f.kind, f.message.as_str())
}

#[tokio::test(start_paused = true)]
async fn a_full_executor_queue_rejects_and_sends_wait_for_a_thread_and_a_permit_as_each_version_does() {
    for java in JavaVersion::ALL {
        let c = DemoCluster::start(ClusterConfig { brokers: 1, ..ClusterConfig::default() }).await.unwrap();
        c.update_fault("broker-a", |f| f.hang = true).unwrap();
        let p = Producer::new(ProducerConfig {
            namesrvs: vec![c.namesrv_addr().to_string()],
            java,
            fault_table: java.fault_table(),
            heartbeats: false,
            retries: 0,
            sender: SenderLimits { threads: 1, queue: 2, permits: 1 },
            ..ProducerConfig::default()
        });
        let msg = || Message::new("OverloadTopic", &b"overload"[..]);
        // Polled in order: send 1 takes the thread, sends 2 and 3 wait in the queue, send 4
        // finds it full.
        let outcomes: Vec<Arc<SendOutcome>> = join_all((0..4).map(|_| p.send(msg()))).await;
        let [s1, s2, s3, s4] = &outcomes[..] else { unreachable!() };

        assert_eq!(failure(s4), (FailureKind::Rejected, "executor rejected "), "{java}");
        assert!(s4.attempts.is_empty() && s4.latency < ms(10), "{java}: refused at once, never attempted");

        // Send 1 got the permit and its request hangs until the scan fails it.
        assert_eq!(s1.attempts.len(), 1);
        assert_eq!(s1.attempts[0].java_error, Some(JavaError::Timeout));
        assert!(s1.latency >= ms(4000) && s1.latency <= ms(5000), "{java}: {:?}", s1.latency);

        // Send 2 waited for the one permit as long as its time allowed, and failed isolating the
        // broker.
        let a2 = &s2.attempts[..];
        assert_eq!(a2.len(), 1, "{java}");
        assert_eq!((a2[0].outcome, a2[0].java_error), (AttemptOutcome::Timeout, Some(JavaError::Timeout)));
        assert!(a2[0].latency >= ms(2900) && a2[0].latency <= ms(3000), "{java}: {:?}", a2[0].latency);
        let window = if java == JavaVersion::V4_9_8 { 600_000 } else { 10_000 };
        assert_eq!(a2[0].isolation, Some(ms(window)), "{java}");
        let (kind, message) = failure(s2);
        assert_eq!(kind, FailureKind::Timeout);
        if java == JavaVersion::V5_3_3 {
            // 5.3.x: the wait happens in a channel-future listener, after the executor's thread is
            // free; the future fails and the callback words it as a response timeout.
            assert!(message.starts_with("wait response timeout, cost="), "{message}");
            // So send 3 had the thread at once, waited for the permit too, and failed the same way.
            assert_eq!(s3.attempts.len(), 1);
            assert!(failure(s3).1.starts_with("wait response timeout, cost="), "{:?}", failure(s3));
            assert!(s3.latency <= ms(3050), "{:?}", s3.latency);
        } else {
            // 4.9.8, 5.1.4: the executor's thread itself waits, and Java's own message says so.
            assert!(message.starts_with("invokeAsyncImpl tryAcquire semaphore timeout, "), "{message}");
            assert!(message.ends_with("ms, waiting thread nums: 0 semaphoreAsyncValue: 0"), "{message}");
            // So send 3 spent its whole timeout in the queue: never attempted, and its latency
            // counts the wait.
            assert_eq!(failure(s3), (FailureKind::Timeout, "DEFAULT ASYNC send call timeout"), "{java}");
            assert!(s3.attempts.is_empty());
            assert!(s3.latency >= ms(3000) && s3.latency <= ms(3050), "{java}: {:?}", s3.latency);
        }
        assert_eq!(p.sender_state(), SenderState::default(), "{java}: every thread and permit back");
        let c = p.counters();
        assert_eq!((c.sent, c.failed, c.in_flight), (4, 4, 0));
    }
}

#[tokio::test]
async fn java_sizes_by_default() {
    let l = SenderLimits::java();
    assert_eq!((l.queue, l.permits), (50_000, 65_535));
    assert_eq!(l.threads, std::thread::available_parallelism().unwrap().get());
}
