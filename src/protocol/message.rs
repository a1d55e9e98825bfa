//! Messages as the producer sends them: properties, body compression (`super::compress`), and
//! the batch body of SEND_BATCH_MESSAGE.

use std::borrow::Cow;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

use super::properties;

pub use super::compress::SYSFLAG_COMPRESSED;
/// `MessageSysFlag.TRANSACTION_PREPARED_TYPE`.
pub const SYSFLAG_TRANSACTION_PREPARED: i32 = 0x4;
/// `MessageSysFlag.COMPRESSION_ZLIB_TYPE` (type bits 8..10 = 3).
pub const SYSFLAG_ZLIB: i32 = 0x3 << 8;
/// Bodies of at least this many bytes are compressed (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER: usize = 4096;
/// `compressLevel` default.
pub const COMPRESS_LEVEL: u32 = 5;
/// `maxMessageSize` default.
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub flag: i32,
    pub body: Bytes,
    /// Properties in insertion order. The names the client sets itself (and `WAIT=true`) are
    /// borrowed: a send allocates for none of them.
    pub properties: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Message {
    /// A message with `WAIT=true`, as Java's `new Message(topic, body)`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            flag: 0,
            body: body.into(),
            properties: {
                // Room for what a send adds (UNIQ_KEY, TAGS, KEYS) without growing.
                let mut props = Vec::with_capacity(4);
                props.push((Cow::Borrowed(properties::WAIT), Cow::Borrowed("true")));
                props
            },
        }
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(k, _)| k == name).map(|(_, v)| &**v)
    }

    pub fn set_property(&mut self, name: &str, value: impl Into<String>) {
        let value = Cow::Owned(value.into());
        match self.properties.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => {
                let name = properties::known(name).map_or_else(|| Cow::Owned(name.to_string()), Cow::Borrowed);
                self.properties.push((name, value))
            }
        }
    }

    /// `MessageAccessor.clearProperty`.
    pub fn remove_property(&mut self, name: &str) {
        self.properties.retain(|(k, _)| k != name);
    }

    pub fn with_tags(mut self, tags: &str) -> Self {
        if !tags.is_empty() {
            self.set_property(properties::TAGS, tags);
        }
        self
    }

    /// Keys, joined by a space as `Message.setKeys(Collection)` does.
    pub fn with_keys<S: AsRef<str>>(mut self, keys: &[S]) -> Self {
        let joined: Vec<&str> = keys.iter().map(|k| k.as_ref()).filter(|k| !k.is_empty()).collect();
        if !joined.is_empty() {
            self.set_property(properties::KEYS, joined.join(" "));
        }
        self
    }

    pub fn uniq_key(&self) -> Option<&str> {
        self.property(properties::UNIQ_KEY)
    }

    /// The properties string for the send header.
    pub fn properties_string(&self) -> String {
        properties::encode(self.properties.iter().map(|(k, v)| (&**k, &**v)))
    }
}

/// Why a message cannot be sent (`Validators.checkMessage`, MESSAGE_ILLEGAL).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MessageError {
    #[error("the message body is empty")]
    EmptyBody,
    #[error("the message body is {0} bytes, more than the maximum of {MAX_MESSAGE_SIZE}")]
    TooLarge(usize),
    #[error("invalid topic {0:?}: 1-127 characters of letters, digits, '%', '_', '-', '|'")]
    BadTopic(String),
    #[error("malformed batch body: {0}")]
    BadBatch(&'static str),
    #[error("cannot decompress body: {0}")]
    Decompress(String),
}

/// Checks a topic name as `TopicValidator` does.
pub fn validate_topic(topic: &str) -> Result<(), MessageError> {
    let ok = !topic.is_empty()
        && topic.len() <= 127
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'_' | b'-' | b'|'));
    if ok {
        Ok(())
    } else {
        Err(MessageError::BadTopic(topic.to_string()))
    }
}

/// Checks a message before sending, as `Validators.checkMessage` does.
pub fn validate(msg: &Message) -> Result<(), MessageError> {
    validate_topic(&msg.topic)?;
    if msg.body.is_empty() {
        return Err(MessageError::EmptyBody);
    }
    if msg.body.len() > MAX_MESSAGE_SIZE {
        return Err(MessageError::TooLarge(msg.body.len()));
    }
    Ok(())
}

/// Compresses `body` as the Java client does by default (zlib, level 5, from 4096 bytes):
/// the bytes to send and the sys flag bits to add (`0x301`), or the body unchanged and 0.
pub fn maybe_compress(body: &Bytes) -> (Bytes, i32) {
    super::compress::Compression::default().apply(body)
}

/// Undoes the compression a sys flag names (zlib, zstd, lz4).
pub fn decompress(body: &[u8], sys_flag: i32) -> Result<Bytes, MessageError> {
    super::compress::decompress(body, sys_flag)
}

/// One member of a decoded batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    pub flag: i32,
    pub body: Bytes,
    pub properties: String,
}

/// Encodes a batch body (`MessageDecoder.encodeMessages`): per message
/// `i32 total | i32 magic 0 | i32 bodyCRC 0 | i32 flag | i32 bodyLen | body | i16 propsLen | props`.
pub fn encode_batch(messages: &[Message]) -> Bytes {
    let mut out = BytesMut::new();
    for m in messages {
        let props = m.properties_string();
        let total = 4 + 4 + 4 + 4 + 4 + m.body.len() + 2 + props.len();
        out.reserve(total);
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(m.flag);
        out.put_i32(m.body.len() as i32);
        out.put_slice(&m.body);
        out.put_i16(props.len() as i16);
        out.put_slice(props.as_bytes());
    }
    out.freeze()
}

/// Decodes a batch body.
pub fn decode_batch(mut body: Bytes) -> Result<Vec<BatchEntry>, MessageError> {
    let mut out = Vec::new();
    while body.has_remaining() {
        if body.remaining() < 20 {
            return Err(MessageError::BadBatch("record shorter than its fixed fields"));
        }
        let total = body.get_i32();
        if total < 22 || (total as usize - 4) > body.remaining() {
            return Err(MessageError::BadBatch("record length past the body"));
        }
        let mut rec = body.split_to(total as usize - 4);
        let _magic = rec.get_i32();
        let _crc = rec.get_i32();
        let flag = rec.get_i32();
        let body_len = rec.get_i32();
        if body_len < 0 || body_len as usize + 2 > rec.remaining() {
            return Err(MessageError::BadBatch("body length past the record"));
        }
        let b = rec.split_to(body_len as usize);
        let props_len = rec.get_i16();
        if props_len < 0 || props_len as usize != rec.remaining() {
            return Err(MessageError::BadBatch("properties length does not match the record"));
        }
        let props = String::from_utf8(rec.to_vec()).map_err(|_| MessageError::BadBatch("properties are not UTF-8"))?;
        out.push(BatchEntry { flag, body: b, properties: props });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_threshold_and_round_trip() {
        let small = Bytes::from(vec![b'a'; COMPRESS_OVER - 1]);
        assert_eq!(maybe_compress(&small), (small.clone(), 0));
        let big = Bytes::from(vec![b'a'; COMPRESS_OVER]);
        let (c, flag) = maybe_compress(&big);
        assert_eq!(flag, 0x301);
        assert!(c.len() < 100);
        assert_eq!(c[0], 0x78, "zlib-wrapped (RFC 1950), as java.util.zip.Deflater writes");
        assert_eq!(decompress(&c, flag).unwrap(), big);
        assert_eq!(decompress(&c, 0x1).unwrap(), big, "type bits 0 also mean zlib");
        assert!(decompress(&c, 0x101).is_err(), "zlib bytes are not an LZ4 frame");
        assert!(decompress(b"not zlib", 0x301).is_err());
    }

    #[test]
    fn batch_round_trip_and_rejects_garbage() {
        let msgs = vec![
            Message::new("T", &b"one"[..]).with_tags("x"),
            Message::new("T", &b"two!"[..]).with_keys(&["k1", "k2"]),
        ];
        let body = encode_batch(&msgs);
        let d = decode_batch(body.clone()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(&d[1].body[..], b"two!");
        assert_eq!(properties::find(&d[1].properties, "KEYS"), Some("k1 k2"));
        let first = i32::from_be_bytes(body[..4].try_into().unwrap()) as usize;
        for cut in (1..body.len()).filter(|c| *c != first) {
            assert!(decode_batch(body.slice(..cut)).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn validation() {
        assert!(validate(&Message::new("Ok_Topic-1", &b"x"[..])).is_ok());
        assert_eq!(validate(&Message::new("T", Bytes::new())), Err(MessageError::EmptyBody));
        assert!(matches!(validate(&Message::new("bad topic", &b"x"[..])), Err(MessageError::BadTopic(_))));
        let huge = Bytes::from(vec![0u8; MAX_MESSAGE_SIZE + 1]);
        assert!(matches!(validate(&Message::new("T", huge)), Err(MessageError::TooLarge(_))));
        let m = Message::new("T", &b"x"[..]);
        assert_eq!(m.property("WAIT"), Some("true"));
    }
}
