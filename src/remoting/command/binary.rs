//! The ROCKETMQ binary header, as `RocketMQSerializable` writes it.

use super::*;

/// Reads a string of `len` bytes at `pos` of `h`: a range of the header when it is UTF-8, else
/// a copy with U+FFFD for each bad sequence (Java: `new String(bytes, UTF_8)`).
pub(super) fn take_field(h: &[u8], pos: &mut usize, len: usize, what: &'static str) -> Result<Field, CodecError> {
    let end = pos.checked_add(len).filter(|e| *e <= h.len()).ok_or(CodecError::BinaryHeader(what))?;
    let bytes = &h[*pos..end];
    let field = match std::str::from_utf8(bytes) {
        Ok(_) => Field::Backed(*pos as u32, end as u32),
        Err(_) => Field::Owned(String::from_utf8_lossy(bytes).into_owned()),
    };
    *pos = end;
    Ok(field)
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
        let end = pos.checked_add(remark_len).filter(|e| *e <= h.len()).ok_or(CodecError::BinaryHeader("remark"))?;
        let remark = String::from_utf8_lossy(&h[pos..end]).into_owned();
        pos = end;
        Some(remark)
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
        let key = take_field(&h[..map_end], &mut pos, klen, "extFields key")?;
        let vlen = read_len(&h[..map_end], &mut pos, "extFields value length")?;
        let value = take_field(&h[..map_end], &mut pos, vlen, "extFields value")?;
        if entries.len() == MAX_EXT_FIELDS {
            return Err(CodecError::BinaryHeader("more extFields than mqtui reads"));
        }
        entries.push((key, value));
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
