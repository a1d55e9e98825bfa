//! `--chaos`: fault injection on a real cluster without touching it. An in-process TCP proxy
//! stands in front of each broker the route names; the producer connects through it, and the
//! proxy adds latency, hangs (swallows requests), answers with an error code, closes the
//! connection on a send, or goes down (stops listening, drops connections) — the demo cluster's
//! faults, from the same keys and scenario files. Nothing is changed on the cluster.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

use crate::cluster::BrokerFault;
use crate::remoting::codes::response_code_label;
use crate::remoting::connection::write_batches;
use crate::remoting::limits::{ConnectionSlots, GuardedFrames, ReadEnd, ServerLimits};
use crate::remoting::{RemotingCodec, RemotingCommand, RequestCode, ResponseCode};

pub use crate::remoting::addr_map::AddrMap;

struct Proxy {
    upstream: String,
    local: SocketAddr,
    fault: watch::Sender<BrokerFault>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct Inner {
    proxies: Mutex<BTreeMap<String, Proxy>>,
    map: RwLock<HashMap<String, String>>,
    /// TLS on the way to the brokers (the producer reaches the in-process proxy plainly).
    tls: Option<crate::remoting::tls::TlsClient>,
    /// What each proxy lets a client hold (connections, frame and idle timeouts).
    limits: ServerLimits,
}

/// The proxies of one run. Cheap to clone.
#[derive(Clone, Default)]
pub struct Chaos {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Chaos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chaos").field("proxies", &self.broker_names()).finish()
    }
}

impl AddrMap for Chaos {
    fn map(&self, addr: &str) -> Option<String> {
        self.inner.map.read().unwrap().get(addr).cloned()
    }

    /// A broker that joins the route gets a proxy too (and its faults keys).
    fn route_changed(&self, brokers: Vec<(String, String)>) -> futures::future::BoxFuture<'static, ()> {
        let chaos = self.clone();
        Box::pin(async move {
            for (name, addr) in brokers {
                if let Err(e) = chaos.add_broker(&name, &addr).await {
                    tracing::warn!(error = %e, broker = %name, "cannot put a chaos proxy in front of a new broker; it is sent to directly");
                }
            }
        })
    }
}

impl Chaos {
    pub fn new() -> Self {
        Self::default()
    }

    /// Proxies that speak TLS to the brokers.
    pub fn with_tls(tls: Option<crate::remoting::tls::TlsClient>) -> Self {
        Chaos { inner: Arc::new(Inner { tls, ..Default::default() }) }
    }

    /// The same proxies under `limits` (before any is started).
    pub fn with_limits(mut self, limits: ServerLimits) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.limits = limits;
        }
        self
    }

    /// Puts a proxy in front of `broker` at `upstream` (once per broker); returns its address.
    pub async fn add_broker(&self, broker: &str, upstream: &str) -> std::io::Result<SocketAddr> {
        if let Some(p) = self.inner.proxies.lock().unwrap().get(broker) {
            if p.upstream == upstream {
                return Ok(p.local);
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let local = listener.local_addr()?;
        let (fault, fault_rx) = watch::channel(BrokerFault::default());
        let task = tokio::spawn(serve(
            listener,
            local,
            upstream.to_string(),
            fault_rx,
            self.inner.tls.clone(),
            self.inner.limits,
        ));
        self.inner.map.write().unwrap().insert(upstream.to_string(), local.to_string());
        self.inner
            .proxies
            .lock()
            .unwrap()
            .insert(broker.to_string(), Proxy { upstream: upstream.to_string(), local, fault, task });
        tracing::info!(broker, upstream, %local, "chaos proxy up");
        Ok(local)
    }

    pub fn broker_names(&self) -> Vec<String> {
        self.inner.proxies.lock().unwrap().keys().cloned().collect()
    }

    pub fn fault(&self, broker: &str) -> Option<BrokerFault> {
        self.inner.proxies.lock().unwrap().get(broker).map(|p| p.fault.borrow().clone())
    }

    /// Changes the faults of `broker`'s proxy.
    pub fn update_fault(&self, broker: &str, change: impl FnOnce(&mut BrokerFault)) -> Result<BrokerFault, String> {
        let proxies = self.inner.proxies.lock().unwrap();
        let p = proxies.get(broker).ok_or_else(|| format!("no chaos proxy for {broker}"))?;
        let mut now = BrokerFault::default();
        p.fault.send_modify(|f| {
            change(f);
            now = f.clone();
        });
        tracing::info!(broker, fault = %now, "chaos fault");
        Ok(now)
    }
}

/// Accepts while up; going down drops the listener and every connection; up binds again.
async fn serve(
    listener: TcpListener,
    local: SocketAddr,
    upstream: String,
    mut fault: watch::Receiver<BrokerFault>,
    tls: Option<crate::remoting::tls::TlsClient>,
    limits: ServerLimits,
) {
    let slots = ConnectionSlots::new(limits.max_connections);
    let mut listener = Some(listener);
    let (kill_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    loop {
        let down = fault.borrow_and_update().down;
        if down && listener.is_some() {
            listener = None;
            let _ = kill_tx.send(());
        } else if !down && listener.is_none() {
            match TcpListener::bind(local).await {
                Ok(l) => listener = Some(l),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        match &listener {
            Some(l) => tokio::select! {
                r = fault.changed() => if r.is_err() { return },
                a = l.accept() => if let Ok((client, peer)) = a {
                    let Some(slot) = slots.take("chaos proxy", peer) else { continue };
                    let _ = client.set_nodelay(true);
                    let piped = pipe(client, upstream.clone(), fault.clone(), kill_tx.subscribe(), tls.clone(), limits);
                    tokio::spawn(async move {
                        piped.await;
                        drop(slot);
                    });
                },
            },
            None => {
                if fault.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

fn is_send(code: i32) -> bool {
    matches!(
        RequestCode::from_code(code),
        Some(RequestCode::SEND_MESSAGE | RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE)
    )
}

/// One client connection through the proxy.
async fn pipe(
    client: TcpStream,
    upstream: String,
    fault: watch::Receiver<BrokerFault>,
    kill: tokio::sync::broadcast::Receiver<()>,
    tls: Option<crate::remoting::tls::TlsClient>,
    limits: ServerLimits,
) {
    let Ok(Ok(up)) = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(&upstream)).await else {
        return; // the client sees the connection close
    };
    let _ = up.set_nodelay(true);
    match tls {
        None => {
            let (ur, uw) = up.into_split();
            pipe_halves(client, ur, uw, fault, kill, limits).await
        }
        Some(tls) => match tokio::time::timeout(Duration::from_secs(3), tls.connect(&upstream, up)).await {
            Ok(Ok(s)) => {
                let (ur, uw) = tokio::io::split(s);
                pipe_halves(client, ur, uw, fault, kill, limits).await
            }
            Ok(Err(e)) => tracing::warn!(%upstream, error = %e, "chaos proxy: TLS to the broker failed"),
            Err(_) => tracing::warn!(%upstream, "chaos proxy: no TLS handshake with the broker within 3 s"),
        },
    }
}

async fn pipe_halves<R, W>(
    client: TcpStream,
    ur: R,
    uw: W,
    fault: watch::Receiver<BrokerFault>,
    mut kill: tokio::sync::broadcast::Receiver<()>,
    limits: ServerLimits,
) where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // GO_AWAY drains the connections made before it was turned on.
    let mut draining = false;
    let mut go_away_was = fault.borrow().go_away;
    let (cr, cw) = client.into_split();
    let (to_client, client_rx) = mpsc::channel::<RemotingCommand>(65_536);
    let (to_up, up_rx) = mpsc::channel::<RemotingCommand>(65_536);
    // Toward the client, a write that stalls ends the connection (the client stopped reading).
    let stall = Some(limits.frame_timeout);
    let w1 = tokio::spawn(write_batches(cw, client_rx, |c: &RemotingCommand, b| c.encode_into(b), |_, _| {}, stall));
    let w2 = tokio::spawn(write_batches(uw, up_rx, |c: &RemotingCommand, b| c.encode_into(b), |_, _| {}, None));
    // Upstream → client: as it comes.
    let back = to_client.clone();
    let r2 = tokio::spawn(async move {
        let mut frames = FramedRead::new(ur, RemotingCodec::default());
        while let Some(Ok(c)) = frames.next().await {
            if back.send(c).await.is_err() {
                break;
            }
        }
    });
    // Client → upstream: through the faults, under the proxy's frame and idle timeouts.
    let mut frames = GuardedFrames::new(cr, limits);
    loop {
        let next = tokio::select! {
            _ = kill.recv() => break,
            n = frames.next() => n,
        };
        let req = match next {
            Ok(req) => req,
            Err(ReadEnd::Eof) => break,
            Err(end) => {
                tracing::warn!("chaos proxy: {end}: closing the connection");
                break;
            }
        };
        let f = fault.borrow().clone();
        if f.hang {
            continue;
        }
        if f.close_on_send && is_send(req.code) {
            break;
        }
        if f.go_away && !go_away_was {
            draining = true;
        }
        if !f.go_away {
            draining = false;
        }
        go_away_was = f.go_away;
        if draining {
            let resp = RemotingCommand::response_to(&req, ResponseCode::GO_AWAY.code(), Some("please go away".into()));
            let _ = to_client.send(resp).await;
            continue;
        }
        if let (Some(code), true) = (f.error_code, is_send(req.code)) {
            let resp = RemotingCommand::response_to(
                &req,
                code,
                Some(format!("{} injected by mqtui --chaos (nothing reached the broker)", response_code_label(code))),
            );
            let _ = to_client.send(resp).await;
            continue;
        }
        let delay = f.delay();
        if delay.is_zero() {
            if to_up.send(req).await.is_err() {
                break;
            }
        } else {
            let to_up = to_up.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = to_up.send(req).await;
            });
        }
    }
    r2.abort();
    w1.abort();
    w2.abort();
}

impl Chaos {
    /// Puts proxies in front of every broker of `route`.
    pub async fn cover(&self, route: &crate::producer::TopicPublishInfo) -> std::io::Result<()> {
        for b in &route.brokers {
            if let Some(addr) = route.route.master_addr(b) {
                self.add_broker(b, addr).await?;
            }
        }
        Ok(())
    }

    /// Runs a scenario's broker steps on the proxies (name server steps are refused: the name
    /// server is not proxied).
    pub fn run_scenario(&self, scenario: crate::cluster::Scenario) -> Result<JoinHandle<()>, String> {
        if scenario.steps.iter().any(|s| s.target == crate::cluster::Target::NameServer) {
            return Err(format!("scenario {}: --chaos proxies brokers only, not the name server", scenario.name));
        }
        let known = self.broker_names();
        for b in scenario.brokers() {
            if !known.iter().any(|k| k == b) {
                return Err(format!(
                    "scenario {}: no broker named {b:?} (brokers: {})",
                    scenario.name,
                    known.join(", ")
                ));
            }
        }
        let me = self.clone();
        Ok(crate::cluster::runner::spawn(scenario, move |_, step| {
            if let crate::cluster::Target::Broker(b) = &step.target {
                let _ = me.update_fault(b, |f| step.change.apply_broker(f));
            }
            true
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterConfig, DemoCluster};
    use crate::remoting::{Connection, ExtFields, InvokeError};

    #[tokio::test]
    async fn the_proxy_forwards_and_injects() {
        let c = DemoCluster::start(ClusterConfig { brokers: 1, ..Default::default() }).await.unwrap();
        let up = c.broker_addr("broker-a").unwrap().to_string();
        let chaos = Chaos::new();
        let local = chaos.add_broker("broker-a", &up).await.unwrap();
        assert_eq!(chaos.map(&up), Some(local.to_string()));
        let t = Duration::from_secs(2);
        let ping = || RemotingCommand::request(RequestCode::HEART_BEAT.code(), ExtFields::new());
        let conn = Connection::connect(&local.to_string(), t).await.unwrap();
        assert_eq!(conn.invoke(ping(), t).await.unwrap().code, 0, "forwarded");
        chaos.update_fault("broker-a", |f| f.hang = true).unwrap();
        assert_eq!(conn.invoke(ping(), Duration::from_millis(100)).await.unwrap_err(), InvokeError::Timeout(100));
        chaos.update_fault("broker-a", |f| *f = BrokerFault { down: true, ..Default::default() }).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(conn.is_closed(), "down drops connections");
        assert!(Connection::connect(&local.to_string(), t).await.is_err(), "and refuses new ones");
        chaos.update_fault("broker-a", |f| *f = BrokerFault::default()).unwrap();
        let mut back = None;
        for _ in 0..50 {
            if let Ok(c) = Connection::connect(&local.to_string(), t).await {
                back = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(back.expect("up again").invoke(ping(), t).await.unwrap().code, 0);
        assert_eq!(c.stats()[0].requests, 2, "the hung request never reached the broker");
    }
}
