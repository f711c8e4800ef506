//! Unit newtypes: identifiers, fixed-point money and quantities, ticks and
//! lots, time, and short inline names.
//!
//! Only meaningful arithmetic is offered: a [`Price`] is converted to
//! [`Ticks`] through its asset, never added to a [`Quantity`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decimal places of every fixed-point value ([`Price`], [`Quantity`],
/// [`Amount`]) on the engine's boundary.
pub const DECIMALS: u32 = 8;
/// `10^DECIMALS`: the fixed-point value of one whole unit.
pub const SCALE: i64 = 100_000_000;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// An agent, as numbered by the gateway when it registers.
    AgentId
);
id_type!(
    /// An order; the gateway assigns it in the `PlaceOrder` command.
    OrderId
);
id_type!(
    /// A trade (one fill between a maker and a taker), numbered by the engine.
    TradeId
);
id_type!(
    /// A transaction between a buyer and a seller (and its escrow account),
    /// numbered by the engine.
    TransactionId
);
id_type!(
    /// A request for work or goods, numbered by the engine.
    RequestId
);
id_type!(
    /// An offer on a request, numbered by the engine.
    OfferId
);
id_type!(
    /// A listing for sale, numbered by the engine.
    ListingId
);
id_type!(
    /// An auction, numbered by the engine.
    AuctionId
);

/// Nanoseconds since the Unix epoch, as stamped by the gateway.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

macro_rules! fixed_point_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Fixed point with [`DECIMALS`] places: `Self(SCALE)` is one whole unit.
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);

            /// `units` whole units.
            pub const fn units(units: i64) -> Self {
                Self(units * SCALE)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let sign = if self.0 < 0 { "-" } else { "" };
                let abs = self.0.unsigned_abs();
                let scale = SCALE as u64;
                write!(f, "{sign}{}.{:08}", abs / scale, abs % scale)
            }
        }
    };
}

fixed_point_type!(
    /// A price: money per whole unit of an asset.
    Price
);
fixed_point_type!(
    /// An amount of an asset.
    Quantity
);
fixed_point_type!(
    /// An amount of money in some currency.
    Amount
);

impl Amount {
    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self × count`, or `None` on overflow.
    pub fn checked_mul(self, count: u64) -> Option<Amount> {
        i64::try_from(count)
            .ok()
            .and_then(|n| self.0.checked_mul(n))
            .map(Amount)
    }

    /// `bps` basis points of `self`, rounded down to the smallest unit
    /// (10⁻⁸): the platform fee rule.
    pub fn basis_points(self, bps: u32) -> Amount {
        Amount((i128::from(self.0) * i128::from(bps) / 10_000) as i64)
    }
}

impl Timestamp {
    /// `self + nanos`, saturating at the end of time.
    pub fn plus(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }
}

/// A price as a whole number of an asset's ticks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ticks(pub i64);

/// A quantity as a whole number of an asset's lots.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Lots(pub i64);

impl Lots {
    /// No lots.
    pub const ZERO: Lots = Lots(0);
}

/// A short ASCII name stored inline (no allocation), zero-padded to `N`
/// bytes. Allowed bytes: printable ASCII without space.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InlineName<const N: usize>([u8; N]);

/// Why a string cannot be an [`InlineName`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The string is empty.
    Empty,
    /// The string is longer than the name's capacity.
    TooLong {
        /// Capacity in bytes.
        max: usize,
    },
    /// The string holds a byte that is not printable ASCII (or is a space).
    BadCharacter,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "must not be empty"),
            NameError::TooLong { max } => write!(f, "must be at most {max} characters"),
            NameError::BadCharacter => {
                write!(f, "may hold only printable ASCII characters without spaces")
            }
        }
    }
}

impl<const N: usize> InlineName<N> {
    /// Capacity in bytes.
    pub const CAPACITY: usize = N;

    /// Parses `s`, which must be 1..=N printable ASCII bytes without space.
    pub fn new(s: &str) -> Result<Self, NameError> {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return Err(NameError::Empty);
        }
        if bytes.len() > N {
            return Err(NameError::TooLong { max: N });
        }
        if !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(NameError::BadCharacter);
        }
        let mut out = [0u8; N];
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(Self(out))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        // Only ASCII bytes are ever stored (checked in `new`).
        std::str::from_utf8(&self.0[..len]).expect("inline names hold ASCII only")
    }
}

impl<const N: usize> fmt::Debug for InlineName<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl<const N: usize> fmt::Display for InlineName<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> Serialize for InlineName<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for InlineName<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An asset's symbol, e.g. `GPU-HOURS`.
pub type Symbol = InlineName<24>;
/// A currency code, e.g. `CREDITS` or `USD`.
pub type Currency = InlineName<16>;
/// A client's own id for an order, unique among the agent's open orders.
pub type ClientOrderId = InlineName<40>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_displays_as_decimal() {
        assert_eq!(Price(1_050_000_000).to_string(), "10.50000000");
        assert_eq!(Amount(-1).to_string(), "-0.00000001");
        assert_eq!(Quantity::units(3).to_string(), "3.00000000");
    }

    #[test]
    fn inline_names_validate() {
        assert_eq!(Symbol::new("GPU-HOURS").unwrap().as_str(), "GPU-HOURS");
        assert_eq!(Symbol::new(""), Err(NameError::Empty));
        assert_eq!(Symbol::new("A B"), Err(NameError::BadCharacter));
        assert_eq!(Symbol::new("é"), Err(NameError::BadCharacter));
        assert_eq!(
            Symbol::new(&"X".repeat(25)),
            Err(NameError::TooLong { max: 24 })
        );
        assert!(Symbol::new(&"X".repeat(24)).is_ok());
    }

    #[test]
    fn inline_names_round_trip_through_serde() {
        let c = Currency::new("CREDITS").unwrap();
        let bytes = bincode::serialize(&c).unwrap();
        assert_eq!(bincode::deserialize::<Currency>(&bytes).unwrap(), c);
    }
}
