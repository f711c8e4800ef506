//! Decimal money and quantities at the API's edge: accepted as a JSON
//! string or number, parsed exactly with `rust_decimal`, and turned into
//! the engine's 8-decimal fixed point (written back as decimal strings by
//! [`crate::text::DecimalText`]).

use std::str::FromStr;

use agora_engine::units::{DECIMALS, SCALE};
use rust_decimal::Decimal;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::borrow::Cow;

/// A decimal as the client sent it, already in fixed point.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fixed(pub i64);

impl JsonSchema for Fixed {
    fn schema_name() -> Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["string", "number"],
            "description": format!(
                "A decimal with at most {DECIMALS} places, best sent as a string (\"10.50\") so no \
                 float rounding can touch it; a JSON number is read as the shortest text that \
                 gives it back."
            ),
            "examples": ["10.50"],
        })
    }
}

/// Why a decimal was refused.
fn parse(text: &str) -> Result<i64, String> {
    let d = Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| match text.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => format!("`{text}` is too large"),
            _ => format!("`{text}` is not a decimal number"),
        })?;
    if d.scale() > DECIMALS && d.normalize().scale() > DECIMALS {
        return Err(format!("`{text}` has more than {DECIMALS} decimal places"));
    }
    let scaled = d
        .checked_mul(Decimal::from(SCALE))
        .ok_or_else(|| format!("`{text}` is too large"))?;
    i64::try_from(scaled.trunc()).map_err(|_| format!("`{text}` is too large"))
}

impl<'de> Deserialize<'de> for Fixed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FixedVisitor;
        impl Visitor<'_> for FixedVisitor {
            type Value = Fixed;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal number, as a string (\"10.50\") or a JSON number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fixed, E> {
                parse(v).map(Fixed).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fixed, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fixed, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fixed, E> {
                if !v.is_finite() {
                    return Err(E::custom("the number must be finite"));
                }
                // The shortest text that reads back as `v`: what the client wrote.
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_any(FixedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<i64, String> {
        serde_json::from_str::<Fixed>(json)
            .map(|f| f.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn strings_and_numbers_parse_exactly() {
        assert_eq!(read("\"10.50\""), Ok(1_050_000_000));
        assert_eq!(read("10.5"), Ok(1_050_000_000));
        assert_eq!(read("3"), Ok(300_000_000));
        assert_eq!(read("\"0.00000001\""), Ok(1));
        assert_eq!(read("\"-2\""), Ok(-200_000_000));
        assert_eq!(read("0.1"), Ok(10_000_000));
        assert_eq!(
            read("\"1.000000000\""),
            Ok(SCALE),
            "trailing zeros are fine"
        );
    }

    #[test]
    fn bad_decimals_are_refused() {
        assert!(read("\"1.000000001\"")
            .unwrap_err()
            .contains("decimal places"));
        assert!(read("\"abc\"").unwrap_err().contains("not a decimal"));
        assert!(read("\"NaN\"").is_err());
        assert!(read("1e30").unwrap_err().contains("too large"));
        assert!(read("\"99999999999999999999\"")
            .unwrap_err()
            .contains("too large"));
        assert!(read("true").is_err());
        assert!(read("null").is_err());
    }
}
