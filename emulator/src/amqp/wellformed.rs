//! A structural check of AMQP-encoded bytes, run before `serde_amqp` sees input from a
//! client: sizes and counts must be consistent and nesting shallow. `serde_amqp` trusts
//! those fields (a `list8` of size 0 underflows, deep nesting recurses without bound),
//! so malformed input must be stopped here.

/// Deepest nesting of compound or described values we accept.
const MAX_DEPTH: usize = 32;

/// Checks that `bytes` is a sequence of complete, well-formed AMQP values (e.g. the
/// sections of a message payload, or one performative). Returns a description of the
/// first problem.
pub fn validate_encoded(bytes: &[u8]) -> Result<(), String> {
    let mut pos = 0;
    while pos < bytes.len() {
        pos = value(bytes, pos, 0)?;
    }
    Ok(())
}

fn byte_at(b: &[u8], pos: usize) -> Result<u8, String> {
    b.get(pos)
        .copied()
        .ok_or_else(|| format!("truncated at byte {pos}"))
}

fn u32_at(b: &[u8], pos: usize) -> Result<usize, String> {
    let s = b
        .get(pos..pos + 4)
        .ok_or_else(|| format!("truncated at byte {pos}"))?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

fn within(b: &[u8], end: usize) -> Result<usize, String> {
    if end > b.len() {
        Err(format!(
            "value ends at byte {end}, past the end ({})",
            b.len()
        ))
    } else {
        Ok(end)
    }
}

/// Width of a fixed-width value after its format code (AMQP 1.0 §1.6); `None` for other
/// codes.
pub fn fixed_width(code: u8) -> Option<usize> {
    Some(match code {
        0x40..=0x45 => 0,
        0x50..=0x56 => 1,
        0x60 | 0x61 => 2,
        0x70..=0x74 => 4,
        0x80..=0x84 => 8,
        0x94 | 0x98 => 16,
        _ => return None,
    })
}

/// Checks the value starting at `pos`; returns where it ends.
fn value(b: &[u8], pos: usize, depth: usize) -> Result<usize, String> {
    let code = byte_at(b, pos)?;
    if code == 0x00 {
        if depth >= MAX_DEPTH {
            return Err("values nested too deeply".to_owned());
        }
        let descriptor_end = value(b, pos + 1, depth + 1)?;
        return value(b, descriptor_end, depth + 1);
    }
    body(b, code, pos + 1, depth)
}

/// Checks the body of a value with constructor `code`, starting at `pos`.
fn body(b: &[u8], code: u8, pos: usize, depth: usize) -> Result<usize, String> {
    if let Some(width) = fixed_width(code) {
        return within(b, pos + width);
    }
    match code {
        0xa0 | 0xa1 | 0xa3 => within(b, pos + 1 + usize::from(byte_at(b, pos)?)),
        0xb0 | 0xb1 | 0xb3 => within(b, pos + 4 + u32_at(b, pos)?),
        0xc0 | 0xc1 | 0xd0 | 0xd1 => {
            let h = SizedHeader::read(b, pos, code >= 0xd0)?;
            if h.size < h.count_width {
                return Err(format!(
                    "compound size {} smaller than its count field",
                    h.size
                ));
            }
            if code & 0x01 == 1 && h.count % 2 != 0 {
                return Err(format!("map with an odd number of items ({})", h.count));
            }
            compound_items(b, h.items, h.end, h.count, depth)
        }
        0xe0 | 0xf0 => {
            let h = SizedHeader::read(b, pos, code == 0xf0)?;
            if h.count == 0 && h.size == h.count_width {
                return Ok(h.end);
            }
            // An empty array may still carry its element constructor, and nothing else:
            // decoders read what lies inside its size (serde_amqp panics on a bad one).
            if h.size < h.count_width + 1 {
                return Err(format!(
                    "array size {} leaves no room for the element constructor",
                    h.size
                ));
            }
            array_items(b, h.items, h.end, h.count, depth)
        }
        other => Err(format!("unknown format code 0x{other:02x}")),
    }
}

/// The size and count fields of a list, map or array (8- or 32-bit wide).
struct SizedHeader {
    size: usize,
    count: usize,
    /// Width of the count field (the size counts it).
    count_width: usize,
    /// Where the items (or the array's element constructor) start.
    items: usize,
    /// Where the value ends.
    end: usize,
}

impl SizedHeader {
    fn read(b: &[u8], pos: usize, wide: bool) -> Result<Self, String> {
        let (size, count, width) = if wide {
            (u32_at(b, pos)?, u32_at(b, pos + 4)?, 4)
        } else {
            (
                usize::from(byte_at(b, pos)?),
                usize::from(byte_at(b, pos + 1)?),
                1,
            )
        };
        Ok(Self {
            size,
            count,
            count_width: width,
            items: pos + 2 * width,
            end: within(b, pos + width + size)?,
        })
    }
}

fn compound_items(
    b: &[u8],
    mut pos: usize,
    end: usize,
    count: usize,
    depth: usize,
) -> Result<usize, String> {
    if depth >= MAX_DEPTH {
        return Err("values nested too deeply".to_owned());
    }
    for _ in 0..count {
        if pos >= end {
            return Err("compound has fewer items than its count".to_owned());
        }
        pos = value(&b[..end], pos, depth + 1)?;
    }
    if pos != end {
        return Err("compound size does not match its items".to_owned());
    }
    Ok(end)
}

fn array_items(
    b: &[u8],
    pos: usize,
    end: usize,
    count: usize,
    depth: usize,
) -> Result<usize, String> {
    if depth >= MAX_DEPTH {
        return Err("values nested too deeply".to_owned());
    }
    let b = &b[..end];
    // The element constructor: a format code, or a described one (0x00 descriptor code).
    let mut pos = pos;
    let mut code = byte_at(b, pos)?;
    pos += 1;
    if code == 0x00 {
        pos = value(b, pos, depth + 1)?;
        code = byte_at(b, pos)?;
        pos += 1;
    }
    if code == 0x00 {
        return Err("nested described array constructor".to_owned());
    }
    if let Some(width) = fixed_width(code) {
        // Zero-width elements must not let a tiny frame claim billions of items.
        if width == 0 && count > 65_536 {
            return Err(format!("array of {count} zero-width items"));
        }
        pos = within(b, pos + width * count)?;
    } else {
        for _ in 0..count {
            if pos >= end {
                return Err("array has fewer items than its count".to_owned());
            }
            pos = body(b, code, pos, depth + 1)?;
        }
    }
    if pos != end {
        return Err("array size does not match its items".to_owned());
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::validate_encoded;

    #[test]
    fn accepts_what_serde_amqp_writes() {
        use serde_amqp::{primitives::OrderedMap, Value};
        let mut map = OrderedMap::new();
        map.insert(
            Value::Symbol("k".into()),
            Value::List(vec![Value::Uint(7), Value::String("s".into())]),
        );
        let v = Value::List(vec![
            Value::Map(map),
            Value::Array(vec![Value::Int(1), Value::Int(2)].into()),
            Value::Null,
        ]);
        validate_encoded(&serde_amqp::to_vec(&v).unwrap()).unwrap();
    }

    #[test]
    fn rejects_inconsistent_sizes_and_deep_nesting() {
        assert!(
            validate_encoded(&[0xc0, 0x00, 0x00]).is_err(),
            "list8 of size 0"
        );
        assert!(
            validate_encoded(&[0xd0, 0, 0, 0, 2, 0, 0, 0, 0]).is_err(),
            "list32 of size 2"
        );
        assert!(
            validate_encoded(&[0xe0, 0x01, 0x01, 0x43]).is_err(),
            "array without room"
        );
        assert!(
            validate_encoded(&[0xc1, 0x02, 0x01, 0x43]).is_err(),
            "odd map"
        );
        assert!(
            validate_encoded(&[0xc0, 0x03, 0x02, 0x43]).is_err(),
            "count larger than items"
        );
        assert!(
            validate_encoded(&[0xa1, 0x05, b'a']).is_err(),
            "truncated string"
        );
        assert!(
            validate_encoded(&[0xf0, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff, 0x40]).is_err(),
            "huge zero-width array"
        );
        // Found by the `peeked_message` fuzz target: an empty array whose size hid a
        // malformed array (size 1, count 1, no room for an item) made serde_amqp underflow.
        assert!(
            validate_encoded(&[0xe0, 0x08, 0x00, 0x00, 0x53, 0x77, 0xe0, 0x01, 0x01, 0x70])
                .is_err(),
            "empty array with bytes after its constructor"
        );
        assert!(validate_encoded(&[0xe0, 0x01, 0x00]).is_ok(), "empty array");
        assert!(
            validate_encoded(&[0xe0, 0x02, 0x00, 0x71]).is_ok(),
            "empty array with its constructor"
        );
        let deep: Vec<u8> = std::iter::repeat_n([0x00u8, 0x53, 0x01], 100)
            .flatten()
            .chain([0x40])
            .collect();
        assert!(validate_encoded(&deep).is_err(), "deep nesting");
        let mut nested = vec![0x45];
        for _ in 0..40 {
            let mut outer = vec![0xd0];
            outer.extend_from_slice(&(nested.len() as u32 + 4).to_be_bytes());
            outer.extend_from_slice(&1u32.to_be_bytes());
            outer.extend_from_slice(&nested);
            nested = outer;
        }
        assert!(validate_encoded(&nested).is_err(), "deep lists");
    }
}
