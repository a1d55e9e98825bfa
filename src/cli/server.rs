//! What mqtui's own servers (the demo cluster's name server and brokers, the `--chaos` proxies)
//! let a client hold.

use clap::Args;

use crate::remoting::limits::ServerLimits;

/// Bounds of the servers mqtui runs: `mqtui cluster`, the embedded demo cluster and the
/// `--chaos` proxies.
#[derive(Debug, Clone, Copy, Args)]
pub struct ServerLimitArgs {
    /// Connections each of mqtui's servers (the demo cluster's name server and brokers, the
    /// --chaos proxies) holds at once; one more is closed when accepted.
    #[arg(long, env = "MQTUI_MAX_CONNECTIONS", default_value_t = ServerLimits::DEFAULT_MAX_CONNECTIONS,
          value_parser = parse_max_connections)]
    pub max_connections: usize,
    /// Those servers close a connection whose frame has not come whole this long after its first
    /// bytes.
    #[arg(long, env = "MQTUI_FRAME_TIMEOUT_MS", default_value_t = ServerLimits::DEFAULT_FRAME_TIMEOUT.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub frame_timeout_ms: u64,
    /// Those servers close a connection that brings no request for this long (the Java broker's
    /// serverChannelMaxIdleTimeSeconds, 120).
    #[arg(long, env = "MQTUI_IDLE_TIMEOUT_S", default_value_t = ServerLimits::DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_s: u64,
}

fn parse_max_connections(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?}: 1 to 100000")),
    }
}

impl ServerLimitArgs {
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            max_connections: self.max_connections,
            frame_timeout: std::time::Duration::from_millis(self.frame_timeout_ms),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_s),
        }
    }
}
