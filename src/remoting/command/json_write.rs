//! Writing a JSON header as fastjson does: integers without allocation, strings with control
//! characters as `\u00XX` escapes. The header is written into capacity reserved once for its
//! worst case ([`JsonOut`]): per string there is no reservation, only the scan and the copy.

use bytes::BytesMut;

pub(super) fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// "00" to "99": two digits per division.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

pub(super) fn fmt_int(buf: &mut [u8; 20], v: i64) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    while n >= 100 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if n >= 10 {
        let r = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// The most bytes `s` can take as a JSON string: quotes, and six bytes (`\u00XX`) per byte.
pub(super) fn json_str_bound(s: &str) -> usize {
    2 + 6 * s.len()
}

/// Strings up to this long take the one-pass path of [`JsonOut::str`].
const SHORT: usize = 24;

/// The bytes a JSON string cannot hold as they are: `"`, `\\` and the control characters.
static ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends to a `BytesMut` within room reserved up front. Every write checks that it fits (a
/// wrong bound panics, it never writes past the reservation); [`JsonOut::finish`] sets the length.
pub(super) struct JsonOut<'a> {
    dst: &'a mut BytesMut,
    /// The start of `dst`'s spare capacity (taken from `spare_capacity_mut`, so that writing
    /// through it beyond `dst.len()` is in bounds of what it points into).
    spare: *mut u8,
    /// Bytes written into the spare capacity, and how many may be.
    at: usize,
    end: usize,
}

impl<'a> JsonOut<'a> {
    /// Room for `bound` more bytes.
    pub(super) fn new(dst: &'a mut BytesMut, bound: usize) -> JsonOut<'a> {
        dst.reserve(bound);
        let spare = dst.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        JsonOut { dst, spare, at: 0, end: bound }
    }

    #[inline(always)]
    pub(super) fn bytes(&mut self, b: &[u8]) {
        assert!(self.at + b.len() <= self.end, "JSON header longer than its bound");
        // SAFETY: `at + b.len() <= end`, the spare room reserved in `new` (asserted above), and
        // `b` cannot overlap the spare capacity of `dst`, which we borrow mutably.
        unsafe {
            std::ptr::copy_nonoverlapping(b.as_ptr(), self.spare.add(self.at), b.len());
        }
        self.at += b.len();
    }

    #[inline(always)]
    pub(super) fn byte(&mut self, b: u8) {
        self.bytes(&[b]);
    }

    pub(super) fn int(&mut self, v: i64) {
        let mut buf = itoa_buf();
        self.bytes(fmt_int(&mut buf, v));
    }

    /// `s` as a JSON string. Control characters (the property separators 0x01 / 0x02 among them)
    /// become `\u00XX` escapes, as fastjson writes them.
    pub(super) fn str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if bytes.len() <= SHORT {
            // Most header strings (keys, numbers, flags, a topic): checked and copied in one pass,
            // one bounds check for the lot, no call to memcpy.
            let room = json_str_bound(s);
            assert!(self.at + room <= self.end, "JSON header longer than its bound");
            // SAFETY: at most `bytes.len() + 2 <= room` bytes are written from `at`, within the
            // reservation (asserted above).
            unsafe {
                let p = self.spare.add(self.at);
                *p = b'"';
                for (i, &c) in bytes.iter().enumerate() {
                    if ESCAPE[c as usize] {
                        return self.str_escaped(bytes);
                    }
                    *p.add(1 + i) = c;
                }
                *p.add(1 + bytes.len()) = b'"';
            }
            self.at += bytes.len() + 2;
            return;
        }
        self.str_escaped(bytes);
    }

    fn str_escaped(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.byte(b'"');
        let mut run = 0;
        loop {
            let i = super::scan::needs_escape(bytes, run);
            self.bytes(&bytes[run..i]);
            let Some(&b) = bytes.get(i) else { break };
            match b {
                b'"' => self.bytes(b"\\\""),
                b'\\' => self.bytes(b"\\\\"),
                b'\n' => self.bytes(b"\\n"),
                b'\r' => self.bytes(b"\\r"),
                b'\t' => self.bytes(b"\\t"),
                _ => self.bytes(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]),
            }
            run = i + 1;
        }
        self.byte(b'"');
    }

    pub(super) fn finish(self) {
        // SAFETY: the `at` bytes after the old length were written above, within the reserved
        // capacity, and nothing reallocated `dst` meanwhile (we hold it mutably).
        unsafe {
            let len = self.dst.len() + self.at;
            self.dst.set_len(len)
        }
    }
}
