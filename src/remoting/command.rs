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
    Owned(Box<str>),
    Backed(u32, u32),
}

/// The text of `f`; `Backed` ranges index `backing`.
fn field_str<'a>(backing: &'a [u8], f: &'a Field) -> &'a str {
    match f {
        Field::Static(s) => s,
        Field::Owned(s) => s,
        // Ranges are only made over text checked to be UTF-8 (the whole JSON header, or each
        // binary key and value), so this does not fail; an empty string if it ever did.
        Field::Backed(a, b) => std::str::from_utf8(&backing[*a as usize..*b as usize]).unwrap_or_default(),
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
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_capacity(n: usize) -> Self {
        ExtFields { backing: Bytes::new(), entries: Vec::with_capacity(n) }
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
        let key = key.into();
        let value = Field::Owned(value.into().into_boxed_str());
        let found = self.iter().position(|(k, _)| k == key);
        if let Some(i) = found {
            self.entries[i].1 = value;
        } else {
            let key = match key {
                Cow::Borrowed(s) => Field::Static(s),
                Cow::Owned(s) => Field::Owned(s.into_boxed_str()),
            };
            self.entries.push((key, value));
        }
    }
    /// Appends without checking for an earlier value (header builders know their keys are unique).
    pub fn push(&mut self, key: &'static str, value: String) {
        self.entries.push((Field::Static(key), Field::Owned(value.into_boxed_str())));
    }
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.iter().position(|(k, _)| k == key)?;
        let v = self.str(&self.entries[i].1).to_string();
        self.entries.remove(i);
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
        let start = dst.len();
        dst.reserve(8 + 64 + self.ext_fields.len() * 32 + self.body.len());
        dst.put_u32(0); // total length, patched below
        dst.put_u32(0); // serialize type + header length, patched below
        let header_start = dst.len();
        match self.serialize_type {
            SerializeType::Json => self.write_json_header(dst),
            SerializeType::RocketMq => self.write_binary_header(dst),
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

    fn write_json_header(&self, dst: &mut BytesMut) {
        let mut itoa = itoa_buf();
        dst.put_slice(b"{\"code\":");
        dst.put_slice(fmt_int(&mut itoa, self.code as i64));
        dst.put_slice(b",\"language\":\"");
        dst.put_slice(self.language.name().as_bytes());
        dst.put_slice(b"\",\"version\":");
        dst.put_slice(fmt_int(&mut itoa, self.version as i64));
        dst.put_slice(b",\"opaque\":");
        dst.put_slice(fmt_int(&mut itoa, self.opaque as i64));
        dst.put_slice(b",\"flag\":");
        dst.put_slice(fmt_int(&mut itoa, self.flag as i64));
        if let Some(remark) = &self.remark {
            dst.put_slice(b",\"remark\":");
            write_json_str(dst, remark);
        }
        dst.put_slice(b",\"extFields\":{");
        for (i, (k, v)) in self.ext_fields.iter().enumerate() {
            if i > 0 {
                dst.put_u8(b',');
            }
            write_json_str(dst, k);
            dst.put_u8(b':');
            write_json_str(dst, v);
        }
        // rocketmq-rust's decoder requires serializeTypeCurrentRPC; Java ignores it.
        dst.put_slice(b"},\"serializeTypeCurrentRPC\":\"JSON\"}");
    }

    fn write_binary_header(&self, dst: &mut BytesMut) {
        dst.put_i16(self.code as i16);
        dst.put_u8(self.language.code());
        dst.put_i16(self.version as i16);
        dst.put_i32(self.opaque);
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

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

fn fmt_int(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Writes `s` as a JSON string. Control characters (the property separators 0x01 / 0x02 among
/// them) become `\u00XX` escapes, as fastjson writes them.
fn write_json_str(dst: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        dst.put_slice(&bytes[run..i]);
        if esc.is_empty() {
            dst.put_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        } else {
            dst.put_slice(esc);
        }
        run = i + 1;
    }
    dst.put_slice(&bytes[run..]);
    dst.put_u8(b'"');
}

/// A JSON string as serde_json hands it over: borrowed from the input when it has no escapes.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An extFields value: a string, or (from lax peers) a number, boolean or null.
enum LaxValue<'de> {
    Str(CowStr<'de>),
    Other(String),
    Null,
}

impl<'de> Deserialize<'de> for LaxValue<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LaxValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LaxValue::Str(CowStr(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LaxValue::Str(CowStr(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LaxValue::Str(CowStr(Cow::Owned(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LaxValue::Other(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LaxValue::Other(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LaxValue::Other(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(LaxValue::Other(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LaxValue::Null)
            }
        }
        d.deserialize_any(V)
    }
}

/// Decodes a JSON header. Strings without escapes become slices of `header` (no copy).
struct HeaderVisitor<'a> {
    header: &'a Bytes,
}

impl HeaderVisitor<'_> {
    /// A borrowed string is a slice of the header: keep its range; an unescaped copy is owned.
    fn keep(&self, s: CowStr<'_>) -> Field {
        match s.0 {
            Cow::Borrowed(b) => {
                let start = b.as_ptr() as usize - self.header.as_ptr() as usize;
                Field::Backed(start as u32, (start + b.len()) as u32)
            }
            Cow::Owned(o) => Field::Owned(o.into_boxed_str()),
        }
    }
}

struct ExtFieldsSeed<'a, 'b>(&'b HeaderVisitor<'a>);

impl<'de> de::DeserializeSeed<'de> for ExtFieldsSeed<'_, '_> {
    type Value = ExtFields;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ExtFields, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ExtFieldsSeed<'_, '_> {
    type Value = ExtFields;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of strings, or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<ExtFields, E> {
        Ok(ExtFields::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<ExtFields, E> {
        Ok(ExtFields::new())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<ExtFields, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
        let mut f = ExtFields { backing: self.0.header.clone(), entries: Vec::with_capacity(16) };
        while let Some(k) = map.next_key::<CowStr>()? {
            let v = match map.next_value::<LaxValue>()? {
                LaxValue::Str(s) => self.0.keep(s),
                LaxValue::Other(o) => Field::Owned(o.into_boxed_str()),
                LaxValue::Null => continue,
            };
            f.entries.push((self.0.keep(k), v));
        }
        Ok(f)
    }
}

impl<'de> Visitor<'de> for HeaderVisitor<'_> {
    type Value = RemotingCommand;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a RemotingCommand header object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RemotingCommand, A::Error> {
        let mut code = None;
        let mut cmd = RemotingCommand::blank_json();
        while let Some(key) = map.next_key::<CowStr>()? {
            match key.0.as_ref() {
                "code" => code = Some(map.next_value::<LaxInt>()?.0),
                "language" => {
                    if let Some(l) = map.next_value::<Option<CowStr>>()? {
                        cmd.language = LanguageCode::from_name(&l.0);
                    }
                }
                "version" => cmd.version = map.next_value::<LaxInt>()?.0,
                "opaque" => cmd.opaque = map.next_value::<LaxInt>()?.0,
                "flag" => cmd.flag = map.next_value::<LaxInt>()?.0,
                "remark" => cmd.remark = map.next_value::<Option<String>>()?,
                "extFields" => cmd.ext_fields = map.next_value_seed(ExtFieldsSeed(&self))?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        cmd.code = code.ok_or_else(|| de::Error::missing_field("code"))?;
        Ok(cmd)
    }
}

/// An int header field as fastjson reads one into an `int`: a JSON number, or a string holding
/// one (`"code":"310"`); null is 0.
struct LaxInt(i32);

impl<'de> Deserialize<'de> for LaxInt {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LaxInt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an int, or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LaxInt, E> {
                i32::try_from(v).map(LaxInt).map_err(|_| E::custom(format!("{v} is out of an int's range")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LaxInt, E> {
                i32::try_from(v).map(LaxInt).map_err(|_| E::custom(format!("{v} is out of an int's range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LaxInt, E> {
                crate::remoting::java::parse_int(v).map(LaxInt).ok_or_else(|| E::custom(format!("{v:?} is not an int")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LaxInt, E> {
                Ok(LaxInt(0))
            }
            fn visit_none<E: de::Error>(self) -> Result<LaxInt, E> {
                Ok(LaxInt(0))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<LaxInt, D::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_any(V)
    }
}

fn decode_json_header(header: &Bytes) -> Result<RemotingCommand, CodecError> {
    if let Some(cmd) = fast_json::parse(header) {
        return Ok(cmd);
    }
    // Anything the fast path does not expect (floats, arrays, nesting, bad input): serde_json,
    // which also words the error.
    decode_json_header_serde(header)
}

fn decode_json_header_serde(header: &Bytes) -> Result<RemotingCommand, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(header);
    let cmd = de::Deserializer::deserialize_map(&mut de, HeaderVisitor { header })
        .and_then(|c| de.end().map(|_| c))
        .map_err(|e| CodecError::InvalidJson(e.to_string()))?;
    Ok(cmd)
}

/// Reads `len` bytes of UTF-8 at `pos` of `h`, returning the range.
fn take_range(h: &[u8], pos: &mut usize, len: usize, what: &'static str) -> Result<(usize, usize), CodecError> {
    let end = pos.checked_add(len).filter(|e| *e <= h.len()).ok_or(CodecError::BinaryHeader(what))?;
    std::str::from_utf8(&h[*pos..end]).map_err(|_| CodecError::BinaryHeader(what))?;
    let r = (*pos, end);
    *pos = end;
    Ok(r)
}

fn read_i32(h: &[u8], pos: &mut usize, what: &'static str) -> Result<i32, CodecError> {
    let b = h.get(*pos..*pos + 4).ok_or(CodecError::BinaryHeader(what))?;
    *pos += 4;
    Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_len(h: &[u8], pos: &mut usize, what: &'static str) -> Result<usize, CodecError> {
    let n = read_i32(h, pos, what)?;
    usize::try_from(n).map_err(|_| CodecError::BinaryHeader(what))
}

fn decode_binary_header(header: Bytes) -> Result<RemotingCommand, CodecError> {
    let h = &header[..];
    if h.len() < 2 + 1 + 2 + 4 + 4 {
        return Err(CodecError::BinaryHeader("fixed fields"));
    }
    let code = i16::from_be_bytes([h[0], h[1]]) as i32;
    let language = LanguageCode::from_code(h[2]);
    let version = i16::from_be_bytes([h[3], h[4]]) as i32;
    let mut pos = 5;
    let opaque = read_i32(h, &mut pos, "opaque")?;
    let flag = read_i32(h, &mut pos, "flag")?;
    let remark_len = read_len(h, &mut pos, "remark length")?;
    let remark = if remark_len > 0 {
        let (a, b) = take_range(h, &mut pos, remark_len, "remark")?;
        Some(std::str::from_utf8(&h[a..b]).unwrap_or_default().to_string())
    } else {
        None
    };
    let map_len = read_len(h, &mut pos, "extFields length")?;
    let map_end =
        pos.checked_add(map_len).filter(|e| *e <= h.len()).ok_or(CodecError::BinaryHeader("extFields length"))?;
    if map_end != h.len() {
        return Err(CodecError::BinaryHeader("trailing bytes after extFields"));
    }
    let mut entries = Vec::with_capacity(16);
    while pos < map_end {
        let kb = h.get(pos..pos + 2).ok_or(CodecError::BinaryHeader("extFields key length"))?;
        let klen = u16::from_be_bytes([kb[0], kb[1]]) as usize;
        pos += 2;
        let (ka, kz) = take_range(&h[..map_end], &mut pos, klen, "extFields key")?;
        let vlen = read_len(&h[..map_end], &mut pos, "extFields value length")?;
        let (va, vz) = take_range(&h[..map_end], &mut pos, vlen, "extFields value")?;
        entries.push((Field::Backed(ka as u32, kz as u32), Field::Backed(va as u32, vz as u32)));
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: ExtFields { backing: if entries.is_empty() { Bytes::new() } else { header }, entries },
        body: Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
}

/// A hand-written scanner for the headers peers actually send: one flat object whose values
/// are integers, strings, booleans, null, or (for `extFields`) a flat object of those. Strings
/// without escapes stay ranges of the header. Returns `None` for anything else, and the caller
/// falls back to serde_json.
mod fast_json {
    use super::*;

    struct P<'a> {
        b: &'a [u8],
        i: usize,
    }

    enum Val {
        Str(Field),
        Int(i64, usize, usize),
        Bool(usize, usize),
        Null,
        Object,
    }

    impl<'a> P<'a> {
        fn ws(&mut self) {
            while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> Option<()> {
            self.ws();
            (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
        }
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.b.get(self.i).copied()
        }
        fn string(&mut self) -> Option<Field> {
            self.eat(b'"')?;
            let start = self.i;
            loop {
                match *self.b.get(self.i)? {
                    b'"' => {
                        self.i += 1;
                        return Some(Field::Backed(start as u32, (self.i - 1) as u32));
                    }
                    b'\\' => break,
                    _ => self.i += 1,
                }
            }
            // Escapes: unescape into an owned string.
            let mut out = String::from(std::str::from_utf8(&self.b[start..self.i]).ok()?);
            loop {
                let c = *self.b.get(self.i)?;
                self.i += 1;
                match c {
                    b'"' => return Some(Field::Owned(out.into_boxed_str())),
                    b'\\' => {
                        let e = *self.b.get(self.i)?;
                        self.i += 1;
                        match e {
                            b'"' => out.push('"'),
                            b'\\' => out.push('\\'),
                            b'/' => out.push('/'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'u' => {
                                let hi = self.hex4()?;
                                let ch = if (0xD800..0xDC00).contains(&hi) {
                                    if self.b.get(self.i..self.i + 2)? != b"\\u" {
                                        return None;
                                    }
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?))?
                                } else {
                                    char::from_u32(hi)?
                                };
                                out.push(ch);
                            }
                            _ => return None,
                        }
                    }
                    _ => {
                        // Copy a run of plain bytes.
                        let s = self.i - 1;
                        while self.i < self.b.len() && !matches!(self.b[self.i], b'"' | b'\\') {
                            self.i += 1;
                        }
                        out.push_str(std::str::from_utf8(&self.b[s..self.i]).ok()?);
                    }
                }
            }
        }
        fn hex4(&mut self) -> Option<u32> {
            let h = std::str::from_utf8(self.b.get(self.i..self.i + 4)?).ok()?;
            self.i += 4;
            u32::from_str_radix(h, 16).ok()
        }
        fn value(&mut self) -> Option<Val> {
            match self.peek()? {
                b'"' => self.string().map(Val::Str),
                b'n' => self.word(b"null").map(|_| Val::Null),
                b't' => self.word(b"true").map(|(a, z)| Val::Bool(a, z)),
                b'f' => self.word(b"false").map(|(a, z)| Val::Bool(a, z)),
                b'{' => Some(Val::Object),
                b'-' | b'0'..=b'9' => {
                    let start = self.i;
                    if self.b[self.i] == b'-' {
                        self.i += 1;
                    }
                    let digits = self.i;
                    while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
                        self.i += 1;
                    }
                    if self.i == digits
                        || self.i - digits > 18
                        || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
                    {
                        return None;
                    }
                    let n: i64 = std::str::from_utf8(&self.b[start..self.i]).ok()?.parse().ok()?;
                    Some(Val::Int(n, start, self.i))
                }
                _ => None,
            }
        }
        fn word(&mut self, w: &[u8]) -> Option<(usize, usize)> {
            let start = self.i;
            (self.b.get(self.i..self.i + w.len())? == w).then(|| {
                self.i += w.len();
                (start, self.i)
            })
        }
        fn key_is(&self, f: &Field, k: &[u8]) -> bool {
            match f {
                Field::Backed(a, z) => &self.b[*a as usize..*z as usize] == k,
                Field::Owned(s) => s.as_bytes() == k,
                Field::Static(s) => s.as_bytes() == k,
            }
        }
        fn int(v: Val) -> Option<i32> {
            match v {
                Val::Int(n, ..) => i32::try_from(n).ok(),
                Val::Null => Some(0),
                _ => None,
            }
        }
        fn ext_fields(&mut self, entries: &mut Vec<(Field, Field)>) -> Option<()> {
            self.eat(b'{')?;
            if self.eat(b'}').is_some() {
                return Some(());
            }
            loop {
                let k = self.string()?;
                self.eat(b':')?;
                let v = match self.value()? {
                    Val::Str(f) => f,
                    Val::Int(_, a, z) | Val::Bool(a, z) => Field::Backed(a as u32, z as u32),
                    Val::Null => Field::Static(""),
                    Val::Object => return None,
                };
                if !(matches!(v, Field::Static(""))) {
                    entries.push((k, v));
                }
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }
    }

    pub(super) fn parse(header: &Bytes) -> Option<RemotingCommand> {
        // Ranges must be valid UTF-8: check the whole header once.
        std::str::from_utf8(header).ok()?;
        let mut p = P { b: header, i: 0 };
        let mut code = None;
        let mut cmd = RemotingCommand::blank_json();
        let mut entries = Vec::new();
        p.eat(b'{')?;
        if p.eat(b'}').is_some() {
            return None;
        }
        loop {
            let key = p.string()?;
            p.eat(b':')?;
            if p.key_is(&key, b"extFields") && p.peek()? == b'{' {
                entries.reserve(16);
                p.ext_fields(&mut entries)?;
            } else {
                let v = p.value()?;
                if matches!(v, Val::Object) {
                    return None;
                }
                if p.key_is(&key, b"code") {
                    code = Some(P::int(v)?);
                } else if p.key_is(&key, b"opaque") {
                    cmd.opaque = P::int(v)?;
                } else if p.key_is(&key, b"flag") {
                    cmd.flag = P::int(v)?;
                } else if p.key_is(&key, b"version") {
                    cmd.version = P::int(v)?;
                } else if p.key_is(&key, b"language") {
                    if let Val::Str(f) = v {
                        cmd.language = LanguageCode::from_name(field_str(header, &f));
                    }
                } else if p.key_is(&key, b"remark") {
                    match v {
                        Val::Str(f) => cmd.remark = Some(field_str(header, &f).to_string()),
                        Val::Null => {}
                        _ => return None,
                    }
                }
            }
            match p.peek()? {
                b',' => p.i += 1,
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        p.ws();
        if p.i != header.len() {
            return None;
        }
        cmd.code = code?;
        if !entries.is_empty() {
            cmd.ext_fields = ExtFields { backing: header.clone(), entries };
        }
        Some(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: SerializeType) -> RemotingCommand {
        let mut ext = ExtFields::new();
        ext.push("a", "group".into());
        ext.push("i", "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ABC\u{2}".into());
        ext.push("quote", "he said \"hi\"\\ \n ok é".into());
        let mut c = RemotingCommand::request(310, ext).with_body(&b"hello"[..]);
        c.remark = Some("r\u{0}emark".into());
        c.serialize_type = t;
        c
    }

    #[test]
    fn both_encodings_round_trip() {
        for t in [SerializeType::Json, SerializeType::RocketMq] {
            let c = sample(t);
            let mut frame = c.encode();
            let total = frame.get_u32() as usize;
            assert_eq!(total, frame.len());
            let d = RemotingCommand::decode_frame(frame).unwrap();
            assert_eq!(d, c, "{t:?}");
        }
    }

    #[test]
    fn json_header_is_what_java_and_rocketmq_rust_read() {
        let mut c = sample(SerializeType::Json);
        c.opaque = 7;
        c.remark = None;
        let frame = c.encode();
        let word = u32::from_be_bytes(frame[4..8].try_into().unwrap());
        assert_eq!(word >> 24, 0);
        let header = &frame[8..8 + (word & 0xFFFFFF) as usize];
        let v: serde_json::Value = serde_json::from_slice(header).unwrap();
        assert_eq!(v["code"], 310);
        assert_eq!(v["language"], "JAVA");
        assert_eq!(v["opaque"], 7);
        assert_eq!(v["flag"], 0);
        assert_eq!(v["serializeTypeCurrentRPC"], "JSON");
        assert_eq!(v["extFields"]["i"], "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}ABC\u{2}");
        assert!(std::str::from_utf8(header).unwrap().contains("\\u0001"));
    }

    #[test]
    fn binary_header_layout_matches_rocketmq_serializable() {
        let mut ext = ExtFields::new();
        ext.push("k", "vv".into());
        let mut c = RemotingCommand::request(105, ext);
        c.opaque = 0x01020304;
        c.version = 479;
        c.language = LanguageCode::Java;
        c.serialize_type = SerializeType::RocketMq;
        let f = c.encode();
        #[rustfmt::skip]
        let expect_header: &[u8] = &[
            0, 105,             // code
            0,                  // JAVA
            0x01, 0xDF,         // version 479
            1, 2, 3, 4,         // opaque
            0, 0, 0, 0,         // flag
            0, 0, 0, 0,         // remark length 0
            0, 0, 0, 9,         // map length
            0, 1, b'k', 0, 0, 0, 2, b'v', b'v',
        ];
        assert_eq!(&f[4..8], &[1, 0, 0, expect_header.len() as u8]);
        assert_eq!(&f[8..], expect_header);
    }

    #[test]
    fn json_decoder_accepts_nulls_unknown_keys_and_lax_values() {
        let h = br#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON","unknown":[1,2]}"#;
        let c = decode_json_header(&Bytes::from_static(h)).unwrap();
        assert!(c.is_response());
        assert_eq!(c.language, LanguageCode::Rust);
        assert!(c.ext_fields.is_empty());
        let h = br#"{"code":0,"flag":1,"extFields":{"queueId":3,"batch":false,"x":null,"msgId":"AB"}}"#;
        let c = decode_json_header(&Bytes::from_static(h)).unwrap();
        assert_eq!(c.ext_fields.get("queueId"), Some("3"));
        assert_eq!(c.ext_fields.get("batch"), Some("false"));
        assert_eq!(c.ext_fields.get("x"), None);
        assert_eq!(c.ext_fields.get("msgId"), Some("AB"));
        assert!(matches!(decode_json_header(&Bytes::from_static(b"{\"code\":")), Err(CodecError::InvalidJson(_))));
        assert!(matches!(decode_json_header(&Bytes::from_static(b"{}")), Err(CodecError::InvalidJson(_))));
    }

    #[test]
    fn fast_json_path_agrees_with_serde() {
        let headers: &[&str] = &[
            r#"{"code":310,"language":"JAVA","version":479,"opaque":5,"flag":0,"extFields":{"a":"g","i":"K\u0001v\u0002"},"serializeTypeCurrentRPC":"JSON"}"#,
            r#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON"}"#,
            r#" { "code" : -3 , "remark" : "a \"q\" \\ \/ \n é \ud83d\ude00 end", "extFields" : { "n" : 12 , "b" : false , "z" : null , "t" : true } } "#,
            r#"{"flag":1,"code":2,"unknown":"x","extFields":{}}"#,
        ];
        for h in headers {
            let b = Bytes::copy_from_slice(h.as_bytes());
            let fast = fast_json::parse(&b).unwrap_or_else(|| panic!("fast path declined {h}"));
            let slow = decode_json_header_serde(&b).unwrap();
            assert_eq!(fast, slow, "{h}");
        }
        // Declined by the fast path, still read by serde_json.
        for h in [r#"{"code":1,"x":[1,2]}"#, r#"{"code":1,"x":1.5}"#, r#"{"code":1,"x":{"y":1}}"#] {
            let b = Bytes::copy_from_slice(h.as_bytes());
            assert!(fast_json::parse(&b).is_none(), "{h}");
            assert_eq!(decode_json_header(&b).unwrap().code, 1);
        }
        // Bad input is declined and then a typed error.
        for h in [r#"{"code":1"#, r#"{"code":"x"}"#, r#"{"code":1}x"#, "{\"code\":1,\"remark\":\"\\ud800\"}"] {
            let b = Bytes::copy_from_slice(h.as_bytes());
            assert!(fast_json::parse(&b).is_none(), "{h}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_json_round_trips_anything_we_encode(
            code in proptest::prelude::any::<i32>(),
            remark in proptest::option::of("\\PC{0,30}"),
            ext in proptest::collection::vec(("[a-zA-Z0-9_]{1,8}", "\\PC{0,30}"), 0..10),
        ) {
            let mut c = RemotingCommand::request(code, ext.into_iter().collect());
            c.remark = remark;
            let mut frame = c.encode();
            frame.advance(4);
            let d = RemotingCommand::decode_frame(frame.clone()).unwrap();
            proptest::prop_assert_eq!(&d, &c);
            frame.advance(4);
            let h = frame.slice(..frame.len());
            proptest::prop_assert!(fast_json::parse(&h).is_some());
        }
    }

    #[test]
    fn ext_fields_insert_replaces() {
        let mut e = ExtFields::new();
        e.insert("a", "1");
        e.insert("a", "2");
        assert_eq!(e.len(), 1);
        assert_eq!(e.get("a"), Some("2"));
        assert_eq!(e.remove("a"), Some("2".into()));
        assert!(e.is_empty());
    }

    #[test]
    fn int_formatting() {
        let mut b = itoa_buf();
        assert_eq!(fmt_int(&mut b, 0), b"0");
        assert_eq!(fmt_int(&mut b, -2147483648), b"-2147483648");
        assert_eq!(fmt_int(&mut b, 479), b"479");
    }
}
