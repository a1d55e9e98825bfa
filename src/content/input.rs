//! `--input FILE`: one message per JSON line, as an operator copies them out of production.
//!
//! ```text
//! {"topic":"Orders","tag":"created","keys":["o-{{seq}}"],"props":{"region":"eu"},"body":"{\"id\":{{seq}}}"}
//! {"body_base64":"AAECAw==","delay_level":3}
//! ```
//!
//! Fields: `topic`, `tag`, `keys` (a string of space-separated keys, or an array), `props`
//! (an object of strings, numbers or booleans), `body` (text, with placeholders) or
//! `body_base64` (bytes, as they are), `delay_level` (1-18), `deliver_at_ms` or `delay_ms`
//! (5.x timer), `sharding_key` (an ordered send: the key's queue), `transaction` (commit,
//! rollback, unknown or mix:C,R,U: a transactional send). A missing field takes the command line's. Every line is read and checked before
//! the first send; a bad line is an error naming its number, never skipped.

use std::io::BufRead;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Body, Delay, MessageSpec};
use crate::content::template::Template;

/// Reads every line of `r` (blank lines and lines starting with `//` or `#` are skipped).
pub fn read(r: impl BufRead, name: &str) -> Result<Vec<MessageSpec>, String> {
    let mut out = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| format!("{name}: line {n}: {e}"))?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        out.push(parse_line(t).map_err(|e| format!("{name}: line {n}: {e}"))?);
    }
    if out.is_empty() {
        return Err(format!("{name}: no message in it (one JSON object per line)"));
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<MessageSpec, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(o) = v else { return Err("a message is a JSON object {…}".into()) };
    let mut spec = MessageSpec::default();
    for (k, v) in &o {
        match k.as_str() {
            "topic" => {
                let t = string(k, v)?;
                crate::protocol::message::validate_topic(&t).map_err(|e| e.to_string())?;
                spec.topic = Some(t);
            }
            "tag" | "tags" => spec.tag = Some(string(k, v)?),
            "keys" => spec.keys = Some(keys(v)?),
            "props" | "properties" => spec.props = props(v)?,
            "body" => spec.body = Some(Body::Text(Template::parse(&string(k, v)?)?)),
            "body_base64" => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(string(k, v)?.as_bytes())
                    .map_err(|e| format!("body_base64: {e}"))?;
                spec.body = Some(Body::Bytes(bytes.into()));
            }
            "delay_level" => spec.delay = Some(Delay::Level(int(k, v, 1, 18)? as u8)),
            "deliver_at_ms" => {
                spec.delay = Some(Delay::DeliverAtMs(int(k, v, 1, crate::bounds::MAX_DELIVER_AT_MS - 1)?))
            }
            "delay_ms" => spec.delay = Some(Delay::DelayMs(int(k, v, 1, crate::bounds::MAX_DELAY_MS as i64)?)),
            "sharding_key" => {
                let key = string(k, v)?;
                if key.is_empty() {
                    return Err("sharding_key: empty (a key chooses the queue)".into());
                }
                spec.sharding_key = Some(Template::parse(&key).map_err(|e| format!("sharding_key: {e}"))?);
            }
            "transaction" => spec.transaction = Some(super::TxMix::parse(&string(k, v)?).map_err(|e| format!("transaction: {e}"))?),
            _ => {
                return Err(format!(
                    "unknown field {k:?} (fields: topic, tag, keys, props, body, body_base64, delay_level, deliver_at_ms, delay_ms, sharding_key, transaction)"
                ))
            }
        }
    }
    spec.check_properties("")?;
    if o.contains_key("body") && o.contains_key("body_base64") {
        return Err("body and body_base64: one or the other".into());
    }
    let delays = ["delay_level", "deliver_at_ms", "delay_ms"].iter().filter(|k| o.contains_key(**k)).count();
    if delays > 1 {
        return Err("delay_level, deliver_at_ms, delay_ms: one of them".into());
    }
    Ok(spec)
}

fn string(k: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("{k}: a string, not {v}")),
    }
}

fn int(k: &str, v: &Value, min: i64, max: i64) -> Result<i64, String> {
    match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{k}: a whole number {min}..={max}, not {v}")),
    }
}

fn keys(v: &Value) -> Result<Vec<Template>, String> {
    let list: Vec<String> = match v {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Value::Array(a) => a.iter().map(|x| string("keys", x)).collect::<Result<_, _>>()?,
        _ => return Err(format!("keys: a string or an array of strings, not {v}")),
    };
    list.iter().map(|k| Template::parse(k)).collect()
}

fn props(v: &Value) -> Result<Vec<(String, Template)>, String> {
    let Value::Object(m) = v else { return Err(format!("props: an object {{\"name\": \"value\"}}, not {v}")) };
    props_of(m)
}

fn props_of(m: &Map<String, Value>) -> Result<Vec<(String, Template)>, String> {
    let mut out = Vec::new();
    for (name, value) in m {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("props.{name}: a string, number or boolean, not {other}")),
        };
        crate::protocol::properties::check_user_property(name, &value).map_err(|e| format!("props.{name}: {e}"))?;
        out.push((name.clone(), Template::parse(&value).map_err(|e| format!("props.{name}: {e}"))?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<MessageSpec, String> {
        read(line.as_bytes(), "in.jsonl").map(|mut v| v.remove(0))
    }

    #[test]
    fn a_line_with_every_field() {
        let s = one(r#"{"topic":"Orders","tag":"created","keys":["o-{{seq}}","x"],"props":{"region":"eu","n":3,"b":true},"body":"id {{seq}}","delay_level":3}"#).unwrap();
        assert_eq!(s.topic.as_deref(), Some("Orders"));
        assert_eq!(s.tag.as_deref(), Some("created"));
        assert_eq!(s.keys.as_ref().unwrap().iter().map(|k| k.render(9)).collect::<Vec<_>>(), ["o-9", "x"]);
        let props: Vec<(String, String)> = s.props.iter().map(|(k, v)| (k.clone(), v.render(1))).collect();
        assert!(props.contains(&("n".into(), "3".into())) && props.contains(&("b".into(), "true".into())));
        assert!(matches!(s.delay, Some(Delay::Level(3))));
        let bytes = one(r#"{"body_base64":"AAECAw=="}"#).unwrap();
        assert!(matches!(bytes.body, Some(Body::Bytes(b)) if b[..] == [0, 1, 2, 3]));
    }

    #[test]
    fn bad_lines_are_errors_with_their_number() {
        let text = "{\"body\":\"a\"}\n\n# a comment\n{\"body\":\"b\",\"tpoic\":\"x\"}\n";
        let e = read(text.as_bytes(), "in.jsonl").unwrap_err();
        assert!(e.starts_with("in.jsonl: line 4: unknown field \"tpoic\""), "{e}");
        for (line, why) in [
            ("not json", "not JSON"),
            ("[1]", "a JSON object"),
            (r#"{"props":{"UNIQ_KEY":"x"}}"#, "used by system"),
            (r#"{"topic":"bad topic"}"#, "invalid topic"),
            (r#"{"delay_level":19}"#, "1..=18"),
            (r#"{"body":"x","body_base64":"eA=="}"#, "one or the other"),
            (r#"{"delay_level":2,"delay_ms":5}"#, "one of them"),
            (r#"{"body":"{{nope}}"}"#, "unknown placeholder"),
            (r#"{"transaction":"maybe"}"#, "mix:C,R,U"),
            (r#"{"transaction":"mix:1,2"}"#, "three whole numbers"),
            (r#"{"sharding_key":""}"#, "empty"),
            (r#"{"sharding_key":3}"#, "a string"),
            (r#"{"sharding_key":"{{what}}"}"#, "unknown placeholder"),
        ] {
            let e = one(line).unwrap_err();
            assert!(e.starts_with("in.jsonl: line 1: ") && e.contains(why), "{line}: {e}");
        }
        assert!(read("\n# only comments\n".as_bytes(), "in.jsonl").unwrap_err().contains("no message"));
    }
}
