//! Assets: what trades on the order book, on which grid and in which
//! currency. Anyone may list them or look one up; the operator lists an
//! asset with its own parameters (any other symbol is listed with the
//! defaults by its first order).

use agora_engine::cmd::RegisterAsset;
use agora_engine::units::{Price, Quantity, Symbol};
use agora_engine::{Answer, AssetSpec, Command, Query};
use hyper::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;

use super::wallet::currency;
use super::{newest_page, page_out, State, OPERATOR};
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::money::Fixed;
use crate::views::{AssetJson, MarketAssetJson};

/// The path segment after `/orderbook/` that is not a book.
const ORDER_LIST: &str = "orders";

/// What [`asset_symbol`] accepts, for the OpenAPI document (a `Symbol`
/// holds at most 24 characters).
pub(crate) const ASSET_SYMBOL_PATTERN: &str = r"^(?!\.+$)(?!orders$)[A-Za-z0-9._~-]{1,24}$";

/// Parses the asset symbol in `field`. A symbol names its book in URLs
/// (`/orderbook/{asset}`), so it holds only characters a path segment
/// carries unescaped: letters, digits and `-._~`, not dots alone (which
/// clients fold away). A `GPU/USD` book was accepted before, and then
/// read only by those who knew to write `GPU%2FUSD`. Nor is it `orders`,
/// whose book `/orderbook/orders` would never show: that is the caller's
/// order list.
pub(crate) fn asset_symbol(field: &str, text: &str) -> Result<Symbol, ApiError> {
    let symbol = Symbol::new(text).map_err(|e| ApiError::invalid(field, e))?;
    let url_safe = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !url_safe || text.bytes().all(|b| b == b'.') {
        return Err(ApiError::invalid(
            field,
            "may hold only letters, digits and `-` `.` `_` `~` (it names the book in URLs), \
             e.g. `GPU-USD`",
        ));
    }
    if text == ORDER_LIST {
        return Err(ApiError::invalid(
            field,
            "may not be `orders`: /api/v1/orderbook/orders is the order list, so that book \
             could never be read; pick another symbol",
        ));
    }
    Ok(symbol)
}

/// `GET /api/v1/assets`: listed assets, newest first, with their touch.
pub async fn list(state: &State, call: &Call) -> Result<Out, ApiError> {
    let query = Query::Assets {
        page: newest_page(call)?,
    };
    let Answer::Assets(items, next) = state.ask(query).await? else {
        unreachable!("an asset list answers assets")
    };
    Ok(page_out(&items, next, |a| MarketAssetJson::from(a)))
}

/// `GET /api/v1/assets/{symbol}`: a listed asset, or what the first order
/// in an unlisted symbol would list it with.
pub async fn get(state: &State, symbol: &str) -> Result<Out, ApiError> {
    let asset = asset_symbol("symbol", symbol)?;
    let Answer::Asset(view) = state.ask(Query::Asset { asset }).await? else {
        unreachable!("an asset query answers an asset")
    };
    Ok(Out::json(StatusCode::OK, &MarketAssetJson::from(&view)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssetBody {
    /// Letters, digits and `-._~`, up to 24 characters.
    #[schemars(regex(pattern = ASSET_SYMBOL_PATTERN))]
    symbol: String,
    quote_currency: Option<String>,
    tick_size: Fixed,
    lot_size: Fixed,
    min_quantity: Option<Fixed>,
    max_quantity: Option<Fixed>,
}

/// `POST /api/v1/operator/assets`: lists an asset with its own tick and
/// lot sizes (assets not listed get the defaults on their first order).
pub async fn register(state: &State, call: &Call) -> Result<Out, ApiError> {
    let body: AssetBody = call.json()?;
    let spec = AssetSpec {
        symbol: asset_symbol("symbol", &body.symbol)?,
        quote_currency: currency(
            "quote_currency",
            body.quote_currency.as_deref().unwrap_or("CREDITS"),
        )?,
        tick_size: Price(body.tick_size.0),
        lot_size: Quantity(body.lot_size.0),
        quantity_min: Quantity(body.min_quantity.unwrap_or(body.lot_size).0),
        quantity_max: Quantity(
            body.max_quantity
                .map_or(Quantity::units(100_000_000).0, |q| q.0),
        ),
    };
    state
        .execute(
            call,
            OPERATOR,
            Command::RegisterAsset(RegisterAsset { spec }),
        )
        .await?;
    Ok(Out::json(StatusCode::CREATED, &AssetJson::from(&spec)))
}
