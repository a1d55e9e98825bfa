//! Request and response codes of RocketMQ's remoting protocol
//! (`RequestCode.java`, `ResponseCode.java`, `RemotingSysResponseCode.java`).
//!
//! Codes travel as plain integers: a peer may send a code this build does not know, so a command
//! keeps the raw `i32` and these enums name the ones we act on.

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $name {
            $($variant = $value),+
        }

        impl $name {
            /// Every named code.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The named code for a raw value, if there is one.
            pub fn from_code(code: i32) -> Option<Self> {
                match code {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The Java constant's name, e.g. `SYSTEM_BUSY`.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }

            /// The code by its Java constant name (`SYSTEM_BUSY`) or its number (`2`).
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                if let Ok(n) = s.parse::<i32>() {
                    return Self::from_code(n);
                }
                let upper = s.to_ascii_uppercase().replace('-', "_");
                Self::ALL.iter().copied().find(|c| c.name() == upper)
            }

            pub fn code(self) -> i32 {
                self as i32
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

code_enum! {
    /// Request codes the producer and the demo cluster use.
    #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
    RequestCode {
        SEND_MESSAGE = 10,
        UPDATE_AND_CREATE_TOPIC = 17,
        GET_BROKER_RUNTIME_INFO = 28,
        GET_MAX_OFFSET = 30,
        HEART_BEAT = 34,
        UNREGISTER_CLIENT = 35,
        CONSUMER_SEND_MSG_BACK = 36,
        END_TRANSACTION = 37,
        CHECK_TRANSACTION_STATE = 39,
        REGISTER_BROKER = 103,
        UNREGISTER_BROKER = 104,
        GET_ROUTEINFO_BY_TOPIC = 105,
        GET_BROKER_CLUSTER_INFO = 106,
        GET_TOPIC_STATS_INFO = 202,
        GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
        SEND_MESSAGE_V2 = 310,
        SEND_BATCH_MESSAGE = 320,
        QUERY_DATA_VERSION = 322,
        SEND_REPLY_MESSAGE = 324,
        SEND_REPLY_MESSAGE_V2 = 325,
        GET_TOPIC_CONFIG = 351,
        RECALL_MESSAGE = 370,
        BROKER_HEARTBEAT = 904,
    }
}

code_enum! {
    /// Response codes.
    #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
    ResponseCode {
        SUCCESS = 0,
        SYSTEM_ERROR = 1,
        SYSTEM_BUSY = 2,
        REQUEST_CODE_NOT_SUPPORTED = 3,
        TRANSACTION_FAILED = 4,
        FLUSH_DISK_TIMEOUT = 10,
        SLAVE_NOT_AVAILABLE = 11,
        FLUSH_SLAVE_TIMEOUT = 12,
        MESSAGE_ILLEGAL = 13,
        SERVICE_NOT_AVAILABLE = 14,
        VERSION_NOT_SUPPORTED = 15,
        NO_PERMISSION = 16,
        TOPIC_NOT_EXIST = 17,
        TOPIC_EXIST_ALREADY = 18,
        PULL_NOT_FOUND = 19,
        PULL_RETRY_IMMEDIATELY = 20,
        PULL_OFFSET_MOVED = 21,
        QUERY_NOT_FOUND = 22,
        INVALID_PARAMETER = 29,
        NO_BUYER_ID = 204,
        NOT_IN_CURRENT_UNIT = 205,
        BROKER_NOT_EXIST = 211,
        FLOW_CONTROL = 215,
        NOT_LEADER_FOR_QUEUE = 501,
        GO_AWAY = 1500,
    }
}

/// A readable name for a raw response code: `SYSTEM_BUSY (2)`, or `code 777` when unknown.
pub fn response_code_label(code: i32) -> String {
    match ResponseCode::from_code(code) {
        Some(c) => format!("{} ({code})", c.name()),
        None => format!("code {code}"),
    }
}

/// A readable name for a raw request code.
pub fn request_code_label(code: i32) -> String {
    match RequestCode::from_code(code) {
        Some(c) => format!("{} ({code})", c.name()),
        None => format!("request code {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_by_number_and_name() {
        for c in ResponseCode::ALL {
            assert_eq!(ResponseCode::from_code(c.code()), Some(*c));
            assert_eq!(ResponseCode::parse(c.name()), Some(*c));
        }
        for c in RequestCode::ALL {
            assert_eq!(RequestCode::from_code(c.code()), Some(*c));
        }
        assert_eq!(ResponseCode::parse("system-busy"), Some(ResponseCode::SYSTEM_BUSY));
        assert_eq!(ResponseCode::parse("12"), Some(ResponseCode::FLUSH_SLAVE_TIMEOUT));
        assert_eq!(ResponseCode::parse("nope"), None);
        assert_eq!(RequestCode::SEND_MESSAGE_V2.code(), 310);
        assert_eq!(response_code_label(2), "SYSTEM_BUSY (2)");
        assert_eq!(response_code_label(777), "code 777");
    }
}
