//! What the sends carry: the command line's message (`--tag`, `--keys`, `--prop`, `--body`,
//! `--body-file`, `--size`, `--delay-level`, `--delay-ms`, `--deliver-at`) or the lines of
//! `--input`, each line's missing fields taken from the command line. Message number `seq`
//! (from 1) takes line `(seq - 1) % lines`: `--count` and `--duration` loop over the file.

pub mod input;
pub mod template;

use bytes::Bytes;

use crate::protocol::message::Message;
use crate::protocol::properties;
use template::Template;

/// A body as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Text with placeholders, filled in per message.
    Text(Template),
    /// Bytes sent as they are (a file, base64, text without placeholders, the synthetic body).
    Bytes(Bytes),
}

impl Body {
    /// A text body: without placeholders it is kept as bytes once, not rendered per message.
    pub fn text(t: Template) -> Body {
        match t.as_plain() {
            Some(p) => Body::Bytes(Bytes::from(p.to_string())),
            None => Body::Text(t),
        }
    }

    /// `--size N`: printable bytes, so a body shows as text in any tool.
    pub fn synthetic(size: usize) -> Body {
        Body::Bytes(Bytes::from((0..size).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>()))
    }

    fn render(&self, seq: u64) -> Bytes {
        match self {
            Body::Bytes(b) => b.clone(),
            Body::Text(t) => Bytes::from(t.render(seq)),
        }
    }
}

/// When the broker should deliver a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// `setDelayTimeLevel`: property DELAY, the broker's levels 1-18 (1 s … 2 h).
    Level(u8),
    /// `setDeliverTimeMs` (5.x timer): TIMER_DELIVER_MS, Unix ms.
    DeliverAtMs(i64),
    /// `setDelayTimeMs` (5.x timer): TIMER_DELAY_MS.
    DelayMs(i64),
}

/// One message as given; `None` fields come from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSpec {
    pub topic: Option<String>,
    pub tag: Option<String>,
    pub keys: Option<Vec<Template>>,
    /// User properties; a line's are added to the command line's (the line's win on a name).
    pub props: Vec<(String, Template)>,
    pub body: Option<Body>,
    pub delay: Option<Delay>,
    /// An ordered send's sharding key (`SelectMessageQueueByHash`'s argument).
    pub sharding_key: Option<Template>,
    /// A transactional send, and how its local transaction ends.
    pub transaction: Option<TxMix>,
}

impl MessageSpec {
    /// Every value that lands in the properties string is free of separators (`at` prefixes
    /// the error: where the message came from).
    pub fn check_properties(&self, at: &str) -> Result<(), String> {
        use crate::protocol::properties::check_value;
        if let Some(t) = &self.tag {
            check_value(&format!("{at}tag"), t)?;
        }
        for k in self.keys.iter().flatten() {
            k.check_property_value(&format!("{at}keys"))?;
        }
        for (name, v) in &self.props {
            check_value(&format!("{at}property name"), name)?;
            v.check_property_value(&format!("{at}property {name}"))?;
        }
        if let Some(k) = &self.sharding_key {
            k.check_property_value(&format!("{at}sharding key"))?;
        }
        Ok(())
    }
}

/// How the local transactions of a run end: of every `commit + rollback + unknown` messages,
/// the first `commit` commit, the next `rollback` roll back, the rest stay unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxMix {
    pub commit: u32,
    pub rollback: u32,
    pub unknown: u32,
}

impl TxMix {
    /// `commit`, `rollback`, `unknown`, or `mix:C,R,U`.
    pub fn parse(s: &str) -> Result<TxMix, String> {
        use crate::protocol::transaction::LocalState;
        let t = s.trim();
        if let Some(mix) = t.strip_prefix("mix:") {
            let n: Vec<u32> = mix
                .split(',')
                .map(|x| x.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("{s:?}: mix:C,R,U takes three whole numbers (commit, rollback, unknown)"))?;
            return match n[..] {
                [c, r, u] if c + r + u > 0 => Ok(TxMix { commit: c, rollback: r, unknown: u }),
                _ => Err(format!("{s:?}: mix:C,R,U takes three whole numbers, not all 0")),
            };
        }
        match LocalState::parse(t) {
            Some(LocalState::Commit) => Ok(TxMix { commit: 1, rollback: 0, unknown: 0 }),
            Some(LocalState::Rollback) => Ok(TxMix { commit: 0, rollback: 1, unknown: 0 }),
            Some(LocalState::Unknown) => Ok(TxMix { commit: 0, rollback: 0, unknown: 1 }),
            None => Err(format!("{s:?}: commit, rollback, unknown or mix:C,R,U")),
        }
    }

    /// The state of message `seq` (from 1).
    pub fn state(&self, seq: u64) -> crate::protocol::transaction::LocalState {
        use crate::protocol::transaction::LocalState;
        let total = (self.commit + self.rollback + self.unknown).max(1) as u64;
        let i = (seq.max(1) - 1) % total;
        if i < self.commit as u64 {
            LocalState::Commit
        } else if i < (self.commit + self.rollback) as u64 {
            LocalState::Rollback
        } else {
            LocalState::Unknown
        }
    }
}

/// Every message of a run.
#[derive(Debug, Clone)]
pub struct Content {
    /// The command line's message: its topic and body are always set.
    defaults: MessageSpec,
    /// `--input`'s lines (none: the defaults alone).
    lines: Vec<MessageSpec>,
    /// Messages per send: 1, or a SEND_BATCH_MESSAGE of this many (consecutive lines).
    pub batch: usize,
    /// Each message sent oneway (`sendOneway`): no reply awaited.
    pub oneway: bool,
}

impl Content {
    /// `defaults.topic` and `defaults.body` must be set.
    pub fn new(defaults: MessageSpec, lines: Vec<MessageSpec>, batch: usize) -> Result<Content, String> {
        if defaults.topic.is_none() || defaults.body.is_none() {
            return Err("the command line's message needs a topic and a body".into());
        }
        defaults.check_properties("")?;
        for (i, l) in lines.iter().enumerate() {
            l.check_properties(&format!("--input message {}: ", i + 1))?;
        }
        let c = Content { defaults, lines, batch: batch.max(1), oneway: false };
        if c.batch > 1 && (c.defaults.sharding_key.is_some() || c.lines.iter().any(|l| l.sharding_key.is_some())) {
            return Err(format!(
                "--batch {} with a sharding key: Java sends a batch to a queue it is given, not by a key; send ordered messages one by one",
                c.batch
            ));
        }
        let tx = c.has_transactions();
        if tx && (c.batch > 1 || c.oneway) {
            return Err("a transactional send is one message, sent sync (no --batch, no --oneway)".into());
        }
        let both = |l: &MessageSpec| {
            (l.transaction.is_some() || c.defaults.transaction.is_some())
                && (l.sharding_key.is_some() || c.defaults.sharding_key.is_some())
        };
        if both(&c.defaults) || c.lines.iter().any(both) {
            return Err("a message is ordered (sharding key) or transactional, not both (Java has no such send)".into());
        }
        if c.batch > 1 && c.topics().len() > 1 {
            return Err(format!(
                "--batch {}: a batch is of one topic, and the input names several: {}",
                c.batch,
                c.topics().join(", ")
            ));
        }
        Ok(c)
    }

    /// A synthetic message of `size` bytes to `topic`, nothing else.
    pub fn synthetic(topic: &str, size: usize) -> Content {
        let defaults =
            MessageSpec { topic: Some(topic.to_string()), body: Some(Body::synthetic(size)), ..MessageSpec::default() };
        Content { defaults, lines: Vec::new(), batch: 1, oneway: false }
    }

    /// The command line's topic.
    pub fn topic(&self) -> &str {
        self.defaults.topic.as_deref().unwrap_or_default()
    }

    /// Every topic the run sends to, the command line's first.
    pub fn topics(&self) -> Vec<&str> {
        let mut out = vec![self.topic()];
        if !self.lines.is_empty() && self.lines.iter().all(|l| l.topic.is_some()) {
            out.clear();
        }
        for l in &self.lines {
            if let Some(t) = l.topic.as_deref() {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    fn line(&self, seq: u64) -> Option<&MessageSpec> {
        match self.lines.len() {
            0 => None,
            n => Some(&self.lines[((seq.max(1) - 1) % n as u64) as usize]),
        }
    }

    /// Message number `seq`'s sharding key: its line's, else the command line's, else none
    /// (not an ordered send).
    pub fn sharding_key(&self, seq: u64) -> Option<String> {
        let key = self.line(seq).and_then(|l| l.sharding_key.as_ref()).or(self.defaults.sharding_key.as_ref())?;
        Some(key.render(seq))
    }

    /// Message number `seq`'s local transaction end, if it is a transactional send.
    pub fn transaction(&self, seq: u64) -> Option<crate::protocol::transaction::LocalState> {
        let mix = self.line(seq).and_then(|l| l.transaction).or(self.defaults.transaction)?;
        Some(mix.state(seq))
    }

    /// Whether any message is transactional.
    pub fn has_transactions(&self) -> bool {
        self.defaults.transaction.is_some() || self.lines.iter().any(|l| l.transaction.is_some())
    }

    /// Message number `seq` (from 1).
    pub fn build(&self, seq: u64) -> Message {
        let d = &self.defaults;
        let line = self.line(seq);
        let pick = |f: fn(&MessageSpec) -> bool| line.filter(|l| f(l)).unwrap_or(d);
        let topic = pick(|s| s.topic.is_some()).topic.clone().unwrap_or_default();
        let body = pick(|s| s.body.is_some()).body.as_ref().map_or_else(Bytes::new, |b| b.render(seq));
        let mut m = Message::new(topic, body);
        if let Some(t) = &pick(|s| s.tag.is_some()).tag {
            m = m.with_tags(t);
        }
        if let Some(keys) = &pick(|s| s.keys.is_some()).keys {
            let keys: Vec<String> = keys.iter().map(|k| k.render(seq)).collect();
            m = m.with_keys(&keys);
        }
        for (k, v) in d.props.iter().chain(line.map(|l| &l.props[..]).unwrap_or_default()) {
            m.set_property(k, v.render(seq));
        }
        match pick(|s| s.delay.is_some()).delay {
            Some(Delay::Level(l)) => m.set_property(properties::DELAY, l.to_string()),
            Some(Delay::DeliverAtMs(t)) => m.set_property(properties::TIMER_DELIVER_MS, t.to_string()),
            Some(Delay::DelayMs(t)) => m.set_property(properties::TIMER_DELAY_MS, t.to_string()),
            None => {}
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> MessageSpec {
        MessageSpec {
            topic: Some("Cli".into()),
            tag: Some("cli-tag".into()),
            props: vec![("a".into(), Template::parse("1").unwrap()), ("b".into(), Template::parse("{{seq}}").unwrap())],
            body: Some(Body::text(Template::parse("cli body").unwrap())),
            ..MessageSpec::default()
        }
    }

    #[test]
    fn lines_take_the_command_lines_fields_they_lack_and_loop() {
        let lines = input::read(
            &b"{\"topic\":\"T1\",\"props\":{\"a\":\"line\"}}\n{\"body\":\"n{{seq}}\",\"delay_level\":2}\n"[..],
            "in",
        )
        .unwrap();
        let c = Content::new(defaults(), lines, 1).unwrap();
        assert_eq!(c.topics(), ["Cli", "T1"]);
        let m1 = c.build(1);
        assert_eq!((m1.topic.as_str(), &m1.body[..]), ("T1", &b"cli body"[..]));
        assert_eq!(m1.property("a"), Some("line"), "the line's property wins");
        assert_eq!(m1.property("b"), Some("1"));
        assert_eq!(m1.property("TAGS"), Some("cli-tag"));
        let m2 = c.build(2);
        assert_eq!((m2.topic.as_str(), &m2.body[..]), ("Cli", &b"n2"[..]));
        assert_eq!(m2.property("DELAY"), Some("2"));
        assert_eq!(c.build(3).topic, "T1", "message 3 is line 1 again");
        assert_eq!(&c.build(4).body[..], b"n4");
    }

    #[test]
    fn a_batch_is_of_one_topic() {
        let lines = input::read(&b"{\"topic\":\"T1\"}\n{\"topic\":\"T2\"}\n"[..], "in").unwrap();
        assert!(Content::new(defaults(), lines.clone(), 2).unwrap_err().contains("T1, T2"));
        assert_eq!(Content::new(defaults(), lines, 1).unwrap().topics(), ["T1", "T2"], "every line names its own");
    }
}
