//! `sendOneway`: the request is written with the oneway flag and no reply is awaited, so nothing
//! can be known of what the broker did with it. As Java's `sendDefaultImpl(msg, ONEWAY, …)`:
//! in the caller's thread (no executor), one attempt (`timesTotal = 1`, no retry), and after it
//! the fault update with the time it took (`updateFaultItem(broker, elapsed, false)`), which can
//! end a broker's isolation.
//!
//! What a failure looks like differs by version: 4.9.8 and 5.1.4 connect and write in the
//! caller's thread, so a refused connect or a closed connection throws ("Send [1] times, still
//! failed"); 5.3.x connects and writes in a channel-future listener that only logs a failure,
//! so the application sees a oneway send that returned and the message is lost. mqtui shows
//! both: the send's result is what the application saw, its attempt what happened.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::java::JavaError;
use super::{AttemptOutcome, AttemptRecord, Failure, FailureKind, Payload, Producer, Stored};
use crate::protocol::send::{SendStatus, SendTarget};
use crate::remoting::next_opaque;

use super::attempt::CONNECT_TIMEOUT;

impl Producer {
    pub(super) async fn send_oneway_inner(
        &self,
        send: u64,
        payload: &Payload<'_>,
        started: Instant,
        attempts: &mut Vec<AttemptRecord>,
    ) -> Result<Stored, Failure> {
        let cfg = &self.inner.config;
        let java = cfg.java;
        let deadline = started + cfg.timeout;
        let topic = payload.topic();
        let tp = self.checked_route(payload, deadline).await?;
        // `sendOneway(msg, selector, key)` → sendSelectImpl: the key's queue, and no fault
        // update at all (only sendDefaultImpl makes one; the oneway remoting call makes none).
        let ordered = payload.key().is_some();
        let mq = self.first_queue(&tp, payload)?;
        let target = SendTarget {
            producer_group: &cfg.group,
            broker_name: &mq.broker_name,
            queue_id: mq.queue_id,
            smart: cfg.smart,
        };
        let Some(msg) = payload.message() else {
            return Err(Failure {
                kind: FailureKind::Invalid,
                code: None,
                message: "a oneway send is of one message (Java has no oneway batch)".into(),
            });
        };
        let mut cmd = crate::protocol::send::single_request_with(msg, &target, &cfg.compression);
        cmd.opaque = next_opaque();
        self.inner.pool.sign(&mut cmd);
        let opaque = cmd.opaque;
        let broker = tp.broker(&mq.broker_name).cloned().unwrap_or_else(|| mq.broker_name.clone());
        let addr = tp.master(&broker).cloned();
        self.inner.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let written = match &addr {
            None => Err((JavaError::Client, format!("The broker[{broker}] not exist"))),
            Some(a) => match self.inner.pool.get(&self.connect_addr(a), CONNECT_TIMEOUT).await {
                Err(_) => Err((JavaError::Connect, format!("connect to {a} failed"))),
                Ok(conn) => {
                    conn.send_oneway(cmd).map_err(|e| (JavaError::SendRequest, format!("send request failed: {e}")))
                }
            },
        };
        let latency = now.elapsed();
        let mut record = AttemptRecord {
            attempt: 1,
            broker: broker.clone(),
            addr: addr.clone(),
            queue: mq.queue_id,
            opaque,
            budget: deadline.saturating_duration_since(now),
            timeout: Duration::ZERO,
            latency,
            outcome: AttemptOutcome::Written,
            code: None,
            error: None,
            java_error: None,
            isolation: None,
            fault_moved: false,
            started: now,
        };
        let cause = Some((send, 1));
        let stored = || Stored {
            status: SendStatus::SEND_OK,
            broker: broker.clone(),
            queue_id: mq.queue_id,
            queue_offset: -1,
            offset_msg_id: String::new(),
        };
        match written {
            Ok(()) => {
                if !ordered {
                    (record.isolation, record.fault_moved) = self.update_fault(&broker, latency, false, true, cause);
                }
                self.record_attempt(send, attempts, record);
                Ok(stored())
            }
            Err((class, message)) => {
                record.outcome = AttemptOutcome::SendFailed;
                record.java_error = Some(class);
                if java.connect_fails_async() {
                    // 5.3.x: the listener logs it; sendOneway returned, the fault update saw an
                    // ordinary success.
                    record.error = Some(format!("{message}: the message is lost (Java {java} reports nothing)"));
                    if !ordered {
                        (record.isolation, record.fault_moved) =
                            self.update_fault(&broker, latency, false, true, cause);
                    }
                    self.record_attempt(send, attempts, record);
                    return Ok(stored());
                }
                // sendDefaultImpl's catch, then no attempt left: a RemotingException isolates
                // the broker (reachable: the start detector is off by default); "The broker[x]
                // not exist" (MQClientException) does not.
                record.error = Some(message.clone());
                if ordered {
                    // sendSelectImpl has no catch: the exception itself reaches the caller.
                    self.record_attempt(send, attempts, record);
                    return Err(Failure { kind: FailureKind::SendFailed, code: None, message });
                }
                let isolation = class != JavaError::Client;
                (record.isolation, record.fault_moved) = self.update_fault(&broker, latency, isolation, true, cause);
                self.record_attempt(send, attempts, record);
                let cost = started.elapsed().as_millis();
                Err(Failure {
                    kind: FailureKind::SendFailed,
                    code: None,
                    message: format!(
                        "Send [1] times, still failed, cost [{cost}]ms, Topic: {topic}, BrokersSent: [{broker}] ({message})"
                    ),
                })
            }
        }
    }
}
