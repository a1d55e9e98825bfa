//! Body compression as the Java client does it (`DefaultMQProducerImpl.tryToCompressMessage`,
//! `org.apache.rocketmq.common.compression`): a single message's body of
//! `compressMsgBodyOverHowmuch` (4096) bytes or more is compressed with the producer's type
//! and level, and the sys flag gets `COMPRESSED_FLAG` and the type's bits (`value << 8`: LZ4 1,
//! ZSTD 2, ZLIB 3; 0 from clients older than the types, read as zlib). Batches are never
//! compressed.
//!
//! - zlib: `Deflater(level)` with the zlib wrapper (`UtilAll.compress`);
//! - zstd: `ZstdOutputStream(level)` (zstd-jni): a zstd frame;
//! - lz4: `LZ4FrameOutputStream` (lz4-java): an LZ4 frame; the level is not used.

use std::io::{Read, Write};

use bytes::Bytes;

use super::message::MessageError;

/// `MessageSysFlag.COMPRESSED_FLAG`.
pub const SYSFLAG_COMPRESSED: i32 = 0x1;

/// `CompressionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    Lz4,
    Zstd,
    Zlib,
}

impl CompressionType {
    /// `CompressionType.getValue()`.
    pub fn value(self) -> i32 {
        match self {
            CompressionType::Lz4 => 1,
            CompressionType::Zstd => 2,
            CompressionType::Zlib => 3,
        }
    }

    /// `getCompressionFlag()`: the sys flag bits.
    pub fn flag(self) -> i32 {
        self.value() << 8
    }

    pub fn name(self) -> &'static str {
        match self {
            CompressionType::Lz4 => "lz4",
            CompressionType::Zstd => "zstd",
            CompressionType::Zlib => "zlib",
        }
    }

    /// `CompressionType.of(name)`, any case.
    pub fn parse(s: &str) -> Result<CompressionType, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lz4" => Ok(CompressionType::Lz4),
            "zstd" => Ok(CompressionType::Zstd),
            "zlib" => Ok(CompressionType::Zlib),
            _ => Err(format!("{s:?}: the compression types are zlib (Java's default), zstd, lz4")),
        }
    }

    /// `CompressionType.findByValue` on the sys flag's bits 8-10.
    pub fn of_sys_flag(sys_flag: i32) -> Result<CompressionType, MessageError> {
        match (sys_flag >> 8) & 0x7 {
            0 | 3 => Ok(CompressionType::Zlib),
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            t => Err(MessageError::Decompress(format!("unknown compression type {t}"))),
        }
    }
}

/// How a producer compresses: the type, its level, and from which body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    pub kind: CompressionType,
    /// `compressLevel` (system property `rocketmq.message.compressLevel`, default 5).
    pub level: i32,
    /// `compressMsgBodyOverHowmuch`.
    pub over: usize,
}

impl Default for Compression {
    fn default() -> Self {
        Compression { kind: CompressionType::Zlib, level: 5, over: 4096 }
    }
}

impl Compression {
    /// The body to send and the sys flag bits to add: compressed when it is big enough (and the
    /// compressor did not fail: Java then sends it as it is).
    pub fn apply(&self, body: &Bytes) -> (Bytes, i32) {
        if body.len() < self.over {
            return (body.clone(), 0);
        }
        match compress(body, self.kind, self.level) {
            Ok(out) => (out, SYSFLAG_COMPRESSED | self.kind.flag()),
            Err(e) => {
                tracing::warn!(kind = self.kind.name(), error = %e, "compression failed: sent as it is");
                (body.clone(), 0)
            }
        }
    }
}

/// Compresses `body` with `kind` at `level`.
pub fn compress(body: &[u8], kind: CompressionType, level: i32) -> std::io::Result<Bytes> {
    Ok(Bytes::from(match kind {
        CompressionType::Zlib => {
            let level = flate2::Compression::new(level.clamp(0, 9) as u32);
            let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(body.len() / 2), level);
            enc.write_all(body)?;
            enc.finish()?
        }
        CompressionType::Zstd => zstd::stream::encode_all(body, level)?,
        CompressionType::Lz4 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(body.len() / 2));
            enc.write_all(body)?;
            enc.finish().map_err(std::io::Error::other)?
        }
    }))
}

/// The most a compressed body may inflate to.
pub const MAX_DECOMPRESSED: usize = 64 << 20;

/// Undoes the compression a sys flag names (a body without COMPRESSED_FLAG is returned as it is).
pub fn decompress(body: &[u8], sys_flag: i32) -> Result<Bytes, MessageError> {
    if sys_flag & SYSFLAG_COMPRESSED == 0 {
        return Ok(Bytes::copy_from_slice(body));
    }
    let err = |e: std::io::Error| MessageError::Decompress(e.to_string());
    let mut out = Vec::with_capacity(body.len().saturating_mul(2).min(MAX_DECOMPRESSED));
    // A body that inflates past the bound (a zip bomb) is an error, read no further.
    let limit = MAX_DECOMPRESSED as u64 + 1;
    match CompressionType::of_sys_flag(sys_flag)? {
        CompressionType::Zlib => flate2::read::ZlibDecoder::new(body).take(limit).read_to_end(&mut out),
        CompressionType::Zstd => {
            zstd::stream::read::Decoder::new(body).and_then(|d| d.take(limit).read_to_end(&mut out))
        }
        CompressionType::Lz4 => lz4_flex::frame::FrameDecoder::new(body).take(limit).read_to_end(&mut out),
    }
    .map_err(err)?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(MessageError::Decompress(format!("inflates past {} MiB", MAX_DECOMPRESSED >> 20)));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_inflates_past_the_bound_is_an_error() {
        let zeros = vec![0u8; MAX_DECOMPRESSED + 1];
        for (t, flag) in [(CompressionType::Zstd, 0x201), (CompressionType::Zlib, 0x1), (CompressionType::Lz4, 0x101)] {
            let bomb = compress(&zeros, t, 1).unwrap();
            assert!(bomb.len() < 1 << 20, "{t:?}: {} bytes", bomb.len());
            let e = decompress(&bomb, flag).unwrap_err().to_string();
            assert!(e.contains("inflates past 64 MiB"), "{t:?}: {e}");
        }
    }

    #[test]
    fn each_type_round_trips_with_its_flag_and_small_bodies_stay_as_they_are() {
        let big = Bytes::from((0..10_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        for (kind, bits) in
            [(CompressionType::Zlib, 0x301), (CompressionType::Zstd, 0x201), (CompressionType::Lz4, 0x101)]
        {
            let c = Compression { kind, ..Compression::default() };
            let (out, flag) = c.apply(&big);
            assert_eq!(flag, bits, "{kind:?}");
            assert!(out.len() < big.len(), "{kind:?}: {} bytes", out.len());
            assert_eq!(decompress(&out, flag).unwrap(), big, "{kind:?}");
            let small = Bytes::from_static(b"small");
            assert_eq!(c.apply(&small), (small.clone(), 0));
        }
        // The frames are the formats Java's streams write: zstd's magic, LZ4's frame magic.
        let z = compress(&big, CompressionType::Zstd, 5).unwrap();
        assert_eq!(&z[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        let l = compress(&big, CompressionType::Lz4, 5).unwrap();
        assert_eq!(&l[..4], &[0x04, 0x22, 0x4d, 0x18]);
        let zl = compress(&big, CompressionType::Zlib, 5).unwrap();
        assert_eq!(decompress(&zl, 0x1).unwrap(), big, "type bits 0 are zlib (older clients)");
        assert!(decompress(&zl, 0x701).is_err());
        assert!(decompress(b"not zlib", 0x301).is_err());
        assert!(CompressionType::parse("ZSTD").is_ok() && CompressionType::parse("snappy").is_err());
    }
}
