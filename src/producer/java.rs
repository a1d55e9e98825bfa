//! Java client profiles: which version's async send path the producer reproduces.
//!
//! Each item below is a difference between the Java client 4.9.8, 5.1.4 and 5.3.3 read in their
//! sources (`../shared/rocketmq/JAVA-FIDELITY.md` has the file and line of each):
//!
//! | | 4.9.8 | 5.1.4 | 5.3.3 |
//! |---|---|---|---|
//! | fault table | 4.x (30 s … 10 min) | 5.x (2 s … 30 s) | 5.x |
//! | async timeout | response-table scan: `begin + timeout + 1 s <= now`, once a second, first 3 s after start | same | same |
//! | retry with no time left | yes: `invokeAsync call the addr[..] timeout`, the broker isolated | yes, reachable = false | no |
//! | connect failure | thrown in the caller: raw `connect to X failed`, isolation | same, reachable = false | `operationFail`: "unknown reason", reachable = true |
//! | connection closed by the peer | requests wait for the scan (a timeout) | "send request failed" at once | same |
//! | GO_AWAY (1500) | a broker error | a broker error | reconnect, resend once; twice: "send request failed" |
//! | heartbeat when a connection to a broker opens | no | no | yes |
//! | labels | "wait response timeout Nms", "unknow reseaon" | same | "wait response timeout, cost=N", "unknown reason" |

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::fault::FaultTable;

/// A Java client version whose send path mqtui reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum JavaVersion {
    V4_9_8,
    V5_1_4,
    #[default]
    V5_3_3,
}

impl JavaVersion {
    pub const ALL: [JavaVersion; 3] = [JavaVersion::V4_9_8, JavaVersion::V5_1_4, JavaVersion::V5_3_3];

    pub fn name(self) -> &'static str {
        match self {
            JavaVersion::V4_9_8 => "4.9.8",
            JavaVersion::V5_1_4 => "5.1.4",
            JavaVersion::V5_3_3 => "5.3.3",
        }
    }

    /// `4.9.8`, `5.1.4`, `5.3.3`; also `4.9`, `5.1`, `5.3`, `4`, `5`, `latest`.
    pub fn parse(s: &str) -> Result<JavaVersion, String> {
        let t = s.trim().trim_start_matches(['v', 'V']);
        Ok(match t {
            "4.9.8" | "4.9" | "4" => JavaVersion::V4_9_8,
            "5.1.4" | "5.1" => JavaVersion::V5_1_4,
            "5.3.3" | "5.3" | "5" | "latest" => JavaVersion::V5_3_3,
            _ => {
                return Err(format!(
                    "{s:?}: mqtui reproduces the Java client 4.9.8, 5.1.4 and 5.3.3 (each read in its source \
                     and checked side by side with it); give one of those"
                ))
            }
        })
    }

    /// The latency fault tolerance table of this version.
    pub fn fault_table(self) -> FaultTable {
        match self {
            JavaVersion::V4_9_8 => FaultTable::V4,
            _ => FaultTable::V5,
        }
    }

    /// Whether `onExceptionImpl` retries only with time left (`timeoutMillis > 0`, 5.3.2+).
    pub fn retry_needs_time(self) -> bool {
        self >= JavaVersion::V5_3_3
    }

    /// Whether a connect failure is reported through `operationFail` (5.3.0+) rather than thrown
    /// from `invokeAsync` into `sendMessageAsync`'s catch.
    pub fn connect_fails_async(self) -> bool {
        self >= JavaVersion::V5_3_3
    }

    /// The reachable flag of the fault update in `sendMessageAsync`'s catch (5.x signature; 4.x
    /// has no flag, which is the same as true for selection).
    pub fn caught_reachable(self) -> bool {
        self == JavaVersion::V4_9_8
    }

    /// Whether a connection the peer closed fails its requests at once (`failFast`, 5.1.4+); if
    /// not, they wait for the response-table scan.
    pub fn fails_fast_on_close(self) -> bool {
        self >= JavaVersion::V5_1_4
    }

    /// Whether a connection to a broker, once open, sends it a heartbeat at once (5.2+,
    /// `MQClientInstance`'s `ChannelEventListener.onChannelActive`).
    pub fn heartbeats_on_open(self) -> bool {
        self >= JavaVersion::V5_3_3
    }

    /// Whether the remoting client handles GO_AWAY itself (5.2+).
    pub fn handles_go_away(self) -> bool {
        self >= JavaVersion::V5_3_3
    }

    /// "wait response timeout …" as this version words it (`timeout`: the response future's,
    /// `cost`: the time since the attempt started).
    pub fn timeout_label(self, timeout_ms: i64, cost_ms: i64) -> String {
        match self {
            JavaVersion::V5_3_3 => format!("wait response timeout, cost={cost_ms}"),
            _ => format!("wait response timeout {timeout_ms}ms"),
        }
    }

    /// `retryResponseCodes`: the broker errors a sync send retries on another broker (5.3 adds
    /// SYSTEM_BUSY and GO_AWAY).
    pub fn sync_retry_codes(self) -> &'static [i32] {
        match self {
            JavaVersion::V5_3_3 => &[17, 14, 1, 2, 16, 204, 205, 1500],
            _ => &[17, 14, 1, 16, 204, 205],
        }
    }

    /// The reachable flag of a sync send's fault update after a broker error (5.x: false; 4.x
    /// has no flag).
    pub fn broker_error_reachable(self) -> bool {
        self == JavaVersion::V4_9_8
    }

    pub fn unknown_label(self) -> &'static str {
        match self {
            JavaVersion::V5_3_3 => "unknown reason",
            _ => "unknow reseaon",
        }
    }
}

impl fmt::Display for JavaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The Java exception class behind an attempt's failure (what a Java application's callback or
/// log shows; the differential harness compares it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JavaError {
    /// `MQBrokerException`: a response code processSendResponse refuses.
    Broker,
    /// `RemotingTimeoutException`: the response-table scan.
    Timeout,
    /// `RemotingSendRequestException`: the write failed, the connection closed, GO_AWAY twice.
    SendRequest,
    /// `RemotingConnectException`.
    Connect,
    /// `RemotingTooMuchRequestException`: no time left when the request was to be sent.
    TooMuchRequest,
    /// `MQClientException`: the broker has no address, a timeout before sending.
    Client,
}

impl JavaError {
    pub fn class(self) -> &'static str {
        match self {
            JavaError::Broker => "MQBrokerException",
            JavaError::Timeout => "RemotingTimeoutException",
            JavaError::SendRequest => "RemotingSendRequestException",
            JavaError::Connect => "RemotingConnectException",
            JavaError::TooMuchRequest => "RemotingTooMuchRequestException",
            JavaError::Client => "MQClientException",
        }
    }
}

/// The Java remoting client's response-table scan (`scanResponseTable`): a request without a
/// response fails at the first scan at or after `begin + timeout + 1 s`; scans run once a second
/// from 3 s after the client started. So a 3000 ms send reports its timeout 4–5 s after it
/// began, and a reply in that grace still counts.
#[derive(Debug, Clone, Copy)]
pub struct ResponseScan {
    pub first: Instant,
    pub period: Duration,
    pub grace: Duration,
}

impl ResponseScan {
    pub fn started_at(start: Instant) -> ResponseScan {
        ResponseScan {
            first: start + Duration::from_secs(3),
            period: Duration::from_secs(1),
            grace: Duration::from_secs(1),
        }
    }

    /// When a request begun at `begin` with `timeout` is failed.
    pub fn fail_at(&self, begin: Instant, timeout: Duration) -> Instant {
        let due = begin + timeout + self.grace;
        if due <= self.first {
            return self.first;
        }
        let after = due - self.first;
        let p = self.period.as_nanos();
        let ticks = after.as_nanos().div_ceil(p);
        self.first + Duration::from_nanos((ticks * p) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(JavaVersion::parse("4.9.8").unwrap(), JavaVersion::V4_9_8);
        assert_eq!(JavaVersion::parse("5.1").unwrap(), JavaVersion::V5_1_4);
        assert_eq!(JavaVersion::parse("latest").unwrap(), JavaVersion::V5_3_3);
        assert_eq!(JavaVersion::default(), JavaVersion::V5_3_3);
        let e = JavaVersion::parse("5.2.0").unwrap_err();
        assert!(e.contains("4.9.8, 5.1.4 and 5.3.3"), "{e}");
        assert!(JavaVersion::V4_9_8 < JavaVersion::V5_1_4 && JavaVersion::V5_1_4 < JavaVersion::V5_3_3);
        assert_eq!(JavaVersion::V4_9_8.fault_table(), FaultTable::V4);
        assert_eq!(JavaVersion::V5_1_4.fault_table(), FaultTable::V5);
    }

    #[test]
    fn labels_are_each_versions() {
        assert_eq!(JavaVersion::V4_9_8.timeout_label(3000, 4200), "wait response timeout 3000ms");
        assert_eq!(JavaVersion::V5_3_3.timeout_label(3000, 4200), "wait response timeout, cost=4200");
        assert_eq!(JavaVersion::V5_1_4.unknown_label(), "unknow reseaon");
    }

    #[tokio::test(start_paused = true)]
    async fn the_scan_fails_a_request_one_to_two_seconds_late() {
        let t0 = Instant::now();
        let scan = ResponseScan::started_at(t0);
        let ms = |n| Duration::from_millis(n);
        // Begun at 0 with 3 s: due at 4 s, the scan at 4 s takes it (`<=`).
        assert_eq!(scan.fail_at(t0, ms(3000)), t0 + ms(4000));
        // Begun at 0.2 s: due at 4.2 s, taken at 5 s.
        assert_eq!(scan.fail_at(t0 + ms(200), ms(3000)), t0 + ms(5000));
        // Short timeouts wait for the first scan, 3 s after start.
        assert_eq!(scan.fail_at(t0, ms(100)), t0 + ms(3000));
        // Later on: begun at 10.5 s, due 14.5 s, taken at 15 s.
        assert_eq!(scan.fail_at(t0 + ms(10_500), ms(3000)), t0 + ms(15_000));
    }
}
