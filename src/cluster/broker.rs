//! A demo broker: answers sends (single, V2, batch) with real per-queue offsets, commit-log
//! offsets and offset message ids; counts what it stores; injects faults.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::fault::BrokerFault;
use crate::protocol::message::{decode_batch, SYSFLAG_COMPRESSED};
use crate::protocol::msgid::offset_msg_id;
use crate::protocol::{properties, SendMessageRequestHeader, SendMessageResponseHeader};
use crate::remoting::codes::ResponseCode;
use crate::remoting::java;
use crate::remoting::server::{Handler, Reply};
use crate::remoting::{ExtFields, RemotingCommand, RequestCode};

/// What a broker has seen, for the cluster's report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BrokerStats {
    pub name: String,
    pub addr: String,
    /// Requests of any kind.
    pub requests: u64,
    /// Send requests (single or batch).
    pub sends: u64,
    /// HEART_BEAT requests answered.
    pub heartbeats: u64,
    /// Messages stored (a batch counts each member).
    pub messages: u64,
    /// Body bytes stored.
    pub bytes: u64,
    /// Stored messages whose UNIQ_KEY this broker was the first in the cluster to store.
    pub distinct_keys: u64,
    /// Stored messages whose UNIQ_KEY had been stored before, here or on another broker of the
    /// cluster: a retry whose first attempt was stored after all (it timed out on a slow
    /// broker). Keys are remembered for the cluster's last [`KEY_WINDOW`] to 2 × [`KEY_WINDOW`]
    /// messages (memory stays bounded however long it runs); a repeat older than that counts as
    /// distinct.
    pub duplicate_keys: u64,
    /// Send requests answered with an injected error, or dropped by a fault.
    pub faulted: u64,
    /// Stored messages to be delivered later (a delay level, or a 5.x timer property).
    pub delayed: u64,
    /// Of those, the ones whose time has come (as the Java broker's schedule and timer would
    /// have delivered them by now).
    pub delayed_due: u64,
    /// Stored messages with a sharding key (`__SHARDINGKEY`).
    pub ordered: u64,
    /// Keys this broker was the first to store a message of.
    pub ordered_keys: u64,
    /// Ordered messages born before a message of their key stored earlier: out of send order.
    pub ordered_out_of_order: u64,
    /// Ordered messages stored on another queue than their key's last message.
    pub ordered_moved: u64,
    /// Half messages stored (transactional sends).
    pub half: u64,
    /// Half messages committed (then stored on their topic), rolled back (dropped).
    pub committed: u64,
    pub rolled_back: u64,
    /// END_TRANSACTION requests saying the producer does not know (yet).
    pub end_unknown: u64,
    /// CHECK_TRANSACTION_STATE requests sent to producers.
    pub check_backs: u64,
    /// Half messages checked back 15 times and still unknown: dropped.
    pub discarded: u64,
    /// Half messages waiting for their end now.
    pub half_pending: u64,
}

/// Topics one demo broker keeps offsets for (a client that sends to a million names would
/// otherwise grow it without end).
pub const MAX_TOPICS: usize = 10_000;

pub use super::delay::due_ms;

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    sends: AtomicU64,
    heartbeats: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
    duplicates: AtomicU64,
    distinct: AtomicU64,
    faulted: AtomicU64,
    delayed: AtomicU64,
    ordered: AtomicU64,
    ordered_keys: AtomicU64,
    ordered_out_of_order: AtomicU64,
    ordered_moved: AtomicU64,
}

/// What the brokers of one cluster share.
pub(crate) struct Shared {
    pub keys: Arc<Mutex<KeyWindow>>,
    pub order: Arc<Mutex<super::order::OrderBook>>,
}

impl Shared {
    pub fn new() -> Self {
        Shared {
            keys: Arc::new(Mutex::new(KeyWindow::new(KEY_WINDOW))),
            order: Arc::new(Mutex::new(super::order::OrderBook::new(super::order::ORDER_KEYS))),
        }
    }
}

/// Keys remembered per generation of the cluster's duplicate detector.
pub const KEY_WINDOW: usize = 1 << 20;

/// The UNIQ_KEY hashes of the cluster's recent messages, in two generations: when the current one
/// is full, it becomes the previous one and the oldest is dropped. At most 2 × `cap` keys
/// (about 40 MB at the default) whatever the run's length.
pub(crate) struct KeyWindow {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    cap: usize,
}

impl KeyWindow {
    pub(crate) fn new(cap: usize) -> Self {
        KeyWindow { current: HashSet::new(), previous: HashSet::new(), cap: cap.max(1) }
    }

    /// True if the key is new within the window.
    fn insert(&mut self, key: u64) -> bool {
        if self.previous.contains(&key) || !self.current.insert(key) {
            return false;
        }
        if self.current.len() >= self.cap {
            self.previous = std::mem::take(&mut self.current);
        }
        true
    }
}

/// The state behind one demo broker.
pub(crate) struct BrokerCore {
    pub name: String,
    pub addr: Mutex<SocketAddr>,
    pub queues: i32,
    pub fault: watch::Receiver<BrokerFault>,
    /// When set, every request must be signed with these (ACL 1.0).
    pub acl: Option<crate::remoting::AclCredentials>,
    offsets: Mutex<HashMap<String, Vec<i64>>>,
    /// How many topics `offsets` holds (read without its lock on every send).
    topics: std::sync::atomic::AtomicUsize,
    commit_log: AtomicI64,
    /// Shared by every broker of the cluster.
    keys: Arc<Mutex<KeyWindow>>,
    order: Arc<Mutex<super::order::OrderBook>>,
    /// This broker's place in the cluster (for the order book).
    index: u8,
    /// Half messages, producer connections, check-backs.
    pub(crate) tx: super::transaction::Transactions,
    counters: Counters,
    put_tps: super::admin::PutTps,
    /// Since when GO_AWAY is on (the first request that saw it): connections accepted before
    /// are answered GO_AWAY. `go_away_on` mirrors it, so that the common case takes no lock.
    go_away_since: Mutex<Option<tokio::time::Instant>>,
    go_away_on: std::sync::atomic::AtomicBool,
    /// Delayed messages by the second they are due in (memory bounded by the seconds, not the
    /// messages).
    due: Mutex<std::collections::BTreeMap<i64, u64>>,
}

impl BrokerCore {
    pub fn new(
        name: String,
        queues: i32,
        fault: watch::Receiver<BrokerFault>,
        acl: Option<crate::remoting::AclCredentials>,
        shared: &Shared,
        index: u8,
    ) -> Self {
        BrokerCore {
            name,
            addr: Mutex::new(SocketAddr::from(([127, 0, 0, 1], 0))),
            queues,
            fault,
            acl,
            offsets: Mutex::new(HashMap::new()),
            topics: Default::default(),
            commit_log: AtomicI64::new(0),
            keys: shared.keys.clone(),
            order: shared.order.clone(),
            index,
            tx: Default::default(),
            counters: Counters::default(),
            put_tps: super::admin::PutTps::new(),
            go_away_since: Mutex::new(None),
            go_away_on: Default::default(),
            due: Default::default(),
        }
    }

    pub fn stats(&self) -> BrokerStats {
        let c = &self.counters;
        BrokerStats {
            name: self.name.clone(),
            addr: self.addr.lock().unwrap().to_string(),
            requests: c.requests.load(Ordering::Relaxed),
            sends: c.sends.load(Ordering::Relaxed),
            heartbeats: c.heartbeats.load(Ordering::Relaxed),
            messages: c.messages.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            distinct_keys: c.distinct.load(Ordering::Relaxed),
            duplicate_keys: c.duplicates.load(Ordering::Relaxed),
            faulted: c.faulted.load(Ordering::Relaxed),
            delayed: c.delayed.load(Ordering::Relaxed),
            delayed_due: {
                let now_s = chrono::Utc::now().timestamp_millis().div_euclid(1000);
                self.due.lock().unwrap().range(..=now_s).map(|(_, n)| n).sum()
            },
            ordered: c.ordered.load(Ordering::Relaxed),
            ordered_keys: c.ordered_keys.load(Ordering::Relaxed),
            ordered_out_of_order: c.ordered_out_of_order.load(Ordering::Relaxed),
            ordered_moved: c.ordered_moved.load(Ordering::Relaxed),
            half: self.tx.counters.half.load(Ordering::Relaxed),
            committed: self.tx.counters.committed.load(Ordering::Relaxed),
            rolled_back: self.tx.counters.rolled_back.load(Ordering::Relaxed),
            end_unknown: self.tx.counters.end_unknown.load(Ordering::Relaxed),
            check_backs: self.tx.counters.check_backs.load(Ordering::Relaxed),
            discarded: self.tx.counters.discarded.load(Ordering::Relaxed),
            half_pending: self.tx.pending(),
        }
    }

    /// END_TRANSACTION (oneway: nothing is answered).
    fn handle_end_transaction(&self, req: &RemotingCommand) {
        match crate::protocol::transaction::EndTransactionHeader::from_ext_fields(&req.ext_fields) {
            Ok(h) => {
                if let Some(c) = self.tx.end(&h) {
                    self.store(&c.topic, c.queue, &[c.body_len]);
                }
            }
            Err(e) => tracing::warn!(broker = %self.name, error = %e, "an END_TRANSACTION that does not decode"),
        }
    }

    /// Checks an ordered message against its key's last one.
    fn record_order(&self, props: Option<&str>, queue: i32, born: i64) {
        let Some(key) = props.and_then(|p| properties::find(p, properties::SHARDING_KEY)) else { return };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let seen = self.order.lock().unwrap().record(h.finish(), self.index, queue, born);
        let c = &self.counters;
        c.ordered.fetch_add(1, Ordering::Relaxed);
        match seen {
            super::order::Seen::First => c.ordered_keys.fetch_add(1, Ordering::Relaxed),
            super::order::Seen::InOrder => 0,
            super::order::Seen::OutOfOrder => c.ordered_out_of_order.fetch_add(1, Ordering::Relaxed),
            super::order::Seen::Moved => c.ordered_moved.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Keeps a delayed message's due time.
    fn record_delay(&self, props: Option<&str>) {
        let Some(props) = props else { return };
        // Cheap for the usual message: no delay property at all.
        if !props.contains("DELAY") && !props.contains("TIMER_") {
            return;
        }
        if let Some(due) = due_ms(props, chrono::Utc::now().timestamp_millis()) {
            self.counters.delayed.fetch_add(1, Ordering::Relaxed);
            // Due in the second that ends at or after it.
            *self.due.lock().unwrap().entry((due + 999).div_euclid(1000)).or_default() += 1;
        }
    }

    fn record_key(&self, key: Option<&str>) {
        let Some(key) = key else { return };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        if self.keys.lock().unwrap().insert(h.finish()) {
            self.counters.distinct.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Why this send cannot be kept (a topic more than [`MAX_TOPICS`], a half message past
    /// the half messages' bounds), or None.
    fn full_for(&self, topic: &str, body_len: usize, half: bool) -> Option<String> {
        if self.topics.load(Ordering::Relaxed) >= MAX_TOPICS && !self.offsets.lock().unwrap().contains_key(topic) {
            return Some(format!("the demo broker {} holds at most {MAX_TOPICS} topics", self.name));
        }
        if half && !self.tx.has_room(body_len) {
            return Some(format!("the demo broker {} holds too many half messages; end some first", self.name));
        }
        None
    }

    /// Stores `n` messages of `sizes` bytes on `topic`/`queue`: returns (first queue offset,
    /// offset message ids).
    fn store(&self, topic: &str, queue: i32, sizes: &[usize]) -> (i64, Vec<String>) {
        let first = {
            let mut map = self.offsets.lock().unwrap();
            let offs = match map.get_mut(topic) {
                Some(o) => o,
                None => {
                    self.topics.fetch_add(1, Ordering::Relaxed);
                    map.entry(topic.to_string()).or_insert_with(|| vec![0; self.queues as usize])
                }
            };
            let slot = &mut offs[queue as usize];
            let first = *slot;
            *slot += sizes.len() as i64;
            first
        };
        let addr = *self.addr.lock().unwrap();
        let ids = sizes
            .iter()
            .map(|&size| {
                // A stored message's length in the commit log: fixed fields + body + topic + properties.
                let stored = 91 + size as i64 + topic.len() as i64;
                let at = self.commit_log.fetch_add(stored, Ordering::Relaxed);
                offset_msg_id(addr, at)
            })
            .collect();
        self.counters.messages.fetch_add(sizes.len() as u64, Ordering::Relaxed);
        self.counters.bytes.fetch_add(sizes.iter().sum::<usize>() as u64, Ordering::Relaxed);
        (first, ids)
    }

    fn handle_send(&self, req: &RemotingCommand, fault: &BrokerFault, peer: SocketAddr) -> RemotingCommand {
        self.counters.sends.fetch_add(1, Ordering::Relaxed);
        let header = match SendMessageRequestHeader::from_ext_fields(req.code, &req.ext_fields) {
            Ok(h) => h,
            Err(e) => {
                return RemotingCommand::response_to(req, ResponseCode::SYSTEM_ERROR.code(), Some(e.java_remark()));
            }
        };
        if let Some(code) = fault.error_code {
            self.counters.faulted.fetch_add(1, Ordering::Relaxed);
            let remark = match ResponseCode::from_code(code) {
                Some(ResponseCode::SYSTEM_BUSY) => {
                    "[REJECTREQUEST]system busy, start flow control for a while (injected by mqtui)".to_string()
                }
                _ => {
                    format!("{} injected by mqtui on {}", crate::remoting::codes::response_code_label(code), self.name)
                }
            };
            return RemotingCommand::response_to(req, code, Some(remark));
        }
        // What a client may make the demo broker hold is bounded: topics, half messages.
        let half = header
            .properties
            .as_deref()
            .and_then(|p| properties::find(p, properties::TRAN_MSG))
            .is_some_and(crate::remoting::java::parse_boolean);
        if let Some(why) = self.full_for(&header.topic, req.body.len(), half) {
            return RemotingCommand::response_to(req, ResponseCode::SYSTEM_ERROR.code(), Some(why));
        }
        // Before the queue check, as the Java broker's buildMsgContext reads the body first.
        if req.body.is_empty() {
            return RemotingCommand::response_to(
                req,
                ResponseCode::SYSTEM_ERROR.code(),
                Some(java::NULL_BODY_REMARK.into()),
            );
        }
        let queue =
            if header.queue_id < 0 { (rand::random::<u32>() % self.queues as u32) as i32 } else { header.queue_id };
        if queue >= self.queues {
            // AbstractSendMessageProcessor.msgCheck's words.
            return RemotingCommand::response_to(
                req,
                ResponseCode::INVALID_PARAMETER.code(),
                Some(format!(
                    "request queueId[{queue}] is illegal, TopicConfig [topicName={}, readQueueNums={q}, \
                     writeQueueNums={q}, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, \
                     attributes={{}}] Producer: {peer}",
                    header.topic,
                    q = self.queues
                )),
            );
        }
        // As the Java broker decides (`requestHeader.isBatch()`), whatever the request code.
        let batch = header.batch == Some(true);
        // The send's own UNIQ_KEY (a batch: the batch's), found once: for the duplicate count
        // and the reply's transactionId.
        let uniq = header.properties.as_deref().and_then(|p| properties::find(p, properties::UNIQ_KEY));
        let (offset, ids) = if batch {
            let entries = match decode_batch(req.body.clone()) {
                Ok(e) if !e.is_empty() => e,
                Ok(_) => {
                    return RemotingCommand::response_to(
                        req,
                        ResponseCode::MESSAGE_ILLEGAL.code(),
                        Some("empty batch".into()),
                    )
                }
                Err(e) => {
                    tracing::debug!(broker = %self.name, "a batch body that does not decode: {e}");
                    return RemotingCommand::response_to(
                        req,
                        ResponseCode::SYSTEM_ERROR.code(),
                        Some(java::BUFFER_UNDERFLOW_REMARK.into()),
                    );
                }
            };
            for e in &entries {
                self.record_key(properties::find(&e.properties, properties::UNIQ_KEY));
                self.record_delay(Some(&e.properties));
            }
            let sizes: Vec<usize> = entries.iter().map(|e| e.body.len()).collect();
            self.store(&header.topic, queue, &sizes)
        } else if half {
            // A half message: kept on the half topic until its end.
            self.record_key(uniq);
            let (half_offset, ids) = self.store(crate::protocol::transaction::HALF_TOPIC, 0, &[req.body.len()]);
            let at = crate::protocol::msgid::decode_offset_msg_id(&ids[0]).map_or(0, |(_, at)| at);
            let store_host = *self.addr.lock().unwrap();
            let m = super::transaction::half_message(
                &header.topic,
                queue,
                half_offset,
                at,
                &header,
                req.body.clone(),
                peer,
                store_host,
            );
            self.tx.put_half(m, ids[0].clone());
            (half_offset, ids)
        } else {
            let _compressed = header.sys_flag & SYSFLAG_COMPRESSED != 0;
            self.record_key(uniq);
            self.record_delay(header.properties.as_deref());
            // Checked just before it is stored.
            self.record_order(header.properties.as_deref(), queue, header.born_timestamp);
            self.store(&header.topic, queue, &[req.body.len()])
        };
        let code = fault.store_status.unwrap_or(ResponseCode::SUCCESS.code());
        let mut resp = RemotingCommand::response_to(req, code, None);
        // The Java broker answers every send with its UNIQ_KEY as transactionId (a batch: the
        // batch's own).
        let transaction_id = uniq.map(str::to_string);
        resp.ext_fields = SendMessageResponseHeader {
            msg_id: ids.join(","),
            queue_id: queue,
            queue_offset: offset,
            transaction_id,
            region_id: Some("DefaultRegion".into()),
            trace_on: Some(true),
            ..Default::default()
        }
        .to_ext_fields();
        resp
    }
}

impl BrokerCore {
    /// Whether a request on a connection accepted at `accepted` is answered GO_AWAY.
    fn going_away(&self, on: bool, accepted: tokio::time::Instant) -> bool {
        if !on && !self.go_away_on.load(Ordering::Relaxed) {
            return false;
        }
        let mut since = self.go_away_since.lock().unwrap();
        match (on, *since) {
            (true, None) => *since = Some(tokio::time::Instant::now()),
            (false, Some(_)) => *since = None,
            _ => {}
        }
        self.go_away_on.store(since.is_some(), Ordering::Relaxed);
        since.is_some_and(|s| accepted < s)
    }
}

impl Handler for BrokerCore {
    fn handle(&self, req: RemotingCommand, peer: SocketAddr) -> Reply {
        self.handle_on(req, peer, tokio::time::Instant::now())
    }

    fn opened(&self, peer: SocketAddr, channel: tokio::sync::mpsc::Sender<RemotingCommand>) {
        self.tx.opened(peer, channel);
    }

    fn closed(&self, peer: SocketAddr) {
        self.tx.closed(peer);
    }

    fn handle_on(&self, req: RemotingCommand, peer: SocketAddr, accepted: tokio::time::Instant) -> Reply {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let fault = self.fault.borrow().clone();
        let is_send = matches!(
            RequestCode::from_code(req.code),
            Some(RequestCode::SEND_MESSAGE | RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE)
        );
        if fault.hang {
            if is_send {
                self.counters.faulted.fetch_add(1, Ordering::Relaxed);
            }
            return Reply::Never;
        }
        if fault.close_on_send && is_send {
            self.counters.faulted.fetch_add(1, Ordering::Relaxed);
            return Reply::Close;
        }
        if self.going_away(fault.go_away, accepted) {
            if is_send {
                self.counters.faulted.fetch_add(1, Ordering::Relaxed);
            }
            return Reply::Now(RemotingCommand::response_to(
                &req,
                ResponseCode::GO_AWAY.code(),
                Some("please go away".into()),
            ));
        }
        if let Some(acl) = &self.acl {
            if let Err(why) = crate::remoting::acl::verify(acl, &req) {
                return Reply::Now(RemotingCommand::response_to(
                    &req,
                    ResponseCode::NO_PERMISSION.code(),
                    Some(format!("[ACL] {why} ({})", self.name)),
                ));
            }
        }
        let resp = match RequestCode::from_code(req.code) {
            _ if is_send => self.handle_send(&req, &fault, peer),
            Some(RequestCode::HEART_BEAT) => {
                self.counters.heartbeats.fetch_add(1, Ordering::Relaxed);
                self.tx.heartbeat(peer, &req.body);
                RemotingCommand::response_to(&req, ResponseCode::SUCCESS.code(), None)
            }
            Some(RequestCode::END_TRANSACTION) => {
                self.handle_end_transaction(&req);
                return Reply::Never;
            }
            Some(RequestCode::UNREGISTER_CLIENT | RequestCode::UPDATE_AND_CREATE_TOPIC) => {
                RemotingCommand::response_to(&req, ResponseCode::SUCCESS.code(), None)
            }
            Some(RequestCode::GET_MAX_OFFSET) => {
                let topic = req.ext_fields.get("topic").unwrap_or_default();
                let queue: usize =
                    req.ext_fields.get("queueId").and_then(crate::remoting::java::parse_int).unwrap_or(0).max(0)
                        as usize;
                let off = self.offsets.lock().unwrap().get(topic).and_then(|o| o.get(queue).copied()).unwrap_or(0);
                let mut r = RemotingCommand::response_to(&req, ResponseCode::SUCCESS.code(), None);
                r.ext_fields = ExtFields::from_iter([("offset", off.to_string())]);
                r
            }
            Some(RequestCode::GET_BROKER_RUNTIME_INFO) => {
                let facts = super::admin::RuntimeFacts {
                    messages: self.counters.messages.load(Ordering::Relaxed),
                    commit_log_max_offset: self.commit_log.load(Ordering::Relaxed),
                };
                super::admin::runtime_info(&req, facts, &self.put_tps)
            }
            Some(RequestCode::GET_TOPIC_STATS_INFO) => {
                // Every topic exists on the demo cluster (its name server routes any topic).
                let offsets = req.ext_fields.get("topic").map(|t| {
                    self.offsets.lock().unwrap().get(t).cloned().unwrap_or_else(|| vec![0; self.queues as usize])
                });
                super::admin::topic_stats(&req, &self.name, offsets)
            }
            Some(RequestCode::GET_TOPIC_CONFIG) => super::admin::topic_config(&req, self.queues),
            _ => not_supported(&req),
        };
        let delay = fault.delay();
        if delay.is_zero() {
            Reply::Now(resp)
        } else {
            Reply::After(delay, resp)
        }
    }
}

/// REQUEST_CODE_NOT_SUPPORTED with the remark Java's server writes.
pub(crate) fn not_supported(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(
        req,
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code(),
        Some(format!(" request type {} not supported", req.code)),
    )
}

#[cfg(test)]
#[path = "broker_tests.rs"]
mod tests;
