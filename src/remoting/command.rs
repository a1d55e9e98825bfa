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
        LANGUAGES
            .iter()
            .find(|(_, n)| *n == s)
            .map_or(LanguageCode::Other, |(l, _)| *l)
    }
}

/// The custom header (`extFields`): string keys and string values, in insertion order.
/// A handful of entries, so a vector beats a hash map for both building and lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields(Vec<(Cow<'static, str>, String)>);

impl ExtFields {
    pub fn new() -> Self {
        ExtFields(Vec::new())
    }
    pub fn with_capacity(n: usize) -> Self {
        ExtFields(Vec::with_capacity(n))
    }
    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.as_str())
    }
    /// Sets `key`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }
    /// Appends without checking for an earlier value (header builders know their keys are unique).
    pub fn push(&mut self, key: &'static str, value: String) {
        self.0.push((Cow::Borrowed(key), value));
    }
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k.as_ref() == key)?;
        Some(self.0.remove(i).1)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        let code = if self.is_response() {
            response_code_label(self.code)
        } else {
            request_code_label(self.code)
        };
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

    /// A response to `request`: same opaque and serialize type, response bit set.
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
            serialize_type: request.serialize_type,
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
        let serialize_type =
            SerializeType::from_byte(type_byte).ok_or(CodecError::UnknownSerializeType(type_byte))?;
        if header_len > frame.len() {
            return Err(CodecError::HeaderLengthPastFrame {
                header_len,
                available: frame.len(),
            });
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

#[derive(Deserialize)]
struct JsonHeader<'a> {
    code: i32,
    #[serde(default, borrow)]
    language: Option<Cow<'a, str>>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    opaque: Option<i32>,
    #[serde(default)]
    flag: Option<i32>,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields", deserialize_with = "de_ext_fields")]
    ext_fields: ExtFields,
}

fn de_ext_fields<'de, D: de::Deserializer<'de>>(d: D) -> Result<ExtFields, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = ExtFields;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of strings or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<ExtFields, E> {
            Ok(ExtFields::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<ExtFields, E> {
            Ok(ExtFields::new())
        }
        fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<ExtFields, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
            let mut f = ExtFields::with_capacity(map.size_hint().unwrap_or(8));
            while let Some(k) = map.next_key::<String>()? {
                // Values are strings on the wire; tolerate numbers and booleans from lax peers.
                let v = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => continue,
                    other => other.to_string(),
                };
                f.0.push((Cow::Owned(k), v));
            }
            Ok(f)
        }
    }
    d.deserialize_option(V)
}

fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, CodecError> {
    let h: JsonHeader = serde_json::from_slice(header).map_err(|e| CodecError::InvalidJson(e.to_string()))?;
    Ok(RemotingCommand {
        code: h.code,
        language: h.language.as_deref().map_or(LanguageCode::Other, LanguageCode::from_name),
        version: h.version.unwrap_or(0),
        opaque: h.opaque.unwrap_or(0),
        flag: h.flag.unwrap_or(0),
        remark: h.remark,
        ext_fields: h.ext_fields,
        body: Bytes::new(),
        serialize_type: SerializeType::Json,
    })
}

fn take_len(buf: &mut Bytes, what: &'static str) -> Result<usize, CodecError> {
    if buf.remaining() < 4 {
        return Err(CodecError::BinaryHeader(what));
    }
    let n = buf.get_i32();
    if n < 0 || n as usize > buf.remaining() {
        return Err(CodecError::BinaryHeader(what));
    }
    Ok(n as usize)
}

fn take_string(buf: &mut Bytes, len: usize, what: &'static str) -> Result<String, CodecError> {
    let b = buf.split_to(len);
    String::from_utf8(b.to_vec()).map_err(|_| CodecError::BinaryHeader(what))
}

fn decode_binary_header(mut buf: Bytes) -> Result<RemotingCommand, CodecError> {
    if buf.remaining() < 2 + 1 + 2 + 4 + 4 {
        return Err(CodecError::BinaryHeader("fixed fields"));
    }
    let code = buf.get_i16() as i32;
    let language = LanguageCode::from_code(buf.get_u8());
    let version = buf.get_i16() as i32;
    let opaque = buf.get_i32();
    let flag = buf.get_i32();
    let remark_len = take_len(&mut buf, "remark length")?;
    let remark = if remark_len > 0 {
        Some(take_string(&mut buf, remark_len, "remark")?)
    } else {
        None
    };
    let map_len = take_len(&mut buf, "extFields length")?;
    let mut map = buf.split_to(map_len);
    let mut ext = ExtFields::new();
    while map.has_remaining() {
        if map.remaining() < 2 {
            return Err(CodecError::BinaryHeader("extFields key length"));
        }
        let klen = map.get_u16() as usize;
        if klen > map.remaining() {
            return Err(CodecError::BinaryHeader("extFields key"));
        }
        let k = take_string(&mut map, klen, "extFields key")?;
        let vlen = take_len(&mut map, "extFields value length")?;
        let v = take_string(&mut map, vlen, "extFields value")?;
        ext.0.push((Cow::Owned(k), v));
    }
    if buf.has_remaining() {
        return Err(CodecError::BinaryHeader("trailing bytes after extFields"));
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: ext,
        body: Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
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
        let c = decode_json_header(h).unwrap();
        assert!(c.is_response());
        assert_eq!(c.language, LanguageCode::Rust);
        assert!(c.ext_fields.is_empty());
        let h = br#"{"code":0,"flag":1,"extFields":{"queueId":3,"batch":false,"x":null,"msgId":"AB"}}"#;
        let c = decode_json_header(h).unwrap();
        assert_eq!(c.ext_fields.get("queueId"), Some("3"));
        assert_eq!(c.ext_fields.get("batch"), Some("false"));
        assert_eq!(c.ext_fields.get("x"), None);
        assert_eq!(c.ext_fields.get("msgId"), Some("AB"));
        assert!(matches!(decode_json_header(b"{\"code\":"), Err(CodecError::InvalidJson(_))));
        assert!(matches!(decode_json_header(b"{}"), Err(CodecError::InvalidJson(_))));
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
