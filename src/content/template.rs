//! Text with placeholders, filled in per message: `{{seq}}` (the message's number in the run,
//! from 1), `{{uuid}}` (a random UUID v4), `{{now_ms}}` (Unix time in ms when it is built),
//! `{{rand:N}}` (a random integer 0 ≤ x < N). Parsed once; text without a placeholder is used as
//! it is, with no copy per message.

use std::fmt::Write as _;

use rand::Rng;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Seq,
    Uuid,
    NowMs,
    Rand(u64),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `s`; an unknown or unclosed placeholder is an error that names it.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| format!("unclosed {{{{ in {s:?}"))?;
            let name = after[..close].trim();
            parts.push(match name {
                "seq" => Part::Seq,
                "uuid" => Part::Uuid,
                "now_ms" => Part::NowMs,
                _ => match name.strip_prefix("rand:").map(|n| n.trim().parse::<u64>()) {
                    Some(Ok(n)) if n > 0 => Part::Rand(n),
                    Some(_) => return Err(format!("{{{{{name}}}}}: N of {{{{rand:N}}}} is a whole number ≥ 1")),
                    None => {
                        return Err(format!(
                            "unknown placeholder {{{{{name}}}}} (known: {{{{seq}}}}, {{{{uuid}}}}, {{{{now_ms}}}}, {{{{rand:N}}}})"
                        ))
                    }
                },
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Refuses a template whose text holds a property separator (what a placeholder makes never
    /// does: digits, hex and dashes).
    pub fn check_property_value(&self, what: &str) -> Result<(), String> {
        self.parts.iter().try_for_each(|p| match p {
            Part::Text(t) => crate::protocol::properties::check_value(what, t),
            _ => Ok(()),
        })
    }

    /// The text itself when it has no placeholder.
    pub fn as_plain(&self) -> Option<&str> {
        match &self.parts[..] {
            [] => Some(""),
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// The text for message number `seq`.
    pub fn render(&self, seq: u64) -> String {
        if let Some(p) = self.as_plain() {
            return p.to_string();
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Seq => {
                    let _ = write!(out, "{seq}");
                }
                Part::Uuid => out.push_str(&uuid_v4()),
                Part::NowMs => {
                    let _ = write!(out, "{}", chrono::Utc::now().timestamp_millis());
                }
                Part::Rand(n) => {
                    let _ = write!(out, "{}", rand::thread_rng().gen_range(0..*n));
                }
            }
        }
        out
    }
}

/// A random (version 4) UUID, lower-case hex with dashes.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_per_message() {
        let t = Template::parse("order-{{seq}} at {{ now_ms }} r{{rand:3}} {{uuid}}").unwrap();
        let a = t.render(7);
        assert!(a.starts_with("order-7 at "), "{a}");
        let parts: Vec<&str> = a.split(' ').collect();
        let now: i64 = parts[2].parse().unwrap();
        assert!((now - chrono::Utc::now().timestamp_millis()).abs() < 5_000);
        let r: u64 = parts[3].strip_prefix('r').unwrap().parse().unwrap();
        assert!(r < 3);
        let uuid = parts[4];
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4", "version 4");
        assert_ne!(t.render(7).split(' ').nth(4), Some(uuid), "a new uuid each time");
    }

    #[test]
    fn plain_text_stays_plain_and_bad_placeholders_say_which() {
        assert_eq!(Template::parse("no placeholders").unwrap().as_plain(), Some("no placeholders"));
        assert_eq!(Template::parse("").unwrap().as_plain(), Some(""));
        assert_eq!(Template::parse("a {single} brace").unwrap().as_plain(), Some("a {single} brace"));
        assert!(Template::parse("{{seqq}}").unwrap_err().contains("unknown placeholder {{seqq}}"));
        assert!(Template::parse("x {{seq").unwrap_err().contains("unclosed"));
        assert!(Template::parse("{{rand:0}}").unwrap_err().contains("≥ 1"));
        assert!(Template::parse("{{rand:x}}").is_err());
    }
}
