//! The producer's configuration: the Java client's settings, with mqtui's additions.

use std::sync::Arc;
use std::time::Duration;

use super::*;

/// How the producer behaves. Defaults are the Java client's, except fault avoidance (on: the
/// console exists to show it).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub namesrvs: Vec<String>,
    pub group: String,
    /// `sendMsgTimeout`: the whole budget of one send, retries included.
    pub timeout: Duration,
    /// Cap on each attempt (None: faithful, one attempt may use the whole budget).
    pub attempt_timeout: Option<Duration>,
    /// `retryTimesWhenSendAsyncFailed`.
    pub retries: u32,
    pub fault_table: FaultTable,
    /// `sendLatencyFaultEnable`.
    pub fault_avoidance: bool,
    /// `sendSmartMsg`: SEND_MESSAGE_V2 with short header keys.
    pub smart: bool,
    /// `mqClientApiTimeout`, for name server requests.
    pub api_timeout: Duration,
    /// `pollNameServerInterval`.
    pub route_refresh: Duration,
    /// Events buffered for slow subscribers before they see `Lagged`.
    pub event_capacity: usize,
    /// Where the round robin starts (reproducible tests and snapshots); None: random, as Java.
    pub queue_seed: Option<u32>,
    /// ACL 1.0 credentials: every request is signed (`AclClientRPCHook`).
    pub acl: Option<crate::remoting::AclCredentials>,
    /// Where to connect instead of a broker's address (the `--chaos` proxies).
    pub addr_map: Option<Arc<dyn crate::remoting::addr_map::AddrMap>>,
    /// The Java client version whose async send path to reproduce.
    pub java: JavaVersion,
    /// `enableReconnectForGoAway` (5.2+; default true).
    pub go_away_reconnect: bool,
    /// HEART_BEAT to every master, 1 s after start and every 30 s (the Java client always does).
    pub heartbeats: bool,
    /// The async sender executor and the async semaphore (Java's sizes by default).
    pub sender: SenderLimits,
    /// The 5.x client's namespace: topics and the group travel as `NS%name`.
    pub namespace: Option<String>,
    /// TLS on every connection (`useTLS`).
    pub tls: Option<crate::remoting::tls::TlsClient>,
    /// What `checkLocalTransaction` answers a broker's check-back with.
    pub transaction_check: crate::protocol::transaction::LocalState,
    /// `compressType`, `compressLevel`, `compressMsgBodyOverHowmuch` (zlib, 5, 4096).
    pub compression: crate::protocol::compress::Compression,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            namesrvs: vec!["127.0.0.1:9876".into()],
            group: "mqtui_producer_group".into(),
            timeout: Duration::from_millis(3000),
            attempt_timeout: None,
            retries: 2,
            fault_table: FaultTable::V5,
            fault_avoidance: true,
            smart: true,
            api_timeout: Duration::from_millis(3000),
            route_refresh: Duration::from_secs(30),
            event_capacity: 65_536,
            queue_seed: None,
            acl: None,
            addr_map: None,
            java: JavaVersion::default(),
            go_away_reconnect: true,
            heartbeats: true,
            sender: SenderLimits::java(),
            namespace: None,
            transaction_check: crate::protocol::transaction::LocalState::Commit,
            tls: None,
            compression: Default::default(),
        }
    }
}

/// Splits `a:9876;b:9876` (also commas) into addresses.
pub fn parse_namesrvs(s: &str) -> Vec<String> {
    s.split([';', ',']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect()
}
