//! `mqtui produce`: send headless against the demo cluster or a real one, and report.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::cli::{Output, ProduceArgs, ProducerArgs};
use crate::cluster::{ClusterConfig, DemoCluster, Scenario};
use crate::content::Content;
use crate::producer::load::{self, LoadSettings, StopAfter};
use crate::producer::{parse_namesrvs, Producer, ProducerConfig};
use crate::report::{self, RunInfo, Summary};
use crate::stats::RunStats;

/// Exit codes (a contract): 0 nothing failed, 1 some sends failed, 2 bad flags or config,
/// 3 could not start (no name server, no route, a port in use), 4 a threshold failed.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;
pub const EXIT_START: u8 = 3;
/// A `--threshold` (or a scenario's `[[threshold]]`) failed; it wins over 1.
pub const EXIT_THRESHOLD: u8 = 4;

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

/// The run's settings as the summary and a recording's first line echo them.
pub fn run_info(
    args: &ProducerArgs,
    target: &Target,
    producer: &Producer,
    settings: &LoadSettings,
    topic: String,
) -> RunInfo {
    RunInfo {
        target: target.description.clone(),
        topic,
        java: producer.config().java.to_string(),
        fault_table: producer.fault_table().name().to_string(),
        fault_avoidance: producer.fault_avoidance(),
        timeout_ms: args.timeout_ms,
        attempt_timeout_ms: args.attempt_timeout_ms,
        retries: args.retries,
        load_model: if settings.scheduled() { settings.model.name() } else { "closed" }.to_string(),
        rate: settings.rate,
        concurrency: settings.concurrency,
        shape: settings.shape.as_ref().map(|s| s.describe()),
    }
}

/// Starts `--record`, if asked, reading `producer`'s events from now on; `origin` is the run's start.
#[allow(clippy::too_many_arguments)]
pub fn start_recorder(
    args: &ProducerArgs,
    run: RunInfo,
    origin: Instant,
    started_wall: chrono::DateTime<chrono::Local>,
    target: &Target,
    producer: &Producer,
    settings: watch::Receiver<LoadSettings>,
    route: Option<&crate::producer::TopicPublishInfo>,
) -> Result<Option<crate::record::Recorder>, StartError> {
    let Some(path) = &args.record else { return Ok(None) };
    let routes = route
        .map(|r| vec![(r.topic.clone(), r.brokers.iter().map(|b| b.to_string()).collect(), r.queues.len())])
        .unwrap_or_default();
    let sources = crate::record::writer::Sources {
        events: producer.subscribe_outcomes(),
        settings: Some(settings),
        injected: injected_reader(target),
        routes,
    };
    crate::record::Recorder::start(path, run, origin, started_wall, sources).map(Some).map_err(StartError::start)
}

/// The faults injected now, per broker, as the console shows them (the demo cluster's or the
/// chaos proxies'), for a recording.
pub fn injected_reader(target: &Target) -> Option<crate::record::writer::Injected> {
    if let Some(c) = target.demo.clone() {
        return Some(Box::new(move || {
            c.broker_names().into_iter().filter_map(|n| c.fault(&n).ok().map(|f| (n, f.to_string()))).collect()
        }));
    }
    let chaos = target.chaos.clone()?;
    Some(Box::new(move || {
        chaos.broker_names().into_iter().filter_map(|n| chaos.fault(&n).map(|f| (n, f.to_string()))).collect()
    }))
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
    /// The scenario's `[[threshold]]`s.
    pub thresholds: Vec<crate::stats::threshold::Threshold>,
    /// The scenario's `[[stage]]`s and `[burst]` (the command line's win).
    pub stages: Vec<crate::producer::shape::Stage>,
    pub burst: Option<crate::producer::shape::Burst>,
    /// `--tls`: the client's TLS (the demo cluster's own certificate trusted too).
    pub tls: Option<crate::remoting::tls::TlsClient>,
}

/// Starts the demo cluster when asked (or when no name server is given) and its scenario.
pub async fn target(args: &ProducerArgs, default_scenario: &str) -> Result<Target, StartError> {
    if let Some(ns) = &args.namesrv {
        let tls = args.tls.client().map_err(StartError::config)?;
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
        let chaos = args.chaos.then(|| crate::chaos::Chaos::with_tls(tls.clone()));
        let description = format!(
            "{}name server {}{}",
            if chaos.is_some() { "CHAOS · " } else { "" },
            namesrvs.join(";"),
            if tls.is_some() { " · TLS" } else { "" }
        );
        let thresholds = chaos_scenario.as_ref().map(|s| s.thresholds.clone()).unwrap_or_default();
        let stages = chaos_scenario.as_ref().map(|s| s.stages.clone()).unwrap_or_default();
        let burst = chaos_scenario.as_ref().and_then(|s| s.burst);
        return Ok(Target { description, namesrvs, demo: None, chaos, chaos_scenario, tls, thresholds, stages, burst });
    }
    let scenario_name = args.scenario.as_deref().unwrap_or(default_scenario);
    let scenario = Scenario::load(scenario_name).map_err(|e| StartError::config(e.to_string()))?;
    // `--demo --tls`: the embedded cluster serves TLS with a certificate made now, which this
    // client trusts (besides any --tls-ca).
    let (server_tls, tls) = match args.tls.enabled() {
        false => (None, None),
        true => {
            let server = crate::remoting::tls::TlsServer::self_signed(&[]).map_err(StartError::start)?;
            let client = crate::remoting::tls::TlsClient::new(&crate::remoting::tls::TlsOptions {
                ca: args.tls.tls_ca.clone(),
                cert: args.tls.tls_cert.clone(),
                key: args.tls.tls_key.clone(),
                insecure: args.tls.tls_insecure,
                extra_roots: vec![server.cert_der.clone()],
            })
            .map_err(StartError::config)?;
            (Some(server), Some(client))
        }
    };
    let cluster = DemoCluster::start(ClusterConfig {
        brokers: args.brokers as usize,
        tls: server_tls,
        ..ClusterConfig::default()
    })
    .await
    .map_err(|e| StartError::start(format!("cannot start the demo cluster: {e}")))?;
    cluster.check_scenario(&scenario).map_err(|e| StartError::config(format!("scenario {}: {e}", scenario.name)))?;
    let description = format!(
        "demo cluster ({} brokers, scenario {}{})",
        args.brokers,
        scenario.name,
        if tls.is_some() { ", TLS" } else { "" }
    );
    let (thresholds, stages, burst) = (scenario.thresholds.clone(), scenario.stages.clone(), scenario.burst);
    cluster.run_scenario(scenario).map_err(|e| StartError::config(e.to_string()))?;
    Ok(Target {
        namesrvs: vec![cluster.namesrv_addr().to_string()],
        demo: Some(cluster),
        description,
        chaos: None,
        chaos_scenario: None,
        tls,
        thresholds,
        stages,
        burst,
    })
}

pub fn producer_config(args: &ProducerArgs, target: &Target) -> ProducerConfig {
    let namesrvs = target.namesrvs.clone();
    ProducerConfig {
        addr_map: target
            .chaos
            .clone()
            .map(|c| std::sync::Arc::new(c) as std::sync::Arc<dyn crate::remoting::addr_map::AddrMap>),
        namesrvs,
        group: args.group.clone(),
        timeout: Duration::from_millis(args.timeout_ms),
        attempt_timeout: args.attempt_timeout_ms.map(Duration::from_millis),
        retries: args.retries,
        fault_table: args.fault_table.unwrap_or(args.java.fault_table()),
        java: args.java,
        go_away_reconnect: !args.no_go_away_reconnect,
        namespace: args.namespace.clone(),
        tls: target.tls.clone(),
        transaction_check: args.transaction_check,
        compression: crate::protocol::compress::Compression {
            kind: args.compress,
            level: args.compress_level,
            ..Default::default()
        },
        sender: crate::producer::SenderLimits {
            threads: args.sender_threads.map_or(crate::producer::SenderLimits::java().threads, |n| n as usize),
            queue: args.sender_queue as usize,
            permits: args.async_permits as usize,
        },
        fault_avoidance: !args.no_fault_avoidance,
        route_refresh: Duration::from_millis(args.route_refresh_ms),
        acl: match (&args.access_key, &args.secret_key) {
            (Some(ak), Some(sk)) => Some(crate::remoting::AclCredentials::new(ak.clone(), sk.expose())),
            _ => None,
        },
        ..ProducerConfig::default()
    }
}

/// The load settings of `args` (and of the scenario's `[[stage]]`/`[burst]`, which the command
/// line's replace): `default_rate` when no --rate is given (`max`: none), the open model when
/// there is a schedule unless --load-model says closed.
pub fn load_settings(
    args: &ProducerArgs,
    target: &Target,
    default_rate: Option<f64>,
) -> Result<LoadSettings, StartError> {
    use crate::producer::schedule::LoadModel;
    use crate::producer::shape::{Burst, Shape};
    let stages = args.stages.as_ref().map_or_else(|| target.stages.clone(), |s| s.0.clone());
    let burst = match (args.burst, args.burst_every) {
        (Some(size), Some(every)) => Some(Burst { size, every }),
        _ => target.burst,
    };
    let shaped = !stages.is_empty() || burst.is_some();
    // A shape starts from --rate (else 0); a plain run takes the default rate.
    let rate = if shaped { args.rate } else { args.rate.or(default_rate) }.filter(|r| r.is_finite());
    let shape = shaped.then(|| std::sync::Arc::new(Shape { start_rate: rate.unwrap_or(0.0), stages, burst }));
    let model = match (args.load_model, rate.is_some() || shaped) {
        (Some(LoadModel::Open), false) => {
            return Err(StartError::config(
                "--load-model open: give --rate N (the open model keeps a schedule; without a rate there is none)",
            ))
        }
        (Some(m), _) => m,
        (None, true) => LoadModel::Open,
        (None, false) => LoadModel::Closed,
    };
    Ok(LoadSettings { rate, concurrency: args.concurrency as usize, paused: false, model, shape })
}

/// What the sends carry, from the command line and `--input`; files are read (and every input
/// line checked) here, before anything is sent.
pub fn content(args: &ProducerArgs) -> Result<Content, StartError> {
    if args.compress == crate::protocol::compress::CompressionType::Zlib && args.compress_level > 9 {
        return Err(StartError::config(format!("--compress-level {}: zlib's levels are 0-9", args.compress_level)));
    }
    use crate::content::{input, template::Template, Body, Delay, MessageSpec};
    let tpl = |what: &str, s: &str| Template::parse(s).map_err(|e| StartError::config(format!("{what}: {e}")));
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => Body::text(tpl("--body", text)?),
        (None, Some(path)) => {
            let bytes = read_file_or_stdin(path)
                .map_err(|e| StartError::config(format!("--body-file {}: {e}", path.display())))?;
            if bytes.is_empty() {
                return Err(StartError::config(format!(
                    "--body-file {}: empty (a body is at least 1 byte)",
                    path.display()
                )));
            }
            Body::Bytes(bytes.into())
        }
        (None, None) => Body::synthetic(args.size as usize),
    };
    let keys = match &args.keys {
        Some(k) => Some(k.split_whitespace().map(|k| tpl("--keys", k)).collect::<Result<Vec<_>, _>>()?),
        None => None,
    };
    let props = args
        .props
        .iter()
        .map(|(k, v)| Ok((k.clone(), tpl(&format!("--prop {k}"), v)?)))
        .collect::<Result<Vec<_>, StartError>>()?;
    let delay = match (args.delay_level, args.delay_ms, args.deliver_at) {
        (Some(l), _, _) => Some(Delay::Level(l)),
        (_, Some(ms), _) => Some(Delay::DelayMs(ms as i64)),
        (_, _, Some(at)) => Some(Delay::DeliverAtMs(at)),
        _ => None,
    };
    let sharding_key = match &args.sharding_key {
        Some(k) if k.is_empty() => return Err(StartError::config("--sharding-key: empty (a key chooses the queue)")),
        Some(k) => Some(tpl("--sharding-key", k)?),
        None => None,
    };
    let defaults = MessageSpec {
        topic: Some(args.topic.clone()),
        tag: args.tag.clone(),
        keys,
        props,
        body: Some(body),
        delay,
        sharding_key,
        transaction: args.transaction,
    };
    let lines = match &args.input {
        None => Vec::new(),
        Some(path) => {
            let name = path.display().to_string();
            let bytes = read_file_or_stdin(path).map_err(|e| StartError::config(format!("--input {name}: {e}")))?;
            input::read(&bytes[..], &format!("--input {name}")).map_err(StartError::config)?
        }
    };
    let mut c = Content::new(defaults, lines, args.batch as usize).map_err(StartError::config)?;
    c.oneway = args.oneway;
    if c.oneway && c.has_transactions() {
        return Err(StartError::config("--oneway: a transactional send is sent sync, not oneway"));
    }
    Ok(c)
}

fn read_file_or_stdin(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
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
    let content = content(&args.producer)?;
    // The topic sends go to (the first of --input's when its lines all name their own).
    let topic = content.topics()[0].to_string();
    let target = target(&args.producer, "healthy").await?;
    let producer = Producer::new(producer_config(&args.producer, &target));
    let producer_started = Instant::now();
    let route = producer.lookup(&topic).await.map_err(|e| StartError::start(format!("cannot start: {e}")))?;
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
                topic,
                lines.join("; ")
            )));
        }
        eprintln!(
            "mqtui: warning: some brokers of topic {} are not reachable from here: {}; {hint}",
            topic,
            lines.join("; ")
        );
    }

    let settings = load_settings(&args.producer, &target, None)?;
    let run_info = run_info(&args.producer, &target, &producer, &settings, content.topics().join(","));
    // A run with stages lasts as long as they do, unless told otherwise.
    let staged = settings.shape.as_ref().map(|s| s.length()).filter(|d| !d.is_zero());
    let duration = args.duration.map(Duration::from_secs_f64).or(staged.filter(|_| args.count.is_none()));
    let stop = StopAfter { count: args.count.or(if duration.is_none() { Some(1000) } else { None }), duration };
    let (_settings_tx, settings_rx) = watch::channel(settings.clone());
    // Operator warnings (a name server gone, a route kept from cache) go to stderr as they come.
    let mut warnings = producer.subscribe_warnings();
    let warn_task = tokio::spawn(async move {
        while let Ok(w) = warnings.recv().await {
            eprintln!("mqtui: warning: {w}");
        }
    });
    let (tx, mut rx) = mpsc::channel(args.producer.concurrency as usize * 2 + 64);
    if args.start_delay_ms > 0 {
        tokio::time::sleep_until(producer_started + Duration::from_millis(args.start_delay_ms)).await;
    }
    let started = Instant::now();
    let status = std::sync::Arc::new(load::LoadStatus::default());
    let thresholds: Vec<_> = args.thresholds.iter().chain(&target.thresholds).cloned().collect();
    // Stops the driver: the caller's cancel (Ctrl-C), or --abort-on-fail.
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = std::sync::Arc::new(stop_tx);
    {
        let (mut cancel, stop_tx) = (cancel, stop_tx.clone());
        tokio::spawn(async move {
            while !*cancel.borrow_and_update() {
                if cancel.changed().await.is_err() {
                    return;
                }
            }
            let _ = stop_tx.send(true);
        });
    }
    let mut aborted_by: Option<String> = None;
    let recorder = start_recorder(
        &args.producer,
        run_info.clone(),
        started,
        chrono::Local::now(),
        &target,
        &producer,
        settings_rx.clone(),
        Some(&route),
    )?;
    let driver =
        tokio::spawn(load::run(producer.clone(), content, settings_rx, stop, stop_rx, Some(tx), status.clone()));

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
    // JSON lines reach a reader as they happen: a chunk is written when it is full or 100 ms old.
    let mut flush = tokio::time::interval(Duration::from_millis(100));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let jsonl = args.output == Output::Jsonl;
    // --every: the interval's own aggregates, and its clock (json output is the summary alone).
    let every = args.every.filter(|_| args.output != Output::Json);
    let mut part = RunStats::new(started);
    let mut ticks = every.map(|d| tokio::time::interval_at(started + d, d));
    loop {
        let next = tokio::select! {
            o = rx.recv() => o,
            _ = flush.tick(), if jsonl => {
                if !buf.is_empty() && !out.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 16))).await {
                    tracing::warn!("cannot write to stdout");
                    break;
                }
                continue;
            }
            _ = async { ticks.as_mut().expect("guarded").tick().await }, if ticks.is_some() => {
                let now = Instant::now();
                let line = crate::report::interval::IntervalLine::new(&part, &stats, now);
                let written = if jsonl {
                    serde_json::to_writer(&mut buf, &line).map_err(std::io::Error::from).and_then(|_| buf.write_all(b"\n"))
                } else {
                    line.write_text(&mut buf)
                };
                if written.is_err() || !out.send(std::mem::replace(&mut buf, Vec::with_capacity(1 << 16))).await {
                    tracing::warn!("cannot write to stdout");
                    break;
                }
                crate::report::interval::restart(&mut part, &stats, now);
                continue;
            }
        };
        let Some(o) = next else { break };
        stats.record(&o);
        if every.is_some() {
            part.record(&o);
        }
        last_end = last_end.max(o.started + o.latency);
        if args.abort_on_fail && aborted_by.is_none() {
            let elapsed = started.elapsed();
            if let Some(t) = thresholds.iter().find(|t| t.broken_for_good() && !t.check(&stats, elapsed).ok) {
                aborted_by = Some(t.expr.clone());
                let _ = stop_tx.send(true);
            }
        }
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
    // Unknown transactions: stay up (connections, heartbeats) to answer the brokers' check-backs.
    if stats.tx_unknown > 0 {
        let wait = Duration::from_millis(args.producer.transaction_wait_ms.unwrap_or(15_000));
        let until = Instant::now() + wait;
        while producer.counters().check_backs < stats.tx_unknown && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    warn_task.abort();
    // UNREGISTER_CLIENT, as DefaultMQProducer.shutdown() (the API timeout bounds it).
    producer.shutdown().await;
    if progress {
        eprint!("\r\x1b[2K");
    }
    let elapsed = last_end.saturating_duration_since(started);
    let mut summary = Summary::new(&stats, elapsed, last_end, producer.name_server_lookups(), run_info);
    summary.not_started = status.not_started();
    summary.thresholds = thresholds.iter().map(|t| t.check(&stats, elapsed)).collect();
    summary.aborted_by = aborted_by;
    if let Some(t) = &mut summary.transactions {
        t.check_backs = producer.counters().check_backs;
        t.check_answer = producer.config().transaction_check.java_name();
    }
    if let Some(r) = recorder {
        let end = crate::record::writer::EndInfo {
            elapsed,
            not_started: summary.not_started,
            name_server_lookups: summary.name_server_lookups,
            aborted_by: summary.aborted_by.clone(),
        };
        if let Err(e) = r.finish(end).await {
            eprintln!("mqtui: error: the recording is incomplete: {e}");
        }
    }
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
    Ok(if summary.thresholds.iter().any(|t| !t.ok) {
        EXIT_THRESHOLD
    } else if summary.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
