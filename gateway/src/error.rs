//! The error envelope: every failure is an HTTP status plus
//! `{"error":{"code","message","details"}}`, where the message says what
//! to do next. Engine rejections map to codes here, in one place.

use agora_engine::reject::AssetSpecProblem;
use agora_engine::Reject;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::money::format;

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
    }

    /// The envelope as JSON.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message, "details": self.details}})
    }
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

fn validation(message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation_error", message).with_details(details)
}

impl From<Reject> for ApiError {
    fn from(reject: Reject) -> Self {
        match reject {
            Reject::UnknownOrder | Reject::NotYourOrder => ApiError::not_found("order"),
            Reject::UnknownTransaction | Reject::NotAParty => ApiError::not_found("escrow"),
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
                format!("The asset specification is invalid: {problem:?}."),
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
                    "This needs {} {currency} but {} is available; deposit more or \
                     reduce the order.",
                    format(required.0),
                    format(available.0)
                ),
            )
            .with_details(json!({
                "currency": currency.as_str(),
                "required": format(required.0),
                "available": format(available.0),
            })),
            Reject::PriceNotPositive => ApiError::invalid("price", "must be positive"),
            Reject::PriceNotOnTick { tick_size } => ApiError::invalid(
                "price",
                format!(
                    "must be a multiple of the tick size {}",
                    format(tick_size.0)
                ),
            )
            .with_details(json!({"field": "price", "tick_size": format(tick_size.0)})),
            Reject::PriceMissing => ApiError::invalid("price", "is required for a limit order"),
            Reject::QuantityNotPositive => ApiError::invalid("quantity", "must be positive"),
            Reject::QuantityNotOnLot { lot_size } => ApiError::invalid(
                "quantity",
                format!("must be a multiple of the lot size {}", format(lot_size.0)),
            )
            .with_details(json!({"field": "quantity", "lot_size": format(lot_size.0)})),
            Reject::QuantityBelowMin { quantity_min } => ApiError::invalid(
                "quantity",
                format!("must be at least {}", format(quantity_min.0)),
            )
            .with_details(json!({"field": "quantity", "quantity_min": format(quantity_min.0)})),
            Reject::QuantityAboveMax { quantity_max } => ApiError::invalid(
                "quantity",
                format!("must be at most {}", format(quantity_max.0)),
            )
            .with_details(json!({"field": "quantity", "quantity_max": format(quantity_max.0)})),
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
                    format(fillable.0)
                ),
            )
            .with_details(json!({ "fillable": format(fillable.0) })),
            Reject::AmendBelowFilled { filled } => ApiError::invalid(
                "quantity",
                format!("must be above the {} already filled", format(filled.0)),
            ),
            Reject::NotAmendable => {
                conflict("Only resting limit orders (gtc or post_only) can be amended.")
            }
            Reject::BookFull
            | Reject::TooManyLevels
            | Reject::TooManyOpenOrders
            | Reject::TooManyAssets
            | Reject::TooManyCurrencies => ApiError::new(
                StatusCode::CONFLICT,
                "limit_reached",
                format!("A capacity limit was reached ({reject:?}); cancel orders or try later."),
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

fn asset_problem(problem: AssetSpecProblem) -> &'static str {
    match problem {
        AssetSpecProblem::TickSizeNotPositive => "tick_size_not_positive",
        AssetSpecProblem::LotSizeNotPositive => "lot_size_not_positive",
        AssetSpecProblem::TickTimesLotNotRepresentable => "tick_times_lot_not_representable",
        AssetSpecProblem::QuantityBoundsInvalid => "quantity_bounds_invalid",
        AssetSpecProblem::QuantityMaxTooLarge => "quantity_max_too_large",
    }
}
