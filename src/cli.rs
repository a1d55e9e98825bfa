//! Command line: `mqtui [cluster …]`. Flags also come from the environment (`MQTUI_*`).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "mqtui", version, about = "A terminal producer console for Apache RocketMQ")]
pub struct Cli {
    /// Log level for the log file (error, warn, info, debug, trace).
    #[arg(long, global = true, env = "MQTUI_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded demo cluster (a name server and brokers on loopback) in the foreground.
    Cluster(ClusterArgs),
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
