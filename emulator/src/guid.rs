//! GUIDs on the Service Bus wire: lock tokens travel as AMQP `uuid`s (RFC 4122 byte order)
//! in `$management` and `x-opt-lock-token`, but as the delivery tag in .NET
//! `Guid.ToByteArray()` order (the first three groups little-endian). One copy for the
//! broker (which writes both) and the host's client (which reads both).

use std::fmt;

/// Converts between RFC 4122 and .NET byte order; the swap is its own inverse.
pub fn swap_byte_order(bytes: [u8; 16]) -> [u8; 16] {
    let mut out = bytes;
    out[0..4].reverse();
    out[4..6].reverse();
    out[6..8].reverse();
    out
}

/// The RFC 4122 bytes of a delivery tag in .NET order; `None` unless it has exactly 16
/// bytes (Service Bus tags a peek-locked delivery with its lock token).
pub fn from_delivery_tag(tag: &[u8]) -> Option<[u8; 16]> {
    let bytes: [u8; 16] = tag.try_into().ok()?;
    Some(swap_byte_order(bytes))
}

/// Displays RFC 4122 bytes in the usual text form, `aabbccdd-eeff-0011-2233-445566778899`.
#[derive(Debug, Clone, Copy)]
pub struct Hyphenated<'a>(pub &'a [u8; 16]);

impl fmt::Display for Hyphenated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Parses the text form (hyphens optional, either case) into RFC 4122 bytes; `None`
/// unless it is 32 hex digits.
pub fn parse_hyphenated(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = text.bytes().filter(|&c| c != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(hex.chunks(2)) {
        // Only hex digits (`from_str_radix` would take a sign too).
        if !pair.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token `aabbccdd-eeff-0011-2233-445566778899` and the delivery tag it travels as
    /// (docs/servicebus-amqp.md, D.3).
    const RFC: [u8; 16] = [
        0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x99,
    ];
    const TAG: [u8; 16] = [
        0xdd, 0xcc, 0xbb, 0xaa, 0xff, 0xee, 0x11, 0x00, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x99,
    ];

    #[test]
    fn converts_the_documented_example_both_ways() {
        assert_eq!(from_delivery_tag(&TAG), Some(RFC));
        assert_eq!(swap_byte_order(RFC), TAG);
        assert_eq!(swap_byte_order(swap_byte_order(TAG)), TAG);
    }

    #[test]
    fn other_tag_sizes_are_not_lock_tokens() {
        assert_eq!(from_delivery_tag(&[0, 0, 0, 1]), None);
        assert_eq!(from_delivery_tag(&[0; 17]), None);
    }

    #[test]
    fn text_form_round_trips() {
        let text = Hyphenated(&RFC).to_string();
        assert_eq!(text, "aabbccdd-eeff-0011-2233-445566778899");
        assert_eq!(parse_hyphenated(&text), Some(RFC));
        assert_eq!(
            parse_hyphenated("AABBCCDDEEFF00112233445566778899"),
            Some(RFC)
        );
    }

    #[test]
    fn text_that_is_not_a_guid_is_refused() {
        for bad in [
            "",
            "aabbccdd-eeff-0011-2233-4455667788",
            "aabbccdd-eeff-0011-2233-44556677889g",
            "+abbccdd-eeff-0011-2233-445566778899",
            "aabbccdd-eeff-0011-2233-445566778899-00",
            "éééééééééééééééé",
        ] {
            assert_eq!(parse_hyphenated(bad), None, "{bad}");
        }
    }
}
