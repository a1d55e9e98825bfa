//! What travels inside frames: send headers, messages and their properties, ids, route data.

pub mod bounded;
pub mod compress;
pub mod header;
pub mod message;
pub mod message_ext;
pub mod msgid;
pub mod namespace;
pub mod properties;
pub mod route;
pub mod send;
pub mod transaction;

pub use header::{HeaderError, SendMessageRequestHeader, SendMessageResponseHeader};
pub use message::{Message, MessageError};
pub use route::{BrokerData, ClusterInfo, MessageQueue, QueueData, TopicRouteData};
