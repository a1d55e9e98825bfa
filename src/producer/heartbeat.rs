//! The client's presence on the brokers, as the Java client's `MQClientInstance` keeps it:
//! HEART_BEAT (34) to the master of every broker the routes name, 1 s after start and every 30 s,
//! one broker after the other, each a sync request with the API timeout (3 s); from 5.2 on also
//! to a broker as soon as a connection to it opens (`onChannelActive`); UNREGISTER_CLIENT
//! (35) when the producer shuts down. So the producer shows in `mqadmin producerConnection`.
//!
//! A heartbeat that times out closes its connection (`clientCloseSocketIfTimeout`, default true
//! in every version): the sends waiting on that connection then fail at once as "send request
//! failed" (5.1.4+, `failFast`) or wait for the response-table scan (4.9.8). That is how a Java
//! application meets a hung broker, and so how mqtui does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Inner, Producer};
use crate::remoting::{ExtFields, InvokeError, RemotingCommand, RequestCode};

/// `heartbeatBrokerInterval`.
pub const INTERVAL: Duration = Duration::from_secs(30);
/// The first heartbeat, after start (`startScheduledTask`).
pub const FIRST: Duration = Duration::from_secs(1);

/// `HeartbeatData` as fastjson writes it (keys sorted): this producer's group and the client's
/// inner one, no consumers.
pub fn heartbeat_body(client_id: &str, group: &str) -> Vec<u8> {
    serde_json::json!({
        "clientID": client_id,
        "consumerDataSet": [],
        "producerDataSet": [{"groupName": "CLIENT_INNER_PRODUCER"}, {"groupName": group}],
    })
    .to_string()
    .into_bytes()
}

impl Producer {
    /// The masters of every cached route, each once, by broker name.
    fn known_masters(&self) -> Vec<(Arc<str>, Arc<str>)> {
        let mut all: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        for topic in self.inner.routes.topics() {
            if let Some(info) = self.inner.routes.cached(&topic) {
                for (b, a) in info.masters() {
                    if !all.iter().any(|(n, _)| n == b) {
                        all.push((b.clone(), a.clone()));
                    }
                }
            }
        }
        all.sort();
        all
    }

    /// One round: a heartbeat to every known master, one after the other; none if another
    /// heartbeat is under way (`lockHeartbeat.tryLock()`).
    pub async fn send_heartbeats(&self) {
        let Some(_held) = HeartbeatLock::try_take(&self.inner.heartbeat_busy) else {
            tracing::warn!("heartbeat round skipped: another heartbeat is under way");
            return;
        };
        for (broker, addr) in self.known_masters() {
            self.heartbeat(&broker, &addr).await;
        }
    }

    /// A connection to `conn_addr` has opened: a heartbeat to the broker there, if the routes
    /// name one (5.2+ `onChannelActive`, `sendHeartbeatToBroker(.., strictLockMode = false)`:
    /// none, and no warning, while another heartbeat is under way).
    pub async fn heartbeat_on_open(&self, conn_addr: &str) {
        let Some((broker, addr)) = self.known_masters().into_iter().find(|(_, a)| self.connect_addr(a) == conn_addr)
        else {
            return;
        };
        if let Some(_held) = HeartbeatLock::try_take(&self.inner.heartbeat_busy) {
            self.heartbeat(&broker, &addr).await;
        }
    }

    /// One HEART_BEAT, a sync request within the API timeout.
    async fn heartbeat(&self, broker: &str, addr: &str) {
        let inner = &self.inner;
        let mut cmd = RemotingCommand::request(RequestCode::HEART_BEAT.code(), ExtFields::new());
        cmd.body = heartbeat_body(&inner.client_id, &inner.config.group).into();
        inner.pool.sign(&mut cmd);
        let timeout = inner.config.api_timeout;
        let begin = Instant::now();
        let conn = match inner.pool.get(&self.connect_addr(addr), timeout).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(%broker, %addr, error = %e, "heartbeat: cannot connect");
                return;
            }
        };
        let left = timeout.saturating_sub(begin.elapsed());
        match conn.invoke(cmd, left).await {
            Ok(r) if r.code == 0 => tracing::trace!(%broker, "heartbeat"),
            Ok(r) => tracing::debug!(%broker, code = r.code, remark = ?r.remark, "heartbeat refused"),
            Err(InvokeError::Timeout(_)) => {
                // invokeSync: close the socket on a timeout (5.x: unless little time was left).
                tracing::warn!(%broker, %addr, "heartbeat timed out: closing the connection, as the Java client does");
                conn.close();
            }
            Err(e) => tracing::debug!(%broker, error = %e, "heartbeat failed"),
        }
    }

    /// UNREGISTER_CLIENT to every known master (each within the API timeout, all at once), as
    /// `DefaultMQProducer.shutdown()` does; the heartbeats stop.
    pub async fn shutdown(&self) {
        if let Some(t) = self.inner.heartbeats.lock().unwrap().take() {
            t.abort();
        }
        let inner = &self.inner;
        let calls = self.known_masters().into_iter().map(|(broker, addr)| {
            let mut fields = ExtFields::new();
            fields.insert("clientID", inner.client_id.clone());
            fields.insert("producerGroup", inner.config.group.clone());
            let mut cmd = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT.code(), fields);
            inner.pool.sign(&mut cmd);
            let addr = self.connect_addr(&addr).into_owned();
            async move {
                if let Err(e) = inner.pool.invoke(&addr, cmd, inner.config.api_timeout).await {
                    tracing::debug!(%broker, error = %e, "unregister failed");
                }
            }
        });
        futures::future::join_all(calls).await;
    }
}

/// `lockHeartbeat` as the Java client takes it: try, never wait.
struct HeartbeatLock<'a>(&'a AtomicBool);

impl<'a> HeartbeatLock<'a> {
    fn try_take(busy: &'a AtomicBool) -> Option<HeartbeatLock<'a>> {
        busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).ok().map(|_| HeartbeatLock(busy))
    }
}

impl Drop for HeartbeatLock<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Heartbeats when a connection opens (5.2+), for a producer whose version does so: one
/// connection after the other, as the Java client's single `NettyEventExecutor` thread handles
/// its channel events.
pub(super) fn on_open(inner: &Arc<Inner>) {
    if !inner.config.java.heartbeats_on_open() {
        return;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    inner.pool.set_on_open(Box::new(move |addr| {
        let _ = tx.send(addr.to_string());
    }));
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move {
        while let Some(addr) = rx.recv().await {
            let Some(inner) = weak.upgrade() else { return };
            Producer { inner }.heartbeat_on_open(&addr).await;
        }
    });
}

/// Starts the heartbeat task of a producer (it stops when the producer is dropped).
pub(super) fn start(inner: &Arc<Inner>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(Instant::now() + FIRST, INTERVAL);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            Producer { inner }.send_heartbeats().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_heartbeat_data() {
        let v: serde_json::Value = serde_json::from_slice(&heartbeat_body("10.0.0.1@42", "G")).unwrap();
        assert_eq!(v["clientID"], "10.0.0.1@42");
        assert_eq!(v["producerDataSet"][1]["groupName"], "G");
        assert_eq!(v["consumerDataSet"].as_array().unwrap().len(), 0);
    }
}
