//! A sync send (`DefaultMQProducer.send(msg)` → `sendDefaultImpl(msg, SYNC, …)`), the path a
//! transactional half message takes: in the caller's thread (no executor, no async permit), up
//! to `1 + retryTimesWhenSendFailed` attempts, each on a queue chosen again avoiding the last
//! broker, each waiting exactly the time left (`invokeSync`: no response-table scan), each
//! followed by its fault update. A broker error is retried only when its code is one of
//! `retryResponseCodes`; a stored non-OK status is returned (`retryAnotherBrokerWhenNotStoreOK`
//! is false by default).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{ms, Ended, Wait, CONNECT_TIMEOUT};
use super::java::JavaError;
use super::{AttemptOutcome, AttemptRecord, Failure, FailureKind, Payload, Producer, Stored};
use crate::protocol::send::{SendStatus, SendTarget};
use crate::remoting::next_opaque;

impl Producer {
    /// The stored result and the reply's transactionId.
    pub(super) async fn send_sync_inner(
        &self,
        send: u64,
        payload: &Payload<'_>,
        started: Instant,
        attempts: &mut Vec<AttemptRecord>,
    ) -> Result<(Stored, Option<String>), Failure> {
        let cfg = &self.inner.config;
        let java = cfg.java;
        let deadline = started + cfg.timeout;
        let tp = self.checked_route(payload, deadline).await?;
        let Some(msg) = payload.message() else {
            return Err(Failure {
                kind: FailureKind::Invalid,
                code: None,
                message: "a sync send here is of one message".into(),
            });
        };
        let total = 1 + cfg.retries;
        let mut brokers_sent: Vec<Arc<str>> = Vec::new();
        let mut last: Option<Failure> = None;
        let mut last_broker: Option<Arc<str>> = None;
        let mut times = 0;
        while times < total {
            let mq = tp.select(
                &self.inner.faults,
                self.fault_avoidance(),
                self.fault_table(),
                last_broker.as_deref(),
                times > 0,
                Instant::now(),
            );
            let broker: Arc<str> = tp.broker(&mq.broker_name).cloned().unwrap_or_else(|| mq.broker_name.clone());
            brokers_sent.push(broker.clone());
            last_broker = Some(broker.clone());
            times += 1;
            let now = Instant::now();
            // `timeout < costTime`: callTimeout, no attempt.
            if ms(now.saturating_duration_since(started)) > ms(cfg.timeout) {
                brokers_sent.pop();
                return Err(Failure {
                    kind: FailureKind::Timeout,
                    code: None,
                    message: "sendDefaultImpl call timeout".into(),
                });
            }
            let mut timeout = deadline.saturating_duration_since(now);
            let capped = cfg.attempt_timeout.is_some_and(|cap| cap < timeout);
            if let Some(cap) = cfg.attempt_timeout {
                timeout = timeout.min(cap);
            }
            // sendKernelImpl builds the request anew for each attempt (its queue, born time).
            let target = SendTarget {
                producer_group: &cfg.group,
                broker_name: &mq.broker_name,
                queue_id: mq.queue_id,
                smart: cfg.smart,
            };
            let mut request = crate::protocol::send::single_request_with(msg, &target, &cfg.compression);
            // The hook runs per invocation, as Java's (the signature excludes itself).
            self.inner.pool.sign(&mut request);
            let opaque = next_opaque();
            self.inner.counters.attempts.fetch_add(1, Ordering::Relaxed);
            let addr = tp.master(&broker).cloned();
            let ended = match &addr {
                None => Ended::Failed {
                    outcome: AttemptOutcome::SendFailed,
                    class: JavaError::Client,
                    message: format!("The broker[{broker}] not exist"),
                    reachable: true,
                    retry: true,
                },
                Some(a) => match self
                    .inner
                    .pool
                    .get(&self.connect_addr(a), CONNECT_TIMEOUT.min(timeout.max(Duration::from_millis(1))))
                    .await
                {
                    Err(_) => Ended::Failed {
                        outcome: AttemptOutcome::SendFailed,
                        class: JavaError::Connect,
                        message: format!("connect to {a} failed"),
                        reachable: true,
                        retry: true,
                    },
                    Ok(conn) => {
                        let cost = now.elapsed();
                        if cost >= timeout {
                            Ended::Failed {
                                outcome: AttemptOutcome::Timeout,
                                class: JavaError::Timeout,
                                message: format!("invokeSync call the addr[{a}] timeout"),
                                reachable: true,
                                retry: true,
                            }
                        } else {
                            let wait = Wait { timeout: timeout - cost, capped, attempt_start: now, sync: true };
                            self.exchange(java, &conn, a, &request, opaque, wait).await
                        }
                    }
                },
            };
            let latency = now.elapsed();
            let mut record = AttemptRecord {
                attempt: times,
                broker: broker.clone(),
                addr: addr.clone(),
                queue: mq.queue_id,
                opaque,
                budget: deadline.saturating_duration_since(now),
                timeout,
                latency,
                outcome: AttemptOutcome::Ok,
                code: None,
                error: None,
                java_error: None,
                isolation: None,
                fault_moved: false,
                started: now,
            };
            let cause = Some((send, times));
            match ended {
                Ended::Stored { reply, code } => {
                    record.code = Some(code);
                    (record.isolation, record.fault_moved) = self.update_fault(&broker, latency, false, true, cause);
                    record.outcome =
                        if reply.status == SendStatus::SEND_OK { AttemptOutcome::Ok } else { AttemptOutcome::Status };
                    self.record_attempt(send, attempts, record);
                    let stored = Stored {
                        status: reply.status,
                        broker,
                        queue_id: reply.header.queue_id,
                        queue_offset: reply.header.queue_offset,
                        offset_msg_id: reply.header.msg_id,
                    };
                    return Ok((stored, reply.header.transaction_id));
                }
                Ended::Broker { code, message } => {
                    record.code = Some(code);
                    (record.isolation, record.fault_moved) =
                        self.update_fault(&broker, latency, true, java.broker_error_reachable(), cause);
                    record.outcome = AttemptOutcome::BrokerError;
                    record.error = Some(message.clone());
                    record.java_error = Some(JavaError::Broker);
                    self.record_attempt(send, attempts, record);
                    let failure = Failure { kind: FailureKind::Broker, code: Some(code), message };
                    if !java.sync_retry_codes().contains(&code) {
                        return Err(failure);
                    }
                    last = Some(failure);
                }
                Ended::Failed { outcome, class, message, .. } => {
                    // A RemotingException isolates the broker (the start detector is off by
                    // default); "The broker[x] not exist" (MQClientException) does not.
                    let isolation = class != JavaError::Client;
                    (record.isolation, record.fault_moved) =
                        self.update_fault(&broker, latency, isolation, true, cause);
                    record.outcome = outcome;
                    record.error = Some(message.clone());
                    record.java_error = Some(class);
                    self.record_attempt(send, attempts, record);
                    last = Some(Failure { kind: FailureKind::of_attempt(outcome), code: None, message });
                }
            }
        }
        let last = last.unwrap_or(Failure { kind: FailureKind::Unknown, code: None, message: String::new() });
        let sent: Vec<&str> = brokers_sent.iter().map(|b| &**b).collect();
        Err(Failure {
            kind: last.kind,
            code: last.code,
            message: format!(
                "Send [{times}] times, still failed, cost [{}]ms, Topic: {}, BrokersSent: [{}] ({})",
                started.elapsed().as_millis(),
                msg.topic,
                sent.join(", "),
                last.message
            ),
        })
    }
}
