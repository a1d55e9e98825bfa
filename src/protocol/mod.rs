//! What travels inside frames: send headers, messages and their properties, ids, route data.

pub mod header;
pub mod message;
pub mod msgid;
pub mod properties;
pub mod route;
pub mod send;

pub use header::{HeaderError, SendMessageRequestHeader, SendMessageResponseHeader};
pub use message::{Message, MessageError};
pub use route::{BrokerData, ClusterInfo, MessageQueue, QueueData, TopicRouteData};
