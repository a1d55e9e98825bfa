//! Reading a JSON header through serde_json, leniently as fastjson reads it (numbers as strings,
//! booleans as "0", nulls): the path for what the fast scanner does not expect, and the one that
//! words the error.

use super::*;

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
            Cow::Owned(o) => Field::Owned(o),
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
        let mut f = ExtFields { backing: self.0.header.clone(), entries: Vec::with_capacity(16), json: false };
        while let Some(k) = map.next_key::<CowStr>()? {
            let v = match map.next_value::<LaxValue>()? {
                LaxValue::Str(s) => self.0.keep(s),
                LaxValue::Other(o) => Field::Owned(o),
                LaxValue::Null => continue,
            };
            if f.entries.len() == MAX_EXT_FIELDS {
                return Err(de::Error::custom(format!("more than {MAX_EXT_FIELDS} extFields")));
            }
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

pub(super) fn decode_json_header(header: &Bytes) -> Result<RemotingCommand, CodecError> {
    if let Some(cmd) = fast_json::parse(header) {
        return Ok(cmd);
    }
    // Java reads the header as `new String(bytes, UTF_8)`: a byte sequence that is not UTF-8
    // becomes U+FFFD and the header is read on (a broker's error remark in another charset stays
    // a broker error, not a broken connection).
    if std::str::from_utf8(header).is_err() {
        let lossy = Bytes::from(String::from_utf8_lossy(header).into_owned());
        return match fast_json::parse(&lossy) {
            Some(cmd) => Ok(cmd),
            None => decode_json_header_serde(&lossy),
        };
    }
    // Anything the fast path does not expect (floats, arrays, nesting, bad input): serde_json,
    // which also words the error.
    decode_json_header_serde(header)
}

pub(super) fn decode_json_header_serde(header: &Bytes) -> Result<RemotingCommand, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(header);
    let cmd = de::Deserializer::deserialize_map(&mut de, HeaderVisitor { header })
        .and_then(|c| de.end().map(|_| c))
        .map_err(|e| CodecError::InvalidJson(e.to_string()))?;
    Ok(cmd)
}
