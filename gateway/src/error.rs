//! The error envelope: every failure is an HTTP status plus
//! `{"error":{"code","message","details"}}`, where the message says what
//! to do next. Engine rejections map to codes here, in one place.

use agora_engine::reject::{AssetSpecProblem, AuctionProblem};
use agora_engine::Reject;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::text::{DecimalText, TimeText};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// Structured facts (field names, limits, amounts).
    pub details: Value,
}

impl ApiError {
    /// An error with empty details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// `400 validation_error` about one field.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "validation_error",
            format!("`{field}` {problem}"),
        )
        .with_details(json!({ "field": field }))
    }

    /// `404 not_found`.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No {what} with that id is visible to you; check the id."),
        )
    }

    /// `401 unauthorized`.
    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send a valid API key in `X-API-Key` or `Authorization: Bearer`; \
             register at POST /api/v1/agents/register to get one.",
        )
    }

    /// `503 unavailable`: the engine or journal stopped.
    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The market is shutting down or its journal failed; retry later.",
        )
        // About what a restart takes; sent as `Retry-After` too.
        .with_details(json!({ "retry_after_seconds": 5 }))
    }

    /// The envelope as JSON.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message, "details": self.details}})
    }
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

fn conflict_in(message: String, details: Value) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message).with_details(details)
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// A unit enum's snake_case name, as its JSON.
fn snake<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `400 validation_error` with `details`.
pub(crate) fn validation(message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation_error", message).with_details(details)
}

impl From<Reject> for ApiError {
    fn from(reject: Reject) -> Self {
        match reject {
            Reject::UnknownOrder | Reject::NotYourOrder => ApiError::not_found("order"),
            Reject::UnknownTransaction | Reject::NotAParty => ApiError::not_found("transaction"),
            Reject::UnknownRequest => ApiError::not_found("request"),
            Reject::UnknownOffer | Reject::NotYourOffer => ApiError::not_found("offer"),
            Reject::UnknownListing => ApiError::not_found("listing"),
            Reject::UnknownClaimToken => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "This claim token is unknown, used or expired; ask the agent for a new one.",
            ),
            Reject::NotYourRequest => {
                forbidden("Only the agent that posted this request may do that.")
            }
            Reject::NotYourListing => {
                forbidden("Only the agent that posted this listing may do that.")
            }
            Reject::WrongParty => forbidden(
                "Your role in this transaction cannot take this step: the buyer funds, \
                 confirms and disputes; the seller delivers; the operator resolves.",
            ),
            Reject::WrongStatus { status } => conflict_in(
                format!(
                    "The transaction is {}; this step is not allowed from there.",
                    snake(&status)
                ),
                json!({ "status": snake(&status) }),
            ),
            Reject::RequestNotOpen { status } => conflict_in(
                format!("The request is {}, not open.", snake(&status)),
                json!({ "status": snake(&status) }),
            ),
            Reject::OfferNotPending { status } => conflict_in(
                format!("The offer is {}, no longer pending.", snake(&status)),
                json!({ "status": snake(&status) }),
            ),
            Reject::ListingNotActive { status } => conflict_in(
                format!("The listing is {}.", snake(&status)),
                json!({ "status": snake(&status) }),
            ),
            Reject::NotEnoughUnits { available } => conflict_in(
                format!("Only {available} unit(s) are left; buy fewer."),
                json!({ "available": available }),
            ),
            Reject::DeadlinePassed => conflict("The deadline for this step has passed."),
            Reject::AlreadyRated => conflict("You already rated this transaction."),
            Reject::DuplicateOffer => conflict(
                "You already have a pending offer on this request; withdraw it to make another.",
            ),
            Reject::OfferWindowOpen { until } => conflict_in(
                format!(
                    "Offers are sealed until {}; look and decide after that.",
                    TimeText(until)
                ),
                json!({ "sealed_until": TimeText(until) }),
            ),
            Reject::OwnRequest => conflict("You cannot make an offer on your own request."),
            Reject::OwnListing => conflict("You cannot buy your own listing."),
            Reject::TooManyOffers => limit_reached(
                "offers",
                "This request has received the maximum number of offers.",
            ),
            Reject::NothingDue => conflict("Nothing is due."),
            Reject::UnknownAuction => ApiError::not_found("auction"),
            Reject::NotYourAuction => forbidden("Only the auction's seller may do that."),
            Reject::OwnAuction => conflict("You cannot bid on your own auction."),
            Reject::AuctionNotOpen { status } => conflict_in(
                format!("The auction is {}, not open.", snake(&status)),
                json!({ "status": snake(&status) }),
            ),
            Reject::AuctionNotStarted { starts_at } => conflict_in(
                format!("Bidding opens at {}.", TimeText(starts_at)),
                json!({ "starts_at": TimeText(starts_at) }),
            ),
            Reject::BidTooLow { minimum } => conflict_in(
                format!("Bid at least {}.", DecimalText(minimum.0)),
                json!({ "minimum": DecimalText(minimum.0) }),
            ),
            Reject::AuctionHasBids => conflict("An auction with bids cannot be cancelled."),
            Reject::NotDutch => {
                conflict("Only a Dutch auction has a price to accept; bid instead.")
            }
            Reject::AuctionInvalid { problem } => {
                let (field, rule) = match problem {
                    AuctionProblem::StartingPrice => ("starting_price", "must be positive"),
                    AuctionProblem::Reserve => (
                        "reserve_price",
                        "must not be negative (Dutch auctions use floor_price instead)",
                    ),
                    AuctionProblem::EndsAt => ("ends_at", "must be after starts_at and after now"),
                    AuctionProblem::MinIncrement => ("min_increment", "must be positive"),
                    AuctionProblem::BuyNow => ("buy_now_price", "must be above the starting price"),
                    AuctionProblem::Extension => {
                        ("extension_seconds", "must be between 0 and 86400")
                    }
                    AuctionProblem::Floor => {
                        ("floor_price", "must be between 0 and the starting price")
                    }
                    AuctionProblem::Decrement => ("decrement", "must be positive"),
                    AuctionProblem::Interval => ("interval_seconds", "must be at least 1"),
                };
                ApiError::invalid(field, rule)
            }
            Reject::TermsInvalid => validation(
                "Trade terms need a fee of at most 10000 bps and windows of a second to a year.",
                json!({}),
            ),
            Reject::SplitOutOfRange { amount } => ApiError::invalid(
                "seller_amount",
                format!("must be between 0 and the amount {}", DecimalText(amount.0)),
            ),
            Reject::RatingOutOfRange => {
                ApiError::invalid("score", "must be a whole number from 1 to 5")
            }
            Reject::TextTooLong { field, max } => {
                let field = snake(&field);
                ApiError::invalid(&field, format!("must be at most {max} characters"))
                    .with_details(json!({ "field": field, "max": max }))
            }
            Reject::TitleEmpty => ApiError::invalid("title", "must not be blank"),
            Reject::TextBlank { field } => ApiError::invalid(&snake(&field), "must not be blank"),
            Reject::BudgetInvalid => {
                ApiError::invalid("budget", "needs 0 ≤ min ≤ max and a positive max")
            }
            Reject::OfferWindowInvalid => ApiError::invalid(
                "offer_window_seconds",
                "must be non-negative and close before the deadline",
            ),
            Reject::DeadlineInPast => ApiError::invalid("deadline", "must be in the future"),
            Reject::ExpiryInPast => ApiError::invalid("expires_at", "must be in the future"),
            Reject::DeadlineTooFar { max } => {
                ApiError::invalid("deadline", format!("must be at most {}", TimeText(max)))
            }
            Reject::CurrencyMismatch { currency } => ApiError::invalid(
                "currency",
                format!("must be {currency}, which the request or auction is priced in"),
            ),
            Reject::QuantityOutOfRange { max } => {
                ApiError::invalid("quantity", format!("must be between 1 and {max}"))
            }
            Reject::UnknownAgent => ApiError::not_found("agent"),
            Reject::UnknownApiKey => ApiError::not_found("active API key"),
            Reject::UnknownAsset => ApiError::not_found("asset"),
            Reject::UnknownIdempotencyKey => ApiError::not_found("idempotency record"),
            Reject::OrderNotOpen => conflict("The order is already filled or cancelled."),
            Reject::DuplicateOrderId => conflict("That order id is already in use."),
            Reject::DuplicateClientOrderId => conflict(
                "You already have an open order with this client_order_id; \
                 choose another or cancel that order first.",
            ),
            Reject::AssetExists { symbol } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("Asset {symbol} is already registered."),
            ),
            Reject::AgentExists => conflict("An agent with that id already exists."),
            Reject::LastApiKey => {
                conflict("This is your last active key: issue another before revoking it.")
            }
            Reject::TooManyApiKeys => {
                conflict("You hold the maximum number of active keys; revoke one first.")
            }
            Reject::InvalidAssetSpec { problem } => validation(
                format!("The asset is refused: {}.", asset_rule(problem)),
                json!({ "problem": asset_problem(problem) }),
            ),
            Reject::InsufficientFunds {
                currency,
                required,
                available,
            } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_funds",
                format!(
                    "This needs {} {currency} but {} is available; add funds, free some \
                     (cancel orders, withdraw bids) or ask for less.",
                    DecimalText(required.0),
                    DecimalText(available.0)
                ),
            )
            .with_details(json!({
                "currency": currency.as_str(),
                "required": DecimalText(required.0),
                "available": DecimalText(available.0),
            })),
            Reject::PriceNotPositive => ApiError::invalid("price", "must be positive"),
            Reject::PriceNotOnTick { tick_size } => ApiError::invalid(
                "price",
                format!(
                    "must be a multiple of the tick size {}",
                    DecimalText(tick_size.0)
                ),
            )
            .with_details(json!({"field": "price", "tick_size": DecimalText(tick_size.0)})),
            Reject::PriceMissing => ApiError::invalid("price", "is required for a limit order"),
            Reject::QuantityNotPositive => ApiError::invalid("quantity", "must be positive"),
            Reject::QuantityNotOnLot { lot_size } => ApiError::invalid(
                "quantity",
                format!(
                    "must be a multiple of the lot size {}",
                    DecimalText(lot_size.0)
                ),
            )
            .with_details(json!({"field": "quantity", "lot_size": DecimalText(lot_size.0)})),
            Reject::QuantityBelowMin { quantity_min } => ApiError::invalid(
                "quantity",
                format!("must be at least {}", DecimalText(quantity_min.0)),
            )
            .with_details(
                json!({"field": "quantity", "quantity_min": DecimalText(quantity_min.0)}),
            ),
            Reject::QuantityAboveMax { quantity_max } => ApiError::invalid(
                "quantity",
                format!("must be at most {}", DecimalText(quantity_max.0)),
            )
            .with_details(
                json!({"field": "quantity", "quantity_max": DecimalText(quantity_max.0)}),
            ),
            Reject::AmountTooLarge => {
                validation("The amount (or price × quantity) is too large.", json!({}))
            }
            Reject::AmountNotPositive => ApiError::invalid("amount", "must be positive"),
            Reject::PostOnlyWouldCross => conflict(
                "A post-only order would have matched on arrival; price it away from the \
                 opposite best or drop post_only.",
            ),
            Reject::MarketPostOnly => {
                ApiError::invalid("time_in_force", "post_only needs a limit order")
            }
            Reject::FokCannotFill { fillable } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "A fill-or-kill order could not fill in full (only {} was available); \
                     nothing was done.",
                    DecimalText(fillable.0)
                ),
            )
            .with_details(json!({ "fillable": DecimalText(fillable.0) })),
            Reject::AmendBelowFilled { filled } => ApiError::invalid(
                "quantity",
                format!("must be above the {} already filled", DecimalText(filled.0)),
            ),
            Reject::NotAmendable => {
                conflict("Only resting limit orders (gtc or post_only) can be amended.")
            }
            Reject::BookFull => limit_reached(
                "book_orders",
                "This book holds as many orders as it may; try again later.",
            ),
            Reject::TooManyLevels => limit_reached(
                "book_levels",
                "This side of the book has as many price levels as it may; \
                 use a price nearer the best.",
            ),
            Reject::TooManyOpenOrders => limit_reached(
                "open_orders",
                "You have as many open orders as an agent may; cancel some first.",
            ),
            Reject::TooManyAssets => limit_reached(
                "assets",
                "The market lists as many assets as it may; trade one already listed \
                 (GET /api/v1/assets).",
            ),
            Reject::TooManyCurrencies => limit_reached(
                "currencies",
                "The market holds as many currencies as it may; use one already in use.",
            ),
            Reject::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was first used with a different request; \
                 use a new key for a new request.",
            ),
            Reject::NestedIdempotency => conflict("An idempotent command cannot wrap another."),
        }
    }
}

/// `409 limit_reached`: a capacity limit, named in the details.
fn limit_reached(limit: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "limit_reached", message)
        .with_details(json!({ "limit": limit }))
}

/// What an asset specification must satisfy, as its `problem` breaks it.
fn asset_rule(problem: AssetSpecProblem) -> &'static str {
    match problem {
        AssetSpecProblem::TickSizeNotPositive => "tick_size must be positive",
        AssetSpecProblem::LotSizeNotPositive => "lot_size must be positive",
        AssetSpecProblem::TickTimesLotNotRepresentable => {
            "tick_size × lot_size must be a multiple of 0.00000001, the smallest amount"
        }
        AssetSpecProblem::QuantityBoundsInvalid => {
            "min_quantity and max_quantity need lot_size ≤ min ≤ max, both multiples of lot_size"
        }
        AssetSpecProblem::QuantityMaxTooLarge => {
            "max_quantity is too large: a full book of such orders must stay countable in lots"
        }
    }
}

fn asset_problem(problem: AssetSpecProblem) -> &'static str {
    match problem {
        AssetSpecProblem::TickSizeNotPositive => "tick_size_not_positive",
        AssetSpecProblem::LotSizeNotPositive => "lot_size_not_positive",
        AssetSpecProblem::TickTimesLotNotRepresentable => "tick_times_lot_not_representable",
        AssetSpecProblem::QuantityBoundsInvalid => "quantity_bounds_invalid",
        AssetSpecProblem::QuantityMaxTooLarge => "quantity_max_too_large",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_limits_are_named_in_the_apis_words() {
        for (reject, limit) in [
            (Reject::BookFull, "book_orders"),
            (Reject::TooManyLevels, "book_levels"),
            (Reject::TooManyOpenOrders, "open_orders"),
            (Reject::TooManyAssets, "assets"),
            (Reject::TooManyCurrencies, "currencies"),
            (Reject::TooManyOffers, "offers"),
        ] {
            let e = ApiError::from(reject);
            assert_eq!((e.status, e.code), (StatusCode::CONFLICT, "limit_reached"));
            assert_eq!(e.details["limit"], limit);
            // No Rust variant name leaks into what the client reads.
            assert!(!e.message.contains("TooMany") && !e.message.contains("BookFull"));
        }
    }

    #[test]
    fn an_invalid_asset_says_which_rule_it_breaks() {
        let e = ApiError::from(Reject::InvalidAssetSpec {
            problem: AssetSpecProblem::QuantityBoundsInvalid,
        });
        assert!(e.message.contains("min_quantity"), "{}", e.message);
        assert_eq!(e.details["problem"], "quantity_bounds_invalid");
    }
}
