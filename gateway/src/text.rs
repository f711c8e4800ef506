//! Values the API writes as JSON strings (decimals, ids, times), formatted
//! on the stack as they are serialized. A batch answer holds a hundred
//! orders of a dozen such fields each: built as `String`s first, each one
//! cost an allocation, a copy and a free on the HTTP thread.

use std::borrow::Cow;
use std::fmt;

use arrayvec::ArrayString;

use agora_engine::units::{Timestamp, DECIMALS, SCALE};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Room for the longest text any of these writes (an RFC 3339 time with
/// nanoseconds is 30 bytes; an `i64` decimal, 21).
const TEXT_BYTES: usize = 40;

/// Text on the stack. Decimals and ids are built from `&str` pieces and
/// never checked for UTF-8 again (checking each number's few bytes with
/// `str::from_utf8` was 5% of the HTTP threads' instructions under the
/// batch endpoint); a time, which the `time` crate writes as bytes, is
/// checked once.
type Text = ArrayString<TEXT_BYTES>;

/// A value with a text form written on the stack.
trait StackText {
    /// The text.
    fn text(&self) -> Text;
}

/// Serialize (as a JSON string), Display and JsonSchema (a plain string,
/// as a `String` field's) for [`StackText`] types.
macro_rules! stack_text {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.text())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text())
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
    fn text(&self) -> Text {
        let abs = self.0.unsigned_abs();
        let scale = SCALE as u64;
        let mut frac = abs % scale;
        let mut places = DECIMALS as usize;
        while places > 2 && frac.is_multiple_of(10) {
            frac /= 10;
            places -= 1;
        }
        let mut text = Text::new();
        if self.0 < 0 {
            text.push('-');
        }
        text.push_str(itoa::Buffer::new().format(abs / scale));
        text.push('.');
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(frac);
        for _ in digits.len()..places {
            text.push('0');
        }
        text.push_str(digits);
        text
    }
}

/// An engine id (a number) as a decimal string.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IdText(pub u64);

impl StackText for IdText {
    fn text(&self) -> Text {
        let mut text = Text::new();
        text.push_str(itoa::Buffer::new().format(self.0));
        text
    }
}

/// An engine timestamp as RFC 3339 UTC text (empty if out of its range).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeText(pub Timestamp);

impl StackText for TimeText {
    fn text(&self) -> Text {
        let mut bytes = [0; TEXT_BYTES];
        let mut cursor = std::io::Cursor::new(&mut bytes[..]);
        let written = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0 .0))
            .ok()
            .and_then(|t| t.format_into(&mut cursor, &Rfc3339).ok());
        let len = written.map_or(0, |_| cursor.position() as usize);
        Text::from(std::str::from_utf8(&bytes[..len]).unwrap_or_default()).unwrap_or_default()
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
