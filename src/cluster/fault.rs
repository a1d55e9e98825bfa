//! Faults the demo cluster can inject, per broker and on the name server.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use crate::remoting::codes::response_code_label;
use crate::remoting::ResponseCode;

/// What a broker does wrong. All off by default; several may be on at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerFault {
    /// Added before every reply.
    pub latency: Duration,
    /// A random extra delay in `0..=jitter` on top of `latency`.
    pub jitter: Duration,
    /// Answer sends with this response code (SYSTEM_BUSY, SYSTEM_ERROR, …) and store nothing.
    pub error_code: Option<i32>,
    /// Store the message but answer with this non-OK status (FLUSH_DISK_TIMEOUT 10,
    /// SLAVE_NOT_AVAILABLE 11, FLUSH_SLAVE_TIMEOUT 12).
    pub store_status: Option<i32>,
    /// Read requests and never answer them.
    pub hang: bool,
    /// Close the connection when a send arrives.
    pub close_on_send: bool,
    /// Going away, as a 5.x broker or proxy that shuts down: every request on a connection made
    /// before this was set is answered GO_AWAY (1500, "please go away"); new connections are
    /// served. (A Java server sends it only to clients newer than 5.3.1; this one to all, so that
    /// each client version's handling shows.)
    pub go_away: bool,
    /// Stop listening and drop every connection.
    pub down: bool,
}

impl BrokerFault {
    pub fn is_healthy(&self) -> bool {
        *self == BrokerFault::default()
    }

    /// The delay to apply to one reply.
    pub fn delay(&self) -> Duration {
        if self.jitter.is_zero() {
            self.latency
        } else {
            let j = rand::random::<u64>() % (self.jitter.as_micros() as u64 + 1);
            self.latency + Duration::from_micros(j)
        }
    }
}

impl fmt::Display for BrokerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.down {
            parts.push("down".to_string());
        }
        if self.hang {
            parts.push("hang".to_string());
        }
        if self.close_on_send {
            parts.push("close on send".to_string());
        }
        if self.go_away {
            parts.push("go away".to_string());
        }
        if !self.latency.is_zero() || !self.jitter.is_zero() {
            if self.jitter.is_zero() {
                parts.push(format!("latency {} ms", self.latency.as_millis()));
            } else {
                parts.push(format!("latency {} ms ± {} ms", self.latency.as_millis(), self.jitter.as_millis()));
            }
        }
        if let Some(c) = self.error_code {
            parts.push(format!("error {}", response_code_label(c)));
        }
        if let Some(c) = self.store_status {
            parts.push(format!("status {}", response_code_label(c)));
        }
        if parts.is_empty() {
            f.write_str("healthy")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Store statuses a broker may answer with while still storing the message.
pub const STORE_STATUSES: [ResponseCode; 3] =
    [ResponseCode::FLUSH_DISK_TIMEOUT, ResponseCode::FLUSH_SLAVE_TIMEOUT, ResponseCode::SLAVE_NOT_AVAILABLE];

/// What the name server does wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameServerFault {
    /// Added before every reply.
    pub latency: Duration,
    /// Stop listening and drop every connection.
    pub down: bool,
    /// Topics answered with TOPIC_NOT_EXIST; `*` means every topic.
    pub missing_topics: BTreeSet<String>,
    /// Topics whose route says read-only (perm 4: no writable queue); `*` means every topic.
    pub read_only_topics: BTreeSet<String>,
    /// Brokers left out of every route and of the cluster info, as a broker the name server
    /// dropped (no heartbeat for 120 s) or one that has not registered yet; it still runs.
    pub unregistered: BTreeSet<String>,
}

impl NameServerFault {
    pub fn topic_missing(&self, topic: &str) -> bool {
        self.missing_topics.contains("*") || self.missing_topics.contains(topic)
    }

    pub fn topic_read_only(&self, topic: &str) -> bool {
        self.read_only_topics.contains("*") || self.read_only_topics.contains(topic)
    }
}

impl fmt::Display for NameServerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.down {
            parts.push("down".to_string());
        }
        if !self.latency.is_zero() {
            parts.push(format!("slow {} ms", self.latency.as_millis()));
        }
        if !self.read_only_topics.is_empty() {
            let t: Vec<_> = self.read_only_topics.iter().map(String::as_str).collect();
            parts.push(format!("read-only: {}", t.join(" ")));
        }
        if !self.missing_topics.is_empty() {
            let t: Vec<_> = self.missing_topics.iter().map(String::as_str).collect();
            parts.push(format!("topic missing: {}", t.join(" ")));
        }
        if !self.unregistered.is_empty() {
            let b: Vec<_> = self.unregistered.iter().map(String::as_str).collect();
            parts.push(format!("unregistered: {}", b.join(" ")));
        }
        if parts.is_empty() {
            f.write_str("healthy")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_itself() {
        assert_eq!(BrokerFault::default().to_string(), "healthy");
        let f = BrokerFault {
            latency: Duration::from_millis(600),
            jitter: Duration::from_millis(50),
            error_code: Some(2),
            ..Default::default()
        };
        assert_eq!(f.to_string(), "latency 600 ms ± 50 ms, error SYSTEM_BUSY (2)");
        for _ in 0..100 {
            let d = f.delay();
            assert!(d >= Duration::from_millis(600) && d <= Duration::from_millis(650));
        }
        let mut n = NameServerFault::default();
        n.missing_topics.insert("*".into());
        assert!(n.topic_missing("Anything"));
    }
}
