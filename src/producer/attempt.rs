//! One send's attempts, as the chosen Java client version makes them (`sendDefaultImpl` →
//! `sendKernelImpl` → `sendMessageAsync` → callback → `onExceptionImpl`). The differences between
//! versions are named in [`super::java`]; this file only asks the profile.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::SemaphorePermit;
use tokio::time::Instant;

use super::java::{JavaError, JavaVersion};
use super::{AttemptOutcome, AttemptRecord, Failure, FailureKind, Payload, Producer, RouteError, Stored};
use crate::protocol::send::{batch_request, process_send_response, SendStatus, SendTarget};
use crate::remoting::{next_opaque, Connection, InvokeError, RemotingCommand, ResponseCode};

/// `NettyClientConfig.connectTimeoutMillis`.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_millis(3000);

/// Whole milliseconds, as `System.currentTimeMillis()` differences are.
pub(super) fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// How long a request may wait for its response.
#[derive(Clone, Copy)]
pub(super) struct Wait {
    /// The response future's timeout.
    pub timeout: Duration,
    /// mqtui's attempt cap made it: its own exact timer instead of Java's scan.
    pub capped: bool,
    pub attempt_start: Instant,
    /// A sync send (`invokeSync`): the caller waits exactly its timeout, no scan.
    pub sync: bool,
}

/// sendDefaultImpl's `updateFaultItem(broker, elapsed, false)` once sendKernelImpl returns, and the
/// executor thread that ran it until then (no broker: an ordered send, no update).
struct Enqueue<'a> {
    broker: Option<Arc<str>>,
    since: Instant,
    _thread: SemaphorePermit<'a>,
}

/// How one attempt ended, before it is recorded.
pub(super) enum Ended {
    /// A response processSendResponse took (SEND_OK or a stored non-OK status).
    Stored { reply: crate::protocol::send::SendReply, code: i32 },
    /// A response processSendResponse refused: isolation, no retry.
    Broker { code: i32, message: String },
    /// No response, or it could not be sent.
    Failed { outcome: AttemptOutcome, class: JavaError, message: String, reachable: bool, retry: bool },
}

impl Producer {
    pub(super) async fn send_inner(
        &self,
        send: u64,
        payload: &Payload<'_>,
        started: Instant,
        attempts: &mut Vec<AttemptRecord>,
    ) -> Result<Stored, Failure> {
        let cfg = &self.inner.config;
        let java = cfg.java;
        let deadline = started + cfg.timeout;
        // `executor.submit`: a thread of the async sender executor, after the wait in its queue.
        let Ok(thread) = self.inner.sender.thread().await else {
            return Err(Failure { kind: FailureKind::Rejected, code: None, message: "executor rejected ".into() });
        };
        // The runnable: `timeout > costTime`, or the time went by in the queue.
        if ms(started.elapsed()) >= ms(cfg.timeout) {
            return Err(Failure {
                kind: FailureKind::Timeout,
                code: None,
                message: "DEFAULT ASYNC send call timeout".into(),
            });
        }
        let tp = self.checked_route(payload, deadline).await?;
        let ordered = payload.key();
        let first = self.first_queue(&tp, payload)?;
        // sendDefaultImpl / sendSelectImpl: `timeout < costTime` before the first attempt; no
        // fault update.
        if Instant::now() >= deadline {
            let message =
                if ordered.is_some() { "sendSelectImpl call timeout" } else { "sendDefaultImpl call timeout" };
            return Err(Failure { kind: FailureKind::Timeout, code: None, message: message.into() });
        }
        let target = SendTarget {
            producer_group: &cfg.group,
            broker_name: &first.broker_name,
            queue_id: first.queue_id,
            smart: cfg.smart,
        };
        let mut request = match payload {
            Payload::One(msg) | Payload::Ordered { msg, .. } => {
                crate::protocol::send::single_request_with(msg, &target, &cfg.compression)
            }
            Payload::Batch { topic, msgs, props } => batch_request(topic, msgs, props, &target),
        };
        // Java's hook runs per invocation; its signature covers the fields and the body, not the
        // opaque, so signing once gives every attempt the same fields it would.
        self.inner.pool.sign(&mut request);
        let mut broker: Arc<str> = tp.broker(&first.broker_name).cloned().unwrap_or_else(|| first.broker_name.clone());
        // sendDefaultImpl's `updateFaultItem(broker, elapsed, false)` once sendKernelImpl returns:
        // after the first attempt's request is written, or after the chain of attempts that failed
        // in the executor's thread (4.9.8, 5.1.4: a connect failure or no async permit, and the
        // retries that follow). 5.3.x connects, waits for a permit and writes in a channel-future
        // listener: sendKernelImpl returns first.
        // sendSelectImpl makes no such update (only the remoting callbacks update the item).
        let enqueue_broker = if ordered.is_some() { None } else { Some(broker.clone()) };
        let mut enqueue = Some(Enqueue { broker: enqueue_broker, since: Instant::now(), _thread: thread });
        let mut attempt: u32 = 1;
        loop {
            let now = Instant::now();
            if java.connect_fails_async() {
                self.enqueue_update(&mut enqueue);
            }
            // `timeoutMillis` handed down by onExceptionImpl: negative once the budget is spent.
            let left_ms = ms(deadline.saturating_duration_since(now)) - ms(now.saturating_duration_since(deadline));
            let budget = deadline.saturating_duration_since(now);
            let addr: Option<Arc<str>> = tp.master(&broker).cloned();
            // A new opaque per invocation; the request is encoded under it, never copied.
            let opaque = next_opaque();
            self.inner.counters.attempts.fetch_add(1, Ordering::Relaxed);
            let mut timeout = Duration::from_millis(left_ms.max(0) as u64);
            // mqtui's own per-attempt cap: its own timer, exact (Java's scan would hold it to 3 s
            // at least).
            let capped = cfg.attempt_timeout.is_some_and(|cap| cap < timeout);
            if let Some(cap) = cfg.attempt_timeout {
                timeout = timeout.min(cap);
            }

            let ended = match &addr {
                None => Ended::Failed {
                    outcome: AttemptOutcome::SendFailed,
                    class: JavaError::Client,
                    message: format!("The broker[{broker}] not exist"),
                    reachable: false,
                    retry: attempt > 1,
                },
                Some(a) => {
                    let connect_within = cfg.attempt_timeout.map_or(CONNECT_TIMEOUT, |c| c.min(CONNECT_TIMEOUT));
                    match self.inner.pool.get(&self.connect_addr(a), connect_within).await {
                        Err(_) => {
                            if java.connect_fails_async() {
                                // The channel future fails after sendKernelImpl returned.
                                Ended::Failed {
                                    outcome: AttemptOutcome::Unknown,
                                    class: JavaError::Connect,
                                    message: java.unknown_label().into(),
                                    reachable: true,
                                    retry: true,
                                }
                            } else {
                                Ended::Failed {
                                    outcome: AttemptOutcome::SendFailed,
                                    class: JavaError::Connect,
                                    message: format!("connect to {a} failed"),
                                    reachable: java.caught_reachable(),
                                    retry: true,
                                }
                            }
                        }
                        Ok(conn) => {
                            let cost = ms(now.elapsed());
                            if left_ms < cost {
                                // invokeAsync: `timeoutMillis < costTime`.
                                if java.connect_fails_async() {
                                    Ended::Failed {
                                        outcome: AttemptOutcome::Unknown,
                                        class: JavaError::TooMuchRequest,
                                        message: java.unknown_label().into(),
                                        reachable: true,
                                        retry: false,
                                    }
                                } else {
                                    Ended::Failed {
                                        outcome: AttemptOutcome::Timeout,
                                        class: JavaError::TooMuchRequest,
                                        message: format!("invokeAsync call the addr[{a}] timeout"),
                                        reachable: java.caught_reachable(),
                                        retry: true,
                                    }
                                }
                            } else {
                                // invokeAsyncImpl: `semaphoreAsync.tryAcquire(timeoutMillis)`.
                                let wait_for = Duration::from_millis((left_ms - cost) as u64);
                                match self.inner.sender.permit(wait_for).await {
                                    Err(no) => no_permit(java, no, now),
                                    Ok(_permit) => {
                                        // The response future's timeout: what the permit left.
                                        let cost = ms(now.elapsed());
                                        timeout = timeout.min(Duration::from_millis((left_ms - cost).max(0) as u64));
                                        self.enqueue_update(&mut enqueue);
                                        let wait = Wait { timeout, capped, attempt_start: now, sync: false };
                                        self.exchange(java, &conn, a, &request, opaque, wait).await
                                    }
                                }
                            }
                        }
                    }
                }
            };
            let latency = now.elapsed();
            let mut record = AttemptRecord {
                attempt,
                broker: broker.clone(),
                addr: addr.clone(),
                queue: first.queue_id,
                opaque,
                budget,
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
            let cause = Some((send, attempt));
            let last = match ended {
                Ended::Stored { reply, code } => {
                    record.code = Some(code);
                    (record.isolation, record.fault_moved) = self.update_fault(&broker, latency, false, true, cause);
                    record.outcome =
                        if reply.status == SendStatus::SEND_OK { AttemptOutcome::Ok } else { AttemptOutcome::Status };
                    self.record_attempt(send, attempts, record);
                    self.enqueue_update(&mut enqueue);
                    return Ok(Stored {
                        status: reply.status,
                        broker,
                        queue_id: reply.header.queue_id,
                        queue_offset: reply.header.queue_offset,
                        offset_msg_id: reply.header.msg_id,
                    });
                }
                Ended::Broker { code, message } => {
                    record.code = Some(code);
                    (record.isolation, record.fault_moved) = self.update_fault(&broker, latency, true, true, cause);
                    record.outcome = AttemptOutcome::BrokerError;
                    record.error = Some(message.clone());
                    record.java_error = Some(JavaError::Broker);
                    self.record_attempt(send, attempts, record);
                    self.enqueue_update(&mut enqueue);
                    return Err(Failure { kind: FailureKind::Broker, code: Some(code), message });
                }
                Ended::Failed { outcome, class, message, reachable, retry } => {
                    (record.isolation, record.fault_moved) =
                        self.update_fault(&broker, latency, true, reachable, cause);
                    record.outcome = outcome;
                    record.error = Some(message.clone());
                    record.java_error = Some(class);
                    self.record_attempt(send, attempts, record);
                    (Failure { kind: FailureKind::of_attempt(outcome), code: None, message }, retry)
                }
            };
            // onExceptionImpl: `needRetry && tmp <= timesTotal` (and, 5.3.2+, `timeoutMillis > 0`).
            let (failure, need_retry) = last;
            let left = deadline.saturating_duration_since(Instant::now());
            if !need_retry || attempt > cfg.retries || (java.retry_needs_time() && left.is_zero()) {
                self.enqueue_update(&mut enqueue);
                return Err(failure);
            }
            // "by default, it will send to the same broker": sendSelectImpl hands no publish
            // info down, so an ordered send is retried on its own broker and queue.
            if ordered.is_none() {
                let next = tp.select(
                    &self.inner.faults,
                    self.fault_avoidance(),
                    self.fault_table(),
                    Some(&broker),
                    false,
                    Instant::now(),
                );
                broker = tp.broker(&next.broker_name).cloned().unwrap_or_else(|| next.broker_name.clone());
            }
            attempt += 1;
        }
    }

    /// `Validators.checkMessage`, then the topic's route (`tryToFindTopicPublishInfo`), bounded
    /// by the send's deadline.
    pub(super) async fn checked_route(
        &self,
        payload: &Payload<'_>,
        deadline: Instant,
    ) -> Result<Arc<super::TopicPublishInfo>, Failure> {
        payload.validate().map_err(|message| Failure {
            kind: FailureKind::Invalid,
            code: Some(ResponseCode::MESSAGE_ILLEGAL.code()),
            message,
        })?;
        let topic = payload.topic();
        match tokio::time::timeout_at(deadline, self.inner.routes.get(topic)).await {
            Ok(Ok(tp)) => Ok(tp),
            Ok(Err(e)) => Err(Failure { kind: FailureKind::NoRoute, code: None, message: e.to_string() }),
            Err(_) => Err(Failure {
                kind: FailureKind::NoRoute,
                code: None,
                message: RouteError::Timeout(topic.to_string()).to_string(),
            }),
        }
    }

    /// The first attempt's queue: the sharding key's (`sendSelectImpl`: the selector's queue, no
    /// fault item asked), or the fault strategy's (`selectOneMessageQueue`).
    pub(super) fn first_queue(
        &self,
        tp: &super::TopicPublishInfo,
        payload: &Payload<'_>,
    ) -> Result<crate::protocol::MessageQueue, Failure> {
        match payload.key() {
            Some(key) => tp.select_by_hash(key).cloned().ok_or_else(|| Failure {
                kind: FailureKind::NoRoute,
                code: None,
                message: "select message queue return null.".into(),
            }),
            None => Ok(tp.select(
                &self.inner.faults,
                self.fault_avoidance(),
                self.fault_table(),
                None,
                false,
                Instant::now(),
            )),
        }
    }

    /// The first broker's enqueue-time update, once; the executor's thread is free after it.
    fn enqueue_update(&self, pending: &mut Option<Enqueue<'_>>) {
        if let Some(Enqueue { broker: Some(broker), since, .. }) = pending.take() {
            self.update_fault(&broker, since.elapsed(), false, true, None);
        }
    }

    /// GO_AWAY, 5.2+: a new connection to the same address in place of `conn`, and the same
    /// request again on it (Java copies its header, extFields and body; a new opaque) with the
    /// time left.
    async fn resend_after_go_away(
        &self,
        java: JavaVersion,
        conn: &Connection,
        addr: &str,
        request: &RemotingCommand,
        left: Duration,
        capped: bool,
    ) -> Result<Result<RemotingCommand, InvokeError>, Ended> {
        tracing::info!(addr, "GO_AWAY: reconnecting and sending the request again, as Java 5.2+ does");
        let Ok(fresh) = self.inner.pool.replace(&self.connect_addr(addr), conn, CONNECT_TIMEOUT).await else {
            return Err(failed(JavaError::Connect, java.unknown_label()));
        };
        // The request is signed already (the signature does not cover the opaque).
        let now = Instant::now();
        let fail_at = if capped { now + left } else { self.inner.scan.fail_at(now, left) };
        Ok(fresh.invoke_as_until(request, next_opaque(), fail_at, java.fails_fast_on_close()).await)
    }

    /// Writes the request and waits for the response as the version's remoting client does: the
    /// response-table scan fails it, a closed connection fails it at once (5.1.4+) or leaves it
    /// to the scan, and GO_AWAY is resent once on a new connection (5.3.x).
    pub(super) async fn exchange(
        &self,
        java: JavaVersion,
        conn: &Connection,
        addr: &str,
        request: &RemotingCommand,
        opaque: i32,
        wait: Wait,
    ) -> Ended {
        let Wait { timeout, capped, attempt_start, sync } = wait;
        let begin = Instant::now();
        let scan = self.inner.scan;
        let exact = capped || sync;
        let fail_at = |from: Instant, t: Duration| if exact { from + t } else { scan.fail_at(from, t) };
        let fail_fast = java.fails_fast_on_close();
        let mut result = conn.invoke_as_until(request, opaque, fail_at(begin, timeout), fail_fast).await;
        let go_away = |r: &Result<RemotingCommand, InvokeError>| matches!(r, Ok(resp) if resp.code == ResponseCode::GO_AWAY.code());
        if java.handles_go_away() && go_away(&result) {
            if !self.inner.config.go_away_reconnect {
                return failed(JavaError::SendRequest, "send request failed");
            }
            // Boxed: the rare path's futures (a connect among them) stay out of every send's state.
            let left = timeout.saturating_sub(begin.elapsed());
            match Box::pin(self.resend_after_go_away(java, conn, addr, request, left, exact)).await {
                Ok(r) => result = r,
                Err(ended) => return ended,
            }
            if go_away(&result) {
                return failed(JavaError::SendRequest, "send request failed");
            }
        }
        match result {
            Ok(resp) => match process_send_response(&resp) {
                Ok(reply) => Ended::Stored { reply, code: resp.code },
                Err(be) => Ended::Broker {
                    code: be.code,
                    message: format!("CODE: {}  DESC: {} BROKER: {addr}", be.code, be.remark),
                },
            },
            Err(InvokeError::Timeout(_)) if sync => Ended::Failed {
                outcome: AttemptOutcome::Timeout,
                class: JavaError::Timeout,
                // RemotingTimeoutException(addr, timeoutMillis).
                message: format!("wait response on the channel <{addr}> timeout, {}(ms)", timeout.as_millis()),
                reachable: true,
                retry: true,
            },
            Err(InvokeError::Timeout(_)) if capped => Ended::Failed {
                outcome: AttemptOutcome::Timeout,
                class: JavaError::Timeout,
                message: format!("wait response timeout {} ms (the attempt timeout)", timeout.as_millis()),
                reachable: true,
                retry: true,
            },
            Err(InvokeError::Timeout(_)) => {
                // 5.3: `cost` from sendMessageAsync's start (the attempt's).
                let message = java.timeout_label(ms(timeout), ms(attempt_start.elapsed()));
                Ended::Failed {
                    outcome: AttemptOutcome::Timeout,
                    class: JavaError::Timeout,
                    message,
                    reachable: true,
                    retry: true,
                }
            }
            Err(InvokeError::SendRequestFailed(why) | InvokeError::Closed(why) | InvokeError::ClosedByPeer(why)) => {
                tracing::debug!(addr, %why, "send request failed");
                failed(JavaError::SendRequest, "send request failed")
            }
            Err(InvokeError::Unknown(why)) => {
                tracing::debug!(addr, %why, "unknown failure");
                Ended::Failed {
                    outcome: AttemptOutcome::Unknown,
                    class: JavaError::Client,
                    message: java.unknown_label().into(),
                    reachable: true,
                    retry: true,
                }
            }
        }
    }
}

/// `tryAcquire` gave up. 4.9.8 / 5.1.4 throw in the executor's thread (sendMessageAsync's catch:
/// isolation, retry); 5.3.x completes the future exceptionally (operationFail: a
/// RemotingTimeoutException is "wait response timeout", "invoke too fast" is not retried).
fn no_permit(java: JavaVersion, no: super::sender::NoPermit, attempt_start: Instant) -> Ended {
    let too_fast = no.waited_ms == 0;
    let class = if too_fast { JavaError::TooMuchRequest } else { JavaError::Timeout };
    if java.connect_fails_async() {
        return if too_fast {
            Ended::Failed {
                outcome: AttemptOutcome::Unknown,
                class,
                message: java.unknown_label().into(),
                reachable: true,
                retry: false,
            }
        } else {
            let message = java.timeout_label(no.waited_ms as i64, ms(attempt_start.elapsed()));
            Ended::Failed { outcome: AttemptOutcome::Timeout, class, message, reachable: true, retry: true }
        };
    }
    let message = if too_fast {
        "invokeAsyncImpl invoke too fast".to_string()
    } else {
        format!(
            "invokeAsyncImpl tryAcquire semaphore timeout, {}ms, waiting thread nums: {} semaphoreAsyncValue: {}",
            no.waited_ms, no.waiting, no.available
        )
    };
    Ended::Failed { outcome: AttemptOutcome::Timeout, class, message, reachable: java.caught_reachable(), retry: true }
}

/// A failure with no response, retried (`needRetry = true`).
fn failed(class: JavaError, message: &str) -> Ended {
    let outcome = match class {
        JavaError::Connect => AttemptOutcome::Unknown,
        _ => AttemptOutcome::SendFailed,
    };
    Ended::Failed { outcome, class, message: message.into(), reachable: true, retry: true }
}
