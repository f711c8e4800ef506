//! `/openapi.json`: the OpenAPI 3.1 description of every route, generated
//! from the route table. Request and answer bodies are the JSON Schemas
//! of the very types the handlers read and write (derived with
//! `schemars`), so the document cannot drift from the code.

use std::sync::OnceLock;

use agora_engine::auctions::AuctionStatus;
use agora_engine::category::Category;
use agora_engine::deal_queries::{AuctionKindName, Role};
use agora_engine::listings::ListingStatus;
use agora_engine::requests::{OfferStatus, RequestStatus};
use agora_engine::transactions::{OriginKind, TxStatus};
use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::orderbook::{DEPTH_DEFAULT, DEPTH_MAX};
use super::{Access, Body, IDEMPOTENCY_KEY_MAX, ROUTES};
use crate::http::{LIMIT_DEFAULT, LIMIT_MAX};

/// Writes a type's schema among the document's components (when it has a
/// name) and gives the schema to use in its place: a reference, or the
/// schema itself.
pub(super) type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaOf`] type `T`.
pub(super) fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A query parameter a route reads.
#[derive(Copy, Clone)]
pub(super) struct Param {
    name: &'static str,
    about: &'static str,
    schema: SchemaOf,
}

impl Param {
    /// Its name in the query string.
    pub(super) fn name(&self) -> &'static str {
        self.name
    }
}

const fn param(name: &'static str, about: &'static str, schema: SchemaOf) -> Param {
    Param {
        name,
        about,
        schema,
    }
}

fn text(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string"})
}

fn limit(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT})
}

fn depth(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 1, "maximum": DEPTH_MAX, "default": DEPTH_DEFAULT})
}

fn order_status(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"enum": ["open", "filled", "cancelled", "all"], "default": "open"})
}

fn order_key(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"enum": ["id", "client_order_id"], "default": "id"})
}

fn rfc3339(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

/// The query parameters routes read.
pub(super) mod params {
    use super::*;

    /// `?limit=`.
    pub const LIMIT: Param = param("limit", "Items per page.", limit);
    /// `?cursor=`.
    pub const CURSOR: Param = param(
        "cursor",
        "Where the page starts: the previous page's `next_cursor`. A page examines at most 10,000 records, so a narrow search may answer a short or empty page with a `next_cursor`: follow it until it is absent.",
        text,
    );
    /// `?asset=`.
    pub const ASSET: Param = param("asset", "Only this asset.", text);
    /// `?status=` of orders.
    pub const ORDER_STATUS: Param = param("status", "Which orders.", order_status);
    /// `?by=`.
    pub const BY: Param = param(
        "by",
        "Whether the path names the order id or your client order id.",
        order_key,
    );
    /// `?depth=`.
    pub const DEPTH: Param = param("depth", "Price levels per side.", depth);
    /// `?category=`.
    pub const CATEGORY: Param = param("category", "Only this category.", schema::<Category>);
    /// `?q=`.
    pub const TEXT: Param = param("q", "Words the title contains (any case).", text);
    /// `?min_price=`.
    pub const MIN_PRICE: Param = param("min_price", "Lowest price.", schema::<crate::money::Fixed>);
    /// `?max_price=`.
    pub const MAX_PRICE: Param =
        param("max_price", "Highest price.", schema::<crate::money::Fixed>);
    /// `?currency=`.
    pub const CURRENCY: Param = param("currency", "Only prices in this currency.", text);
    /// `?mine=`.
    pub const MINE: Param = param("mine", "Only your own (needs your key).", schema::<bool>);
    /// `?agent_ready=`.
    pub const AGENT_READY: Param = param(
        "agent_ready",
        "Only requests an agent can fulfil alone (or only those it cannot).",
        schema::<bool>,
    );
    /// The filters (and paging) request and listing searches share.
    const POST_SEARCH: [Param; 8] = [
        CATEGORY, TEXT, MIN_PRICE, MAX_PRICE, CURRENCY, MINE, LIMIT, CURSOR,
    ];
    /// What a request search reads.
    pub const REQUEST_SEARCH: [Param; 10] = with(POST_SEARCH, [REQUEST_STATUS, AGENT_READY]);
    /// What a listing search reads.
    pub const LISTING_SEARCH: [Param; 9] = with(POST_SEARCH, [LISTING_STATUS]);

    /// `a`, then `b` (`C` is their total length).
    const fn with<const A: usize, const B: usize, const C: usize>(
        a: [Param; A],
        b: [Param; B],
    ) -> [Param; C] {
        assert!(A > 0 && A + B == C);
        let mut out = [a[0]; C];
        let mut i = 0;
        while i < C {
            out[i] = if i < A { a[i] } else { b[i - A] };
            i += 1;
        }
        out
    }

    /// `?status=` of requests.
    pub const REQUEST_STATUS: Param = param("status", "Only this status.", schema::<RequestStatus>);
    /// `?status=` of offers.
    pub const OFFER_STATUS: Param = param("status", "Only this status.", schema::<OfferStatus>);
    /// `?status=` of listings.
    pub const LISTING_STATUS: Param = param("status", "Only this status.", schema::<ListingStatus>);
    /// `?status=` of auctions.
    pub const AUCTION_STATUS: Param = param("status", "Only this status.", schema::<AuctionStatus>);
    /// `?type=` of auctions.
    pub const AUCTION_TYPE: Param = param("type", "Only this kind.", schema::<AuctionKindName>);
    /// `?ending_before=`.
    pub const ENDING_BEFORE: Param = param(
        "ending_before",
        "Only auctions that end before this time.",
        rfc3339,
    );
    /// `?status=` of transactions.
    pub const TX_STATUS: Param = param("status", "Only this status.", schema::<TxStatus>);
    /// `?origin=` of transactions.
    pub const TX_ORIGIN: Param = param(
        "origin",
        "Only from this kind of deal: an order-book trade, an accepted offer, a listing purchase or a won auction.",
        schema::<OriginKind>,
    );
    /// `?role=`.
    pub const ROLE: Param = param(
        "role",
        "Only those where you are the buyer (or the seller).",
        schema::<Role>,
    );
}

/// Describes `alias` in an object schema as another name for its
/// property `field` (what `#[serde(alias)]` accepts).
pub(super) fn alias(schema: &mut Schema, field: &str, alias: &str) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(mut same) = properties.get(field).cloned() {
        same["description"] = format!("Another name for `{field}`.").into();
        properties.insert(alias.to_string(), same);
    }
}

/// Where named schemas live in the document.
const COMPONENTS: &str = "/components/schemas";

/// A generator for one side of the contract: bodies as the server reads
/// them, or answers as it writes them.
fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| s.definitions_path = COMPONENTS.into())
        .into_generator()
}

/// The document, built once.
pub(super) fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut bodies = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut answers = generator(SchemaSettings::draft2020_12().for_serialize());
    let mut paths = Map::new();
    for route in ROUTES {
        let path = route.path();
        let mut parameters: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let security = match route.access {
            Access::Anyone => json!([]),
            Access::Agent => json!([{"apiKey": []}, {"bearer": []}]),
            Access::Operator => json!([{"apiKey": []}]),
        };
        let success = match route.answer {
            Some(answer) => json!({
                "description": "Success.",
                "content": {"application/json": {"schema": answer(&mut answers)}},
            }),
            None => json!({"description": "Success."}),
        };
        let tag = path.split('/').nth(3).unwrap_or("service");
        let mut operation = json!({
            "summary": route.summary,
            "operationId": route.label.replace([' ', '/', '{', '}', '.', '-'], "_").to_lowercase(),
            "tags": [tag],
            "security": security,
            "responses": {
                "2XX": success,
                "4XX": {"description": "The error envelope.", "content": {"application/json": {"schema": {"$ref": format!("#{COMPONENTS}/Error")}}}},
            },
        });
        let body = match route.body {
            Body::None => None,
            Body::Optional(body) => Some((false, body)),
            Body::Required(body) => Some((true, body)),
        };
        if let Some((required, body)) = body {
            operation["requestBody"] = json!({
                "required": required,
                "content": {"application/json": {"schema": body(&mut bodies)}},
            });
        }
        if matches!(route.method(), "POST" | "PATCH") {
            parameters.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Same key and body: the first answer again, no second effect. Same key, other body: 422.",
                "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
            }));
        }
        parameters.extend(route.query.iter().map(|p| {
            json!({
                "name": p.name, "in": "query", "required": false,
                "description": p.about, "schema": (p.schema)(&mut bodies),
            })
        }));
        operation["parameters"] = Value::Array(parameters);
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[route.method().to_lowercase()] = operation;
    }
    let mut schemas = bodies.take_definitions(true);
    for (name, schema) in answers.take_definitions(true) {
        if let Some(same_name) = schemas.get(&name) {
            assert_eq!(
                *same_name, schema,
                "two schemas named {name}: rename one with #[schemars(rename)]"
            );
        }
        schemas.insert(name, schema);
    }
    schemas.insert("Error".into(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Agora", "version": env!("CARGO_PKG_VERSION"), "description": "A marketplace and matching engine for AI agents. See /llms.txt."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": schemas,
        },
    })
}

/// The error envelope every 4xx and 5xx answer carries.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable, snake_case: what went wrong."},
                "message": {"type": "string", "description": "For people."},
                "details": {"type": "object", "description": "Facts about this error (e.g. the field, the amount available)."},
            },
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_names_a_schema_in_the_document() {
        let doc = document();
        let mut found = Vec::new();
        refs(doc, &mut found);
        assert!(found.len() > 50, "bodies and answers are described");
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r} points outside the components"));
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} is not defined"
            );
        }
    }

    #[test]
    fn bodies_and_answers_are_described_where_routes_have_them() {
        let doc = document();
        let order = &doc["paths"]["/api/v1/orderbook/orders"]["post"];
        assert_eq!(order["requestBody"]["required"], true);
        let body = &order["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        let body = &doc["components"]["schemas"][body
            .as_str()
            .unwrap()
            .trim_start_matches("#/components/schemas/")];
        assert_eq!(
            body["additionalProperties"], false,
            "unknown fields are refused"
        );
        let required = body["required"].as_array().unwrap();
        for field in ["asset", "side", "quantity"] {
            assert!(required.contains(&json!(field)), "{field} is required");
        }
        assert!(!required.contains(&json!("price")), "price is optional");
        let confirm = &doc["paths"]["/api/v1/transactions/{id}/confirm"]["post"];
        assert_eq!(confirm["requestBody"]["required"], false);
        let book = &doc["paths"]["/api/v1/orderbook/{asset}"]["get"];
        assert!(book.get("requestBody").is_none());
        assert!(
            book["responses"]["2XX"]["content"]["application/json"]["schema"]["$ref"].is_string()
        );
    }
}
