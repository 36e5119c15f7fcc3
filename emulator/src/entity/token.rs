//! Lock tokens: random version-4 UUIDs, kept in RFC 4122 byte order.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::str::FromStr;

use super::EntityError;
use crate::guid;

/// A message lock token: 16 bytes of a random (version 4) UUID in RFC 4122 order, which is
/// the order AMQP `uuid` values use (`$management` `lock-tokens`, `x-opt-lock-token`).
///
/// Delivery tags use .NET's `Guid.ToByteArray()` order instead: convert with
/// [`LockToken::to_dotnet_bytes`] / [`LockToken::from_dotnet_bytes`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockToken([u8; 16]);

impl LockToken {
    /// A fresh random token.
    pub fn random() -> Self {
        let (a, b) = next_random_pair();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// The token with these RFC-order bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The RFC-order bytes (AMQP `uuid`).
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The bytes in .NET `Guid.ToByteArray()` order (first three groups little-endian), which
    /// is what Service Bus uses as the delivery tag.
    pub fn to_dotnet_bytes(&self) -> [u8; 16] {
        guid::swap_byte_order(self.0)
    }

    /// The token from bytes in .NET `Guid.ToByteArray()` order (a delivery tag).
    pub fn from_dotnet_bytes(bytes: [u8; 16]) -> Self {
        Self(guid::swap_byte_order(bytes))
    }

    /// The token from a delivery tag in .NET order; `None` unless it is exactly 16 bytes.
    pub fn from_delivery_tag(tag: &[u8]) -> Option<Self> {
        guid::from_delivery_tag(tag).map(Self)
    }
}

impl Hash for LockToken {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The bytes are random already: fold them into one word.
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&self.0[..8]);
        hi.copy_from_slice(&self.0[8..]);
        state.write_u64(u64::from_le_bytes(lo) ^ u64::from_le_bytes(hi).rotate_left(29));
    }
}

/// A hasher for [`LockToken`] keys: the token is random, so its folded word is the hash.
#[derive(Default)]
pub(crate) struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// Hash-map builder for maps keyed by [`LockToken`].
pub(crate) type TokenHash = BuildHasherDefault<TokenHasher>;

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&guid::Hyphenated(&self.0), f)
    }
}

impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LockToken({self})")
    }
}

impl FromStr for LockToken {
    type Err = EntityError;

    /// Parses the hyphenated form `aabbccdd-eeff-0011-2233-445566778899` (hyphens optional).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        guid::parse_hyphenated(s).map(Self).ok_or_else(|| {
            EntityError::InvalidArgument(format!("'{s}' is not a valid lock token (a GUID)."))
        })
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // RandomState is seeded by the OS per process; mixing in the thread id separates threads.
    RandomState::new().hash_one(std::thread::current().id()) | 1
}

/// Two words from a thread-local splitmix64 generator (fast, not cryptographic).
pub(crate) fn next_random_pair() -> (u64, u64) {
    RNG.with(|cell| {
        let mut s = cell.get();
        let a = splitmix(&mut s);
        let b = splitmix(&mut s);
        cell.set(s);
        (a, b)
    })
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
