//! A hand-written scanner for the headers peers actually send: one flat object whose values
//! are integers, strings, booleans, null, or (for `extFields`) a flat object of those. Strings
//! without escapes stay ranges of the header. Returns `None` for anything else, and the caller
//! falls back to serde_json.

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
    #[inline(always)]
    fn ws(&mut self) {
        // Peers write no whitespace between tokens: one compare settles the common case.
        if self.b.get(self.i).is_some_and(|c| *c > b' ') {
            return;
        }
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }
    #[inline(always)]
    fn string(&mut self) -> Option<Field> {
        self.eat(b'"')?;
        let start = self.i;
        self.i = scan::quote_or_backslash(self.b, start);
        if *self.b.get(self.i)? == b'"' {
            self.i += 1;
            return Some(Field::Backed(start as u32, (self.i - 1) as u32));
        }
        // Otherwise an escape.
        // Escapes: unescape into an owned string.
        let mut out = String::from(std::str::from_utf8(&self.b[start..self.i]).ok()?);
        loop {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(Field::Owned(out)),
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
                    self.i = scan::quote_or_backslash(self.b, self.i);
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
    #[inline(always)]
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
                let mut n: i64 = 0;
                while let Some(d) = self.b.get(self.i).and_then(|c| c.checked_sub(b'0')).filter(|d| *d < 10) {
                    // At most 18 digits (checked below), so this cannot overflow.
                    n = n.wrapping_mul(10).wrapping_add(d as i64);
                    self.i += 1;
                }
                if self.i == digits || self.i - digits > 18 || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
                    return None;
                }
                let n = if start < digits { -n } else { n };
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
            Field::Inline(n, buf) => &buf[..*n as usize] == k,
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
                // Past the bound: the serde path words the error.
                if entries.len() == MAX_EXT_FIELDS {
                    return None;
                }
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
            entries.reserve(8);
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
        cmd.ext_fields = ExtFields { backing: header.clone(), entries, json: false };
    }
    Some(cmd)
}
