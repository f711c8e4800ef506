//! Values the API writes as JSON strings (decimals, ids, times), formatted
//! on the stack as they are serialized. A batch answer holds a hundred
//! orders of a dozen such fields each: built as `String`s first, each one
//! cost an allocation, a copy and a free on the HTTP thread.

use std::borrow::Cow;
use std::fmt;

use agora_engine::units::{Timestamp, DECIMALS, SCALE};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Room for the longest text any of these writes (an RFC 3339 time with
/// nanoseconds is 30 bytes; an `i64` decimal, 21).
const BUFFER_BYTES: usize = 40;
type Buffer = [u8; BUFFER_BYTES];

/// A value with a text form written into a stack buffer.
trait StackText {
    /// Writes the text into `buf`; returns it.
    fn write<'a>(&self, buf: &'a mut Buffer) -> &'a str;
}

/// Serialize (as a JSON string), Display and JsonSchema (a plain string,
/// as a `String` field's) for [`StackText`] types.
macro_rules! stack_text {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.write(&mut [0; BUFFER_BYTES]))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.write(&mut [0; BUFFER_BYTES]))
            }
        }

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                String::schema_name()
            }

            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                String::json_schema(generator)
            }
        }
    )*};
}

stack_text!(DecimalText, IdText, TimeText);

/// A fixed-point value as a decimal string with at least two and at most
/// eight decimals: `1050000000` → `"10.50"`, `10000` → `"0.0001"`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DecimalText(pub i64);

impl StackText for DecimalText {
    fn write<'a>(&self, buf: &'a mut Buffer) -> &'a str {
        let abs = self.0.unsigned_abs();
        let scale = SCALE as u64;
        let mut frac = abs % scale;
        let mut places = DECIMALS as usize;
        while places > 2 && frac.is_multiple_of(10) {
            frac /= 10;
            places -= 1;
        }
        let mut len = 0;
        let mut put = |bytes: &[u8]| {
            buf[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        if self.0 < 0 {
            put(b"-");
        }
        put(itoa::Buffer::new().format(abs / scale).as_bytes());
        put(b".");
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(frac).as_bytes();
        for _ in digits.len()..places {
            put(b"0");
        }
        put(digits);
        std::str::from_utf8(&buf[..len]).expect("ASCII digits")
    }
}

/// An engine id (a number) as a decimal string.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IdText(pub u64);

impl StackText for IdText {
    fn write<'a>(&self, buf: &'a mut Buffer) -> &'a str {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(self.0).as_bytes();
        buf[..digits.len()].copy_from_slice(digits);
        std::str::from_utf8(&buf[..digits.len()]).expect("ASCII digits")
    }
}

/// An engine timestamp as RFC 3339 UTC text (empty if out of its range).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeText(pub Timestamp);

impl StackText for TimeText {
    fn write<'a>(&self, buf: &'a mut Buffer) -> &'a str {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let written = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0 .0))
            .ok()
            .and_then(|t| t.format_into(&mut cursor, &Rfc3339).ok());
        let len = written.map_or(0, |_| cursor.position() as usize);
        std::str::from_utf8(&buf[..len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_two_to_eight_places() {
        assert_eq!(DecimalText(1_050_000_000).to_string(), "10.50");
        assert_eq!(DecimalText(100 * SCALE).to_string(), "100.00");
        assert_eq!(DecimalText(10_000).to_string(), "0.0001");
        assert_eq!(DecimalText(1).to_string(), "0.00000001");
        assert_eq!(DecimalText(-150_000_000).to_string(), "-1.50");
        assert_eq!(DecimalText(i64::MIN).to_string(), "-92233720368.54775808");
        assert_eq!(DecimalText(i64::MAX).to_string(), "92233720368.54775807");
    }

    #[test]
    fn ids_and_times_serialize_as_json_strings() {
        assert_eq!(
            serde_json::to_string(&IdText(u64::MAX)).unwrap(),
            "\"18446744073709551615\""
        );
        let t = TimeText(Timestamp(1_700_000_000_123_000_000));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2023-11-14T22:13:20.123Z\""
        );
        assert_eq!(TimeText(Timestamp(0)).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            TimeText(Timestamp(i64::MAX)).to_string(),
            "2262-04-11T23:47:16.854775807Z"
        );
    }

    #[test]
    fn their_schema_is_a_plain_string() {
        let schema = schemars::schema_for!(DecimalText);
        assert_eq!(schema.get("type").and_then(|t| t.as_str()), Some("string"));
    }
}
