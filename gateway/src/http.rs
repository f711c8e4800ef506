//! The plumbing between hyper and the routes: a request as the routes see
//! it (method, path, query, headers, body), JSON in and out, pagination
//! parameters, and responses.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use agora_engine::units::Amount;

use crate::error::ApiError;
use schemars::JsonSchema;

/// Items per page when a request does not say (`?limit=`).
pub const LIMIT_DEFAULT: usize = 100;
/// Items per page at most.
pub const LIMIT_MAX: usize = 500;

/// A body that must be empty or `{}` (for actions that take no input).
#[derive(serde::Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A request, read in full.
pub struct Call {
    /// Method.
    pub method: Method,
    /// Path, without the query.
    pub path: String,
    /// Query parameters (the last of repeated names wins).
    pub query: HashMap<String, String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// The client's address.
    pub peer: IpAddr,
}

impl Call {
    /// The body as `T`; unknown fields, wrong types and bad JSON are
    /// `400 validation_error`. Read with `serde_json`, whose nesting limit
    /// refuses a deeply nested body (`sonic-rs`'s parser overflows the
    /// stack on one).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.check_encoding()?;
        if self.body.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation_error",
                "The request needs a JSON body.",
            ));
        }
        // Checked as UTF-8 once, whole, the body's strings need no check
        // each (a quarter of the parse of a 100-order batch); a body that
        // is not UTF-8 is read as bytes, for the error's position.
        let parsed = match std::str::from_utf8(&self.body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(&self.body),
        };
        parsed.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation_error",
                format!("The JSON body is invalid: {e}."),
            )
            .with_details(json!({ "line": e.line(), "column": e.column() }))
        })
    }

    /// Fails with `415` when the body is compressed (or otherwise
    /// encoded): it would only read as invalid JSON.
    fn check_encoding(&self) -> Result<(), ApiError> {
        match self.headers.get(hyper::header::CONTENT_ENCODING) {
            Some(v) if !v.as_bytes().eq_ignore_ascii_case(b"identity") => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Bodies are read as plain JSON; send it without Content-Encoding.",
            )
            .with_details(json!({ "content_encoding": String::from_utf8_lossy(v.as_bytes()) }))),
            _ => Ok(()),
        }
    }

    /// The body as `T`, or `T::default()` when the body is empty.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        self.json()
    }

    /// Query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// Query parameter `name` parsed as `T`.
    pub fn param_as<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.param(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::invalid(name, format!("cannot be `{v}`")))
            })
            .transpose()
    }

    /// Query parameter `name` naming a snake_case enum value.
    pub fn param_enum<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.param(name)
            .map(|v| {
                serde_json::from_value(serde_json::Value::String(v.to_owned()))
                    .map_err(|_| ApiError::invalid(name, format!("cannot be `{v}`")))
            })
            .transpose()
    }

    /// Query parameter `name` as a decimal amount.
    pub fn param_amount(&self, name: &str) -> Result<Option<Amount>, ApiError> {
        self.param(name)
            .map(|v| {
                serde_json::from_value::<crate::money::Fixed>(serde_json::Value::String(
                    v.to_owned(),
                ))
                .map(|f| Amount(f.0))
                .map_err(|e| ApiError::invalid(name, e))
            })
            .transpose()
    }

    /// `?limit=`: 1–[`LIMIT_MAX`], default [`LIMIT_DEFAULT`].
    pub fn limit(&self) -> Result<usize, ApiError> {
        let limit = self.param_as::<usize>("limit")?.unwrap_or(LIMIT_DEFAULT);
        if !(1..=LIMIT_MAX).contains(&limit) {
            return Err(ApiError::invalid(
                "limit",
                format!("must be between 1 and {LIMIT_MAX}"),
            ));
        }
        Ok(limit)
    }

    /// `?limit=` and `?cursor=`.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit()?;
        let after = self
            .param("cursor")
            .map(|c| {
                u64::from_str_radix(c, 16)
                    .map_err(|_| ApiError::invalid("cursor", "is not a cursor this server gave"))
            })
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// Splits `a=1&b=2` into decoded pairs (`application/x-www-form-urlencoded`:
/// percent escapes and `+` as space).
pub fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    query.map_or_else(HashMap::new, |q| {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    })
}

/// The path's segments, percent-decoded one by one (so `%2F` stays inside
/// its segment), or `None` if one decodes to bytes that are not UTF-8.
pub fn path_segments(path: &str) -> Option<Vec<Cow<'_, str>>> {
    let segments = path.trim_matches('/').split('/');
    // Without a `%` nothing decodes, and the text is UTF-8 already.
    if !path.contains('%') {
        return Some(segments.map(Cow::Borrowed).collect());
    }
    segments
        .map(|seg| percent_encoding::percent_decode_str(seg).decode_utf8().ok())
        .collect()
}

/// The `next_cursor` of a page whose successor starts after `position`:
/// the form [`Call::page`] reads back.
pub fn cursor(position: u64) -> String {
    format!("{position:x}")
}

/// Where a page starts and how long it is.
#[derive(Copy, Clone, Debug)]
pub struct PageRequest {
    /// At most this many items.
    pub limit: usize,
    /// Items after this position (from the previous page's cursor).
    pub after: Option<u64>,
}

impl PageRequest {
    /// Cuts `items` (sorted by `position`, ascending) to this page and
    /// gives the cursor of the next one.
    pub fn cut<T>(&self, items: Vec<T>, position: impl Fn(&T) -> u64) -> (Vec<T>, Option<String>) {
        let mut page: Vec<T> = items
            .into_iter()
            .filter(|i| self.after.is_none_or(|a| position(i) > a))
            .take(self.limit + 1)
            .collect();
        let next = if page.len() > self.limit {
            page.truncate(self.limit);
            page.last().map(|i| cursor(position(i)))
        } else {
            None
        };
        (page, next)
    }
}

/// A response on its way out.
pub struct Out {
    /// Status.
    pub status: StatusCode,
    /// Body bytes.
    pub body: Bytes,
    /// Content type.
    pub content_type: &'static str,
    /// Extra headers, checked where they are made (not parsed again from
    /// text for every answer).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Out {
    /// `value` as JSON (written by `sonic-rs`: answers are mostly strings,
    /// which it escapes with SIMD; the output is the same JSON).
    pub fn json(status: StatusCode, value: &impl Serialize) -> Out {
        Out::json_sized(status, value, 128)
    }

    /// [`Out::json`] into a buffer of `expected` bytes to start with: a
    /// large answer written from a small one grows by doubling, copying
    /// what it holds each time (a batch's 32 KB, eight times).
    pub fn json_sized(status: StatusCode, value: &impl Serialize, expected: usize) -> Out {
        let mut body = Vec::with_capacity(expected);
        sonic_rs::to_writer(&mut body, value).expect("views serialize");
        Out {
            status,
            body: body.into(),
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    /// `text` as `content_type`.
    pub fn text(status: StatusCode, content_type: &'static str, text: impl Into<Bytes>) -> Out {
        Out {
            status,
            body: text.into(),
            content_type,
            headers: Vec::new(),
        }
    }

    /// An error envelope (with `Retry-After` for `429`).
    pub fn error(e: &ApiError) -> Out {
        let mut out = Out::json(e.status, &e.body());
        let seconds = e.details.get("retry_after_seconds");
        if let Some(v) = seconds.and_then(|s| HeaderValue::try_from(s.to_string()).ok()) {
            out.headers.push((RETRY_AFTER, v));
        }
        out
    }

    /// The hyper response.
    pub fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut response = hyper::Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_with_a_retry_time_says_it_in_retry_after() {
        let out = Out::error(&ApiError::unavailable());
        assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(out
            .headers
            .contains(&(RETRY_AFTER, HeaderValue::from_static("5"))));
        let plain = Out::error(&ApiError::not_found("order"));
        assert!(plain.headers.iter().all(|(name, _)| *name != RETRY_AFTER));
    }

    #[test]
    fn a_body_reads_as_json_and_bad_bytes_are_placed() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Named {
            name: String,
        }
        let call = |body: &[u8]| Call {
            method: Method::POST,
            path: "/".into(),
            query: HashMap::new(),
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body),
            peer: IpAddr::from([127, 0, 0, 1]),
        };
        let named: Named = call("{\"name\":\"b\u{e9}b \\u00e9\"}".as_bytes())
            .json()
            .unwrap();
        assert_eq!(named.name, "b\u{e9}b \u{e9}");
        // Not UTF-8 inside a string, on the second line.
        let e = call(b"{\n\"name\":\"b\xffb\"}")
            .json::<Named>()
            .unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "validation_error")
        );
        assert_eq!(e.details["line"], 2, "{:?}", e.details);
        let e = call(b"{\"name\":1}").json::<Named>().unwrap_err();
        assert_eq!(e.code, "validation_error");
    }

    #[test]
    fn queries_decode() {
        let q = parse_query(Some("asset=GPU%2DH&status=open+now&x&bad=%zz&end=%4&x=2"));
        assert_eq!(q["asset"], "GPU-H");
        assert_eq!(q["status"], "open now");
        assert_eq!(q["x"], "2", "the last of repeated names wins");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["end"], "%4");
    }

    #[test]
    fn path_segments_decode_one_by_one() {
        let segs = path_segments("/api/v1/orderbook/orders/bot%2F7%3Fa/").unwrap();
        assert_eq!(segs, ["api", "v1", "orderbook", "orders", "bot/7?a"]);
        assert_eq!(path_segments("/a/%zz").unwrap(), ["a", "%zz"]);
        assert!(path_segments("/a/%FF").is_none());
    }

    #[test]
    fn pages_cut_after_the_cursor() {
        let p = PageRequest {
            limit: 2,
            after: None,
        };
        let (items, next) = p.cut(vec![1u64, 2, 3, 4, 5], |i| *i);
        assert_eq!((items, next.as_deref()), (vec![1, 2], Some("2")));
        let p = PageRequest {
            limit: 2,
            after: Some(4),
        };
        let (items, next) = p.cut(vec![1u64, 2, 3, 4, 5], |i| *i);
        assert_eq!((items, next), (vec![5], None));
    }
}
