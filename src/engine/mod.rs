//! What a run is made of, for every front end (the console, `mqtui produce`, the recorder):
//! where it sends (the demo cluster, name servers, `--chaos` proxies, each with its scenario),
//! the producer's configuration, the load settings and shape, what the messages carry, the
//! recorder, and the exit codes; [`run::Run`] puts them together. The front ends start a run
//! and only read its events.

pub mod run;

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::cli::ProducerArgs;
use crate::cluster::{ClusterConfig, DemoCluster, Scenario};
use crate::content::Content;
use crate::producer::load::LoadSettings;
use crate::producer::{parse_namesrvs, Producer, ProducerConfig};
use crate::report::RunInfo;

pub use crate::exit::{StartError, EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_START, EXIT_THRESHOLD};

/// The run's settings as the summary and a recording's first line echo them.
fn run_info(
    command: &str,
    args: &ProducerArgs,
    target: &Target,
    producer: &Producer,
    settings: &LoadSettings,
    topic: String,
) -> RunInfo {
    RunInfo {
        command: command.to_string(),
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
        thresholds: Vec::new(),
    }
}

/// Starts `--record`, if asked, reading `producer`'s events from now on; `origin` is the run's start.
#[allow(clippy::too_many_arguments)]
fn start_recorder(
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
fn injected_reader(target: &Target) -> Option<crate::record::writer::Injected> {
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
async fn target(args: &ProducerArgs, default_scenario: &str) -> Result<Target, StartError> {
    // Checked here, not by clap's `requires`: a name server from the config file is a flag's
    // default, which `requires` does not count.
    if args.chaos && (args.namesrv.is_none() || args.demo) {
        return Err(StartError::config("--chaos needs --namesrv: it proxies a real cluster's brokers"));
    }
    // --demo wins over a name server given as a default (the config file's).
    if let Some(ns) = args.namesrv.as_ref().filter(|_| !args.demo) {
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
        let chaos = args.chaos.then(|| crate::chaos::Chaos::with_tls(tls.clone()).with_limits(args.server.limits()));
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
        limits: args.server.limits(),
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

fn producer_config(args: &ProducerArgs, target: &Target) -> ProducerConfig {
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
fn load_settings(args: &ProducerArgs, target: &Target, default_rate: Option<f64>) -> Result<LoadSettings, StartError> {
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
fn content(args: &ProducerArgs) -> Result<Content, StartError> {
    if args.compress == crate::protocol::compress::CompressionType::Zlib && args.compress_level > 9 {
        return Err(StartError::config(format!("--compress-level {}: zlib's levels are 0-9", args.compress_level)));
    }
    use crate::content::{input, template::Template, Body, Delay, MessageSpec};
    let tpl = |what: &str, s: &str| Template::parse(s).map_err(|e| StartError::config(format!("{what}: {e}")));
    let body = match (&args.body, &args.body_file) {
        (Some(text), _) => Body::text(tpl("--body", text)?),
        (None, Some(path)) => {
            let bytes = crate::bounds::read_limited(path, crate::bounds::MAX_BODY_FILE, "--body-file")
                .map_err(StartError::config)?;
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
            let bytes = crate::bounds::read_limited(path, crate::bounds::MAX_INPUT_FILE, "--input")
                .map_err(StartError::config)?;
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

/// `--chaos`: proxies in front of the route's brokers, and the scenario on them.
async fn start_chaos(
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
async fn unreachable_brokers(route: &crate::producer::TopicPublishInfo) -> Vec<(String, String, String)> {
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
