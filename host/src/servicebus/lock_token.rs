//! Lock tokens: 16-byte GUIDs that Service Bus sends as the delivery tag in .NET
//! `Guid.ToByteArray()` order, and as AMQP uuids (RFC 4122 order) everywhere else. The byte
//! order and the text form are the broker's ([`berth_emulator::guid`]): one copy.

use berth_emulator::guid;

/// Converts a delivery tag in .NET GUID byte order into RFC 4122 order. `None` unless the
/// tag has exactly 16 bytes.
pub(crate) fn from_delivery_tag(tag: &[u8]) -> Option<[u8; 16]> {
    guid::from_delivery_tag(tag)
}

/// The usual text form: `aabbccdd-eeff-0011-2233-445566778899`.
pub(crate) fn to_string(token: &[u8; 16]) -> String {
    guid::Hyphenated(token).to_string()
}
