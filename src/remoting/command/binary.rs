//! The ROCKETMQ binary header, as `RocketMQSerializable` writes it.

use super::*;

/// Reads `len` bytes of UTF-8 at `pos` of `h`, returning the range.
pub(super) fn take_range(
    h: &[u8],
    pos: &mut usize,
    len: usize,
    what: &'static str,
) -> Result<(usize, usize), CodecError> {
    let end = pos.checked_add(len).filter(|e| *e <= h.len()).ok_or(CodecError::BinaryHeader(what))?;
    std::str::from_utf8(&h[*pos..end]).map_err(|_| CodecError::BinaryHeader(what))?;
    let r = (*pos, end);
    *pos = end;
    Ok(r)
}

pub(super) fn read_i32(h: &[u8], pos: &mut usize, what: &'static str) -> Result<i32, CodecError> {
    let b = h.get(*pos..*pos + 4).ok_or(CodecError::BinaryHeader(what))?;
    *pos += 4;
    Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub(super) fn read_len(h: &[u8], pos: &mut usize, what: &'static str) -> Result<usize, CodecError> {
    let n = read_i32(h, pos, what)?;
    usize::try_from(n).map_err(|_| CodecError::BinaryHeader(what))
}

pub(super) fn decode_binary_header(header: Bytes) -> Result<RemotingCommand, CodecError> {
    let h = &header[..];
    if h.len() < 2 + 1 + 2 + 4 + 4 {
        return Err(CodecError::BinaryHeader("fixed fields"));
    }
    let code = i16::from_be_bytes([h[0], h[1]]) as i32;
    let language = LanguageCode::from_code(h[2]);
    let version = i16::from_be_bytes([h[3], h[4]]) as i32;
    let mut pos = 5;
    let opaque = read_i32(h, &mut pos, "opaque")?;
    let flag = read_i32(h, &mut pos, "flag")?;
    let remark_len = read_len(h, &mut pos, "remark length")?;
    let remark = if remark_len > 0 {
        let (a, b) = take_range(h, &mut pos, remark_len, "remark")?;
        Some(std::str::from_utf8(&h[a..b]).unwrap_or_default().to_string())
    } else {
        None
    };
    let map_len = read_len(h, &mut pos, "extFields length")?;
    let map_end =
        pos.checked_add(map_len).filter(|e| *e <= h.len()).ok_or(CodecError::BinaryHeader("extFields length"))?;
    if map_end != h.len() {
        return Err(CodecError::BinaryHeader("trailing bytes after extFields"));
    }
    let mut entries = Vec::with_capacity(16);
    while pos < map_end {
        let kb = h.get(pos..pos + 2).ok_or(CodecError::BinaryHeader("extFields key length"))?;
        let klen = u16::from_be_bytes([kb[0], kb[1]]) as usize;
        pos += 2;
        let (ka, kz) = take_range(&h[..map_end], &mut pos, klen, "extFields key")?;
        let vlen = read_len(&h[..map_end], &mut pos, "extFields value length")?;
        let (va, vz) = take_range(&h[..map_end], &mut pos, vlen, "extFields value")?;
        entries.push((Field::Backed(ka as u32, kz as u32), Field::Backed(va as u32, vz as u32)));
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields: ExtFields { backing: if entries.is_empty() { Bytes::new() } else { header }, entries, json: false },
        body: Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
}
