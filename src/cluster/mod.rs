//! The embedded demo cluster: a name server and N brokers (broker-a, broker-b, …) inside the
//! process, on loopback, on real TCP with the same codec as the producer, with fault injection
//! that can be changed at run time and scenarios that change it on a timeline.

mod admin;
mod broker;
mod delay;
pub mod fault;
mod listener;
mod namesrv;
mod order;
pub mod runner;
pub mod scenario;
mod transaction;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use broker::BrokerCore;
pub use broker::BrokerStats;
pub use fault::{BrokerFault, NameServerFault};
use namesrv::NameServerCore;
pub use scenario::{Scenario, ScenarioError, Step, Target};

/// How to build the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Number of brokers, 1..=26.
    pub brokers: usize,
    /// The name server's address (port 0: any free port).
    pub namesrv_addr: SocketAddr,
    /// First broker port; broker i listens on base + i. `None`: any free ports.
    pub broker_base_port: Option<u16>,
    /// Read and write queues per broker for every topic.
    pub queues: i32,
    pub cluster_name: String,
    /// Brokers require requests signed with these (ACL 1.0) and answer NO_PERMISSION otherwise.
    pub acl: Option<crate::remoting::AclCredentials>,
    /// The name server and brokers speak TLS only (`tls.server.mode=enforcing`).
    pub tls: Option<crate::remoting::tls::TlsServer>,
    /// What each server lets its clients hold (connections, frame and idle timeouts).
    pub limits: crate::remoting::limits::ServerLimits,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            brokers: 3,
            namesrv_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            broker_base_port: None,
            queues: 4,
            cluster_name: "DemoCluster".to_string(),
            acl: None,
            tls: None,
            limits: Default::default(),
        }
    }
}

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("a demo cluster has 1 to 26 brokers, not {0}")]
    BrokerCount(usize),
    #[error("queues per broker must be 1 to 1024, not {0}")]
    QueueCount(i32),
    #[error("cannot listen on {addr} for {who}: {err}")]
    Listen { who: String, addr: SocketAddr, err: std::io::Error },
    #[error("no broker named {name:?} (brokers: {known})")]
    NoSuchBroker { name: String, known: String },
}

/// Something the cluster did that a view may want to show (a scenario step, a fault change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEvent {
    /// Since the cluster started.
    pub at: Duration,
    pub text: String,
}

struct BrokerSlot {
    core: Arc<BrokerCore>,
    fault: watch::Sender<BrokerFault>,
    down: watch::Sender<bool>,
}

struct Inner {
    namesrv_addr: SocketAddr,
    namesrv: Arc<NameServerCore>,
    ns_fault: watch::Sender<NameServerFault>,
    ns_down: watch::Sender<bool>,
    brokers: Vec<BrokerSlot>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    scenario_task: Mutex<Option<JoinHandle<()>>>,
    events: broadcast::Sender<ClusterEvent>,
    started: tokio::time::Instant,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().unwrap().drain(..) {
            t.abort();
        }
        if let Some(t) = self.scenario_task.get_mut().unwrap().take() {
            t.abort();
        }
    }
}

/// A running demo cluster. Clones share it; it stops when the last clone is dropped or
/// [`DemoCluster::shutdown`] is called.
#[derive(Clone)]
pub struct DemoCluster {
    inner: Arc<Inner>,
}

/// `broker-a`, `broker-b`, …
pub fn broker_name(i: usize) -> String {
    format!("broker-{}", (b'a' + i as u8) as char)
}

impl DemoCluster {
    /// Starts the name server and brokers; returns once all are listening.
    pub async fn start(cfg: ClusterConfig) -> Result<DemoCluster, ClusterError> {
        if cfg.brokers == 0 || cfg.brokers > 26 {
            return Err(ClusterError::BrokerCount(cfg.brokers));
        }
        if !(1..=1024).contains(&cfg.queues) {
            return Err(ClusterError::QueueCount(cfg.queues));
        }
        let mut tasks = Vec::new();
        let mut brokers = Vec::new();
        let shared = broker::Shared::new();
        for i in 0..cfg.brokers {
            let name = broker_name(i);
            let (fault_tx, fault_rx) = watch::channel(BrokerFault::default());
            let (down_tx, down_rx) = watch::channel(false);
            let core = Arc::new(BrokerCore::new(name.clone(), cfg.queues, fault_rx, cfg.acl.clone(), &shared, i as u8));
            let port = cfg.broker_base_port.map_or(0, |b| b.saturating_add(i as u16));
            let addr = SocketAddr::new(cfg.namesrv_addr.ip(), port);
            let (local, task) = listener::supervise(
                addr,
                core.clone(),
                down_rx,
                cfg.tls.as_ref().map(|t| t.acceptor.clone()),
                cfg.limits,
            )
            .await
            .map_err(|err| ClusterError::Listen { who: name.clone(), addr, err })?;
            *core.addr.lock().unwrap() = local;
            tasks.push(task);
            // TransactionalMessageCheckService: check-backs for half messages left unknown.
            let checker = core.clone();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    for (channel, cmd) in checker.tx.due_checks(tokio::time::Instant::now(), &checker.name) {
                        let _ = channel.try_send(cmd);
                    }
                }
            }));
            brokers.push(BrokerSlot { core, fault: fault_tx, down: down_tx });
        }
        let (ns_fault, ns_fault_rx) = watch::channel(NameServerFault::default());
        let (ns_down, ns_down_rx) = watch::channel(false);
        let namesrv = Arc::new(NameServerCore {
            cluster: cfg.cluster_name.clone(),
            brokers: brokers.iter().map(|b| b.core.clone()).collect(),
            fault: ns_fault_rx,
            requests: Mutex::new(0),
        });
        let (namesrv_addr, task) = listener::supervise(
            cfg.namesrv_addr,
            namesrv.clone(),
            ns_down_rx,
            cfg.tls.as_ref().map(|t| t.acceptor.clone()),
            cfg.limits,
        )
        .await
        .map_err(|err| ClusterError::Listen { who: "the name server".into(), addr: cfg.namesrv_addr, err })?;
        tasks.push(task);
        let (events, _) = broadcast::channel(256);
        Ok(DemoCluster {
            inner: Arc::new(Inner {
                namesrv_addr,
                namesrv,
                ns_fault,
                ns_down,
                brokers,
                tasks: Mutex::new(tasks),
                scenario_task: Mutex::new(None),
                events,
                started: tokio::time::Instant::now(),
            }),
        })
    }

    pub fn namesrv_addr(&self) -> SocketAddr {
        self.inner.namesrv_addr
    }

    pub fn broker_names(&self) -> Vec<String> {
        self.inner.brokers.iter().map(|b| b.core.name.clone()).collect()
    }

    pub fn broker_addr(&self, name: &str) -> Option<SocketAddr> {
        self.slot(name).ok().map(|b| *b.core.addr.lock().unwrap())
    }

    fn slot(&self, name: &str) -> Result<&BrokerSlot, ClusterError> {
        self.inner
            .brokers
            .iter()
            .find(|b| b.core.name == name)
            .ok_or_else(|| ClusterError::NoSuchBroker { name: name.to_string(), known: self.broker_names().join(", ") })
    }

    fn emit(&self, text: String) {
        tracing::info!(target: "mqtui::cluster", "{text}");
        let _ = self.inner.events.send(ClusterEvent { at: self.inner.started.elapsed(), text });
    }

    /// A broker's current faults.
    pub fn fault(&self, broker: &str) -> Result<BrokerFault, ClusterError> {
        Ok(self.slot(broker)?.fault.borrow().clone())
    }

    /// Changes a broker's faults; `down` takes effect at once (listener closed, connections dropped).
    pub fn update_fault(
        &self,
        broker: &str,
        change: impl FnOnce(&mut BrokerFault),
    ) -> Result<BrokerFault, ClusterError> {
        let slot = self.slot(broker)?;
        let mut now = BrokerFault::default();
        slot.fault.send_modify(|f| {
            change(f);
            now = f.clone();
        });
        slot.down.send_replace(now.down);
        self.emit(format!("{broker}: {now}"));
        Ok(now)
    }

    /// Replaces a broker's faults.
    pub fn set_fault(&self, broker: &str, fault: BrokerFault) -> Result<(), ClusterError> {
        self.update_fault(broker, |f| *f = fault).map(|_| ())
    }

    pub fn namesrv_fault(&self) -> NameServerFault {
        self.inner.ns_fault.borrow().clone()
    }

    /// Changes the name server's faults.
    pub fn update_namesrv_fault(&self, change: impl FnOnce(&mut NameServerFault)) -> NameServerFault {
        let mut now = NameServerFault::default();
        self.inner.ns_fault.send_modify(|f| {
            change(f);
            now = f.clone();
        });
        self.inner.ns_down.send_replace(now.down);
        self.emit(format!("name server: {now}"));
        now
    }

    /// Every broker and the name server healthy again.
    pub fn clear_all(&self) {
        for b in self.broker_names() {
            let _ = self.set_fault(&b, BrokerFault::default());
        }
        self.update_namesrv_fault(|f| *f = NameServerFault::default());
    }

    /// What each broker has seen so far.
    pub fn stats(&self) -> Vec<BrokerStats> {
        self.inner.brokers.iter().map(|b| b.core.stats()).collect()
    }

    /// Requests the name server has answered.
    pub fn namesrv_requests(&self) -> u64 {
        *self.inner.namesrv.requests.lock().unwrap()
    }

    /// Cluster events (fault changes, scenario steps) from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ClusterEvent> {
        self.inner.events.subscribe()
    }

    /// Checks that every broker `scenario` names exists here.
    pub fn check_scenario(&self, scenario: &Scenario) -> Result<(), ClusterError> {
        for b in scenario.brokers() {
            self.slot(b)?;
        }
        Ok(())
    }

    /// Runs `scenario` from now on (replacing a running one). Its clock is tokio's, so tests can
    /// drive it with a paused clock.
    pub fn run_scenario(&self, scenario: Scenario) -> Result<(), ClusterError> {
        self.check_scenario(&scenario)?;
        let weak = Arc::downgrade(&self.inner);
        let task = runner::spawn(scenario, move |scenario, step| {
            let Some(inner) = weak.upgrade() else { return false };
            DemoCluster { inner }.apply_step(&scenario.name, step);
            true
        });
        if let Some(old) = self.inner.scenario_task.lock().unwrap().replace(task) {
            old.abort();
        }
        Ok(())
    }

    fn apply_step(&self, scenario: &str, step: &Step) {
        match &step.target {
            Target::Broker(b) => {
                let _ = self.update_fault(b, |f| step.change.apply_broker(f));
            }
            Target::NameServer => {
                self.update_namesrv_fault(|f| step.change.apply_namesrv(f));
            }
        }
        self.emit(format!("scenario {scenario}: {}", scenario::describe(step)));
    }

    /// Stops the scenario, if one runs (faults stay as they are).
    pub fn stop_scenario(&self) {
        if let Some(t) = self.inner.scenario_task.lock().unwrap().take() {
            t.abort();
        }
    }

    /// Stops every server and drops every connection.
    pub fn shutdown(&self) {
        self.stop_scenario();
        for t in self.inner.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}
