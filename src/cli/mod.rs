//! Command line: `mqtui [cluster …]`. Flags also come from the environment (`MQTUI_*`).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

mod config;
mod offline;
mod server;
pub use config::{command_with_config, config_path, parse};
pub use offline::{CompareArgs, ReplayArgs, ReportArgs, ReportFormat};
pub use server::ServerLimitArgs;

#[derive(Debug, Parser)]
#[command(
    name = "mqtui",
    version,
    about = "A terminal producer console for Apache RocketMQ",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Log level for the log file (error, warn, info, debug, trace).
    #[arg(long, global = true, env = "MQTUI_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// The console's settings (used when no subcommand is given).
    #[command(flatten)]
    pub console: ConsoleArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `mqtui` with no subcommand: the console.
#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub producer: ProducerArgs,
    /// Colour theme: dark, light, high-contrast, or a TOML file (NO_COLOR turns colour off).
    #[arg(long, env = "MQTUI_THEME", default_value = "dark")]
    pub theme: String,
    /// Redraws per second at most.
    #[arg(long, env = "MQTUI_FPS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
    /// A pass/fail criterion, repeatable, as `mqtui produce --threshold`: the header shows how
    /// they stand; quitting prints each verdict and exits 4 when one fails.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = crate::stats::threshold::Threshold::parse)]
    pub thresholds: Vec<crate::stats::threshold::Threshold>,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded demo cluster (a name server and brokers on loopback) in the foreground.
    Cluster(ClusterArgs),
    /// Send messages headless and report: a summary table, the summary as JSON, or JSON lines.
    Produce(ProduceArgs),
    /// Print the cluster (brokers, addresses) and a topic's route (queues, perm) as the name server has them.
    Route(RouteArgs),
    /// Topic administration.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Re-report recorded runs (--record) offline: summary, per-broker latency and isolations,
    /// latency histogram, isolation timeline.
    Report(ReportArgs),
    /// Compare two recorded runs: throughput, latency, failures, retries, behind schedule;
    /// exit 4 when NEW is worse than --max-regression allows.
    Compare(CompareArgs),
    /// Open the console on a recording (--record): pause, speed ×1/×10/×100, seek.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Name servers, `host:port;host:port`.
    #[arg(long, env = "MQTUI_NAMESRV", value_parser = parse_namesrv)]
    pub namesrv: String,
    /// The topic whose route to print.
    #[arg(long, env = "MQTUI_TOPIC", default_value = "MqtuiTopic")]
    pub topic: String,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create (or update) a topic on the master of every broker of a cluster, as
    /// `mqadmin updateTopic -c CLUSTER` does (UPDATE_AND_CREATE_TOPIC to each).
    Create(TopicCreateArgs),
}

#[derive(Debug, Args)]
pub struct TopicCreateArgs {
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Name servers, `host:port;host:port`.
    #[arg(long, env = "MQTUI_NAMESRV", value_parser = parse_namesrv)]
    pub namesrv: String,
    #[arg(long, env = "MQTUI_TOPIC")]
    pub topic: String,
    /// Only the brokers of this cluster (default: every broker the name server knows).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Read and write queues on each broker.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(i32).range(1..=1024))]
    pub queues: i32,
    /// Permission bits: 6 read+write, 4 read only, 2 write only.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(i32).range(0..=15))]
    pub perm: i32,
    /// ACL 1.0 access key (with --secret-key), for brokers that require signed requests.
    #[arg(long, env = "MQTUI_ACCESS_KEY", requires = "secret_key")]
    pub access_key: Option<String>,
    /// ACL 1.0 secret key.
    #[arg(long, env = "MQTUI_SECRET_KEY", requires = "access_key", hide_env_values = true, value_parser = parse_secret)]
    pub secret_key: Option<crate::remoting::acl::Secret>,
}

impl TopicCreateArgs {
    pub fn acl(&self) -> Option<crate::remoting::AclCredentials> {
        match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => Some(crate::remoting::AclCredentials::new(ak.clone(), sk.expose())),
            _ => None,
        }
    }
}

/// Output of `mqtui produce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A readable table (progress on stderr when it is a terminal).
    Summary,
    /// The summary object alone.
    Json,
    /// One JSON object per line: attempt, fault, result; the last line is the summary.
    Jsonl,
}

/// TLS on the client's connections.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// TLS on every connection to name servers and brokers (servers run with
    /// tls.server.mode=enforcing). Implied by the other --tls-* flags.
    #[arg(long, env = "MQTUI_TLS")]
    pub tls: bool,
    /// The CA (or the server's own certificate) to trust, PEM.
    #[arg(long, env = "MQTUI_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// A client certificate (PEM), for servers that ask for one (mutual TLS); with --tls-key.
    #[arg(long, env = "MQTUI_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "MQTUI_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Trust any server certificate, as the Java client does by default
    /// (tls.client.authServer=false).
    #[arg(long, env = "MQTUI_TLS_INSECURE")]
    pub tls_insecure: bool,
}

impl TlsArgs {
    /// The TLS client these flags ask for, or None when TLS is off.
    /// Whether TLS is asked for (`--tls` or any other `--tls-*` flag).
    pub fn enabled(&self) -> bool {
        self.tls || self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_insecure
    }

    pub fn client(&self) -> Result<Option<crate::remoting::tls::TlsClient>, String> {
        if !self.enabled() {
            return Ok(None);
        }
        crate::remoting::tls::TlsClient::new(&crate::remoting::tls::TlsOptions {
            ca: self.tls_ca.clone(),
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            insecure: self.tls_insecure,
            extra_roots: Vec::new(),
        })
        .map(Some)
    }
}

/// Producer settings shared by the console and `mqtui produce`.
#[derive(Debug, Clone, Args)]
pub struct ProducerArgs {
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub server: ServerLimitArgs,
    /// Name servers of a real cluster, `host:port;host:port`.
    #[arg(long, env = "MQTUI_NAMESRV", conflicts_with = "demo", value_parser = parse_namesrv)]
    pub namesrv: Option<String>,
    /// Run against the embedded demo cluster (the default when no --namesrv is given).
    #[arg(long, env = "MQTUI_DEMO")]
    pub demo: bool,
    /// Brokers of the demo cluster.
    #[arg(long, env = "MQTUI_BROKERS", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=26))]
    pub brokers: u8,
    /// Demo cluster scenario: healthy, slow-broker, broker-down, hang, busy, flapping, demo, or a TOML file.
    #[arg(long, env = "MQTUI_SCENARIO")]
    pub scenario: Option<String>,
    /// Write the run's whole event stream to FILE (JSON lines, schema 1; zstd when it ends in
    /// .zst): sends with their attempts, fault windows, routes, injected faults, setting
    /// changes, warnings. Read it with `mqtui report`, `mqtui compare`, `mqtui replay`.
    #[arg(long, env = "MQTUI_RECORD", value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Topic to send to.
    #[arg(long, env = "MQTUI_TOPIC", default_value = "MqtuiTopic")]
    pub topic: String,
    /// Producer group.
    #[arg(long, env = "MQTUI_GROUP", default_value = "mqtui_producer_group", value_parser = parse_group)]
    pub group: String,
    /// Messages per second, or `max` (produce: max by default; console: 200).
    #[arg(long, env = "MQTUI_RATE", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Where latency counts from under --rate: open (the default with a rate: from each send's
    /// slot on the schedule, the time the in-flight limit held it back included; the schedule
    /// never restarts by itself) or closed (from each send's real start; a schedule fallen
    /// behind restarts from now).
    #[arg(long, env = "MQTUI_LOAD_MODEL", value_parser = crate::producer::schedule::LoadModel::parse)]
    pub load_model: Option<crate::producer::schedule::LoadModel>,
    /// A rate that changes over the run: DURATION:RATE stages, each ramping linearly from the
    /// rate before it (--rate, else 0) to its own, as 10s:100,30s:2000,10s:0. The run lasts
    /// the stages' total unless --duration or --count say otherwise.
    #[arg(long, env = "MQTUI_STAGES", value_name = "STAGES", value_parser = crate::producer::shape::Stages::parse)]
    pub stages: Option<crate::producer::shape::Stages>,
    /// N sends due at once every --burst-every, on top of the rate (alone: bursts only).
    #[arg(long, env = "MQTUI_BURST", value_name = "N", requires = "burst_every", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub burst: Option<u64>,
    /// How often a --burst comes (5s, 500ms, 1m); the first one after that long.
    #[arg(long, env = "MQTUI_BURST_EVERY", value_name = "DURATION", requires = "burst", value_parser = parse_burst_every)]
    pub burst_every: Option<std::time::Duration>,
    /// Sends in flight at most.
    #[arg(long, env = "MQTUI_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub concurrency: u32,
    /// How bodies of 4096 bytes and more are compressed: zlib (Java's default), zstd or lz4
    /// (compressType; the sys flag says which).
    #[arg(long, env = "MQTUI_COMPRESS", default_value = "zlib", value_parser = crate::protocol::compress::CompressionType::parse)]
    pub compress: crate::protocol::compress::CompressionType,
    /// compressLevel: zlib 0-9, zstd 1-22 (lz4: not used).
    #[arg(long, env = "MQTUI_COMPRESS_LEVEL", default_value_t = 5, value_parser = clap::value_parser!(i32).range(0..=22))]
    pub compress_level: i32,
    /// Body size in bytes (4096 and more are compressed, as the Java client does: --compress).
    #[arg(long, env = "MQTUI_SIZE", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4_194_304))]
    pub size: u32,
    /// The 5.x client's namespace: topics and the producer group travel as NS%name (shown
    /// without it).
    #[arg(long, env = "MQTUI_NAMESPACE", value_parser = parse_namespace)]
    pub namespace: Option<String>,
    /// Send oneway (sendOneway): written with the oneway flag, no reply awaited, one attempt;
    /// counted apart, as nothing can be known of them.
    #[arg(long, env = "MQTUI_ONEWAY", conflicts_with = "batch")]
    pub oneway: bool,
    /// Ordered sends: the queue is chosen by this key's hash as Java's SelectMessageQueueByHash
    /// does ({{seq}}, {{rand:N}}, … allowed: `order-{{rand:16}}`), the key goes as
    /// __SHARDINGKEY, and a failed attempt is retried on that queue only, never moved.
    #[arg(long, env = "MQTUI_SHARDING_KEY", conflicts_with = "batch", value_name = "TEMPLATE", value_parser = property_value)]
    pub sharding_key: Option<String>,
    /// Transactional sends (TransactionMQProducer): each a sync half message, then
    /// END_TRANSACTION with the local state: commit, rollback, unknown (the broker checks back),
    /// or mix:C,R,U (of every C+R+U messages, C commit, R roll back, U stay unknown).
    #[arg(long, env = "MQTUI_TRANSACTION", value_parser = parse_transaction, conflicts_with_all = ["batch", "oneway", "sharding_key"], value_name = "MODE")]
    pub transaction: Option<crate::content::TxMix>,
    /// What mqtui answers a broker's check-back with (checkLocalTransaction): commit, rollback
    /// or unknown (checked again, up to 15 times).
    #[arg(long, env = "MQTUI_TRANSACTION_CHECK", default_value = "commit", value_parser = parse_local_state)]
    pub transaction_check: crate::protocol::transaction::LocalState,
    /// After the last send, how long to stay up answering check-backs for unknown transactions
    /// (ends sooner once each has been checked back). Default: 15000 when some are unknown.
    #[arg(long, env = "MQTUI_TRANSACTION_WAIT_MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub transaction_wait_ms: Option<u64>,
    /// Messages per send: above 1, each send is one SEND_BATCH_MESSAGE of this many.
    #[arg(long, env = "MQTUI_BATCH", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub batch: u32,
    /// Message tag.
    #[arg(long, env = "MQTUI_TAG", value_parser = property_value)]
    pub tag: Option<String>,
    /// Message keys, space separated (placeholders: {{seq}}, {{uuid}}, {{now_ms}}, {{rand:N}}).
    #[arg(long, env = "MQTUI_KEYS", value_parser = property_value)]
    pub keys: Option<String>,
    /// The body, as text; placeholders {{seq}} (the message's number, from 1), {{uuid}},
    /// {{now_ms}}, {{rand:N}} are filled in per message.
    #[arg(long, env = "MQTUI_BODY", conflicts_with_all = ["body_file", "size"])]
    pub body: Option<String>,
    /// The body, the bytes of a file as they are (`-`: standard input).
    #[arg(long, env = "MQTUI_BODY_FILE", value_name = "PATH", conflicts_with = "size")]
    pub body_file: Option<std::path::PathBuf>,
    /// Messages from a file (`-`: standard input), one JSON object per line: topic, tag, keys,
    /// props, body or body_base64, delay_level, deliver_at_ms or delay_ms; a missing field
    /// takes the command line's. Sent in order; --count and --duration loop over them.
    #[arg(long, env = "MQTUI_INPUT", value_name = "FILE")]
    pub input: Option<std::path::PathBuf>,
    /// Delivered after the broker's delay level 1-18 (1s 5s 10s 30s 1m 2m … 2h; property DELAY).
    #[arg(long, env = "MQTUI_DELAY_LEVEL", value_parser = clap::value_parser!(u8).range(1..=18), conflicts_with_all = ["delay_ms", "deliver_at"])]
    pub delay_level: Option<u8>,
    /// Delivered N ms after it is stored (5.x timer: TIMER_DELAY_MS).
    #[arg(long, env = "MQTUI_DELAY_MS", value_parser = clap::value_parser!(u64).range(1..=crate::bounds::MAX_DELAY_MS), conflicts_with = "deliver_at")]
    pub delay_ms: Option<u64>,
    /// Delivered at this time (5.x timer: TIMER_DELIVER_MS): Unix ms, or RFC 3339
    /// (2026-12-02T10:00:00Z).
    #[arg(long, env = "MQTUI_DELIVER_AT", value_parser = parse_deliver_at)]
    pub deliver_at: Option<i64>,
    /// A user property `KEY=VALUE` on every message (repeatable); system names (UNIQ_KEY, KEYS,
    /// DELAY, ...) are refused as the Java client refuses them.
    #[arg(long = "prop", value_name = "KEY=VALUE", value_parser = parse_prop)]
    pub props: Vec<(String, String)>,
    /// The whole budget of one send, retries included (sendMsgTimeout).
    #[arg(long, env = "MQTUI_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// Cap each attempt at min(N, time left), so that a retry still fits (beyond the Java client; off: faithful).
    #[arg(long, env = "MQTUI_ATTEMPT_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub attempt_timeout_ms: Option<u64>,
    /// Retries after a failed attempt (retryTimesWhenSendAsyncFailed).
    #[arg(long, env = "MQTUI_RETRIES", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=16))]
    pub retries: u32,
    /// The Java client whose async send path to reproduce: 4.9.8, 5.1.4 or 5.3.3 (timeouts,
    /// retries, connect and close failures, GO_AWAY, fault table, wording).
    #[arg(long, env = "MQTUI_JAVA", default_value = "5.3.3", value_parser = crate::producer::JavaVersion::parse)]
    pub java: crate::producer::JavaVersion,
    /// Latency fault tolerance of the Java client 5.x (2 s … 30 s windows) or 4.x (30 s … 10 min);
    /// default: the table of --java.
    #[arg(long, env = "MQTUI_FAULT_TABLE", value_parser = parse_fault_table)]
    pub fault_table: Option<crate::producer::FaultTable>,
    /// Turn off the 5.3 client's reconnect-and-resend on GO_AWAY (enableReconnectForGoAway=false).
    #[arg(long, env = "MQTUI_NO_GO_AWAY_RECONNECT")]
    pub no_go_away_reconnect: bool,
    /// Threads of the async sender executor, which runs each send up to its write (Java:
    /// availableProcessors; default: this machine's).
    #[arg(long, env = "MQTUI_SENDER_THREADS", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub sender_threads: Option<u32>,
    /// Sends that may wait for an executor thread; one more is refused, "executor rejected "
    /// (Java's LinkedBlockingQueue of 50000).
    #[arg(long, env = "MQTUI_SENDER_QUEUE", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    pub sender_queue: u32,
    /// Async requests in flight at most; a send waits for one until its time is up
    /// (clientAsyncSemaphoreValue, 65535).
    #[arg(long, env = "MQTUI_ASYNC_PERMITS", default_value_t = 65_535, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub async_permits: u32,
    /// Turn latency fault avoidance off (the Java client's default).
    #[arg(long, env = "MQTUI_NO_FAULT_AVOIDANCE")]
    pub no_fault_avoidance: bool,
    /// Fault injection on a real cluster without touching it: a proxy in front of each broker
    /// (the console's fault keys and --scenario act on it).
    #[arg(long, env = "MQTUI_CHAOS")]
    pub chaos: bool,
    /// ACL 1.0 access key (with --secret-key): every request is signed.
    #[arg(long, env = "MQTUI_ACCESS_KEY", requires = "secret_key")]
    pub access_key: Option<String>,
    /// ACL 1.0 secret key (never printed or logged).
    #[arg(long, env = "MQTUI_SECRET_KEY", requires = "access_key", hide_env_values = true, value_parser = parse_secret)]
    pub secret_key: Option<crate::remoting::acl::Secret>,
    /// How often routes are looked up again (pollNameServerInterval).
    #[arg(long, env = "MQTUI_ROUTE_REFRESH_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub route_refresh_ms: u64,
}

/// `host:port`, several separated by `;` (or `,`), as the Java client's `namesrvAddr`.
fn parse_namespace(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?}: a namespace is 1-64 letters, digits, '_' or '-'"))
    }
}

fn parse_deliver_at(s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return parse_deliver_at_ms(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("{s:?}: Unix ms or RFC 3339 (2026-12-02T10:00:00Z): {e}"))
        .and_then(parse_deliver_at_ms)
}

/// A producer group as the Java client's `Validators.checkGroup` takes it (5.3.3): not blank,
/// at most 120 characters of `[%|a-zA-Z0-9_-]` (it travels in headers and, for transactions, in
/// the PGROUP property).
fn parse_group(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("the specified group is blank".into());
    }
    if s.len() > 120 {
        return Err(format!("the group is {} characters, more than 120", s.len()));
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"%|_-".contains(&b)) {
        return Err("the group contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$".into());
    }
    Ok(s.to_string())
}

/// A value that lands in the properties string: no separator in it.
fn property_value(s: &str) -> Result<String, String> {
    crate::protocol::properties::check_value("the value", s)?;
    Ok(s.to_string())
}

fn parse_prop(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    crate::protocol::properties::check_user_property(k, v)?;
    Ok((k.to_string(), v.to_string()))
}

fn parse_namesrv(s: &str) -> Result<String, String> {
    let addrs = crate::producer::parse_namesrvs(s);
    if addrs.is_empty() {
        return Err("no address: give host:port[;host:port…]".into());
    }
    for a in &addrs {
        let bad = || format!("{a:?} is not host:port (several: host:port;host:port)");
        let (host, port) = a.rsplit_once(':').ok_or_else(bad)?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.is_empty() || host.contains(char::is_whitespace) || (host.contains(':') && !a.starts_with('[')) {
            return Err(bad());
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(format!("{a:?}: the port must be 1-65535")),
        }
    }
    Ok(s.to_string())
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number > 0")),
    }
}

fn parse_deliver_at_ms(ms: i64) -> Result<i64, String> {
    // Up to the year 9999: a date a broker can store and print.
    if ms > 0 && ms < crate::bounds::MAX_DELIVER_AT_MS {
        Ok(ms)
    } else {
        Err("a time after 1970 and before the year 10000".into())
    }
}

fn parse_burst_every(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::producer::shape::parse_duration(s)?;
    if d < std::time::Duration::from_millis(1) {
        return Err(format!("{s:?}: bursts come at least 1 ms apart"));
    }
    Ok(d)
}

/// A rate: a number > 0, or `max` (as fast as the in-flight limit allows).
fn parse_rate(s: &str) -> Result<f64, String> {
    if s.trim().eq_ignore_ascii_case("max") {
        return Ok(f64::INFINITY);
    }
    crate::bounds::rate(positive_f64(s)?, "--rate")
}

fn positive_secs(s: &str) -> Result<f64, String> {
    crate::bounds::secs(positive_f64(s)?, s).map(|d| d.as_secs_f64())
}

fn parse_fault_table(s: &str) -> Result<crate::producer::FaultTable, String> {
    crate::producer::FaultTable::parse(s).ok_or_else(|| format!("{s:?}: the fault table is 5x or 4x"))
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub producer: ProducerArgs,
    /// Messages to send (default 1000 unless --duration).
    #[arg(long, env = "MQTUI_COUNT", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Seconds to send for.
    #[arg(long, env = "MQTUI_DURATION", value_parser = positive_secs)]
    pub duration: Option<f64>,
    /// summary (a table), json (the summary object), jsonl (attempts, faults, results, summary).
    #[arg(long, env = "MQTUI_OUTPUT", value_enum, default_value_t = Output::Summary)]
    pub output: Output,
    /// Wait this long after the producer started (route looked up, first heartbeat at 1 s)
    /// before the first send: measure a producer that has been up a while, not a cold one.
    #[arg(long, env = "MQTUI_START_DELAY_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub start_delay_ms: u64,
    /// A pass/fail criterion, repeatable: p99<500ms, p999<2s, max<5s, failed=0, failed<0.1%,
    /// tps>10000, behind_schedule=0, retries<100, broker-a.p99<50ms. Exit 4 when one fails.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = crate::stats::threshold::Threshold::parse)]
    pub thresholds: Vec<crate::stats::threshold::Threshold>,
    /// Stop sending at the first threshold broken for good (an upper bound on failed, retries,
    /// behind_schedule or max); sends in flight still end.
    #[arg(long)]
    pub abort_on_fail: bool,
    /// Print a line per interval (10s, 500ms, 1m): throughput, p50/p99, failures, retries,
    /// behind schedule, each broker's state; in jsonl an "interval" line.
    #[arg(long, value_name = "DURATION", value_parser = crate::report::interval::parse_every)]
    pub every: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Number of brokers (broker-a, broker-b, …).
    #[arg(long, env = "MQTUI_BROKERS", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=26))]
    pub brokers: u8,
    /// Name server port (0: any free port).
    #[arg(long, env = "MQTUI_PORT", default_value_t = 9876)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "MQTUI_BIND", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// First broker port; broker i listens on BASE + i (default: any free ports).
    #[arg(long, env = "MQTUI_BROKER_PORT")]
    pub broker_port: Option<u16>,
    /// Write and read queues per broker for every topic.
    #[arg(long, env = "MQTUI_QUEUES", default_value_t = 4, value_parser = clap::value_parser!(i32).range(1..=1024))]
    pub queues: i32,
    /// A built-in scenario (healthy, slow-broker, broker-down, hang, busy, flapping, demo) or a TOML file.
    #[arg(long, env = "MQTUI_SCENARIO", default_value = "healthy")]
    pub scenario: String,
    /// Brokers require ACL 1.0 signatures with this `ACCESS_KEY:SECRET_KEY` (NO_PERMISSION otherwise).
    #[arg(long, env = "MQTUI_CLUSTER_ACL", value_parser = AclParser, hide_env_values = true)]
    pub acl: Option<crate::remoting::AclCredentials>,
    /// Serve TLS only (as tls.server.mode=enforcing), with a certificate made now for
    /// 127.0.0.1, localhost and --bind (written to --tls-cert-out for clients' --tls-ca), or the
    /// one given with --tls-cert / --tls-key.
    #[arg(long, env = "MQTUI_CLUSTER_TLS")]
    pub tls: bool,
    /// The certificate to serve (PEM), with --tls-key; implies --tls.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Where to write the certificate made for --tls (default: mqtui-cluster-cert.pem in the
    /// system's temp dir).
    #[arg(long, value_name = "FILE")]
    pub tls_cert_out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub server: ServerLimitArgs,
}

fn parse_secret(s: &str) -> Result<crate::remoting::acl::Secret, String> {
    Ok(crate::remoting::acl::Secret::new(s))
}

/// `ACCESS_KEY:SECRET_KEY`; an error does not repeat the value (clap's own would: a mistyped
/// secret is still a secret).
#[derive(Clone)]
struct AclParser;

impl clap::builder::TypedValueParser for AclParser {
    type Value = crate::remoting::AclCredentials;
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let flag = arg.and_then(|a| a.get_long()).unwrap_or("acl");
        value.to_str().and_then(crate::remoting::AclCredentials::parse_pair).ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("--{flag}: give the credentials as ACCESS_KEY:SECRET_KEY (the value given is not shown)\n"),
            )
            .with_cmd(cmd)
        })
    }
}

impl ClusterArgs {
    pub fn namesrv_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

fn parse_transaction(s: &str) -> Result<crate::content::TxMix, String> {
    crate::content::TxMix::parse(s)
}

fn parse_local_state(s: &str) -> Result<crate::protocol::transaction::LocalState, String> {
    crate::protocol::transaction::LocalState::parse(s).ok_or_else(|| format!("{s:?}: commit, rollback or unknown"))
}
