//! Command line: `mqtui [cluster …]`. Flags also come from the environment (`MQTUI_*`).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded demo cluster (a name server and brokers on loopback) in the foreground.
    Cluster(ClusterArgs),
    /// Send messages headless and report: a summary table, the summary as JSON, or JSON lines.
    Produce(ProduceArgs),
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

/// Producer settings shared by the console and `mqtui produce`.
#[derive(Debug, Clone, Args)]
pub struct ProducerArgs {
    /// Name servers of a real cluster, `host:port;host:port`.
    #[arg(long, env = "MQTUI_NAMESRV", conflicts_with = "demo")]
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
    /// Topic to send to.
    #[arg(long, env = "MQTUI_TOPIC", default_value = "MqtuiTopic")]
    pub topic: String,
    /// Producer group.
    #[arg(long, env = "MQTUI_GROUP", default_value = "mqtui_producer_group")]
    pub group: String,
    /// Messages per second (produce: as fast as --concurrency allows; console: 200).
    #[arg(long, env = "MQTUI_RATE", value_parser = positive_f64)]
    pub rate: Option<f64>,
    /// Sends in flight at most.
    #[arg(long, env = "MQTUI_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub concurrency: u32,
    /// Body size in bytes (4096 and more are zlib-compressed, as the Java client does).
    #[arg(long, env = "MQTUI_SIZE", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4_194_304))]
    pub size: u32,
    /// Message tag.
    #[arg(long, env = "MQTUI_TAG")]
    pub tag: Option<String>,
    /// Message keys, space separated.
    #[arg(long, env = "MQTUI_KEYS")]
    pub keys: Option<String>,
    /// The whole budget of one send, retries included (sendMsgTimeout).
    #[arg(long, env = "MQTUI_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// Cap each attempt at min(N, time left), so that a retry still fits (beyond the Java client; off: faithful).
    #[arg(long, env = "MQTUI_ATTEMPT_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub attempt_timeout_ms: Option<u64>,
    /// Retries after a failed attempt (retryTimesWhenSendAsyncFailed).
    #[arg(long, env = "MQTUI_RETRIES", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=16))]
    pub retries: u32,
    /// Latency fault tolerance of the Java client 5.x (2 s … 30 s windows) or 4.x (30 s … 10 min).
    #[arg(long, env = "MQTUI_FAULT_TABLE", default_value = "5x", value_parser = parse_fault_table)]
    pub fault_table: crate::producer::FaultTable,
    /// Turn latency fault avoidance off (the Java client's default).
    #[arg(long, env = "MQTUI_NO_FAULT_AVOIDANCE")]
    pub no_fault_avoidance: bool,
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number > 0")),
    }
}

fn positive_secs(s: &str) -> Result<f64, String> {
    positive_f64(s)
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
}

impl ClusterArgs {
    pub fn namesrv_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}
