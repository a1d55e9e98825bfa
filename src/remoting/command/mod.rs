//! `RemotingCommand`: one request or response, and its two header encodings
//! (JSON, as fastjson writes it, and ROCKETMQ binary, as `RocketMQSerializable` writes it).

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;

use super::codes::{request_code_label, response_code_label};
use super::error::CodecError;

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: a oneway request, no response will come.
pub const FLAG_ONEWAY: i32 = 0x2;

/// `MQVersion.Version.V5_3_3.ordinal()`: new enough for name servers to answer with standard JSON.
pub const DEFAULT_VERSION: i32 = 479;

static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);

/// A new request id, from a process-wide counter as `RemotingCommand.createNewRequestId` does.
pub fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

/// How the header is encoded (the high byte of the header-length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    #[default]
    Json = 0,
    RocketMq = 1,
}

impl SerializeType {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

/// `LanguageCode`: who wrote the command. Unknown values are kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LanguageCode {
    #[default]
    Java,
    Cpp,
    Dotnet,
    Python,
    Delphi,
    Erlang,
    Ruby,
    Other,
    Http,
    Go,
    Php,
    Oms,
    Rust,
    NodeJs,
}

const LANGUAGES: [(LanguageCode, &str); 14] = [
    (LanguageCode::Java, "JAVA"),
    (LanguageCode::Cpp, "CPP"),
    (LanguageCode::Dotnet, "DOTNET"),
    (LanguageCode::Python, "PYTHON"),
    (LanguageCode::Delphi, "DELPHI"),
    (LanguageCode::Erlang, "ERLANG"),
    (LanguageCode::Ruby, "RUBY"),
    (LanguageCode::Other, "OTHER"),
    (LanguageCode::Http, "HTTP"),
    (LanguageCode::Go, "GO"),
    (LanguageCode::Php, "PHP"),
    (LanguageCode::Oms, "OMS"),
    (LanguageCode::Rust, "RUST"),
    (LanguageCode::NodeJs, "NODE_JS"),
];

impl LanguageCode {
    pub fn code(self) -> u8 {
        LANGUAGES.iter().position(|(l, _)| *l == self).unwrap_or(7) as u8
    }
    pub fn from_code(b: u8) -> Self {
        LANGUAGES.get(b as usize).map_or(LanguageCode::Other, |(l, _)| *l)
    }
    pub fn name(self) -> &'static str {
        LANGUAGES[self.code() as usize].1
    }
    pub fn from_name(s: &str) -> Self {
        LANGUAGES.iter().find(|(_, n)| *n == s).map_or(LanguageCode::Other, |(l, _)| *l)
    }
}

/// One key or value of [`ExtFields`]: a static string, an owned one, or a range of the
/// decoded header the fields were read from (no copy).
#[derive(Clone)]
enum Field {
    Static(&'static str),
    /// Kept as built (a `Box<str>` would reallocate to shrink it).
    Owned(String),
    Backed(u32, u32),
    /// A short value (a number, a flag, a topic) kept in the entry itself: no allocation.
    Inline(u8, [u8; INLINE]),
}

/// The most extFields a header may hold (a send's has about 15; a 16 MiB header of empty ones
/// would otherwise be millions of entries, ten times its bytes).
pub const MAX_EXT_FIELDS: usize = 4096;

/// The longest [`Field::Inline`] value; the enum stays the size of its other variants.
const INLINE: usize = 30;
const _: () = assert!(std::mem::size_of::<Field>() == 32);

impl Field {
    fn inline(s: &str) -> Option<Field> {
        (s.len() <= INLINE).then(|| {
            let mut buf = [0u8; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            Field::Inline(s.len() as u8, buf)
        })
    }
    fn of_string(s: String) -> Field {
        Field::inline(&s).unwrap_or(Field::Owned(s))
    }
    fn of_str(s: &str) -> Field {
        Field::inline(s).unwrap_or_else(|| Field::Owned(s.into()))
    }
    fn of_int(v: i64) -> Field {
        let mut digits = json_write::itoa_buf();
        let d = json_write::fmt_int(&mut digits, v);
        let mut buf = [0u8; INLINE];
        buf[..d.len()].copy_from_slice(d);
        Field::Inline(d.len() as u8, buf)
    }
}

/// The text of `f`; `Backed` ranges index `backing`.
fn field_str<'a>(backing: &'a [u8], f: &'a Field) -> &'a str {
    match f {
        Field::Static(s) => s,
        Field::Owned(s) => s,
        // SAFETY: made only by `Field::inline` / `Field::of_int`, from a whole `&str` or ASCII digits.
        Field::Inline(n, buf) => unsafe { std::str::from_utf8_unchecked(&buf[..*n as usize]) },
        Field::Backed(a, b) => {
            let bytes = &backing[*a as usize..*b as usize];
            debug_assert!(std::str::from_utf8(bytes).is_ok(), "a Backed range over bytes that are not UTF-8");
            // SAFETY: `Backed` ranges are made only by the three decoders of this module, each over
            // bytes it checked to be UTF-8 and at character boundaries: fast_json checks the whole
            // header once and cuts only next to ASCII quotes or inside ASCII literals; the serde
            // path keeps the ranges of `&str`s serde_json borrowed (checked by it); the binary
            // decoder checks each key and value; the JSON builder (json_fields) copies whole `&str`s.
            // `backing` and `entries` are private and set together only there, so a range never
            // points into other bytes. (Checking again on
            // every read was 5% of a send's CPU.)
            unsafe { std::str::from_utf8_unchecked(bytes) }
        }
    }
}

/// The custom header (`extFields`): string keys and string values, in insertion order.
/// A handful of entries, so a vector beats a hash map for both building and lookup. Fields
/// decoded from a frame point into the frame's header (one shared buffer, no per-field copy).
#[derive(Clone, Default)]
pub struct ExtFields {
    /// The header bytes `Field::Backed` ranges point into; always valid UTF-8 in those ranges.
    backing: Bytes,
    entries: Vec<(Field, Field)>,
    /// `backing` is exactly the JSON of `entries` as an object's members (built so by
    /// [`ExtFields::build_json`] and not changed since): the encoder copies it.
    json: bool,
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_capacity(n: usize) -> Self {
        ExtFields { backing: Bytes::new(), entries: Vec::with_capacity(n), json: false }
    }
    fn str<'a>(&'a self, f: &'a Field) -> &'a str {
        field_str(&self.backing, f)
    }
    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
    /// Sets `key`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        self.json = false;
        let key = key.into();
        let value = Field::of_string(value.into());
        let found = self.iter().position(|(k, _)| k == key);
        if let Some(i) = found {
            self.entries[i].1 = value;
        } else {
            let key = match key {
                Cow::Borrowed(s) => Field::Static(s),
                Cow::Owned(s) => Field::Owned(s),
            };
            self.entries.push((key, value));
        }
    }
    /// Appends without checking for an earlier value (header builders know their keys are unique).
    pub fn push(&mut self, key: &'static str, value: String) {
        self.json = false;
        self.entries.push((Field::Static(key), Field::of_string(value)));
    }
    /// [`ExtFields::push`] of a borrowed value (copied; short ones without an allocation).
    pub fn push_str(&mut self, key: &'static str, value: &str) {
        self.json = false;
        self.entries.push((Field::Static(key), Field::of_str(value)));
    }
    /// [`ExtFields::push`] of a number, written in decimal as Java's `toString` does.
    pub fn push_int(&mut self, key: &'static str, value: impl Into<i64>) {
        self.json = false;
        self.entries.push((Field::Static(key), Field::of_int(value.into())));
    }
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.iter().position(|(k, _)| k == key)?;
        let v = self.str(&self.entries[i].1).to_string();
        self.entries.remove(i);
        self.json = false;
        Some(v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (self.str(k), self.str(v)))
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut f = ExtFields::new();
        for (k, v) in iter {
            f.insert(k, v);
        }
        f
    }
}

/// One request or response.
#[derive(Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    pub serialize_type: SerializeType,
}

impl fmt::Debug for RemotingCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = if self.is_response() { response_code_label(self.code) } else { request_code_label(self.code) };
        f.debug_struct("RemotingCommand")
            .field("code", &code)
            .field("opaque", &self.opaque)
            .field("flag", &self.flag)
            .field("remark", &self.remark)
            .field("ext_fields", &self.ext_fields)
            .field("body_len", &self.body.len())
            .field("serialize_type", &self.serialize_type)
            .finish()
    }
}

impl RemotingCommand {
    /// A command with every field zero or empty, as a JSON decoder starts from.
    fn blank_json() -> Self {
        RemotingCommand {
            code: 0,
            language: LanguageCode::Other,
            version: 0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A new request with a fresh opaque.
    pub fn request(code: i32, ext_fields: ExtFields) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Java,
            version: DEFAULT_VERSION,
            opaque: next_opaque(),
            flag: 0,
            remark: None,
            ext_fields,
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A response to `request`: same opaque, response bit set, JSON whatever the request's
    /// serialization (a Java server answers in its own configured type, JSON by default:
    /// `RemotingCommand.serializeTypeConfigInThisServer`; the Java name server and broker 5.3.3
    /// answer a ROCKETMQ-encoded request in JSON, tests/fixtures/apache).
    pub fn response_to(request: &RemotingCommand, code: i32, remark: Option<String>) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::Java,
            version: DEFAULT_VERSION,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            remark,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn with_serialize_type(mut self, t: SerializeType) -> Self {
        self.serialize_type = t;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// Appends the whole frame (length prefix included) to `dst`.
    pub fn encode_into(&self, dst: &mut BytesMut) {
        self.encode_into_as(self.opaque, dst)
    }

    /// The frame as [`encode_into`](Self::encode_into) writes it, under `opaque` in place of the
    /// command's own (a retry, or a resend, of one request: no copy of the command). Written into
    /// this thread's frame arena: the frame shares a 64 KiB block with the frames encoded before
    /// it (no allocation per frame; a block is reused, or left to the last frame that holds it,
    /// once it is full).
    pub fn encode_as(&self, opaque: i32) -> Bytes {
        json_fields::with_arena(8 + self.likely_header_len() + self.body.len(), |arena| {
            self.encode_into_as(opaque, arena);
            arena.split().freeze()
        })
    }

    /// About how long the header is (the room [`Self::encode_into_as`] reserves for it; the
    /// JSON writer grows it when a header is longer).
    fn likely_header_len(&self) -> usize {
        let fields = if self.ext_fields.json { self.ext_fields.backing.len() } else { 40 * self.ext_fields.len() };
        192 + self.remark.as_ref().map_or(0, |r| 12 + r.len()) + fields
    }

    fn encode_into_as(&self, opaque: i32, dst: &mut BytesMut) {
        let start = dst.len();
        dst.reserve(8 + self.likely_header_len() + self.body.len());
        dst.put_u32(0); // total length, patched below
        dst.put_u32(0); // serialize type + header length, patched below
        let header_start = dst.len();
        match self.serialize_type {
            SerializeType::Json => self.write_json_header(dst, opaque),
            SerializeType::RocketMq => self.write_binary_header(dst, opaque),
        }
        let header_len = dst.len() - header_start;
        dst.extend_from_slice(&self.body);
        let total = 4 + header_len + self.body.len();
        dst[start..start + 4].copy_from_slice(&(total as u32).to_be_bytes());
        let word = ((self.serialize_type as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    }

    /// The whole frame as bytes.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode_into(&mut b);
        b.freeze()
    }

    fn write_json_header(&self, dst: &mut BytesMut, opaque: i32) {
        let mut out = JsonOut::new(dst);
        out.bytes(b"{\"code\":");
        out.int(self.code as i64);
        out.bytes(b",\"language\":\"");
        out.bytes(self.language.name().as_bytes());
        out.bytes(b"\",\"version\":");
        out.int(self.version as i64);
        out.bytes(b",\"opaque\":");
        out.int(opaque as i64);
        out.bytes(b",\"flag\":");
        out.int(self.flag as i64);
        if let Some(remark) = &self.remark {
            out.bytes(b",\"remark\":");
            out.str(remark);
        }
        out.bytes(b",\"extFields\":{");
        if self.ext_fields.json {
            out.bytes(&self.ext_fields.backing);
        } else {
            for (i, (k, v)) in self.ext_fields.iter().enumerate() {
                if i > 0 {
                    out.byte(b',');
                }
                out.str(k);
                out.byte(b':');
                out.str(v);
            }
        }
        // rocketmq-rust's decoder requires serializeTypeCurrentRPC; Java ignores it.
        out.bytes(b"},\"serializeTypeCurrentRPC\":\"JSON\"}");
        out.finish();
    }

    fn write_binary_header(&self, dst: &mut BytesMut, opaque: i32) {
        dst.put_i16(self.code as i16);
        dst.put_u8(self.language.code());
        dst.put_i16(self.version as i16);
        dst.put_i32(opaque);
        dst.put_i32(self.flag);
        match &self.remark {
            Some(r) => {
                dst.put_i32(r.len() as i32);
                dst.put_slice(r.as_bytes());
            }
            None => dst.put_i32(0),
        }
        let len_pos = dst.len();
        dst.put_i32(0);
        for (k, v) in self.ext_fields.iter() {
            dst.put_u16(k.len() as u16);
            dst.put_slice(k.as_bytes());
            dst.put_i32(v.len() as i32);
            dst.put_slice(v.as_bytes());
        }
        let map_len = (dst.len() - len_pos - 4) as i32;
        dst[len_pos..len_pos + 4].copy_from_slice(&map_len.to_be_bytes());
    }

    /// Decodes one frame whose 4-byte length prefix has been stripped: `frame` holds the
    /// header-length word, the header and the body.
    pub fn decode_frame(mut frame: Bytes) -> Result<Self, CodecError> {
        if frame.len() < 4 {
            return Err(CodecError::FrameTooShort(frame.len()));
        }
        let word = frame.get_u32();
        let type_byte = (word >> 24) as u8;
        let header_len = (word & 0x00FF_FFFF) as usize;
        let serialize_type = SerializeType::from_byte(type_byte).ok_or(CodecError::UnknownSerializeType(type_byte))?;
        if header_len > frame.len() {
            return Err(CodecError::HeaderLengthPastFrame { header_len, available: frame.len() });
        }
        let header = frame.split_to(header_len);
        let mut cmd = match serialize_type {
            SerializeType::Json => decode_json_header(&header)?,
            SerializeType::RocketMq => decode_binary_header(header)?,
        };
        cmd.serialize_type = serialize_type;
        cmd.body = frame;
        Ok(cmd)
    }
}

mod binary;
mod fast_json;
mod json_fields;
mod json_read;
mod json_write;
mod scan;
#[cfg(test)]
mod tests;

use binary::decode_binary_header;
pub use json_fields::JsonFields;
use json_read::decode_json_header;
#[cfg(test)]
use json_read::decode_json_header_serde;
use json_write::JsonOut;

/// The two JSON header decoders, for `benches/codec.rs` to weigh the hand-written scanner
/// against serde_json (the scanner is kept only while it pays; README, Benchmarks).
#[doc(hidden)]
pub mod bench_api {
    use super::*;

    /// The path every JSON header takes: the scanner, serde_json for what it does not expect.
    pub fn json_header(header: &Bytes) -> Result<RemotingCommand, CodecError> {
        decode_json_header(header)
    }

    /// serde_json alone.
    pub fn json_header_serde(header: &Bytes) -> Result<RemotingCommand, CodecError> {
        json_read::decode_json_header_serde(header)
    }
}
