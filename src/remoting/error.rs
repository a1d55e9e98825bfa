//! Typed errors of the frame codec and of request/response exchanges.

use thiserror::Error;

/// Why a byte stream could not be turned into commands. Any of these closes the connection it
/// happened on (there is no way to find the next frame boundary), and only that one.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    #[error("frame of {len} bytes is larger than the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    /// The bytes are a TLS record (a handshake or an alert), not a frame: the peer speaks TLS.
    #[error("the peer answered in TLS, not in RocketMQ frames: it serves TLS only (connect with --tls)")]
    TlsRecord,
    #[error("frame length {0} is too short to hold the header-length word")]
    FrameTooShort(usize),
    #[error("header length {header_len} runs past the frame ({available} bytes left)")]
    HeaderLengthPastFrame { header_len: usize, available: usize },
    #[error("unknown serialize type {0} (0 = JSON, 1 = ROCKETMQ)")]
    UnknownSerializeType(u8),
    #[error("invalid JSON header: {0}")]
    InvalidJson(String),
    #[error("malformed ROCKETMQ binary header: {0}")]
    BinaryHeader(&'static str),
    #[error("connection closed in the middle of a frame ({0} bytes buffered)")]
    TruncatedFrame(usize),
    #[error("i/o: {0}")]
    Io(String),
}

impl From<std::io::Error> for CodecError {
    fn from(e: std::io::Error) -> Self {
        CodecError::Io(e.to_string())
    }
}

/// How one request failed to get its response. The three cases of the Java client's
/// `sendMessageAsync` callback, kept apart because the producer reports and retries them apart.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The request never left: the connection could not be made or the write failed
    /// (Java: `RemotingSendRequestException` / `RemotingConnectException` → "send request failed").
    #[error("send request failed: {0}")]
    SendRequestFailed(String),
    /// No response within the timeout (Java: "wait response timeout N ms").
    #[error("wait response timeout {0} ms")]
    Timeout(u64),
    /// The connection closed (by the peer, a reset, a bad frame) while the request waited (Java
    /// 5.1.4+: `failFast`, "send request failed"; 4.9.x: nothing, the request waits for the scan).
    #[error("connection closed: {0}")]
    Closed(String),
    /// The peer closed the connection cleanly (FIN) while the request waited. Java 5.1.4+ fails
    /// the request at once (`channelInactive` → `failFast`); 4.9.x has no such handler and leaves
    /// it to the response-table scan. (A reset or a bad frame goes through `exceptionCaught` →
    /// close → `failFast` in every version: [`InvokeError::Closed`].)
    #[error("connection closed by the peer: {0}")]
    ClosedByPeer(String),
    /// Anything else (Java: "unknown reason").
    #[error("unknown reason: {0}")]
    Unknown(String),
}
