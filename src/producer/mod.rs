//! The async producer: the Java client's `sendMessageAsync` path, step by step.
//!
//! 1. Send the request on the chosen broker's connection with the time left of the send's timeout.
//! 2. On completion take the response, or the failure, from the pending request.
//! 3. A response goes through `processSendResponse`: SUCCESS → SEND_OK; FLUSH_DISK_TIMEOUT /
//!    FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE → that status (stored, not retried); any other
//!    code → a broker error.
//! 4. Any response updates the broker's fault item with the measured latency, isolation = false;
//!    a broker error then updates it with isolation = true and ends the send WITHOUT retry (the
//!    Java client does not retry broker errors on the async path).
//! 5. No response ("send request failed", "wait response timeout N ms", "unknown reason"):
//!    isolation = true, then retry while attempts remain (`retries`, default 2) and time is left,
//!    on a queue of another broker chosen by the fault strategy, with the time LEFT, never a fresh
//!    timeout. The retry keeps the first request's header (queue id, broker name) and gets a new
//!    opaque, as Java's `onExceptionImpl` does.
//!
//! Beyond Java, opt-in: `attempt_timeout` caps each attempt at min(cap, time left) so that a hung
//! broker cannot eat the whole budget and a retry still fits.

pub mod events;
pub mod fault;
pub mod load;
pub mod route;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::protocol::message::{self, Message};
use crate::protocol::msgid::UniqIdGenerator;
use crate::protocol::properties;
use crate::protocol::send::{batch_request, process_send_response, single_request, SendStatus, SendTarget};
use crate::remoting::codes::response_code_label;
use crate::remoting::{next_opaque, ConnectionPool, InvokeError};
pub use events::{
    AttemptOutcome, AttemptRecord, Event, EventStream, Failure, FailureKind, FaultChange, SendOutcome, Stored,
};
pub use fault::{FaultItem, FaultTable, LatencyFaultTolerance};
pub use route::{RouteCache, RouteError, TopicPublishInfo};

/// How the producer behaves. Defaults are the Java client's, except fault avoidance (on: the
/// console exists to show it).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub namesrvs: Vec<String>,
    pub group: String,
    /// `sendMsgTimeout`: the whole budget of one send, retries included.
    pub timeout: Duration,
    /// Cap on each attempt (None: faithful, one attempt may use the whole budget).
    pub attempt_timeout: Option<Duration>,
    /// `retryTimesWhenSendAsyncFailed`.
    pub retries: u32,
    pub fault_table: FaultTable,
    /// `sendLatencyFaultEnable`.
    pub fault_avoidance: bool,
    /// `sendSmartMsg`: SEND_MESSAGE_V2 with short header keys.
    pub smart: bool,
    /// `mqClientApiTimeout`, for name server requests.
    pub api_timeout: Duration,
    /// `pollNameServerInterval`.
    pub route_refresh: Duration,
    /// Events buffered for slow subscribers before they see `Lagged`.
    pub event_capacity: usize,
    /// Where the round robin starts (reproducible tests and snapshots); None: random, as Java.
    pub queue_seed: Option<u32>,
    /// ACL 1.0 credentials: every request is signed (`AclClientRPCHook`).
    pub acl: Option<crate::remoting::AclCredentials>,
    /// Where to connect instead of a broker's address (the `--chaos` proxies).
    pub addr_map: Option<Arc<dyn crate::chaos::AddrMap>>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            namesrvs: vec!["127.0.0.1:9876".into()],
            group: "mqtui_producer_group".into(),
            timeout: Duration::from_millis(3000),
            attempt_timeout: None,
            retries: 2,
            fault_table: FaultTable::V5,
            fault_avoidance: true,
            smart: true,
            api_timeout: Duration::from_millis(3000),
            route_refresh: Duration::from_secs(30),
            event_capacity: 65_536,
            queue_seed: None,
            acl: None,
            addr_map: None,
        }
    }
}

/// Splits `a:9876;b:9876` (also commas) into addresses.
pub fn parse_namesrvs(s: &str) -> Vec<String> {
    s.split([';', ',']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect()
}

/// What one send carries.
enum Payload<'a> {
    One(&'a Message),
    Batch { topic: &'a str, msgs: &'a [Message], props: String },
}

impl Payload<'_> {
    fn topic(&self) -> &str {
        match self {
            Payload::One(m) => &m.topic,
            Payload::Batch { topic, .. } => topic,
        }
    }

    /// `Validators.checkMessage`, and for a batch the rules of `MessageBatch.generateFromList`.
    fn validate(&self) -> Result<(), String> {
        match self {
            Payload::One(m) => message::validate(m).map_err(|e| e.to_string()),
            Payload::Batch { topic, msgs, .. } => {
                if msgs.is_empty() {
                    return Err("a batch needs at least one message".into());
                }
                for m in msgs.iter() {
                    message::validate(m).map_err(|e| e.to_string())?;
                    if m.topic != *topic {
                        return Err(format!("a batch is of one topic: {} and {}", topic, m.topic));
                    }
                }
                let total: usize = msgs.iter().map(|m| m.body.len() + m.properties_string().len() + 20).sum();
                if total > message::MAX_MESSAGE_SIZE {
                    return Err(format!(
                        "the batch is {total} bytes, more than the maximum of {}",
                        message::MAX_MESSAGE_SIZE
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Running totals, cheap to read at any time.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub attempts: AtomicU64,
    pub in_flight: AtomicU64,
}

/// A copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub attempts: u64,
    pub in_flight: u64,
}

struct Inner {
    config: ProducerConfig,
    pool: ConnectionPool,
    routes: Arc<RouteCache>,
    faults: Mutex<LatencyFaultTolerance>,
    avoidance: AtomicBool,
    table: AtomicU8,
    /// Every event, attempts included.
    events: broadcast::Sender<Event>,
    /// Every event but attempts (each completed send carries its attempts), one batch buffer per
    /// subscriber: cheaper for views that aggregate completed sends once a frame (the console).
    outcomes: std::sync::RwLock<Vec<Arc<events::BatchBuffer>>>,
    outcome_subscribers: std::sync::atomic::AtomicUsize,
    /// Operator warnings alone (headless runs print them).
    warnings: broadcast::Sender<String>,
    ids: UniqIdGenerator,
    next_send: AtomicU64,
    counters: Counters,
    refresher: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = self.refresher.get_mut().unwrap().take() {
            t.abort();
        }
        for b in self.outcomes.get_mut().unwrap().iter() {
            b.close();
        }
    }
}

/// The producer. Cheap to clone; all clones share connections, routes and fault items.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

fn table_code(t: FaultTable) -> u8 {
    match t {
        FaultTable::V4 => 4,
        FaultTable::V5 => 5,
    }
}

impl Producer {
    /// A producer; it contacts nothing until the first send or [`Producer::lookup`]. Must be
    /// called inside a tokio runtime (it starts the route refresh task).
    pub fn new(config: ProducerConfig) -> Producer {
        let pool = ConnectionPool::with_acl(config.acl.clone());
        let mut cache = RouteCache::new(config.namesrvs.clone(), pool.clone(), config.api_timeout);
        cache.seed = config.queue_seed;
        let routes = Arc::new(cache);
        let (events, _) = broadcast::channel(config.event_capacity.max(16));
        let (warnings, _) = broadcast::channel(64);
        let inner = Arc::new(Inner {
            avoidance: AtomicBool::new(config.fault_avoidance),
            table: AtomicU8::new(table_code(config.fault_table)),
            config,
            pool,
            routes,
            faults: Mutex::new(LatencyFaultTolerance::default()),
            events,
            outcomes: Default::default(),
            outcome_subscribers: Default::default(),
            warnings,
            ids: UniqIdGenerator::default(),
            next_send: AtomicU64::new(1),
            counters: Counters::default(),
            refresher: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let period = inner.config.route_refresh;
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + period, period);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                Producer { inner }.refresh_routes().await;
            }
        });
        *inner.refresher.lock().unwrap() = Some(task);
        Producer { inner }
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// Every event from now on, attempts included.
    pub fn subscribe(&self) -> EventStream {
        EventStream::new(self.inner.events.subscribe())
    }

    /// Every event from now on except [`Event::Attempt`] (completed sends carry their attempts).
    pub fn subscribe_outcomes(&self) -> EventStream {
        let buf = events::BatchBuffer::new(self.inner.config.event_capacity);
        let mut subs = self.inner.outcomes.write().unwrap();
        subs.push(buf.clone());
        self.inner.outcome_subscribers.store(subs.len(), Ordering::Release);
        EventStream::batched(buf)
    }

    /// Operator warnings from now on (name servers unreachable, routes kept from cache).
    pub fn subscribe_warnings(&self) -> broadcast::Receiver<String> {
        self.inner.warnings.subscribe()
    }

    fn has_subscribers(&self) -> bool {
        self.inner.events.receiver_count() > 0 || self.inner.outcome_subscribers.load(Ordering::Relaxed) > 0
    }

    pub fn counters(&self) -> CountersSnapshot {
        let c = &self.inner.counters;
        CountersSnapshot {
            sent: c.sent.load(Ordering::Relaxed),
            ok: c.ok.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            attempts: c.attempts.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
        }
    }

    /// GET_ROUTEINFO_BY_TOPIC requests made so far.
    pub fn name_server_lookups(&self) -> u64 {
        self.inner.routes.lookups()
    }

    pub fn fault_avoidance(&self) -> bool {
        self.inner.avoidance.load(Ordering::Relaxed)
    }

    pub fn set_fault_avoidance(&self, on: bool) {
        self.inner.avoidance.store(on, Ordering::Relaxed);
    }

    pub fn fault_table(&self) -> FaultTable {
        if self.inner.table.load(Ordering::Relaxed) == 4 {
            FaultTable::V4
        } else {
            FaultTable::V5
        }
    }

    pub fn set_fault_table(&self, t: FaultTable) {
        self.inner.table.store(table_code(t), Ordering::Relaxed);
    }

    /// The fault items as they are now.
    pub fn fault_items(&self) -> Vec<FaultItem> {
        let mut v: Vec<FaultItem> = self.inner.faults.lock().unwrap().items().cloned().collect();
        v.sort_by(|a, b| a.broker.cmp(&b.broker));
        v
    }

    /// The route of `topic`, looked up if not cached.
    pub async fn lookup(&self, topic: &str) -> Result<Arc<TopicPublishInfo>, RouteError> {
        self.inner.routes.get(topic).await
    }

    /// Looks every known topic up again (also done every `route_refresh`).
    pub async fn refresh_routes(&self) {
        for topic in self.inner.routes.topics() {
            match self.inner.routes.refresh(&topic).await {
                route::Refreshed::Changed(info) => {
                    if let Some(m) = &self.inner.config.addr_map {
                        m.route_changed(info.clone()).await;
                    }
                    self.emit(Event::Route {
                        topic: topic.as_str().into(),
                        brokers: info.brokers.clone(),
                        queues: info.queues.len(),
                    });
                }
                route::Refreshed::Unchanged => {}
                route::Refreshed::Failed(e) => {
                    tracing::warn!(%topic, error = %e, "route refresh failed; keeping the cached route");
                    let w = format!("route refresh for {topic} failed, sending with the cached route: {e}");
                    let _ = self.inner.warnings.send(w.clone());
                    self.emit(Event::Warning(w));
                }
            }
        }
    }

    fn emit(&self, e: Event) {
        // No subscriber, or a full one: never wait.
        if self.inner.outcome_subscribers.load(Ordering::Relaxed) > 0 && !matches!(e, Event::Attempt { .. }) {
            let mut gone = false;
            for b in self.inner.outcomes.read().unwrap().iter() {
                // The subscriber dropped its stream: only this list still holds the buffer.
                if Arc::strong_count(b) == 1 {
                    gone = true;
                } else {
                    b.push(e.clone());
                }
            }
            if gone {
                let mut subs = self.inner.outcomes.write().unwrap();
                subs.retain(|b| Arc::strong_count(b) > 1);
                self.inner.outcome_subscribers.store(subs.len(), Ordering::Release);
            }
        }
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(e);
        }
    }

    /// Sends one message and returns when it has ended: stored, or failed for good. Never takes
    /// longer than the timeout (plus the time to notice it passed). The outcome is shared with
    /// the event subscribers (no copy).
    pub async fn send(&self, mut msg: Message) -> Arc<SendOutcome> {
        if msg.uniq_key().is_none() {
            msg.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
        }
        let msg_id = msg.uniq_key().unwrap_or_default().to_string();
        self.send_payload(Payload::One(&msg), msg_id).await
    }

    /// Sends messages of one topic as one SEND_BATCH_MESSAGE request (`DefaultMQProducer.send(
    /// Collection)`): each member gets its UNIQ_KEY and the batch one of its own; the outcome's
    /// msg_id is the members' ids joined by `,`, its offset id the broker's, joined the same way.
    pub async fn send_batch(&self, mut msgs: Vec<Message>) -> Arc<SendOutcome> {
        for m in &mut msgs {
            if m.uniq_key().is_none() {
                m.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
            }
        }
        let msg_id = msgs.iter().filter_map(|m| m.uniq_key()).collect::<Vec<_>>().join(",");
        let props =
            properties::encode([(properties::UNIQ_KEY, self.inner.ids.next_id().as_str()), (properties::WAIT, "true")]);
        let topic = msgs.first().map(|m| m.topic.clone()).unwrap_or_default();
        self.send_payload(Payload::Batch { topic: &topic, msgs: &msgs, props }, msg_id).await
    }

    async fn send_payload(&self, payload: Payload<'_>, msg_id: String) -> Arc<SendOutcome> {
        let inner = &self.inner;
        let send = inner.next_send.fetch_add(1, Ordering::Relaxed);
        inner.counters.sent.fetch_add(1, Ordering::Relaxed);
        inner.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let started_wall = chrono::Local::now();
        let topic: Arc<str> = payload.topic().into();
        let mut attempts = Vec::new();
        let result = self.send_inner(send, &payload, started, &mut attempts).await;
        let outcome = Arc::new(SendOutcome {
            send,
            topic,
            msg_id,
            started,
            started_wall,
            latency: started.elapsed(),
            attempts,
            result,
        });
        let c = &inner.counters;
        if outcome.is_ok() {
            c.ok.fetch_add(1, Ordering::Relaxed);
        } else {
            c.failed.fetch_add(1, Ordering::Relaxed);
        }
        c.in_flight.fetch_sub(1, Ordering::Relaxed);
        if self.has_subscribers() {
            self.emit(Event::Completed(outcome.clone()));
        }
        outcome
    }

    /// `updateFaultItem`, when fault avoidance is on; emits a fault event when the window moved.
    fn update_fault(
        &self,
        broker: &Arc<str>,
        latency: Duration,
        isolation: bool,
        reachable: bool,
        cause: Option<(u64, u32)>,
    ) -> (Option<Duration>, bool) {
        if !self.fault_avoidance() {
            return (None, false);
        }
        let now = Instant::now();
        let u =
            self.inner.faults.lock().unwrap().update(self.fault_table(), broker, latency, isolation, reachable, now);
        if u.moved {
            self.emit(Event::Fault(Arc::new(FaultChange {
                broker: broker.clone(),
                latency,
                window: u.window,
                available_at: u.item.available_at,
                reachable,
                cause,
            })));
        }
        (Some(u.window), u.moved)
    }

    async fn send_inner(
        &self,
        send: u64,
        payload: &Payload<'_>,
        started: Instant,
        attempts: &mut Vec<AttemptRecord>,
    ) -> Result<Stored, Failure> {
        let cfg = &self.inner.config;
        let deadline = started + cfg.timeout;
        payload.validate().map_err(|message| Failure {
            kind: FailureKind::Invalid,
            code: Some(crate::remoting::ResponseCode::MESSAGE_ILLEGAL.code()),
            message,
        })?;
        let topic = payload.topic();
        let tp = match tokio::time::timeout_at(deadline, self.inner.routes.get(topic)).await {
            Ok(Ok(tp)) => tp,
            Ok(Err(e)) => return Err(Failure { kind: FailureKind::NoRoute, code: None, message: e.to_string() }),
            Err(_) => {
                return Err(Failure {
                    kind: FailureKind::NoRoute,
                    code: None,
                    message: RouteError::Timeout(topic.to_string()).to_string(),
                })
            }
        };
        let first =
            tp.select(&self.inner.faults, self.fault_avoidance(), self.fault_table(), None, false, Instant::now());
        let target = SendTarget {
            producer_group: &cfg.group,
            broker_name: &first.broker_name,
            queue_id: first.queue_id,
            smart: cfg.smart,
        };
        let request = match payload {
            Payload::One(msg) => single_request(msg, &target),
            Payload::Batch { topic, msgs, props } => batch_request(topic, msgs, props, &target),
        };
        let mut broker: Arc<str> =
            tp.broker(&first.broker_name).cloned().unwrap_or_else(|| first.broker_name.as_str().into());
        let mut attempt: u32 = 1;
        loop {
            let now = Instant::now();
            let budget = deadline.saturating_duration_since(now);
            if budget.is_zero() {
                return Err(Failure {
                    kind: FailureKind::Timeout,
                    code: None,
                    message: format!("sendKernelImpl call timeout: no time left of {} ms", cfg.timeout.as_millis()),
                });
            }
            let timeout = cfg.attempt_timeout.map_or(budget, |cap| cap.min(budget));
            let addr: Option<Arc<str>> = tp.master(&broker).cloned();
            let mut cmd = request.clone();
            cmd.opaque = next_opaque();
            // The hook runs per invocation, as Java's (the signature excludes itself).
            self.inner.pool.sign(&mut cmd);
            let opaque = cmd.opaque;
            self.inner.counters.attempts.fetch_add(1, Ordering::Relaxed);

            // The response, or (failure, whether the broker was reachable at all).
            let result: Result<crate::remoting::RemotingCommand, (InvokeError, bool)> = match &addr {
                None => Err((
                    InvokeError::SendRequestFailed(format!("broker {broker} has no master address in the route")),
                    false,
                )),
                Some(a) => match self.inner.pool.get(&self.connect_addr(a), timeout).await {
                    Err(e) => Err((e, false)),
                    Ok(conn) => {
                        if attempt == 1 {
                            // Java records the async enqueue as a fast success (sendDefaultImpl):
                            // it keeps a 5.x window, and clears a 4.x one.
                            self.update_fault(&broker, now.elapsed(), false, true, None);
                        }
                        let left = timeout.saturating_sub(now.elapsed());
                        conn.invoke(cmd, left).await.map_err(|e| (e, true))
                    }
                },
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
                isolation: None,
                fault_moved: false,
                started: now,
            };
            let cause = Some((send, attempt));
            let retryable = match result {
                Ok(resp) => {
                    record.code = Some(resp.code);
                    match process_send_response(&resp) {
                        Ok(reply) => {
                            (record.isolation, record.fault_moved) =
                                self.update_fault(&broker, latency, false, true, cause);
                            record.outcome = if reply.status == SendStatus::SEND_OK {
                                AttemptOutcome::Ok
                            } else {
                                AttemptOutcome::Status
                            };
                            self.record_attempt(send, attempts, record);
                            return Ok(Stored {
                                status: reply.status,
                                broker,
                                queue_id: reply.header.queue_id,
                                queue_offset: reply.header.queue_offset,
                                offset_msg_id: reply.header.msg_id,
                            });
                        }
                        Err(be) => {
                            (record.isolation, record.fault_moved) =
                                self.update_fault(&broker, latency, true, true, cause);
                            record.outcome = AttemptOutcome::BrokerError;
                            let message = format!(
                                "broker error {} from {broker}: {} (async sends do not retry broker errors)",
                                response_code_label(be.code),
                                be.remark
                            );
                            record.error = Some(message.clone());
                            self.record_attempt(send, attempts, record);
                            return Err(Failure { kind: FailureKind::Broker, code: Some(be.code), message });
                        }
                    }
                }
                Err((e, reachable)) => {
                    (record.isolation, record.fault_moved) =
                        self.update_fault(&broker, latency, true, reachable, cause);
                    let (outcome, kind) = match &e {
                        InvokeError::SendRequestFailed(_) => (AttemptOutcome::SendFailed, FailureKind::SendFailed),
                        InvokeError::Timeout(_) => (AttemptOutcome::Timeout, FailureKind::Timeout),
                        InvokeError::Unknown(_) => (AttemptOutcome::Unknown, FailureKind::Unknown),
                    };
                    record.outcome = outcome;
                    let message = match &e {
                        // The timeout a request waited, which may be the capped one.
                        InvokeError::Timeout(_) => format!("wait response timeout {} ms", timeout.as_millis()),
                        other => other.to_string(),
                    };
                    record.error = Some(message.clone());
                    self.record_attempt(send, attempts, record);
                    Failure { kind, code: None, message }
                }
            };
            // onExceptionImpl: retry while attempts and time remain.
            let left = deadline.saturating_duration_since(Instant::now());
            if attempt > cfg.retries || left.is_zero() {
                let mut f = retryable;
                if attempt > 1 || cfg.retries > 0 {
                    let why = if left.is_zero() {
                        "no time left to retry".to_string()
                    } else {
                        format!("{attempt} attempt(s), no retries left")
                    };
                    f.message = format!("{} ({why})", f.message);
                }
                return Err(f);
            }
            let next = tp.select(
                &self.inner.faults,
                self.fault_avoidance(),
                self.fault_table(),
                Some(&broker),
                false,
                Instant::now(),
            );
            broker = tp.broker(&next.broker_name).cloned().unwrap_or_else(|| next.broker_name.as_str().into());
            attempt += 1;
        }
    }

    /// The address to connect to for a broker address from the route.
    fn connect_addr<'a>(&self, addr: &'a str) -> std::borrow::Cow<'a, str> {
        match self.inner.config.addr_map.as_ref().and_then(|m| m.map(addr)) {
            Some(mapped) => std::borrow::Cow::Owned(mapped),
            None => std::borrow::Cow::Borrowed(addr),
        }
    }

    fn record_attempt(&self, send: u64, attempts: &mut Vec<AttemptRecord>, record: AttemptRecord) {
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(Event::Attempt { send, record: Arc::new(record.clone()) });
        }
        attempts.push(record);
    }
}
