//! What the stateful-function test guests share: the Statefun SDKs' encodings of
//! `io.statefun.types/string` and `io.statefun.types/long` (protobuf wrappers with one
//! field: a `string`, an `sfixed64`), by hand, so the guests need no protobuf library.

/// The typename of Statefun strings.
pub const STRING: &str = "io.statefun.types/string";
/// The typename of Statefun longs.
pub const LONG: &str = "io.statefun.types/long";

fn varint(mut value: u64, into: &mut Vec<u8>) {
    while value >= 0x80 {
        into.push((value as u8) | 0x80);
        value >>= 7;
    }
    into.push(value as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or("a truncated varint")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err("a varint longer than 10 bytes".to_owned())
}

/// The value of field 1 of a wrapper: 8 bytes (wire type 1) or bytes (wire type 2).
enum Field<'a> {
    Absent,
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
}

fn field_one(bytes: &[u8]) -> Result<Field<'_>, String> {
    let mut at = 0;
    let mut found = Field::Absent;
    while at < bytes.len() {
        let key = read_varint(bytes, &mut at)?;
        match key & 7 {
            0 => {
                read_varint(bytes, &mut at)?;
            }
            1 => {
                let end = at + 8;
                let fixed: [u8; 8] = bytes.get(at..end).ok_or("a truncated field")?.try_into().map_err(|_| "8 bytes")?;
                if key >> 3 == 1 {
                    found = Field::Fixed64(fixed);
                }
                at = end;
            }
            2 => {
                let len = read_varint(bytes, &mut at)? as usize;
                let end = at.checked_add(len).filter(|&end| end <= bytes.len()).ok_or("a truncated field")?;
                if key >> 3 == 1 {
                    found = Field::Bytes(&bytes[at..end]);
                }
                at = end;
            }
            other => return Err(format!("unexpected wire type {other}")),
        }
    }
    Ok(found)
}

/// Encodes a Statefun string.
pub fn encode_string(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 2);
    if !text.is_empty() {
        bytes.push(0x0a);
        varint(text.len() as u64, &mut bytes);
        bytes.extend_from_slice(text.as_bytes());
    }
    bytes
}

/// Decodes a Statefun string.
pub fn decode_string(bytes: &[u8]) -> Result<String, String> {
    match field_one(bytes)? {
        Field::Absent => Ok(String::new()),
        Field::Bytes(text) => String::from_utf8(text.to_vec()).map_err(|e| e.to_string()),
        Field::Fixed64(_) => Err("not a string".to_owned()),
    }
}

/// Encodes a Statefun long.
pub fn encode_long(value: i64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(9);
    if value != 0 {
        bytes.push(0x09);
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Decodes a Statefun long.
pub fn decode_long(bytes: &[u8]) -> Result<i64, String> {
    match field_one(bytes)? {
        Field::Absent => Ok(0),
        Field::Fixed64(value) => Ok(i64::from_le_bytes(value)),
        Field::Bytes(_) => Err("not a long".to_owned()),
    }
}
