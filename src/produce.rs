//! `mqtui produce`: send headless against the demo cluster or a real one, and report.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::cli::{Output, ProduceArgs, ProducerArgs};
use crate::cluster::{ClusterConfig, DemoCluster, Scenario};
use crate::producer::load::{self, LoadSettings, MessageTemplate, StopAfter};
use crate::producer::{parse_namesrvs, Producer, ProducerConfig};
use crate::report::{self, RunInfo, Summary};
use crate::stats::RunStats;

/// Exit codes (a contract): 0 nothing failed, 1 some sends failed, 2 bad flags or config,
/// 3 could not start (no name server, no route, a port in use).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_START: u8 = 3;

/// An error that ends the command before it sends anything.
#[derive(Debug)]
pub struct StartError {
    pub code: u8,
    pub message: String,
}

impl StartError {
    pub fn config(message: impl Into<String>) -> Self {
        StartError { code: EXIT_CONFIG, message: message.into() }
    }
    pub fn start(message: impl Into<String>) -> Self {
        StartError { code: EXIT_START, message: message.into() }
    }
}

/// Where the producer sends: the embedded demo cluster (kept alive here) or name servers.
#[derive(Clone)]
pub struct Target {
    pub namesrvs: Vec<String>,
    pub demo: Option<DemoCluster>,
    pub description: String,
    /// `--chaos`: the proxies (covered brokers are added once the route is known).
    pub chaos: Option<crate::chaos::Chaos>,
    /// `--chaos --scenario`: run on the proxies once they exist.
    pub chaos_scenario: Option<Scenario>,
}

/// Starts the demo cluster when asked (or when no name server is given) and its scenario.
pub async fn target(args: &ProducerArgs, default_scenario: &str) -> Result<Target, StartError> {
    if let Some(ns) = &args.namesrv {
        let chaos_scenario = match (&args.scenario, args.chaos) {
            (Some(s), false) => {
                return Err(StartError::config(format!(
                    "--scenario {s} needs the demo cluster or --chaos; it cannot be used with --namesrv alone"
                )))
            }
            (Some(s), true) => Some(Scenario::load(s).map_err(|e| StartError::config(e.to_string()))?),
            (None, _) => None,
        };
        let namesrvs = parse_namesrvs(ns);
        if namesrvs.is_empty() {
            return Err(StartError::config("--namesrv is empty: give host:port[;host:port…]"));
        }
        let chaos = args.chaos.then(crate::chaos::Chaos::new);
        let description =
            format!("{}name server {}", if chaos.is_some() { "CHAOS · " } else { "" }, namesrvs.join(";"));
        return Ok(Target { description, namesrvs, demo: None, chaos, chaos_scenario });
    }
    let scenario_name = args.scenario.as_deref().unwrap_or(default_scenario);
    let scenario = Scenario::load(scenario_name).map_err(|e| StartError::config(e.to_string()))?;
    let cluster = DemoCluster::start(ClusterConfig { brokers: args.brokers as usize, ..ClusterConfig::default() })
        .await
        .map_err(|e| StartError::start(format!("cannot start the demo cluster: {e}")))?;
    cluster.check_scenario(&scenario).map_err(|e| StartError::config(format!("scenario {}: {e}", scenario.name)))?;
    let description = format!("demo cluster ({} brokers, scenario {})", args.brokers, scenario.name);
    cluster.run_scenario(scenario).map_err(|e| StartError::config(e.to_string()))?;
    Ok(Target {
        namesrvs: vec![cluster.namesrv_addr().to_string()],
        demo: Some(cluster),
        description,
        chaos: None,
        chaos_scenario: None,
    })
}

pub fn producer_config(args: &ProducerArgs, target: &Target) -> ProducerConfig {
    let namesrvs = target.namesrvs.clone();
    ProducerConfig {
        addr_map: target.chaos.clone().map(|c| std::sync::Arc::new(c) as std::sync::Arc<dyn crate::chaos::AddrMap>),
        namesrvs,
        group: args.group.clone(),
        timeout: Duration::from_millis(args.timeout_ms),
        attempt_timeout: args.attempt_timeout_ms.map(Duration::from_millis),
        retries: args.retries,
        fault_table: args.fault_table,
        fault_avoidance: !args.no_fault_avoidance,
        route_refresh: Duration::from_millis(args.route_refresh_ms),
        acl: match (&args.access_key, &args.secret_key) {
            (Some(ak), Some(sk)) => Some(crate::remoting::AclCredentials::new(ak.clone(), sk.expose())),
            _ => None,
        },
        ..ProducerConfig::default()
    }
}

pub fn template(args: &ProducerArgs) -> MessageTemplate {
    MessageTemplate {
        topic: args.topic.clone(),
        size: args.size as usize,
        tag: args.tag.clone(),
        keys: args.keys.clone(),
        props: args.props.clone(),
        batch: args.batch as usize,
    }
}

/// `--chaos`: proxies in front of the route's brokers, and the scenario on them.
pub async fn start_chaos(
    target: &Target,
    route: &crate::producer::TopicPublishInfo,
) -> Result<Option<tokio::task::JoinHandle<()>>, StartError> {
    let Some(chaos) = &target.chaos else { return Ok(None) };
    chaos.cover(route).await.map_err(|e| StartError::start(format!("cannot start the chaos proxies: {e}")))?;
    match &target.chaos_scenario {
        Some(s) => chaos.run_scenario(s.clone()).map(Some).map_err(StartError::config),
        None => Ok(None),
    }
}

/// The brokers of `route` whose master address does not accept a connection within a second:
/// (broker, address, why).
pub async fn unreachable_brokers(route: &crate::producer::TopicPublishInfo) -> Vec<(String, String, String)> {
    let checks = route.brokers.iter().map(|b| async move {
        let Some(addr) = route.route.master_addr(b) else {
            return Some((b.to_string(), "(none)".to_string(), "no master address in the route".to_string()));
        };
        match tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some((b.to_string(), addr.to_string(), e.to_string())),
            Err(_) => Some((b.to_string(), addr.to_string(), "no answer within 1 s".to_string())),
        }
    });
    futures::future::join_all(checks).await.into_iter().flatten().collect()
}

/// Writes chunks to stdout on a thread of its own.
struct StdoutWriter {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StdoutWriter {
    fn start() -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
        let thread = std::thread::spawn(move || {
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = rx.blocking_recv() {
                if out.write_all(&chunk).and_then(|_| out.flush()).is_err() {
                    // Closed: drop the rest (the sender sees the channel close).
                    return;
                }
            }
        });
        StdoutWriter { tx: Some(tx), thread: Some(thread) }
    }

    /// Queues a chunk; false when stdout is gone.
    async fn send(&self, chunk: Vec<u8>) -> bool {
        if chunk.is_empty() {
            return true;
        }
        match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        }
    }

    /// Waits until everything queued is written.
    async fn finish(mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Runs `mqtui produce`; returns the exit code.
pub async fn run(args: ProduceArgs, cancel: watch::Receiver<bool>) -> Result<u8, StartError> {
    crate::protocol::message::validate_topic(&args.producer.topic).map_err(|e| StartError::config(e.to_string()))?;
    let target = target(&args.producer, "healthy").await?;
    let producer = Producer::new(producer_config(&args.producer, &target));
    let route =
        producer.lookup(&args.producer.topic).await.map_err(|e| StartError::start(format!("cannot start: {e}")))?;
    let _chaos_task = start_chaos(&target, &route).await?;
    // Can this host reach the brokers the route names? (A container-internal address is the
    // usual reason it cannot.)
    let unreachable = unreachable_brokers(&route).await;
    if !unreachable.is_empty() {
        let lines: Vec<String> = unreachable.iter().map(|(b, a, e)| format!("{b} at {a}: {e}")).collect();
        let hint = "the route's broker addresses are what the brokers registered (brokerIP1); if they are \
                    container-internal or private addresses, set brokerIP1 to one clients can reach";
        if unreachable.len() == route.brokers.len() {
            return Err(StartError::start(format!(
                "cannot start: no broker of topic {} is reachable from here: {}; {hint}",
                args.producer.topic,
                lines.join("; ")
            )));
        }
        eprintln!(
            "mqtui: warning: some brokers of topic {} are not reachable from here: {}; {hint}",
            args.producer.topic,
            lines.join("; ")
        );
    }

    let run_info = RunInfo {
        target: target.description.clone(),
        topic: args.producer.topic.clone(),
        fault_table: producer.fault_table().name().to_string(),
        fault_avoidance: producer.fault_avoidance(),
        timeout_ms: args.producer.timeout_ms,
        attempt_timeout_ms: args.producer.attempt_timeout_ms,
        retries: args.producer.retries,
    };
    let stop = StopAfter {
        count: args.count.or(if args.duration.is_none() { Some(1000) } else { None }),
        duration: args.duration.map(Duration::from_secs_f64),
    };
    let settings =
        LoadSettings { rate: args.producer.rate, concurrency: args.producer.concurrency as usize, paused: false };
    let (_settings_tx, settings_rx) = watch::channel(settings);
    // Operator warnings (a name server gone, a route kept from cache) go to stderr as they come.
    let mut warnings = producer.subscribe_warnings();
    let warn_task = tokio::spawn(async move {
        while let Ok(w) = warnings.recv().await {
            eprintln!("mqtui: warning: {w}");
        }
    });
    let (tx, mut rx) = mpsc::channel(args.producer.concurrency as usize * 2 + 64);
    let started = Instant::now();
    let driver =
        tokio::spawn(load::run(producer.clone(), template(&args.producer), settings_rx, stop, cancel, Some(tx)));

    let mut stats = RunStats::new(started);
    for b in &route.brokers {
        stats.broker(b);
    }
    // Output is written by a thread of its own: a slow reader of stdout slows new sends (the
    // chunks queue is bounded) but never blocks the runtime, so sends in flight still complete
    // and time out on time.
    let out = StdoutWriter::start();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let progress = args.output == Output::Summary && std::io::stderr().is_terminal();
    let mut last_progress = Instant::now();
    let mut last_end = started;
    while let Some(o) = rx.recv().await {
        stats.record(&o);
        last_end = last_end.max(o.started + o.latency);
        if args.output == Output::Jsonl {
            let _ = report::write_jsonl(&mut buf, &o);
            if buf.len() >= 1 << 16 && !out.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 16))).await {
                // stdout closed (e.g. `| head`): stop reading outcomes, still exit cleanly.
                tracing::warn!("cannot write to stdout");
                break;
            }
        }
        if progress && last_progress.elapsed() >= Duration::from_millis(500) {
            last_progress = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(0.001);
            eprint!(
                "\r\x1b[2Ksent {}  ok {}  failed {}  retries {}  {:.0} msg/s",
                stats.sent,
                stats.ok,
                stats.failed,
                stats.retries,
                stats.sent as f64 / secs
            );
        }
    }
    let _ = driver.await;
    warn_task.abort();
    if progress {
        eprint!("\r\x1b[2K");
    }
    let elapsed = last_end.saturating_duration_since(started);
    let summary = Summary::new(&stats, elapsed, last_end, producer.name_server_lookups(), run_info);
    let written = match args.output {
        Output::Jsonl | Output::Json => {
            serde_json::to_writer(&mut buf, &summary).map_err(std::io::Error::from).and_then(|_| buf.write_all(b"\n"))
        }
        Output::Summary => summary.write_table(&mut buf),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot format the summary");
    }
    out.send(buf).await;
    out.finish().await;
    if let Some(c) = &target.demo {
        c.shutdown();
    }
    Ok(if summary.failed > 0 { EXIT_FAILED } else { EXIT_OK })
}
