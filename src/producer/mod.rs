//! The async producer: the Java client's `sendMessageAsync` path, step by step, as the version
//! chosen by [`ProducerConfig::java`] makes it (`java.rs` names the differences, `attempt.rs`
//! is the loop).
//!
//! 1. Send the request on the chosen broker's connection with the time left of the send's timeout.
//! 2. The response, or the failure: the response-table scan fails a request 1-2 s after its
//!    timeout; a closed connection fails it at once (or, 4.9.8 on a peer FIN, leaves it to the scan).
//! 3. A response goes through `processSendResponse`: SUCCESS → SEND_OK; FLUSH_DISK_TIMEOUT /
//!    FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE → that status (stored, not retried); any other
//!    code → a broker error.
//! 4. A response updates the broker's fault item with the measured latency (isolation = false);
//!    a broker error updates it with isolation = true and ends the send WITHOUT retry.
//! 5. No response: isolation = true, then `onExceptionImpl` retries while attempts remain
//!    (`retries`, default 2) — and, 5.3.2+, time is left — on a queue of another broker, with the
//!    time LEFT, never a fresh timeout, keeping the first request's header, with a new opaque.
//!
//! Beyond Java, opt-in: `attempt_timeout` caps each attempt at min(cap, time left) so that a hung
//! broker cannot eat the whole budget and a retry still fits.

mod attempt;
mod config;
pub mod events;
pub mod fault;
pub mod heartbeat;
pub mod java;
pub mod load;
mod oneway;
pub mod route;
pub mod schedule;
pub mod selector;
pub mod sender;
pub mod shape;
mod sync;
mod transaction;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::protocol::message::{self, Message};
use crate::protocol::msgid::UniqIdGenerator;
use crate::protocol::properties;
use crate::remoting::ConnectionPool;
pub use config::{parse_namesrvs, ProducerConfig};
pub use events::{
    AttemptOutcome, AttemptRecord, Event, EventStream, Failure, FailureKind, FaultChange, SendOutcome, Stored,
    TransactionEnd,
};
pub use fault::{FaultItem, FaultTable, LatencyFaultTolerance};
pub use java::{JavaError, JavaVersion};
pub use route::{RouteCache, RouteError, TopicPublishInfo};
pub use sender::{SenderLimits, SenderState};

/// How a send goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `send(msg, callback)`.
    Async,
    /// `sendOneway`.
    Oneway,
    /// `sendMessageInTransaction`: a sync half message, then END_TRANSACTION with this state.
    Transaction(crate::protocol::transaction::LocalState),
}

/// What one send carries.
enum Payload<'a> {
    One(&'a Message),
    /// `send(msg, SelectMessageQueueByHash, key)`: `sendSelectImpl`, the key's queue.
    Ordered {
        msg: &'a Message,
        key: &'a str,
    },
    Batch {
        topic: &'a str,
        msgs: &'a [Message],
        props: String,
    },
}

impl Payload<'_> {
    fn topic(&self) -> &str {
        match self {
            Payload::One(m) | Payload::Ordered { msg: m, .. } => &m.topic,
            Payload::Batch { topic, .. } => topic,
        }
    }

    /// `Validators.checkMessage`, and for a batch the rules of `MessageBatch.generateFromList`.
    fn validate(&self) -> Result<(), String> {
        match self {
            Payload::One(m) => message::validate(m).map_err(|e| e.to_string()),
            Payload::Ordered { msg, key } => {
                if key.is_empty() {
                    return Err("the sharding key is empty".into());
                }
                message::validate(msg).map_err(|e| e.to_string())
            }
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

impl Payload<'_> {
    /// The sharding key of an ordered send.
    fn key(&self) -> Option<&str> {
        match self {
            Payload::Ordered { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The message, unless this is a batch.
    fn message(&self) -> Option<&Message> {
        match self {
            Payload::One(m) | Payload::Ordered { msg: m, .. } => Some(m),
            Payload::Batch { .. } => None,
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
    /// Oneway sends handed to a connection (neither ok nor failed: nothing is known).
    pub oneway: AtomicU64,
    /// CHECK_TRANSACTION_STATE requests answered.
    pub check_backs: AtomicU64,
}

/// A copy of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub attempts: u64,
    pub in_flight: u64,
    pub oneway: u64,
    pub check_backs: u64,
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
    /// The remoting client's response-table scan, from the producer's start.
    scan: java::ResponseScan,
    /// `clientIP@instanceName`, as the heartbeats name this client.
    client_id: String,
    heartbeats: Mutex<Option<JoinHandle<()>>>,
    /// A heartbeat is under way (`lockHeartbeat`).
    heartbeat_busy: AtomicBool,
    sender: sender::AsyncSender,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = self.refresher.get_mut().unwrap().take() {
            t.abort();
        }
        if let Some(t) = self.heartbeats.get_mut().unwrap().take() {
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
    pub fn new(mut config: ProducerConfig) -> Producer {
        // DefaultMQProducer.start: `setProducerGroup(withNamespace(producerGroup))`.
        if let Some(ns) = &config.namespace {
            config.group = crate::protocol::namespace::wrap(ns, &config.group);
        }
        let pool = ConnectionPool::with_acl(config.acl.clone()).with_tls(config.tls.clone());
        let mut cache = RouteCache::new(config.namesrvs.clone(), pool.clone(), config.api_timeout);
        cache.seed = config.queue_seed;
        let routes = Arc::new(cache);
        let (events, _) = broadcast::channel(config.event_capacity.max(16));
        let (warnings, _) = broadcast::channel(64);
        let sender = sender::AsyncSender::new(config.sender);
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
            scan: java::ResponseScan::started_at(Instant::now()),
            client_id: format!("{}@{}", crate::protocol::msgid::local_ipv4(), std::process::id()),
            heartbeats: Mutex::new(None),
            heartbeat_busy: AtomicBool::new(false),
            sender,
        });
        Producer::answer_check_backs(&inner);
        if inner.config.heartbeats {
            *inner.heartbeats.lock().unwrap() = Some(heartbeat::start(&inner));
            heartbeat::on_open(&inner);
        }
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
            oneway: c.oneway.load(Ordering::Relaxed),
            check_backs: c.check_backs.load(Ordering::Relaxed),
        }
    }

    /// How full the async sender executor and the async semaphore are.
    pub fn sender_state(&self) -> SenderState {
        self.inner.sender.state()
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
        match &self.inner.config.namespace {
            Some(ns) => self.inner.routes.get(&crate::protocol::namespace::wrap(ns, topic)).await,
            None => self.inner.routes.get(topic).await,
        }
    }

    /// `msg.setTopic(withNamespace(msg.getTopic()))`, as every 5.x send does.
    fn wrap_topic(&self, msg: &mut Message) {
        if let Some(ns) = &self.inner.config.namespace {
            msg.topic = crate::protocol::namespace::wrap(ns, &msg.topic);
        }
    }

    /// Looks every known topic up again (also done every `route_refresh`).
    pub async fn refresh_routes(&self) {
        for topic in self.inner.routes.topics() {
            match self.inner.routes.refresh(&topic).await {
                route::Refreshed::Changed(info) => {
                    if let Some(m) = &self.inner.config.addr_map {
                        let brokers = info
                            .brokers
                            .iter()
                            .filter_map(|b| info.route.master_addr(b).map(|a| (b.to_string(), a.to_string())))
                            .collect();
                        m.route_changed(brokers).await;
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
    /// longer than the timeout plus the scan's 1-2 s (a request is failed at the first
    /// once-a-second scan at or after its timeout + 1 s, as Java's). The outcome is shared with
    /// the event subscribers (no copy).
    pub async fn send(&self, mut msg: Message) -> Arc<SendOutcome> {
        self.wrap_topic(&mut msg);
        if msg.uniq_key().is_none() {
            msg.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
        }
        let msg_id = msg.uniq_key().unwrap_or_default().to_string();
        self.send_payload(Payload::One(&msg), msg_id, Mode::Async).await
    }

    /// Sends one message to the queue its sharding key hashes to (`send(msg,
    /// SelectMessageQueueByHash, key, callback)` → `sendSelectImpl`): the key's queue whatever
    /// the fault items say, and a failed attempt retried on that same queue (the async path's
    /// `onExceptionImpl` gets no publish info from sendSelectImpl, so it keeps the broker), never
    /// on another broker. The message carries the key as `__SHARDINGKEY`, as 5.x FIFO messages do.
    /// With `oneway`, `sendOneway(msg, selector, key)`: one attempt.
    pub async fn send_ordered(&self, mut msg: Message, key: &str, oneway: bool) -> Arc<SendOutcome> {
        self.wrap_topic(&mut msg);
        if msg.uniq_key().is_none() {
            msg.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
        }
        if msg.property(properties::SHARDING_KEY).is_none() {
            msg.set_property(properties::SHARDING_KEY, key);
        }
        let msg_id = msg.uniq_key().unwrap_or_default().to_string();
        let mode = if oneway { Mode::Oneway } else { Mode::Async };
        self.send_payload(Payload::Ordered { msg: &msg, key }, msg_id, mode).await
    }

    /// Sends one message oneway (`DefaultMQProducer.sendOneway`): written with the oneway flag,
    /// no reply awaited, one attempt. Its outcome is Ok once the request is handed to the
    /// connection (status `ONEWAY`).
    pub async fn send_oneway(&self, mut msg: Message) -> Arc<SendOutcome> {
        self.wrap_topic(&mut msg);
        if msg.uniq_key().is_none() {
            msg.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
        }
        let msg_id = msg.uniq_key().unwrap_or_default().to_string();
        self.send_payload(Payload::One(&msg), msg_id, Mode::Oneway).await
    }

    /// Sends messages of one topic as one SEND_BATCH_MESSAGE request (`DefaultMQProducer.send(
    /// Collection)`): each member gets its UNIQ_KEY and the batch one of its own; the outcome's
    /// msg_id is the members' ids joined by `,`, its offset id the broker's, joined the same way.
    pub async fn send_batch(&self, mut msgs: Vec<Message>) -> Arc<SendOutcome> {
        for m in &mut msgs {
            self.wrap_topic(m);
            if m.uniq_key().is_none() {
                m.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
            }
        }
        let msg_id = msgs.iter().filter_map(|m| m.uniq_key()).collect::<Vec<_>>().join(",");
        let props =
            properties::encode([(properties::UNIQ_KEY, self.inner.ids.next_id().as_str()), (properties::WAIT, "true")]);
        let topic = msgs.first().map(|m| m.topic.clone()).unwrap_or_default();
        self.send_payload(Payload::Batch { topic: &topic, msgs: &msgs, props }, msg_id, Mode::Async).await
    }

    async fn send_payload(&self, payload: Payload<'_>, msg_id: String, mode: Mode) -> Arc<SendOutcome> {
        let oneway = mode == Mode::Oneway;
        let inner = &self.inner;
        let send = inner.next_send.fetch_add(1, Ordering::Relaxed);
        inner.counters.sent.fetch_add(1, Ordering::Relaxed);
        inner.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let started_wall_ms = crate::protocol::msgid::wall_ms();
        // Shown as the application named it (Java resets a result's topic without the namespace).
        let topic: Arc<str> = match &inner.config.namespace {
            Some(ns) => crate::protocol::namespace::unwrap(ns, payload.topic()).into(),
            None => payload.topic().into(),
        };
        let mut attempts = Vec::new();
        let mut transaction = None;
        let result = match mode {
            Mode::Oneway => Box::pin(self.send_oneway_inner(send, &payload, started, &mut attempts)).await,
            Mode::Async => self.send_inner(send, &payload, started, &mut attempts).await,
            Mode::Transaction(local) => {
                let (r, t) = Box::pin(self.send_transaction_inner(send, &payload, local, started, &mut attempts)).await;
                transaction = t;
                r
            }
        };
        let service_latency = started.elapsed();
        // A send may start up to a timer tick before its slot: it then waited for nothing.
        let scheduled = schedule::intended();
        let outcome = Arc::new(SendOutcome {
            send,
            topic,
            msg_id,
            started,
            started_wall_ms,
            scheduled,
            latency: scheduled.filter(|at| *at < started).map_or(service_latency, |at| at.elapsed()),
            service_latency,
            attempts,
            result,
            oneway,
            sharding_key: payload.key().map(Arc::from),
            transaction,
        });
        let c = &inner.counters;
        if oneway && outcome.is_ok() {
            c.oneway.fetch_add(1, Ordering::Relaxed);
        } else if outcome.is_ok() {
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

    /// The address to connect to for a broker address from the route.
    fn connect_addr<'a>(&self, addr: &'a str) -> std::borrow::Cow<'a, str> {
        match self.inner.config.addr_map.as_ref().and_then(|m| m.map(addr)) {
            Some(mapped) => {
                // An in-process proxy: reached plainly, it does the TLS itself.
                self.inner.pool.mark_plain(&mapped);
                std::borrow::Cow::Owned(mapped)
            }
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
