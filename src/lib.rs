//! mqtui: a terminal producer console for Apache RocketMQ.
//!
//! Data flows one way: wire ([`remoting`], [`protocol`]) → producer → events → stats → views.
//! [`cluster`] is the embedded demo cluster, the server side of the same wire code.

pub mod admin;
pub mod alloc;
pub mod bounds;
pub mod chaos;
pub mod cli;
pub mod cluster;
pub mod content;
pub mod engine;
pub mod exit;
pub mod logging;
pub mod offline;
pub mod output;
pub mod produce;
pub mod producer;
pub mod protocol;
pub mod record;
pub mod remoting;
pub mod report;
pub mod stats;
pub mod ui;

/// A hash map for the send path's own keys (broker names, topics, opaques): foldhash instead of
/// SipHash, whose hashing was 3% of a send's CPU. The keys are the program's, not an attacker's.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
