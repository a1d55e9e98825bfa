//! RocketMQ's remoting protocol: frames, commands, codes, client connections and the server loop.

pub mod acl;
pub mod addr_map;
pub mod codec;
pub mod codes;
pub mod command;
pub mod connection;
pub mod error;
pub mod java;
pub mod limits;
pub mod namesrv;
pub mod server;
pub mod tls;
mod writer;

pub use acl::AclCredentials;
pub use codec::{RemotingCodec, DEFAULT_MAX_FRAME};
pub use codes::{RequestCode, ResponseCode};
pub use command::{next_opaque, ExtFields, LanguageCode, RemotingCommand, SerializeType};
pub use connection::{Connection, ConnectionPool, ServerRequests};
pub use error::{CodecError, InvokeError};
pub use namesrv::NameServers;
