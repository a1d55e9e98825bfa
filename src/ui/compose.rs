//! The compose form (`s`): one message as an operator writes it — topic, tag, keys, properties,
//! a delay or timer, a sharding key, a body — sent once, its own result shown when it
//! completes. The last message composed for each topic is remembered in the XDG state dir
//! (`$XDG_STATE_HOME/mqtui/compose.json`, else `~/.local/state/mqtui/`; `MQTUI_STATE_DIR`
//! wins), so the next `s` on that topic starts from it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};

use crate::protocol::message::Message;
use crate::protocol::properties;

/// The form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compose {
    pub fields: [String; 7],
    pub field: usize,
    /// Why the last Enter did not send.
    pub error: Option<String>,
}

/// What Enter made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub msg: Message,
    pub sharding_key: Option<String>,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Stay,
    Cancel,
    Send(Composed),
}

const TOPIC: usize = 0;
const TAG: usize = 1;
const KEYS: usize = 2;
const PROPS: usize = 3;
const DELAY: usize = 4;
const SHARDING: usize = 5;
const BODY: usize = 6;

impl Compose {
    pub const LABELS: [&'static str; 7] = ["topic", "tag", "keys", "props", "delay", "key", "body"];
    pub const HINTS: [&'static str; 7] = [
        "",
        "",
        "space-separated",
        "name=value name=value",
        "level 1-18 · 1500ms · 10s · @unix-ms · @RFC 3339",
        "sharding key: an ordered send to the key's queue",
        "",
    ];

    /// A form for `topic`: the last message composed for it, or a fresh one.
    pub fn open(topic: &str) -> Compose {
        let fields = match load().remove(topic) {
            Some(f) => [topic.to_string(), f.tag, f.keys, f.props, f.delay, f.sharding_key, f.body],
            None => [
                topic.to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "hello from mqtui".to_string(),
            ],
        };
        Compose { fields, field: BODY, error: None }
    }

    pub fn key(&mut self, key: &KeyEvent) -> Step {
        let n = self.fields.len();
        match key.code {
            KeyCode::Esc => return Step::Cancel,
            KeyCode::Tab | KeyCode::Down => self.field = (self.field + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.field = (self.field + n - 1) % n,
            KeyCode::Backspace => {
                self.fields[self.field].pop();
            }
            KeyCode::Char(c) => self.fields[self.field].push(c),
            KeyCode::Enter => match self.build() {
                Ok(c) => {
                    self.remember();
                    return Step::Send(c);
                }
                Err(e) => self.error = Some(e),
            },
            _ => {}
        }
        Step::Stay
    }

    /// The message the fields describe, checked as `mqtui produce` checks its flags.
    pub fn build(&self) -> Result<Composed, String> {
        let f = &self.fields;
        let topic = f[TOPIC].trim();
        crate::protocol::message::validate_topic(topic).map_err(|e| format!("topic: {e}"))?;
        if f[BODY].is_empty() {
            return Err("body: empty (a body is at least 1 byte)".into());
        }
        for (label, i) in [("tag", TAG), ("keys", KEYS), ("key", SHARDING)] {
            properties::check_value(label, &f[i])?;
        }
        let mut msg = Message::new(topic, f[BODY].clone().into_bytes()).with_tags(f[TAG].trim());
        msg = msg.with_keys(&f[KEYS].split_whitespace().collect::<Vec<_>>());
        for kv in f[PROPS].split_whitespace() {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("props: {kv:?} is not name=value"))?;
            properties::check_user_property(k, v).map_err(|e| format!("props: {k}: {e}"))?;
            msg.set_property(k, v);
        }
        match parse_delay(f[DELAY].trim())? {
            None => {}
            Some((name, value)) => msg.set_property(name, value),
        }
        let key = f[SHARDING].trim();
        Ok(Composed { msg, sharding_key: (!key.is_empty()).then(|| key.to_string()) })
    }

    fn remember(&self) {
        let f = &self.fields;
        let mut all = load();
        all.insert(
            f[TOPIC].trim().to_string(),
            Remembered {
                tag: f[TAG].clone(),
                keys: f[KEYS].clone(),
                props: f[PROPS].clone(),
                delay: f[DELAY].clone(),
                sharding_key: f[SHARDING].clone(),
                body: f[BODY].clone(),
            },
        );
        if let Err(e) = save(&all) {
            tracing::warn!(error = %e, "cannot remember the composed message");
        }
    }
}

/// `3` (a delay level), `1500ms` / `10s` (the 5.x timer's TIMER_DELAY_MS), `@1767225600000` /
/// `@2026-12-24T18:00:00Z` (TIMER_DELIVER_MS).
fn parse_delay(s: &str) -> Result<Option<(&'static str, String)>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(at) = s.strip_prefix('@') {
        let ms = match at.parse::<i64>() {
            Ok(ms) => ms,
            Err(_) => chrono::DateTime::parse_from_rfc3339(at)
                .map_err(|_| format!("delay: @{at} is neither Unix ms nor RFC 3339"))?
                .timestamp_millis(),
        };
        if !(1..crate::bounds::MAX_DELIVER_AT_MS).contains(&ms) {
            return Err(format!("delay: @{at}: a time after 1970 and before the year 10000"));
        }
        return Ok(Some((properties::TIMER_DELIVER_MS, ms.to_string())));
    }
    let bad = || format!("delay: {s:?}: a level 1-18, 1500ms, 10s (up to 366 days), or @time");
    let bounded = |ms: Option<u64>| ms.filter(|ms| *ms <= crate::bounds::MAX_DELAY_MS).ok_or_else(bad);
    if let Some(ms) = s.strip_suffix("ms") {
        let ms = bounded(ms.trim().parse().ok())?;
        return Ok(Some((properties::TIMER_DELAY_MS, ms.to_string())));
    }
    if let Some(secs) = s.strip_suffix('s') {
        let ms = bounded(secs.trim().parse::<u64>().ok().and_then(|s| s.checked_mul(1000)))?;
        return Ok(Some((properties::TIMER_DELAY_MS, ms.to_string())));
    }
    match s.parse::<u8>() {
        Ok(l @ 1..=18) => Ok(Some((properties::DELAY, l.to_string()))),
        _ => Err(bad()),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Remembered {
    tag: String,
    keys: String,
    props: String,
    delay: String,
    sharding_key: String,
    body: String,
}

/// `MQTUI_STATE_DIR`, else `$XDG_STATE_HOME/mqtui`, else `~/.local/state/mqtui`.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("MQTUI_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("mqtui"))
}

fn load() -> BTreeMap<String, Remembered> {
    let Some(p) = state_dir().map(|d| d.join("compose.json")) else { return BTreeMap::new() };
    match crate::bounds::read_limited(&p, crate::bounds::MAX_SETTINGS_FILE, "remembered messages") {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %p.display(), error = %e, "the remembered messages do not read; starting afresh");
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

fn save(all: &BTreeMap<String, Remembered>) -> std::io::Result<()> {
    let Some(dir) = state_dir() else { return Ok(()) };
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join("compose.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(all)?)?;
    std::fs::rename(tmp, dir.join("compose.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_out_of_range_is_an_error_not_an_overflow() {
        assert_eq!(parse_delay("10s").unwrap(), Some((properties::TIMER_DELAY_MS, "10000".into())));
        assert_eq!(parse_delay("3").unwrap(), Some((properties::DELAY, "3".into())));
        for bad in ["18446744073709551615s", "99999999999999ms", "@99999999999999999", "@-5", "19", "1e3s"] {
            assert!(parse_delay(bad).is_err(), "{bad}");
        }
    }

    fn form(fields: [&str; 7]) -> Compose {
        Compose { fields: fields.map(str::to_string), field: BODY, error: None }
    }

    #[test]
    fn builds_the_message_the_fields_say() {
        let c =
            form(["Orders", "created", "o-1 eu", "region=eu n=3", "1500ms", "order-7", "{\"id\":1}"]).build().unwrap();
        assert_eq!(c.msg.topic, "Orders");
        assert_eq!(c.msg.property("TAGS"), Some("created"));
        assert_eq!(c.msg.property("KEYS"), Some("o-1 eu"));
        assert_eq!((c.msg.property("region"), c.msg.property("n")), (Some("eu"), Some("3")));
        assert_eq!(c.msg.property("TIMER_DELAY_MS"), Some("1500"));
        assert_eq!(c.sharding_key.as_deref(), Some("order-7"));
        assert_eq!(&c.msg.body[..], b"{\"id\":1}");
        let l = form(["T", "", "", "", "3", "", "b"]).build().unwrap();
        assert_eq!((l.msg.property("DELAY"), l.sharding_key), (Some("3"), None));
        let at = form(["T", "", "", "", "@2026-12-24T18:00:00Z", "", "b"]).build().unwrap();
        assert_eq!(at.msg.property("TIMER_DELIVER_MS"), Some("1798135200000"));
        assert_eq!(
            form(["T", "", "", "", "10s", "", "b"]).build().unwrap().msg.property("TIMER_DELAY_MS"),
            Some("10000")
        );
    }

    #[test]
    fn bad_fields_say_which_and_why() {
        for (fields, why) in [
            (["bad topic", "", "", "", "", "", "b"], "topic"),
            (["T", "", "", "", "", "", ""], "body: empty"),
            (["T", "", "", "UNIQ_KEY=x", "", "", "b"], "props: UNIQ_KEY"),
            (["T", "", "", "novalue", "", "", "b"], "not name=value"),
            (["T", "", "", "", "19", "", "b"], "delay"),
            (["T", "", "", "", "@tomorrow", "", "b"], "neither Unix ms nor RFC 3339"),
        ] {
            let e = form(fields).build().unwrap_err();
            assert!(e.contains(why), "{fields:?}: {e}");
        }
    }

    #[test]
    fn the_last_message_per_topic_is_remembered() {
        let dir = std::env::temp_dir().join(format!("mqtui-compose-state-{}", std::process::id()));
        // Only this test reads the variable in this process.
        std::env::set_var("MQTUI_STATE_DIR", &dir);
        let mut c = Compose::open("Remembered");
        assert_eq!(c.fields[BODY], "hello from mqtui", "nothing remembered yet");
        c.fields[PROPS] = "a=1".into();
        c.fields[SHARDING] = "k".into();
        let enter = KeyEvent::from(KeyCode::Enter);
        assert!(matches!(c.key(&enter), Step::Send(_)));
        let again = Compose::open("Remembered");
        assert_eq!((again.fields[PROPS].as_str(), again.fields[SHARDING].as_str()), ("a=1", "k"));
        assert_eq!(Compose::open("Other").fields[PROPS], "", "per topic");
        let mut bad = Compose::open("Remembered");
        bad.fields[DELAY] = "99".into();
        assert_eq!(bad.key(&enter), Step::Stay);
        assert!(bad.error.as_deref().unwrap().contains("delay"));
        std::env::remove_var("MQTUI_STATE_DIR");
    }
}
