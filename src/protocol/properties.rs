//! Message properties: `name 0x01 value 0x02 name 0x01 value 0x02 …` (`MessageDecoder`).

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends each property.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

pub const KEYS: &str = "KEYS";
pub const TAGS: &str = "TAGS";
pub const WAIT: &str = "WAIT";
pub const DELAY: &str = "DELAY";
pub const UNIQ_KEY: &str = "UNIQ_KEY";
pub const TRAN_MSG: &str = "TRAN_MSG";
pub const MSG_REGION: &str = "MSG_REGION";
pub const TRACE_ON: &str = "TRACE_ON";

/// Encodes properties as the Java client does (a trailing separator after every pair).
pub fn encode<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::new();
    for (k, v) in props {
        s.push_str(k);
        s.push(NAME_VALUE_SEPARATOR);
        s.push_str(v);
        s.push(PROPERTY_SEPARATOR);
    }
    s
}

/// Decodes a properties string; malformed pairs (no name/value separator) are skipped, as Java does.
pub fn decode(s: &str) -> Vec<(String, String)> {
    s.split(PROPERTY_SEPARATOR)
        .filter_map(|pair| {
            let (k, v) = pair.split_once(NAME_VALUE_SEPARATOR)?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The value of one property without decoding the rest.
pub fn find<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.split(PROPERTY_SEPARATOR).find_map(|pair| {
        let (k, v) = pair.split_once(NAME_VALUE_SEPARATOR)?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_find() {
        let s = encode([("KEYS", "k1 k2"), ("UNIQ_KEY", "ABC"), ("WAIT", "true")]);
        assert_eq!(s, "KEYS\u{1}k1 k2\u{2}UNIQ_KEY\u{1}ABC\u{2}WAIT\u{1}true\u{2}");
        let d = decode(&s);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0], ("KEYS".into(), "k1 k2".into()));
        assert_eq!(find(&s, "UNIQ_KEY"), Some("ABC"));
        assert_eq!(find(&s, "TAGS"), None);
        assert!(decode("").is_empty());
        assert_eq!(decode("junk\u{2}A\u{1}b"), vec![("A".to_string(), "b".to_string())]);
    }
}
