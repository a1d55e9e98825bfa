//! The frame codec: `u32 length | u8 serialize type | u24 header length | header | body`.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::command::RemotingCommand;
use super::error::CodecError;

/// Java's default `com.rocketmq.remoting.frameMaxLength`.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Encodes and decodes whole `RemotingCommand` frames. After an error the stream cannot be
/// resynchronised: callers close the connection.
///
/// The read buffer grows with the bytes that arrived, never with the length a frame announces:
/// a peer that announces 16 MiB and sends 10 bytes costs 10 bytes (and a server closes it after
/// its frame timeout, from [`RemotingCodec::partial_since`]).
#[derive(Debug, Clone)]
pub struct RemotingCodec {
    max_frame: usize,
    /// Since when the buffer holds the start of a frame that has not completed.
    partial_since: Option<tokio::time::Instant>,
}

impl Default for RemotingCodec {
    fn default() -> Self {
        RemotingCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl RemotingCodec {
    pub fn new(max_frame: usize) -> Self {
        RemotingCodec { max_frame, partial_since: None }
    }

    /// Since when a frame has been arriving without completing (None: the buffer ends at a frame
    /// boundary).
    pub fn partial_since(&self) -> Option<tokio::time::Instant> {
        self.partial_since
    }
}

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, CodecError> {
        let frame = self.decode_frame(src);
        if matches!(frame, Ok(None)) && !src.is_empty() {
            self.partial_since.get_or_insert_with(tokio::time::Instant::now);
        } else {
            self.partial_since = None;
        }
        frame
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<RemotingCommand>, CodecError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(CodecError::TruncatedFrame(buf.len())),
        }
    }
}

impl RemotingCodec {
    fn decode_frame(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, CodecError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        // A TLS record header (change cipher spec, alert, handshake, data; version 3.x) read as
        // a length is over 300 MB: say what it is.
        if len > self.max_frame && (0x14..=0x17).contains(&src[0]) && src[1] == 0x03 && src[2] <= 0x04 {
            return Err(CodecError::TlsRecord);
        }
        if len > self.max_frame {
            return Err(CodecError::FrameTooLarge { len, max: self.max_frame });
        }
        if len < 4 {
            return Err(CodecError::FrameTooShort(len));
        }
        if src.len() < 4 + len {
            // No reservation for the announced length: the buffer grows (doubling) as bytes come.
            return Ok(None);
        }
        src.advance(4);
        let frame = src.split_to(len).freeze();
        RemotingCommand::decode_frame(frame).map(Some)
    }
}

impl Encoder<RemotingCommand> for RemotingCodec {
    type Error = CodecError;

    fn encode(&mut self, item: RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_into(dst);
        Ok(())
    }
}

impl Encoder<&RemotingCommand> for RemotingCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode_into(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::command::{ExtFields, SerializeType};

    fn frame() -> BytesMut {
        let mut ext = ExtFields::new();
        ext.push("topic", "T".into());
        let c = RemotingCommand::request(105, ext).with_body(&b"body"[..]);
        BytesMut::from(&c.encode()[..])
    }

    #[test]
    fn decodes_byte_by_byte_and_back_to_back() {
        let one = frame();
        let mut stream = BytesMut::new();
        stream.extend_from_slice(&one);
        stream.extend_from_slice(&one);
        let mut codec = RemotingCodec::default();
        let mut buf = BytesMut::new();
        let mut got = 0;
        for b in stream.iter() {
            buf.extend_from_slice(&[*b]);
            while let Some(c) = codec.decode(&mut buf).unwrap() {
                assert_eq!(c.code, 105);
                assert_eq!(&c.body[..], b"body");
                got += 1;
            }
        }
        assert_eq!(got, 2);
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_short_and_bad_frames_are_typed_errors() {
        let mut codec = RemotingCodec::new(1024);
        let mut b = BytesMut::from(&[0u8, 0, 4, 1][..]);
        assert_eq!(codec.decode(&mut b), Err(CodecError::FrameTooLarge { len: 1025, max: 1024 }));
        // A TLS alert where a frame should be.
        let mut tls = BytesMut::from(&[0x15u8, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32][..]);
        assert_eq!(RemotingCodec::default().decode(&mut tls), Err(CodecError::TlsRecord));
        let mut b = BytesMut::from(&[0u8, 0, 0, 2, 0, 0][..]);
        assert_eq!(codec.decode(&mut b), Err(CodecError::FrameTooShort(2)));
        // header length 100 in a frame of 8
        let mut b = BytesMut::from(&[0u8, 0, 0, 8, 0, 0, 0, 100, 1, 2, 3, 4][..]);
        assert!(matches!(codec.decode(&mut b), Err(CodecError::HeaderLengthPastFrame { .. })));
        let mut b = BytesMut::from(&[0u8, 0, 0, 5, 7, 0, 0, 1, b'{'][..]);
        assert_eq!(codec.decode(&mut b), Err(CodecError::UnknownSerializeType(7)));
        let mut b = BytesMut::from(&[0u8, 0, 0, 6, 0, 0, 0, 2, b'{', b'x'][..]);
        assert!(matches!(codec.decode(&mut b), Err(CodecError::InvalidJson(_))));
        let mut b = BytesMut::from(&[0u8, 0, 0, 6, 1, 0, 0, 2, 0, 1][..]);
        assert!(matches!(codec.decode(&mut b), Err(CodecError::BinaryHeader(_))));
    }

    #[test]
    fn an_announced_length_reserves_nothing() {
        let mut codec = RemotingCodec::default();
        // 16 MiB announced, 10 bytes sent.
        let mut b = BytesMut::with_capacity(64);
        b.extend_from_slice(&[0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, b'{', b'}']);
        assert_eq!(codec.decode(&mut b), Ok(None));
        assert!(b.capacity() <= 64, "capacity {}", b.capacity());
        assert!(codec.partial_since().is_some(), "a frame is under way");
        let mut whole = frame();
        assert!(codec.decode(&mut whole).unwrap().is_some());
        assert_eq!(codec.partial_since(), None, "a frame boundary");
    }

    #[test]
    fn eof_mid_frame_is_truncation() {
        let mut codec = RemotingCodec::default();
        let f = frame();
        let mut b = BytesMut::from(&f[..f.len() - 1]);
        assert_eq!(codec.decode(&mut b), Ok(None));
        assert!(matches!(codec.decode_eof(&mut b), Err(CodecError::TruncatedFrame(_))));
        let mut empty = BytesMut::new();
        assert_eq!(codec.decode_eof(&mut empty), Ok(None));
    }

    #[test]
    fn encoder_writes_what_decoder_reads() {
        let mut codec = RemotingCodec::default();
        let c = RemotingCommand::request(34, ExtFields::new()).with_serialize_type(SerializeType::RocketMq);
        let mut b = BytesMut::new();
        codec.encode(&c, &mut b).unwrap();
        assert_eq!(codec.decode(&mut b).unwrap().unwrap(), c);
    }
}
