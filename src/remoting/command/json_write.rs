//! Writing a JSON header as fastjson does: integers without allocation, strings with control
//! characters as `\u00XX` escapes. The header is written into spare capacity ([`JsonOut`]):
//! per string there is no reservation, only a room check, the scan and the copy.

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

/// Appends to a `BytesMut` through its spare capacity. Every write checks that it fits and
/// grows the buffer when it does not (rarely: the frame's encoder reserves for the usual
/// header), so no bound has to be computed first; [`JsonOut::finish`] sets the length.
pub(super) struct JsonOut<'a> {
    dst: &'a mut BytesMut,
    /// The start of `dst`'s spare capacity (taken from `spare_capacity_mut`, so that writing
    /// through it beyond `dst.len()` is in bounds of what it points into).
    spare: *mut u8,
    /// Bytes written into the spare capacity, and how many fit.
    at: usize,
    end: usize,
}

impl<'a> JsonOut<'a> {
    /// Writes into `dst`'s spare capacity as it is (the writes grow it when they need to).
    pub(super) fn new(dst: &'a mut BytesMut) -> JsonOut<'a> {
        let spare = dst.spare_capacity_mut();
        let end = spare.len();
        JsonOut { spare: spare.as_mut_ptr().cast::<u8>(), dst, at: 0, end }
    }

    /// Room for `n` more bytes from `at`.
    #[inline(always)]
    fn room(&mut self, n: usize) {
        if self.at + n > self.end {
            self.grow(n);
        }
    }

    /// Keeps what is written, then reserves at least `n` more bytes (the spare pointer moves
    /// with the buffer).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        // SAFETY: the `at` bytes after the length were written, within the spare capacity.
        unsafe { self.dst.set_len(self.dst.len() + self.at) };
        self.dst.reserve(n.max(512));
        let spare = self.dst.spare_capacity_mut();
        self.end = spare.len();
        self.spare = spare.as_mut_ptr().cast::<u8>();
        self.at = 0;
    }

    #[inline(always)]
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.room(b.len());
        // SAFETY: `at + b.len() <= end`, within the spare capacity (made so just above), and
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
            // one room check for the lot, no call to memcpy.
            self.room(json_str_bound(s));
            // SAFETY: at most `bytes.len() + 2 <= json_str_bound(s)` bytes are written from `at`,
            // within the spare capacity (made so just above).
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
        // SAFETY: the `at` bytes after the length were written above, within the spare capacity,
        // and only `grow` reallocated `dst` meanwhile (it kept them and began `at` anew).
        unsafe {
            let len = self.dst.len() + self.at;
            self.dst.set_len(len)
        }
    }
}
