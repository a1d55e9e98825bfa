//! extFields written as JSON once, as a header builder adds them ([`ExtFields::build_json`]): the
//! send path's header is built and encoded in one pass. The JSON of the members is the fields'
//! backing, each value a range of it (or, when it had to be escaped, kept as it was), and the
//! frame encoder copies it whole. Any later change to the fields (an ACL signature) makes the
//! encoder write them one by one again.

use bytes::BytesMut;

use super::json_write::{fmt_int, itoa_buf, JsonOut};
use super::{ExtFields, Field};

/// Runs `f` on this thread's frame arena, with room for about `need` bytes: a 64 KiB block that
/// frames and prebuilt headers are split off (no allocation per frame; a block is reused, or left
/// to the last frame that holds it, once it is full).
pub(super) fn with_arena<R>(need: usize, f: impl FnOnce(&mut BytesMut) -> R) -> R {
    thread_local! {
        static ARENA: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
    }
    const BLOCK: usize = 64 * 1024;
    ARENA.with(|arena| {
        let mut arena = arena.borrow_mut();
        // Nothing is left from an earlier use (each splits off what it wrote) unless one panicked.
        arena.clear();
        if arena.capacity() < need {
            arena.reserve(need.max(BLOCK));
        }
        f(&mut arena)
    })
}

/// Adds fields to an [`ExtFields`] being built by [`ExtFields::build_json`].
pub struct JsonFields<'a> {
    out: JsonOut<'a>,
    entries: Vec<(Field, Field)>,
}

impl JsonFields<'_> {
    /// `"key":` after the separator. Keys are the builders' own names: nothing in them to escape.
    #[inline(always)]
    fn key(&mut self, key: &'static str) {
        debug_assert!(key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'), "{key:?}");
        self.out.bytes(if self.entries.is_empty() { b"\"" } else { b",\"" });
        self.out.bytes(key.as_bytes());
        self.out.bytes(b"\":");
    }

    /// Writes `value` as a JSON string; its field when it went in as it is (a range of the JSON).
    #[inline(always)]
    fn plain(&mut self, value: &str) -> Option<Field> {
        let from = self.out.pos();
        self.out.str(value);
        let to = self.out.pos();
        (to - from == value.len() + 2).then(|| Field::Backed(from as u32 + 1, to as u32 - 1))
    }

    pub fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        let v = self.plain(value).unwrap_or_else(|| Field::of_str(value));
        self.entries.push((Field::Static(key), v));
    }

    /// [`JsonFields::str`] of an owned value (kept as it is when it had to be escaped).
    pub fn string(&mut self, key: &'static str, value: String) {
        self.key(key);
        let v = self.plain(&value).unwrap_or(Field::Owned(value));
        self.entries.push((Field::Static(key), v));
    }

    /// A number, in decimal as Java's `toString` writes it (a JSON string, as fastjson writes
    /// extFields).
    pub fn int(&mut self, key: &'static str, value: impl Into<i64>) {
        self.key(key);
        let mut buf = itoa_buf();
        let digits = fmt_int(&mut buf, value.into());
        self.out.byte(b'"');
        let from = self.out.pos();
        self.out.bytes(digits);
        let to = self.out.pos();
        self.out.byte(b'"');
        self.entries.push((Field::Static(key), Field::Backed(from as u32, to as u32)));
    }
}

impl ExtFields {
    /// Fields added by `build` to `n` entries' room, their JSON written as they are added (about
    /// `likely_len` bytes; more grows the buffer): encoding them is one copy.
    pub fn build_json(n: usize, likely_len: usize, build: impl FnOnce(&mut JsonFields<'_>)) -> ExtFields {
        with_arena(likely_len, |arena| {
            let mut w = JsonFields { out: JsonOut::new(arena), entries: Vec::with_capacity(n) };
            build(&mut w);
            let entries = std::mem::take(&mut w.entries);
            w.out.finish();
            ExtFields { backing: arena.split().freeze(), entries, json: true }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prebuilt_fields_read_back_and_encode_as_the_same_json_as_fields_pushed_one_by_one() {
        let props = "UNIQ_KEY\u{1}AB\u{2}WAIT\u{1}true\u{2}".to_string();
        let long = "t".repeat(300);
        let built = ExtFields::build_json(5, 8, |w| {
            w.str("a", "group");
            w.str("b", &long);
            w.int("g", -1_733_000_000_123i64);
            w.string("i", props.clone());
            w.str("q", "he said \"hi\"");
        });
        let mut pushed = ExtFields::new();
        pushed.push_str("a", "group");
        pushed.push_str("b", &long);
        pushed.push_int("g", -1_733_000_000_123i64);
        pushed.push("i", props.clone());
        pushed.push_str("q", "he said \"hi\"");
        assert_eq!(built, pushed);
        assert_eq!(built.get("i"), Some(props.as_str()));
        assert_eq!(built.get("g"), Some("-1733000000123"));
        let frame = |e: ExtFields| super::super::RemotingCommand::request(310, e).encode_as(9);
        assert_eq!(frame(built.clone()), frame(pushed));
        // Changed after it was built: written one by one, with the change.
        let mut signed = built;
        signed.insert("Signature", "s=");
        let cmd = super::super::RemotingCommand::decode_frame(frame(signed.clone()).slice(4..)).unwrap();
        assert_eq!(cmd.ext_fields, signed);
        assert_eq!(cmd.ext_fields.get("Signature"), Some("s="));
    }

    #[test]
    fn an_empty_build_encodes_an_empty_object() {
        let e = ExtFields::build_json(0, 0, |_| {});
        let cmd = super::super::RemotingCommand::request(10, e.clone());
        let back = super::super::RemotingCommand::decode_frame(cmd.encode().slice(4..)).unwrap();
        assert_eq!(back.ext_fields, e);
        assert!(back.ext_fields.is_empty());
    }
}
