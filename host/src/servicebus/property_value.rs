//! Application property values: AMQP simple types ↔ [`berth::PropertyValue`].

use berth::PropertyValue;
use bytes::Bytes;
use fe2o3_amqp_types::primitives::{SimpleValue, Symbol, Uuid, Value};
use serde_amqp::primitives::Binary;

use super::ticks;

/// An application property value as handlers see it. Decimals and described values, which
/// Service Bus applications do not use, become `Null`.
pub(crate) fn from_simple(value: SimpleValue) -> PropertyValue {
    match value {
        SimpleValue::Null => PropertyValue::Null,
        SimpleValue::Bool(v) => PropertyValue::Bool(v),
        SimpleValue::Ubyte(v) => PropertyValue::ULong(v.into()),
        SimpleValue::Ushort(v) => PropertyValue::ULong(v.into()),
        SimpleValue::Uint(v) => PropertyValue::ULong(v.into()),
        SimpleValue::Ulong(v) => PropertyValue::ULong(v),
        SimpleValue::Byte(v) => PropertyValue::Long(v.into()),
        SimpleValue::Short(v) => PropertyValue::Long(v.into()),
        SimpleValue::Int(v) => PropertyValue::Long(v.into()),
        SimpleValue::Long(v) => PropertyValue::Long(v),
        SimpleValue::Float(v) => PropertyValue::Double(f64::from(v.into_inner())),
        SimpleValue::Double(v) => PropertyValue::Double(v.into_inner()),
        SimpleValue::Char(v) => PropertyValue::String(v.to_string()),
        SimpleValue::Timestamp(v) => ticks::from_millis(v.milliseconds())
            .map(PropertyValue::Timestamp)
            .unwrap_or(PropertyValue::Null),
        SimpleValue::Uuid(v) => PropertyValue::Uuid(v.into_inner()),
        SimpleValue::Binary(v) => PropertyValue::Binary(Bytes::from(v.into_vec())),
        SimpleValue::String(v) => PropertyValue::String(v),
        SimpleValue::Symbol(v) => PropertyValue::String(v.0),
        SimpleValue::Decimal32(_)
        | SimpleValue::Decimal64(_)
        | SimpleValue::Decimal128(_)
        | SimpleValue::Described(_) => PropertyValue::Null,
    }
}

/// A handler's property value as an AMQP simple value (for sending).
pub(crate) fn to_simple(value: &PropertyValue) -> SimpleValue {
    match value {
        PropertyValue::Null => SimpleValue::Null,
        PropertyValue::Bool(v) => SimpleValue::Bool(*v),
        PropertyValue::Long(v) => SimpleValue::Long(*v),
        PropertyValue::ULong(v) => SimpleValue::Ulong(*v),
        PropertyValue::Double(v) => SimpleValue::from(*v),
        PropertyValue::String(v) => SimpleValue::String(v.clone()),
        PropertyValue::Binary(v) => SimpleValue::Binary(Binary::from(v.to_vec())),
        PropertyValue::Timestamp(v) => SimpleValue::Timestamp(ticks::to_timestamp(*v)),
        PropertyValue::Uuid(v) => SimpleValue::Uuid(Uuid::from(*v)),
    }
}

/// A handler's property value as an AMQP value (for `properties-to-modify` and error info).
pub(crate) fn to_value(value: &PropertyValue) -> Value {
    match to_simple(value) {
        SimpleValue::Null => Value::Null,
        SimpleValue::Bool(v) => Value::Bool(v),
        SimpleValue::Long(v) => Value::Long(v),
        SimpleValue::Ulong(v) => Value::Ulong(v),
        SimpleValue::Double(v) => Value::from(v.into_inner()),
        SimpleValue::String(v) => Value::String(v),
        SimpleValue::Binary(v) => Value::Binary(v),
        SimpleValue::Timestamp(v) => Value::Timestamp(v),
        SimpleValue::Uuid(v) => Value::Uuid(v),
        // `to_simple` produces only the variants above.
        _ => Value::Null,
    }
}

/// A symbol key, as annotation and error-info maps need.
pub(crate) fn symbol(key: &str) -> Symbol {
    Symbol::from(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn simple_values_map_onto_property_values() {
        assert_eq!(from_simple(SimpleValue::Int(-3)), PropertyValue::Long(-3));
        assert_eq!(from_simple(SimpleValue::Uint(3)), PropertyValue::ULong(3));
        assert_eq!(
            from_simple(SimpleValue::Symbol(Symbol::from("s"))),
            PropertyValue::String("s".into())
        );
        assert_eq!(
            from_simple(SimpleValue::from(1.5f64)),
            PropertyValue::Double(1.5)
        );
        assert_eq!(
            from_simple(SimpleValue::Char('x')),
            PropertyValue::String("x".into())
        );
    }

    #[test]
    fn property_values_round_trip() {
        let values = [
            PropertyValue::Null,
            PropertyValue::Bool(true),
            PropertyValue::Long(-7),
            PropertyValue::ULong(7),
            PropertyValue::Double(2.25),
            PropertyValue::String("text".into()),
            PropertyValue::Binary(Bytes::from_static(b"\x00\x01")),
            PropertyValue::Timestamp(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
            PropertyValue::Uuid([7; 16]),
        ];
        for value in values {
            assert_eq!(from_simple(to_simple(&value)), value);
        }
        assert_eq!(to_value(&PropertyValue::Long(4)), Value::Long(4));
    }
}
