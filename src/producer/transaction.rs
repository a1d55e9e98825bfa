//! Transactional sends, as `TransactionMQProducer.sendMessageInTransaction` makes them: the half
//! message (TRAN_MSG=true, PGROUP, sys flag TRANSACTION_PREPARED; a delay level cleared) sent
//! **sync**, the local transaction's state (a stored non-OK status rolls back), then
//! END_TRANSACTION (37) oneway to the broker that stored it. A failed half message throws
//! ("send message Exception") and ends nothing.
//!
//! And the other half: the broker's CHECK_TRANSACTION_STATE (39) requests, which arrive on the
//! producer's own connection (the broker finds it by the group in the producer's heartbeats),
//! answered by `checkLocalTransaction` — here [`ProducerConfig::transaction_check`] — with an
//! END_TRANSACTION marked `fromTransactionCheck` on that connection.
//!
//! [`ProducerConfig::transaction_check`]: super::ProducerConfig::transaction_check

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::time::Instant;

use super::{AttemptRecord, Failure, Inner, Message, Payload, Producer, SendOutcome, Stored, TransactionEnd};
use crate::protocol::message_ext::MessageExt;
use crate::protocol::properties;
use crate::protocol::send::SendStatus;
use crate::protocol::transaction::{CheckTransactionStateHeader, EndTransactionHeader, LocalState};
use crate::remoting::{next_opaque, RemotingCommand, RequestCode, ServerRequests};

impl Producer {
    /// `sendMessageInTransaction(msg, arg)` whose local transaction ends in `local`.
    pub async fn send_in_transaction(&self, mut msg: Message, local: LocalState) -> Arc<SendOutcome> {
        self.wrap_topic(&mut msg);
        // "ignore DelayTimeLevel parameter".
        msg.remove_property(properties::DELAY);
        if msg.uniq_key().is_none() {
            msg.set_property(properties::UNIQ_KEY, self.inner.ids.next_id());
        }
        msg.set_property(properties::TRAN_MSG, "true");
        msg.set_property(properties::PRODUCER_GROUP, self.inner.config.group.clone());
        let msg_id = msg.uniq_key().unwrap_or_default().to_string();
        self.send_payload(Payload::One(&msg), msg_id, super::Mode::Transaction(local)).await
    }

    pub(super) async fn send_transaction_inner(
        &self,
        send: u64,
        payload: &Payload<'_>,
        local: LocalState,
        started: Instant,
        attempts: &mut Vec<AttemptRecord>,
    ) -> (Result<Stored, Failure>, Option<TransactionEnd>) {
        let (stored, transaction_id) = match self.send_sync_inner(send, payload, started, attempts).await {
            Ok(s) => s,
            Err(f) => {
                let message = format!("send message Exception: {}", f.message);
                return (Err(Failure { message, ..f }), None);
            }
        };
        let local = if stored.status == SendStatus::SEND_OK { local } else { LocalState::Rollback };
        let msg = payload.message().expect("a transaction is of one message");
        let end = self.end_transaction(msg, &stored, transaction_id, local).await;
        if let Err(e) = &end {
            tracing::warn!(error = %e, "local transaction execute {}, but end broker transaction failed", local.java_name());
        }
        (Ok(stored), Some(TransactionEnd { local, end }))
    }

    /// `endTransaction`: END_TRANSACTION oneway to the master of the broker that stored it.
    async fn end_transaction(
        &self,
        msg: &Message,
        stored: &Stored,
        transaction_id: Option<String>,
        local: LocalState,
    ) -> Result<(), String> {
        let cfg = &self.inner.config;
        let (_, commit_log_offset) = crate::protocol::msgid::decode_offset_msg_id(&stored.offset_msg_id)
            .ok_or_else(|| format!("the offset msgId {:?} does not decode", stored.offset_msg_id))?;
        let five = cfg.java >= super::JavaVersion::V5_1_4;
        let header = EndTransactionHeader {
            topic: five.then(|| msg.topic.clone()),
            producer_group: cfg.group.clone(),
            tran_state_table_offset: stored.queue_offset,
            commit_log_offset,
            commit_or_rollback: local.commit_or_rollback(),
            from_transaction_check: false,
            msg_id: msg.uniq_key().unwrap_or_default().to_string(),
            transaction_id,
            broker_name: five.then(|| stored.broker.to_string()),
        };
        let route = self.inner.routes.cached(&msg.topic).ok_or("the topic's route is gone")?;
        let addr = route.master(&stored.broker).cloned().ok_or_else(|| format!("no master for {}", stored.broker))?;
        let mut cmd = RemotingCommand::request(RequestCode::END_TRANSACTION.code(), header.to_ext_fields());
        cmd.opaque = next_opaque();
        self.inner.pool.sign(&mut cmd);
        let conn = self
            .inner
            .pool
            .get(&self.connect_addr(&addr), super::attempt::CONNECT_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        conn.send_oneway(cmd).map_err(|e| e.to_string())
    }

    /// Answers the brokers' check-backs on this producer's connections.
    pub(super) fn answer_check_backs(inner: &Arc<Inner>) {
        inner.pool.set_server_requests(Arc::new(CheckBacks { inner: Arc::downgrade(inner) }));
    }
}

struct CheckBacks {
    inner: Weak<Inner>,
}

impl ServerRequests for CheckBacks {
    fn handle(&self, addr: &str, request: &RemotingCommand) -> Option<Vec<RemotingCommand>> {
        if request.code != RequestCode::CHECK_TRANSACTION_STATE.code() {
            return None;
        }
        let inner = self.inner.upgrade()?;
        let header = match CheckTransactionStateHeader::from_ext_fields(&request.ext_fields) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(addr, error = %e, "a CHECK_TRANSACTION_STATE that does not decode");
                return Some(Vec::new());
            }
        };
        let msg = match MessageExt::decode(request.body.clone()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(addr, error = %e, "checkTransactionState, decode message failed");
                return Some(Vec::new());
            }
        };
        let group = properties::find(&msg.properties, properties::PRODUCER_GROUP);
        if group != Some(inner.config.group.as_str()) {
            tracing::debug!(addr, ?group, "checkTransactionState, pick producer by group failed");
            return Some(Vec::new());
        }
        let answer = inner.config.transaction_check;
        let five = inner.config.java >= super::JavaVersion::V5_1_4;
        let uniq = properties::find(&msg.properties, properties::UNIQ_KEY)
            .map(str::to_string)
            .or(header.msg_id.clone())
            .unwrap_or_default();
        let end = EndTransactionHeader {
            topic: if five { header.topic.clone() } else { None },
            producer_group: inner.config.group.clone(),
            tran_state_table_offset: header.tran_state_table_offset,
            commit_log_offset: header.commit_log_offset,
            commit_or_rollback: answer.commit_or_rollback(),
            from_transaction_check: true,
            msg_id: uniq.clone(),
            transaction_id: header.transaction_id.clone(),
            broker_name: if five { header.broker_name.clone() } else { None },
        };
        let mut cmd = RemotingCommand::request(RequestCode::END_TRANSACTION.code(), end.to_ext_fields());
        cmd.mark_oneway();
        cmd.opaque = next_opaque();
        inner.pool.sign(&mut cmd);
        inner.counters.check_backs.fetch_add(1, Ordering::Relaxed);
        let times = properties::find(&msg.properties, properties::TRANSACTION_CHECK_TIMES).unwrap_or("1");
        tracing::info!(addr, msg_id = %uniq, topic = %msg.topic, times, answer = answer.java_name(), "transaction check-back answered");
        Some(vec![cmd])
    }
}
