//! The server's own `/openapi.json`, held to account: every answer the
//! tests receive must match the schema the document gives for its route
//! and status, and every request the server accepted must use only query
//! parameters the document names, with a body that matches the schema the
//! document gives for it.

use jsonschema::Validator;
use serde_json::{json, Value};

/// What the document promises for one route.
struct RouteContract {
    method: String,
    /// Path segments; `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
    body: Option<Validator>,
    answer: Option<Validator>,
    /// The query parameters it documents.
    query: Vec<String>,
}

/// Every route's promises, and the error envelope's.
pub struct Contract {
    routes: Vec<RouteContract>,
    error: Validator,
}

/// A validator of `schema`, whose references point into `document`.
fn validator(document: &Value, schema: &Value) -> Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        "allOf": [schema],
    });
    jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("the document holds a bad schema {schema}: {e}"))
}

impl Contract {
    /// Reads `document` (the server's `/openapi.json`).
    pub fn new(document: &Value) -> Contract {
        let schema_at = |v: &Value| {
            let s = &v["content"]["application/json"]["schema"];
            (!s.is_null()).then(|| validator(document, s))
        };
        let mut routes = Vec::new();
        for (path, operations) in document["paths"].as_object().expect("paths") {
            for (method, op) in operations.as_object().expect("operations") {
                routes.push(RouteContract {
                    method: method.to_uppercase(),
                    segments: path
                        .trim_matches('/')
                        .split('/')
                        .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                        .collect(),
                    body: schema_at(&op["requestBody"]),
                    query: op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| p["name"].as_str().map(str::to_string))
                        .collect(),
                    answer: schema_at(&op["responses"]["2XX"]),
                });
            }
        }
        let error = validator(document, &json!({"$ref": "#/components/schemas/Error"}));
        Contract { routes, error }
    }

    /// The route `method path` matches; a literal segment beats a parameter.
    fn route(&self, method: &str, path: &str) -> Option<&RouteContract> {
        let path = path.split('?').next().unwrap_or(path);
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|r| r.method == method && r.segments.len() == segs.len())
            .filter(|r| {
                r.segments
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| t.as_deref().is_none_or(|t| t == *s))
            })
            .max_by_key(|r| r.segments.iter().filter(|s| s.is_some()).count())
    }

    /// Panics unless the exchange keeps the document's promises.
    pub fn check(&self, method: &str, path: &str, sent: Option<&str>, status: u16, got: &Value) {
        if method == "HEAD" {
            // No body to check: the head of the GET answer.
            return;
        }
        let what = format!("{method} {path} → {status}");
        if status >= 400 {
            if let Err(e) = self.error.validate(got) {
                panic!("{what}: the answer is not the error envelope: {e}\n{got}");
            }
            return;
        }
        let Some(route) = self.route(method, path) else {
            return;
        };
        if let Some(answer) = &route.answer {
            if let Err(e) = answer.validate(got) {
                panic!(
                    "{what}: the answer does not match /openapi.json: {e} at {}\n{got}",
                    e.instance_path()
                );
            }
        }
        // Service routes (outside /api/) ignore the query, as the server
        // does.
        let query = path
            .split_once('?')
            .filter(|(p, _)| p.starts_with("/api/"))
            .map_or("", |(_, q)| q);
        for name in query.split('&').filter_map(|kv| kv.split('=').next()) {
            if !name.is_empty() && !route.query.iter().any(|q| q == name) {
                panic!("{what}: /openapi.json does not name the query parameter `{name}`");
            }
        }
        let sent = sent.map(str::trim).filter(|s| !s.is_empty());
        if let (Some(body), Some(sent)) = (&route.body, sent) {
            let sent: Value = serde_json::from_str(sent).unwrap_or_else(|e| {
                panic!("{what}: the server accepted a body that is not JSON: {e}")
            });
            if let Err(e) = body.validate(&sent) {
                panic!("{what}: /openapi.json refuses a body the server accepted: {e}\n{sent}");
            }
        }
    }
}
