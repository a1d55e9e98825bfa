//! The demo broker's transactional messages, as the Java broker keeps them: a half message
//! (TRAN_MSG=true) is stored on RMQ_SYS_TRANS_HALF_TOPIC and kept apart; END_TRANSACTION commits
//! it (stored on its real topic and queue) or rolls it back (dropped), and one left unknown is
//! checked back: once it is `transactionTimeOut` (6 s) old, and again each time that much has
//! passed since the last check, a CHECK_TRANSACTION_STATE goes oneway to a connection of its
//! producer group (learnt from heartbeats), up to `transactionCheckMax` (15) times; then it is
//! discarded. Java checks every `transactionCheckInterval` (30 s by default); the demo looks
//! every second, so a check-back comes 6 s after the half message, not up to 36 s.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::protocol::message_ext::MessageExt;
use crate::protocol::properties;
use crate::protocol::transaction::{CheckTransactionStateHeader, EndTransactionHeader, LocalState, HALF_TOPIC};
use crate::remoting::{next_opaque, RemotingCommand, RequestCode};

/// `transactionTimeOut`.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(6);
/// `transactionCheckMax`.
pub const TRANSACTION_CHECK_MAX: u32 = 15;
/// Half messages a demo broker keeps waiting for their end, and their bodies' bytes in all.
pub const MAX_HALF: usize = 10_000;
pub const MAX_HALF_BYTES: usize = 256 << 20;

/// A half message waiting for its end.
struct Half {
    msg: MessageExt,
    group: String,
    uniq: Option<String>,
    offset_msg_id: String,
    checks: u32,
    /// Stored, or last checked.
    touched: Instant,
}

/// What a committed half message becomes.
pub(crate) struct Committed {
    pub topic: String,
    pub queue: i32,
    pub body_len: usize,
}

#[derive(Default)]
pub(crate) struct TxCounters {
    pub half: AtomicU64,
    pub committed: AtomicU64,
    pub rolled_back: AtomicU64,
    /// END_TRANSACTION with TRANSACTION_NOT_TYPE: the producer does not know yet.
    pub end_unknown: AtomicU64,
    pub check_backs: AtomicU64,
    /// Checked back `transactionCheckMax` times and still unknown.
    pub discarded: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Transactions {
    channels: Mutex<HashMap<SocketAddr, mpsc::Sender<RemotingCommand>>>,
    /// Producer groups and the connections whose heartbeats named them, latest last.
    groups: Mutex<HashMap<String, Vec<SocketAddr>>>,
    /// By commit-log offset.
    half: Mutex<BTreeMap<i64, Half>>,
    pub counters: TxCounters,
}

impl Transactions {
    pub fn opened(&self, peer: SocketAddr, channel: mpsc::Sender<RemotingCommand>) {
        self.channels.lock().unwrap().insert(peer, channel);
    }

    pub fn closed(&self, peer: SocketAddr) {
        self.channels.lock().unwrap().remove(&peer);
        for peers in self.groups.lock().unwrap().values_mut() {
            peers.retain(|p| *p != peer);
        }
    }

    /// A HEART_BEAT's `producerDataSet`: which groups this connection's client produces for.
    pub fn heartbeat(&self, peer: SocketAddr, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return };
        let Some(set) = v.get("producerDataSet").and_then(|s| s.as_array()) else { return };
        let mut groups = self.groups.lock().unwrap();
        for g in set.iter().filter_map(|p| p.get("groupName").and_then(|g| g.as_str())) {
            let peers = groups.entry(g.to_string()).or_default();
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
    }

    /// Keeps a stored half message (its commit-log offset from its offset msgId).
    pub fn put_half(&self, msg: MessageExt, offset_msg_id: String) {
        let group = properties::find(&msg.properties, properties::PRODUCER_GROUP).unwrap_or_default().to_string();
        let uniq = properties::find(&msg.properties, properties::UNIQ_KEY).map(str::to_string);
        self.counters.half.fetch_add(1, Ordering::Relaxed);
        let at = msg.physical_offset;
        let half = Half { msg, group, uniq, offset_msg_id, checks: 0, touched: Instant::now() };
        self.half.lock().unwrap().insert(at, half);
    }

    /// Whether a half message of `body_len` bytes may be kept: at most [`MAX_HALF`] of them,
    /// [`MAX_HALF_BYTES`] of bodies in all.
    pub fn has_room(&self, body_len: usize) -> bool {
        let half = self.half.lock().unwrap();
        if half.len() >= MAX_HALF {
            return false;
        }
        // Counted only once there are some: nothing to add up in the common case.
        half.len() < 64 || half.values().map(|h| h.msg.body.len()).sum::<usize>() + body_len <= MAX_HALF_BYTES
    }

    /// Half messages not ended yet.
    pub fn pending(&self) -> u64 {
        self.half.lock().unwrap().len() as u64
    }

    /// END_TRANSACTION: a commit gives the message to store on its real topic.
    pub fn end(&self, h: &EndTransactionHeader) -> Option<Committed> {
        let state = LocalState::from_commit_or_rollback(h.commit_or_rollback)?;
        if state == LocalState::Unknown {
            self.counters.end_unknown.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let Some(half) = self.half.lock().unwrap().remove(&h.commit_log_offset) else {
            tracing::debug!(offset = h.commit_log_offset, "END_TRANSACTION for no half message (ended already?)");
            return None;
        };
        if state == LocalState::Rollback {
            self.counters.rolled_back.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.counters.committed.fetch_add(1, Ordering::Relaxed);
        let p = &half.msg.properties;
        Some(Committed {
            topic: properties::find(p, properties::REAL_TOPIC).unwrap_or_default().to_string(),
            queue: properties::find(p, properties::REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0),
            body_len: half.msg.body.len(),
        })
    }

    /// The check-backs due now, each with the connection it goes to.
    pub fn due_checks(&self, now: Instant, broker_name: &str) -> Vec<(mpsc::Sender<RemotingCommand>, RemotingCommand)> {
        let mut out = Vec::new();
        let channels = self.channels.lock().unwrap();
        let groups = self.groups.lock().unwrap();
        let mut half = self.half.lock().unwrap();
        let mut discard = Vec::new();
        for (at, h) in half.iter_mut() {
            if now.saturating_duration_since(h.touched) < TRANSACTION_TIMEOUT {
                continue;
            }
            if h.checks >= TRANSACTION_CHECK_MAX {
                discard.push(*at);
                continue;
            }
            h.checks += 1;
            h.touched = now;
            self.counters.check_backs.fetch_add(1, Ordering::Relaxed);
            let channel =
                groups.get(&h.group).and_then(|peers| peers.iter().rev().find_map(|p| channels.get(p))).cloned();
            let Some(channel) = channel else {
                tracing::warn!(group = %h.group, "Check transaction failed, channel is null");
                continue;
            };
            let header = CheckTransactionStateHeader {
                // The half message's topic, as the Java broker sets it before the real one.
                topic: Some(HALF_TOPIC.to_string()),
                tran_state_table_offset: h.msg.queue_offset,
                commit_log_offset: h.msg.physical_offset,
                msg_id: h.uniq.clone(),
                transaction_id: h.uniq.clone(),
                offset_msg_id: Some(h.offset_msg_id.clone()),
                broker_name: Some(broker_name.to_string()),
            };
            let mut m = h.msg.clone();
            let p = &h.msg.properties;
            m.topic = properties::find(p, properties::REAL_TOPIC).unwrap_or_default().to_string();
            m.queue_id = properties::find(p, properties::REAL_QUEUE_ID).and_then(|q| q.parse().ok()).unwrap_or(0);
            let mut props: Vec<(String, String)> = properties::decode(&m.properties);
            props.retain(|(k, _)| k != properties::TRANSACTION_CHECK_TIMES);
            props.push((properties::TRANSACTION_CHECK_TIMES.into(), h.checks.to_string()));
            m.properties = properties::encode(props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let mut cmd = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE.code(), header.to_ext_fields())
                .with_body(m.encode());
            cmd.opaque = next_opaque();
            cmd.mark_oneway();
            out.push((channel, cmd));
        }
        for at in discard {
            half.remove(&at);
            self.counters.discarded.fetch_add(1, Ordering::Relaxed);
        }
        out
    }
}

/// A half message as the broker keeps it: its real topic and queue in REAL_TOPIC / REAL_QID.
#[allow(clippy::too_many_arguments)]
pub(crate) fn half_message(
    topic: &str,
    queue: i32,
    half_offset: i64,
    commit_log_offset: i64,
    header: &crate::protocol::SendMessageRequestHeader,
    body: Bytes,
    born_host: SocketAddr,
    store_host: SocketAddr,
) -> MessageExt {
    let mut props = properties::decode(header.properties.as_deref().unwrap_or_default());
    props.push((properties::REAL_TOPIC.into(), topic.to_string()));
    props.push((properties::REAL_QUEUE_ID.into(), queue.to_string()));
    MessageExt {
        topic: HALF_TOPIC.to_string(),
        queue_id: 0,
        flag: header.flag,
        queue_offset: half_offset,
        physical_offset: commit_log_offset,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host,
        store_timestamp: chrono::Utc::now().timestamp_millis(),
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body,
        properties: properties::encode(props.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    }
}
