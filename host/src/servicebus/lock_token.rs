//! Lock tokens: 16-byte GUIDs that Service Bus sends as the delivery tag in .NET
//! `Guid.ToByteArray()` order, and as AMQP uuids (RFC 4122 order) everywhere else.

/// Converts a delivery tag in .NET GUID byte order into RFC 4122 order (the first three
/// groups are little-endian on the wire). `None` unless the tag has exactly 16 bytes.
pub(crate) fn from_delivery_tag(tag: &[u8]) -> Option<[u8; 16]> {
    let tag: &[u8; 16] = tag.try_into().ok()?;
    let mut rfc = *tag;
    rfc[0..4].reverse();
    rfc[4..6].reverse();
    rfc[6..8].reverse();
    Some(rfc)
}

/// The usual text form: `aabbccdd-eeff-0011-2233-445566778899`.
pub(crate) fn to_string(token: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in token.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_the_documented_example() {
        // doc D.3: token aabbccdd-eeff-0011-2233-445566778899 travels as this tag.
        let tag = [
            0xdd, 0xcc, 0xbb, 0xaa, 0xff, 0xee, 0x11, 0x00, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
            0x88, 0x99,
        ];
        let token = from_delivery_tag(&tag).unwrap();
        assert_eq!(to_string(&token), "aabbccdd-eeff-0011-2233-445566778899");
        assert_eq!(token[0], 0xaa);
    }

    #[test]
    fn other_tag_sizes_are_not_lock_tokens() {
        assert_eq!(from_delivery_tag(&[0, 0, 0, 1]), None);
        assert_eq!(from_delivery_tag(&[0; 17]), None);
    }
}
