//! Black-box tests of the HTTP API: each starts the real `agora` binary
//! on a loopback port with a temporary data directory.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Answer, Server, OPERATOR_KEY};

fn order(asset: &str, side: &str, quantity: &str, price: &str) -> String {
    format!(r#"{{"asset":"{asset}","side":"{side}","quantity":"{quantity}","price":"{price}"}}"#)
}

/// Asserts the error envelope's shape and code.
fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{a:?}");
    assert_eq!(a.code(), code, "{a:?}");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{a:?}"
    );
    assert!(a.body["error"]["details"].is_object(), "{a:?}");
}

#[test]
fn health_readiness_and_metrics_answer() {
    let s = Server::start(&[]);
    let h = s.get("/health", None);
    assert_eq!(
        (h.status, h.body["status"].as_str()),
        (200, Some("healthy"))
    );
    let r = s.get("/readiness", None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["checks"]["engine"], "ok");
    assert_eq!(r.body["checks"]["journal"], "ok");
    assert_eq!(r.body["checks"]["disk"], "ok");
    s.register("m");
    let m = s.get("/metrics", None);
    let text = m.body.as_str().unwrap();
    for name in [
        "agora_http_requests_total{route=\"POST /api/v1/agents/register\",status=\"201\"} 1",
        "agora_http_request_duration_seconds_bucket",
        "agora_engine_queue_depth",
        "agora_disk_free_bytes",
        "agora_engine_batch_commands_bucket",
        "agora_journal_write_seconds_bucket",
        "agora_orders_placed_total",
        "agora_trades_total",
    ] {
        assert!(text.contains(name), "missing {name} in metrics:\n{text}");
    }
}

#[test]
fn a_nearly_full_disk_refuses_commands_and_serves_reads() {
    // A floor of free space no disk has (a million TiB): every command is
    // refused with a 503 that says why and what is free, reads go on,
    // readiness fails on the disk, and the server stays up.
    let s = Server::start(&["--min-free-disk-mb", "1099511627776"]);
    let a = s.post("/api/v1/agents/register", None, r#"{"name":"full"}"#);
    assert_error(&a, 503, "unavailable");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nearly full")),
        "{a:?}"
    );
    let details = &a.body["error"]["details"];
    assert!(
        details["free_bytes"].as_u64() < details["min_free_bytes"].as_u64(),
        "{a:?}"
    );
    // When to try again, as for a 429.
    assert_eq!(details["retry_after_seconds"], 30);
    assert_eq!(a.header("retry-after"), Some("30"));
    let asset = r#"{"symbol":"TOKENS","tick_size":"0.5","lot_size":"10","min_quantity":"10","max_quantity":"1000"}"#;
    let refused = s.post("/api/v1/operator/assets", Some(OPERATOR_KEY), asset);
    assert_error(&refused, 503, "unavailable");
    let r = s.get("/readiness", None);
    assert_error(&r, 503, "unavailable");
    let checks = &r.body["error"]["details"]["checks"];
    assert_eq!(checks["disk"], "failing", "{r:?}");
    assert_eq!(checks["engine"], "ok", "{r:?}");
    let read = s.get("/api/v1/operator/totals", Some(OPERATOR_KEY));
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(s.get("/health", None).status, 200);
}

#[test]
fn running_out_of_open_files_pauses_accepting_instead_of_spinning() {
    // Allowed 96 open files (soft and hard, so the server cannot raise
    // them), the server is sent 200 connections: those it cannot accept
    // wait, it says so once or twice instead of once per failed accept (a
    // million lines in three seconds before), and once they close it
    // answers as before.
    let s = Server::start_limited(&[], &[(libc::RLIMIT_NOFILE, 96)]);
    let address = s.base.trim_start_matches("http://").to_string();
    let held: Vec<std::net::TcpStream> = (0..200)
        .filter_map(|_| std::net::TcpStream::connect(&address).ok())
        .collect();
    assert!(held.len() > 96, "only {} connections opened", held.len());
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(held);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(s.get("/health", None).status, 200);
    let logs = s.logs();
    let complaints = logs.matches("cannot accept connections").count();
    assert!(
        (1..10).contains(&complaints),
        "{complaints} complaints:\n{logs}"
    );
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    // Before, hyper-util held a connection that never sent a byte open
    // for good (its HTTP/1-or-2 detection runs no timer): a file per idle
    // peer. Now it gets the header timeout, and others are served.
    use std::io::Read;
    let s = Server::start(&["--header-timeout-s", "1"]);
    let address = s.base.trim_start_matches("http://").to_string();
    let mut silent = std::net::TcpStream::connect(&address).unwrap();
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let read = silent.read(&mut byte);
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the silent connection was not closed: {read:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(s.get("/health", None).status, 200);
}

#[test]
fn a_body_that_stalls_is_answered_408() {
    // A request whose body stops arriving held its connection for good;
    // now the body has the header timeout too, and the answer says so.
    use std::io::{Read, Write};
    let s = Server::start(&["--header-timeout-s", "1"]);
    let address = s.base.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    slow.write_all(
        b"POST /api/v1/agents/register HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert_eq!(s.get("/health", None).status, 200);
}

#[test]
fn openapi_lists_every_route_with_its_security() {
    let s = Server::start(&[]);
    let a = s.get("/openapi.json", None);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["openapi"], "3.1.0");
    let paths = a.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/agents/register", "post"),
        ("/api/v1/orderbook/orders", "post"),
        ("/api/v1/transactions/{id}/confirm", "post"),
        ("/api/v1/auctions/{id}/bid", "post"),
        ("/api/v1/requests", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{path} {method} missing");
    }
    let confirm = &paths["/api/v1/transactions/{id}/confirm"]["post"];
    assert_eq!(confirm["parameters"][0]["name"], "id");
    assert!(!confirm["security"].as_array().unwrap().is_empty());
    assert!(paths["/api/v1/requests"]["get"]["security"]
        .as_array()
        .unwrap()
        .is_empty());
    // Every documented route answers something other than 404/405.
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "1")
                .replace("{asset}", "X")
                .replace("{symbol}", "X")
                .replace("{key_id}", "1");
            let body = (method != "get" && method != "delete").then_some("{}");
            let got = s.call(&method.to_uppercase(), &concrete, None, body);
            assert!(
                got.status != 405 && got.code() != "method_not_allowed",
                "{method} {path}: {got:?}"
            );
        }
    }
}

#[test]
fn llms_txt_describes_the_api() {
    let s = Server::start(&[]);
    let a = s.get("/llms.txt", None);
    assert_eq!(a.status, 200);
    let text = a.body.as_str().unwrap();
    for route in [
        "/api/v1/agents/register",
        "/api/v1/orderbook/orders",
        "/api/v1/wallet/ledger",
    ] {
        assert!(text.contains(route), "llms.txt names {route}");
    }
    assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
}

/// Every `(METHOD, path)` a skill file's examples call under `$AGORA`:
/// the method is the word before it (`GET $AGORA/...` in prose), or a
/// curl line's `-X`, or GET.
fn skill_calls(text: &str) -> Vec<(String, String)> {
    const METHODS: [&str; 4] = ["GET", "POST", "PATCH", "DELETE"];
    let mut calls = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("$AGORA/") {
            let before: Vec<&str> = rest[..at].split_whitespace().collect();
            let word = before.last().map(|w| w.trim_matches(['`', '"']));
            let flag = before.windows(2).find(|w| w[0] == "-X").map(|w| w[1]);
            let method = word
                .filter(|w| METHODS.contains(w))
                .or(flag)
                .unwrap_or("GET");
            let tail = &rest[at + "$AGORA".len()..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/$_-.".contains(c)))
                .unwrap_or(tail.len());
            calls.push((method.to_string(), format!("/api/v1{}", &tail[..end])));
            rest = &tail[end..];
        }
    }
    calls
}

/// Whether the documented `template` (`/a/{id}/b`) matches `path`.
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || t.starts_with('{') && !p.is_empty())
}

#[test]
fn the_skill_file_teaches_only_routes_that_exist_at_this_address() {
    let s = Server::start(&[]);
    let a = s.get("/skill.md", None);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        a.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    // Named from the Host the client asked for, so caches must key on it.
    assert_eq!(a.header("vary"), Some("Host"));
    let text = a.body.as_str().unwrap();
    // An agent skill: front matter with a name and a description.
    let front = text
        .strip_prefix("---\n")
        .unwrap()
        .split("\n---\n")
        .next()
        .unwrap();
    assert!(front.contains("name: agora\n"), "{front}");
    let description = front.lines().find_map(|l| l.strip_prefix("description: "));
    assert!(description.is_some_and(|d| d.len() <= 1024), "{front}");
    assert!(!text.contains("{{"), "a placeholder left unfilled");
    assert!(text.contains(&format!("export AGORA={}/api/v1\n", s.base)));
    assert!(text.contains(&format!("curl -s {}/skill.md", s.base)));
    // Every call it shows is a documented route and method.
    let document = s.get("/openapi.json", None).body;
    let paths = document["paths"].as_object().unwrap();
    let calls = skill_calls(text);
    assert!(calls.len() > 25, "{calls:?}");
    for (method, path) in &calls {
        let documented = paths.iter().any(|(template, ops)| {
            template_matches(template, path) && ops.get(method.to_lowercase()).is_some()
        });
        assert!(
            documented,
            "the skill calls {method} {path}, which is no route"
        );
    }
    for (method, path) in [
        ("POST", "/api/v1/offers/$OFFER/accept"),
        ("DELETE", "/api/v1/orderbook/orders/gpu-1"),
    ] {
        assert!(
            calls.contains(&(method.into(), path.into())),
            "{method} {path} not found in {calls:?}"
        );
    }
}

/// The agent card, asked for with `Host: host`.
fn card_asked_of(s: &Server, host: &str) -> Answer {
    let path = "/.well-known/agent-card.json";
    s.call_with("GET", path, None, None, &[("Host", host)])
}

/// The path of `url`, one of the server's own addresses.
fn local<'a>(s: &Server, url: &'a Value) -> &'a str {
    let url = url.as_str().unwrap();
    url.strip_prefix(&s.base)
        .unwrap_or_else(|| panic!("{url} is not at {}", s.base))
}

#[test]
fn the_agent_card_describes_the_service_and_its_authentication() {
    let s = Server::start(&[]);
    let a = s.get("/.well-known/agent-card.json", None);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.header("content-type"), Some("application/json"));
    let card = &a.body;
    for field in [
        "protocolVersion",
        "name",
        "description",
        "url",
        "version",
        "preferredTransport",
    ] {
        assert!(
            card[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {card}"
        );
    }
    assert_eq!(card["url"], format!("{}/api/v1", s.base));
    assert_eq!(card["securitySchemes"]["apiKey"]["name"], "X-API-Key");
    assert_eq!(card["securitySchemes"]["bearer"]["scheme"], "bearer");
    let skills = card["skills"].as_array().unwrap();
    assert!(skills.len() >= 5, "{card}");
    for skill in skills {
        for field in ["id", "name", "description"] {
            assert!(
                skill[field].as_str().is_some_and(|v| !v.is_empty()),
                "{skill}"
            );
        }
        assert!(!skill["tags"].as_array().unwrap().is_empty(), "{skill}");
    }
    // The documents it points to are served.
    assert_eq!(
        s.get(local(&s, &card["documentationUrl"]), None).status,
        200
    );
    // The host the client named, when it is a host: a name with
    // credentials in it is not handed out.
    let named = card_asked_of(&s, "agora.test:8443");
    assert_eq!(named.body["url"], "http://agora.test:8443/api/v1");
    let odd = card_asked_of(&s, "user@evil.test");
    assert_eq!(odd.body["url"], format!("{}/api/v1", s.base));
}

#[test]
fn the_index_points_to_the_api_and_every_document() {
    let s = Server::start(&[]);
    let root = s.get("/", None);
    assert_eq!(root.status, 200, "{root:?}");
    assert_eq!(s.get("/api/v1", None).body, root.body);
    assert_eq!(root.body["api"], format!("{}/api/v1", s.base));
    let documents = root.body["documents"].as_object().unwrap();
    assert_eq!(documents.len(), 4);
    for url in documents.values() {
        let path = local(&s, url);
        assert_eq!(s.get(path, None).status, 200, "{path}");
    }
    let register = local(&s, &root.body["register"]);
    let registered = s.post(register, None, r#"{"name":"from-the-index"}"#);
    assert_eq!(registered.status, 201, "{registered:?}");
}

#[test]
fn a_public_url_names_the_service_whatever_host_was_asked_for() {
    let s = Server::start(&["--public-url", "https://agora.example/"]);
    let card = card_asked_of(&s, "10.0.0.7");
    assert_eq!(card.body["url"], "https://agora.example/api/v1");
    assert_eq!(
        card.body["documentationUrl"],
        "https://agora.example/llms.txt"
    );
    assert_eq!(card.header("vary"), None);
    let skill = s.get("/skill.md", None);
    let text = skill.body.as_str().unwrap();
    assert!(text.contains("export AGORA=https://agora.example/api/v1\n"));
    assert!(!text.contains(&s.base));
}

#[test]
fn unknown_routes_and_methods_get_the_envelope() {
    let s = Server::start(&[]);
    assert_error(&s.get("/api/v1/nothing", None), 404, "not_found");
    let lost = s.get("/nope", None);
    assert_error(&lost, 404, "not_found");
    // The message says where the routes are listed.
    assert!(lost.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/llms.txt"));
    // A 405 names the methods the path takes, in `Allow` and the details,
    // each once (this path also matches `GET /orderbook/{asset}`).
    let put = s.call("PUT", "/api/v1/orderbook/orders", None, Some("{}"));
    assert_error(&put, 405, "method_not_allowed");
    assert_eq!(put.header("allow"), Some("POST, GET, HEAD, DELETE"));
    assert_eq!(
        put.body["error"]["details"]["allowed"],
        json!(["POST", "GET", "HEAD", "DELETE"])
    );
    // A query parameter an API route does not read is refused, as an
    // unknown body field is: a misspelt filter would answer everything.
    let typo = s.get("/api/v1/requests?categroy=data", None);
    assert_error(&typo, 400, "validation_error");
    assert_eq!(typo.body["error"]["details"]["parameter"], "categroy");
    let allowed = typo.body["error"]["details"]["allowed"].as_array().unwrap();
    assert!(allowed.contains(&json!("category")), "{typo:?}");
    let (_, key) = s.register("params");
    let none = s.get("/api/v1/wallet/balance?currency=CREDITS", Some(&key));
    assert_error(&none, 400, "validation_error");
    assert_eq!(none.body["error"]["details"]["allowed"], json!([]));
    // Authentication comes first; service routes ignore the query, which
    // probes add to.
    assert_error(
        &s.get("/api/v1/wallet/balance?x=1", None),
        401,
        "unauthorized",
    );
    assert_eq!(s.get("/health?probe=1", None).status, 200);
    let delete = s.call("DELETE", "/health", None, None);
    assert_error(&delete, 405, "method_not_allowed");
    assert_eq!(delete.header("allow"), Some("GET, HEAD"));
    assert_eq!(s.call("HEAD", "/nope", None, None).status, 404);
}

#[test]
fn head_answers_as_get_without_a_body() {
    let s = Server::start(&[]);
    let (_, key) = s.register("header");
    for (path, key) in [
        ("/health", None),
        ("/openapi.json", None),
        ("/api/v1/agents/me", Some(key.as_str())),
        ("/api/v1/requests?limit=5", None),
    ] {
        let get = s.call("GET", path, key, None);
        let head = s.call("HEAD", path, key, None);
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_eq!(head.body, json!(""), "HEAD {path} has no body");
        let length = |a: &Answer| a.header("content-length").map(str::to_owned);
        assert_eq!(length(&head), length(&get), "HEAD {path}: the GET's length");
        assert_eq!(head.header("content-type"), Some("application/json"));
    }
    // What GET would refuse, HEAD refuses too (without the envelope).
    assert_eq!(s.call("HEAD", "/api/v1/agents/me", None, None).status, 401);
    assert_eq!(
        s.call("HEAD", "/api/v1/agents/me", Some("agora_wrong"), None)
            .status,
        401
    );
    // HEAD of a POST-only path is a 405 that names it.
    let head = s.call("HEAD", "/api/v1/operator/deposits", None, None);
    assert_eq!(head.status, 405);
    assert_eq!(head.header("allow"), Some("POST"));
}

#[test]
fn agents_register_see_themselves_update_and_are_seen_publicly() {
    let s = Server::start(&[]);
    let a = s.post(
        "/api/v1/agents/register",
        None,
        r#"{"name":"WeatherBot","description":"Real-time weather data","owner_email":"w@example.com",
            "capabilities":["weather"],"metadata":{"region":"eu"}}"#,
    );
    assert_eq!(a.status, 201, "{a:?}");
    let key = a.body["api_key"].as_str().unwrap().to_string();
    let id = a.body["agent"]["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("agora_"));
    assert!(uuid_like(&id), "{id}");
    let me = s.get("/api/v1/agents/me", Some(&key));
    assert_eq!(me.status, 200);
    assert_eq!(me.body["name"], "WeatherBot");
    assert_eq!(me.body["owner_email"], "w@example.com");
    assert_eq!(me.body["metadata"]["region"], "eu");
    assert!(
        me.body.get("api_key").is_none(),
        "the key is shown only once"
    );
    // The public view hides private fields.
    let public = s.get(&format!("/api/v1/agents/{id}"), None);
    assert_eq!(public.status, 200);
    assert_eq!(public.body["name"], "WeatherBot");
    assert!(public.body.get("owner_email").is_none());
    assert!(public.body.get("metadata").is_none());
    assert!(public.body.get("api_keys").is_none());
    // PATCH changes what it names; null clears.
    let p = s.call(
        "PATCH",
        "/api/v1/agents/me",
        Some(&key),
        Some(r#"{"description":"Updated","metadata":null,"capabilities":["weather","analysis"]}"#),
    );
    assert_eq!(p.status, 200, "{p:?}");
    assert_eq!(p.body["description"], "Updated");
    assert_eq!(p.body["name"], "WeatherBot");
    assert_eq!(p.body["metadata"], Value::Null);
    assert_eq!(p.body["capabilities"][1], "analysis");
    // Unknown agents and malformed ids are 404.
    assert_error(
        &s.get("/api/v1/agents/00000000-0000-4000-8000-000000000000", None),
        404,
        "not_found",
    );
    assert_error(&s.get("/api/v1/agents/not-a-uuid", None), 404, "not_found");
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn registration_rejects_bad_input_and_the_server_stays_healthy() {
    let s = Server::start(&[]);
    let long = "x".repeat(101);
    let bad = [
        r#"{}"#.to_string(),
        r#"{"name":""}"#.to_string(),
        r#"{"name":"   "}"#.to_string(),
        format!(r#"{{"name":"{long}"}}"#),
        r#"{"name":"a","unknown":1}"#.to_string(),
        r#"{"name":42}"#.to_string(),
        r#"{"name":"a","owner_email":"nope"}"#.to_string(),
        r#"{"name":"a","metadata":[1,2]}"#.to_string(),
        r#"{"name":"a","capabilities":"x"}"#.to_string(),
        r#"{"name":"a""#.to_string(),
        "not json".to_string(),
        r#"[]"#.to_string(),
        // Nesting deep enough to overflow a recursive parser's stack.
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(
            r#"{{"name":"a","metadata":{{"k":{}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    ];
    for body in &bad {
        let a = s.post("/api/v1/agents/register", None, body);
        assert_error(&a, 400, "validation_error");
    }
    assert_error(
        &s.call("POST", "/api/v1/agents/register", None, None),
        400,
        "validation_error",
    );
    // A compressed body is refused as such, not as broken JSON; declared
    // `identity`, the body is read as it is.
    let register_encoded = |encoding: &str| {
        s.call_with(
            "POST",
            "/api/v1/agents/register",
            None,
            Some(r#"{"name":"zipped"}"#),
            &[("Content-Encoding", encoding)],
        )
    };
    let zipped = register_encoded("gzip");
    assert_error(&zipped, 415, "unsupported_media_type");
    assert_eq!(zipped.body["error"]["details"]["content_encoding"], "gzip");
    let plain = register_encoded("identity");
    assert_eq!(plain.status, 201, "{plain:?}");
    assert_eq!(s.get("/health", None).status, 200);
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let s = Server::start(&["--body-limit", "1000"]);
    let big = format!(r#"{{"name":"{}"}}"#, "y".repeat(2_000));
    assert_error(
        &s.post("/api/v1/agents/register", None, &big),
        413,
        "payload_too_large",
    );
    s.register("small-enough");
    assert_eq!(s.get("/health", None).status, 200);
}

#[test]
fn keys_authenticate_rotate_and_revoke() {
    let s = Server::start(&[]);
    let (_, key) = s.register("k");
    assert_error(&s.get("/api/v1/agents/me", None), 401, "unauthorized");
    assert_error(
        &s.get("/api/v1/agents/me", Some("agora_wrong")),
        401,
        "unauthorized",
    );
    let bearer = format!("Bearer {key}");
    let b = s.call_with(
        "GET",
        "/api/v1/agents/me",
        None,
        None,
        &[("Authorization", &bearer)],
    );
    assert_eq!(b.status, 200);
    // The last active key cannot be revoked.
    assert_error(
        &s.call("DELETE", "/api/v1/agents/me/keys/1", Some(&key), None),
        409,
        "conflict",
    );
    // A second key, then rotation of the first.
    let second = s.post("/api/v1/agents/me/keys", Some(&key), "{}");
    assert_eq!(second.status, 201, "{second:?}");
    let key2 = second.body["api_key"].as_str().unwrap().to_string();
    let rotated = s.post("/api/v1/agents/me/keys/rotate", Some(&key), "{}");
    assert_eq!(rotated.status, 201, "{rotated:?}");
    let key3 = rotated.body["api_key"].as_str().unwrap().to_string();
    assert_error(&s.get("/api/v1/agents/me", Some(&key)), 401, "unauthorized");
    assert_eq!(s.get("/api/v1/agents/me", Some(&key3)).status, 200);
    // Revoke the second key by number.
    let keys = s.get("/api/v1/agents/me/keys", Some(&key3));
    let active: Vec<u64> = keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .map(|k| k["key_id"].as_u64().unwrap())
        .collect();
    assert_eq!(active, vec![2, 3]);
    let r = s.call("DELETE", "/api/v1/agents/me/keys/2", Some(&key3), None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_error(
        &s.get("/api/v1/agents/me", Some(&key2)),
        401,
        "unauthorized",
    );
    assert_error(
        &s.call("DELETE", "/api/v1/agents/me/keys/99", Some(&key3), None),
        404,
        "not_found",
    );
    // Keys survive a restart: the new one works, the revoked ones do not.
    let mut s = s;
    s.restart();
    assert_eq!(s.get("/api/v1/agents/me", Some(&key3)).status, 200);
    assert_error(&s.get("/api/v1/agents/me", Some(&key)), 401, "unauthorized");
    assert_error(
        &s.get("/api/v1/agents/me", Some(&key2)),
        401,
        "unauthorized",
    );
}

#[test]
fn wallets_get_signup_credits_and_operator_deposits_and_withdrawals() {
    let s = Server::start(&["--signup-credits", "25.5"]);
    let (id, key) = s.register("w");
    assert_eq!(s.credits(&key), ("25.50".into(), "0.00".into()));
    s.deposit(&id, "100");
    assert_eq!(s.credits(&key).0, "125.50");
    let w = s.post(
        "/api/v1/operator/withdrawals",
        Some(OPERATOR_KEY),
        &format!(r#"{{"agent_id":"{id}","currency":"CREDITS","amount":"200"}}"#),
    );
    assert_error(&w, 402, "insufficient_funds");
    assert_eq!(w.body["error"]["details"]["required"], "200.00");
    assert_eq!(w.body["error"]["details"]["available"], "125.50");
    let w = s.post(
        "/api/v1/operator/withdrawals",
        Some(OPERATOR_KEY),
        &format!(r#"{{"agent_id":"{id}","currency":"CREDITS","amount":"0.5"}}"#),
    );
    assert_eq!(w.status, 201, "{w:?}");
    assert_eq!(w.body["available"], "125.00");
    // Bad amounts.
    for amount in [
        r#""-1""#,
        "0",
        r#""NaN""#,
        r#""1e400""#,
        r#""0.000000001""#,
        "true",
        r#""99999999999999""#,
    ] {
        let a = s.post(
            "/api/v1/operator/deposits",
            Some(OPERATOR_KEY),
            &format!(r#"{{"agent_id":"{id}","currency":"CREDITS","amount":{amount}}}"#),
        );
        assert!(a.status == 400, "amount {amount}: {a:?}");
    }
    // Only the operator moves money.
    let path = "/api/v1/operator/deposits";
    let body = format!(r#"{{"agent_id":"{id}","currency":"CREDITS","amount":"1"}}"#);
    assert_error(&s.post(path, Some(&key), &body), 403, "forbidden");
    assert_error(&s.post(path, None, &body), 401, "unauthorized");
    let unknown =
        r#"{"agent_id":"00000000-0000-4000-8000-000000000000","currency":"CREDITS","amount":"1"}"#;
    assert_error(&s.post(path, Some(OPERATOR_KEY), unknown), 404, "not_found");
    assert_eq!(s.credits(&key).0, "125.00");
}

#[test]
fn crossing_orders_fill_and_funds_move_into_escrow() {
    let s = Server::start(&["--signup-credits", "0"]);
    let (seller_id, seller) = s.register("seller");
    let (buyer_id, buyer) = s.register("buyer");
    s.deposit(&buyer_id, "100");
    s.deposit(&seller_id, "1");
    let sell = s.post(
        "/api/v1/orderbook/orders",
        Some(&seller),
        &order("GPU-H", "sell", "3", "10.50"),
    );
    assert_eq!(sell.status, 201, "{sell:?}");
    assert_eq!(sell.body["order"]["status"], "open");
    let sell_id = sell.body["order"]["id"].as_str().unwrap().to_string();
    // The reference shape: numbers for quantity and price.
    let buy = s.post(
        "/api/v1/orderbook/orders",
        Some(&buyer),
        r#"{"asset":"GPU-H","side":"buy","order_type":"limit","quantity":2,"price":11}"#,
    );
    assert_eq!(buy.status, 201, "{buy:?}");
    assert_eq!(buy.body["order"]["status"], "filled");
    let fill = &buy.body["fills"][0];
    assert_eq!(fill["price"], "10.50", "fills at the resting price");
    assert_eq!(fill["quantity"], "2.00");
    assert_eq!(fill["amount"], "21.00");
    assert_eq!(fill["liquidity"], "taker");
    assert_eq!(s.credits(&buyer), ("79.00".into(), "0.00".into()));
    // The book shows what rests; trades show the fill.
    let book = s.get("/api/v1/orderbook/GPU-H", None);
    assert_eq!(book.status, 200);
    assert_eq!(book.body["asks"][0]["quantity"], "1.00");
    assert_eq!(book.body["best_ask"], "10.50");
    assert_eq!(book.body["last_price"], "10.50");
    let trades = s.get("/api/v1/orderbook/GPU-H/trades?limit=5", None);
    assert_eq!(trades.body["items"][0]["quantity"], "2.00");
    assert_eq!(trades.body["items"][0]["taker_side"], "buy");
    // The seller sees its order partly filled; the buyer cannot see it.
    let mine = s.get(
        &format!("/api/v1/orderbook/orders/{sell_id}"),
        Some(&seller),
    );
    assert_eq!(mine.body["status"], "partially_filled");
    assert_eq!(mine.body["remaining_quantity"], "1.00");
    assert_error(
        &s.get(&format!("/api/v1/orderbook/orders/{sell_id}"), Some(&buyer)),
        404,
        "not_found",
    );
    assert_error(
        &s.call(
            "DELETE",
            &format!("/api/v1/orderbook/orders/{sell_id}"),
            Some(&buyer),
            None,
        ),
        404,
        "not_found",
    );
    assert_error(
        &s.call(
            "PATCH",
            &format!("/api/v1/orderbook/orders/{sell_id}"),
            Some(&buyer),
            Some(r#"{"quantity":"1"}"#),
        ),
        404,
        "not_found",
    );
    assert_eq!(
        s.get(
            &format!("/api/v1/orderbook/orders/{sell_id}"),
            Some(&seller)
        )
        .body["status"],
        "partially_filled"
    );
}

#[test]
fn market_orders_take_what_there_is_and_never_rest() {
    let s = Server::start(&["--signup-credits", "100"]);
    let (_, seller) = s.register("asks");
    let (_, buyer) = s.register("taker");
    for price in ["10", "11", "12"] {
        let r = s.post(
            "/api/v1/orderbook/orders",
            Some(&seller),
            &order("MKT", "sell", "1", price),
        );
        assert_eq!(r.status, 201, "{r:?}");
    }
    let market = |quantity: &str, extra: &str| {
        s.post(
            "/api/v1/orderbook/orders",
            Some(&buyer),
            &format!(
                r#"{{"asset":"MKT","side":"buy","order_type":"market","quantity":"{quantity}"{extra}}}"#
            ),
        )
    };
    // With a protection price it stops at that level; the rest is
    // cancelled, shown as the immediate-or-cancel it is.
    let capped = market("3", r#","price":"10""#);
    assert_eq!(capped.status, 201, "{capped:?}");
    let o = &capped.body["order"];
    assert_eq!(o["time_in_force"], "ioc");
    assert_eq!(o["filled_quantity"], "1.00");
    assert_eq!(o["status"], "cancelled");
    assert_eq!(capped.body["fills"].as_array().unwrap().len(), 1);
    // Fill-or-kill refuses what the book cannot fill in full, changing
    // nothing.
    assert_error(&market("5", r#","time_in_force":"fok""#), 409, "conflict");
    // Without one it walks the book, and nothing is left held.
    let swept = market("5", "");
    let fills = swept.body["fills"].as_array().unwrap();
    let prices: Vec<&str> = fills.iter().map(|f| f["price"].as_str().unwrap()).collect();
    assert_eq!(prices, ["11.00", "12.00"]);
    assert_eq!(swept.body["order"]["filled_quantity"], "2.00");
    assert_eq!(s.credits(&buyer), ("67.00".into(), "0.00".into()));
    let book = s.get("/api/v1/orderbook/MKT", None).body;
    assert_eq!(book["bids"], json!([]), "a market order never rests");
    assert_eq!(book["asks"], json!([]));
    // post_only makes no sense for a market order.
    assert_error(
        &market("1", r#","time_in_force":"post_only""#),
        400,
        "validation_error",
    );
}

#[test]
fn orders_are_amended_cancelled_listed_and_validated() {
    let s = Server::start(&["--signup-credits", "1000"]);
    let (_, a) = s.register("a");
    let (_, b) = s.register("b");
    let place = |key: &str, body: &str| s.post("/api/v1/orderbook/orders", Some(key), body);
    let o1 = place(
        &a,
        r#"{"asset":"CPU","side":"buy","quantity":"4","price":"5","client_order_id":"my-1"}"#,
    );
    assert_eq!(o1.status, 201, "{o1:?}");
    let id1 = o1.body["order"]["id"].as_str().unwrap().to_string();
    assert_eq!(s.credits(&a), ("980.00".into(), "20.00".into()));
    // Lookup by client order id.
    let by_client = s.get("/api/v1/orderbook/orders/my-1?by=client_order_id", Some(&a));
    assert_eq!(by_client.body["id"], id1.as_str());
    // Size down keeps priority and releases funds.
    let amended = s.call(
        "PATCH",
        &format!("/api/v1/orderbook/orders/{id1}"),
        Some(&a),
        Some(r#"{"quantity":"2"}"#),
    );
    assert_eq!(amended.status, 200, "{amended:?}");
    assert_eq!(amended.body["order"]["quantity"], "2.00");
    assert_eq!(s.credits(&a).1, "10.00");
    // Post-only that would cross, FOK that cannot fill, bad tick, no funds.
    let sell_post_only =
        r#"{"asset":"CPU","side":"sell","quantity":"1","price":"5","time_in_force":"post_only"}"#;
    assert_error(&place(&b, sell_post_only), 409, "conflict");
    let fok = r#"{"asset":"CPU","side":"sell","quantity":"3","price":"5","time_in_force":"fok"}"#;
    assert_error(&place(&b, fok), 409, "conflict");
    let bad_tick = place(&b, &order("CPU", "sell", "1", "5.00001"));
    assert_error(&bad_tick, 400, "validation_error");
    assert_eq!(bad_tick.body["error"]["details"]["tick_size"], "0.0001");
    let rich = place(&b, &order("CPU", "buy", "1000", "5"));
    assert_error(&rich, 402, "insufficient_funds");
    // Wrong types, unknown fields, absurd values.
    for body in [
        r#"{"asset":"CPU","side":"sideways","quantity":"1","price":"5"}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"1","price":"5","leverage":10}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"-1","price":"5"}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"1","price":"0"}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"1"}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"1","price":"1e300"}"#,
        r#"{"asset":"A VERY BAD SYMBOL","side":"buy","quantity":"1","price":"1"}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"1","price":"1","client_order_id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        r#"{"asset":"CPU","side":"buy","quantity":"1","price":"1","time_in_force":"day"}"#,
    ] {
        let r = place(&b, body);
        assert_error(&r, 400, "validation_error");
    }
    // A crossing sell fills against the amended order.
    let o2 = place(&b, &order("CPU", "sell", "1", "4"));
    assert_eq!(o2.body["fills"][0]["price"], "5.00", "{o2:?}");
    // Lists: open by default, then all, with pagination.
    let o3 = place(&a, &order("CPU", "buy", "1", "4"));
    assert_eq!(o3.status, 201);
    let open = s.get("/api/v1/orderbook/orders", Some(&a));
    assert_eq!(open.body["items"].as_array().unwrap().len(), 2, "{open:?}");
    let first = s.get("/api/v1/orderbook/orders?limit=1", Some(&a));
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = s.get(
        &format!("/api/v1/orderbook/orders?limit=1&cursor={cursor}"),
        Some(&a),
    );
    assert_eq!(second.body["items"][0]["id"], o3.body["order"]["id"]);
    assert!(second.body.get("next_cursor").is_none());
    assert_error(
        &s.get("/api/v1/orderbook/orders?limit=0", Some(&a)),
        400,
        "validation_error",
    );
    assert_error(
        &s.get("/api/v1/orderbook/orders?cursor=zz", Some(&a)),
        400,
        "validation_error",
    );
    assert_error(
        &s.get("/api/v1/orderbook/orders?status=weird", Some(&a)),
        400,
        "validation_error",
    );
    // Cancel one, then cancel the rest in the asset.
    let c = s.call(
        "DELETE",
        &format!("/api/v1/orderbook/orders/{id1}"),
        Some(&a),
        None,
    );
    assert_eq!(c.body["status"], "cancelled", "{c:?}");
    assert_error(
        &s.call(
            "DELETE",
            &format!("/api/v1/orderbook/orders/{id1}"),
            Some(&a),
            None,
        ),
        409,
        "conflict",
    );
    let all = s.call(
        "DELETE",
        "/api/v1/orderbook/orders?asset=CPU",
        Some(&a),
        None,
    );
    assert_eq!(all.body["cancelled"], 1);
    assert_eq!(s.credits(&a).1, "0.00");
    let cancelled = s.get("/api/v1/orderbook/orders?status=cancelled", Some(&a));
    assert_eq!(cancelled.body["items"].as_array().unwrap().len(), 2);
    let filled = s.get("/api/v1/orderbook/orders?status=filled", Some(&b));
    assert_eq!(filled.body["items"].as_array().unwrap().len(), 1);
    // A symbol nobody traded has an empty book; one no order may name is
    // refused.
    let empty = s.get("/api/v1/orderbook/NOPE", None);
    assert_eq!((empty.status, &empty.body["bids"]), (200, &json!([])));
    assert_error(
        &s.get("/api/v1/orderbook/a+b", None),
        400,
        "validation_error",
    );
}

#[test]
fn batches_apply_each_entry_with_its_own_result() {
    let s = Server::start(&["--signup-credits", "100"]);
    let (_, a) = s.register("a");
    let body = r#"{"actions":[
        {"action":"place","asset":"X","side":"buy","quantity":"1","price":"2"},
        {"action":"place","asset":"X","side":"buy","quantity":"1","price":"-2"},
        {"action":"place","asset":"X","side":"buy","quantity":"1000","price":"2"},
        {"action":"cancel","order_id":"999999"},
        {"action":"place","asset":"X","side":"buy","quantity":"1","price":"3"}
    ]}"#;
    let r = s.post("/api/v1/orderbook/orders/batch", Some(&a), body);
    assert_eq!(r.status, 200, "{r:?}");
    let results = r.body["results"].as_array().unwrap();
    let oks: Vec<bool> = results.iter().map(|r| r["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, vec![true, false, false, false, true]);
    assert_eq!(results[1]["status"], 400);
    assert_eq!(results[2]["error"]["code"], "insufficient_funds");
    assert_eq!(results[3]["error"]["code"], "not_found");
    let first = results[0]["result"]["order"]["id"].as_str().unwrap();
    let cancel = format!(r#"{{"actions":[{{"action":"cancel","order_id":"{first}"}}]}}"#);
    let c = s.post("/api/v1/orderbook/orders/batch", Some(&a), &cancel);
    assert_eq!(
        c.body["results"][0]["result"]["status"], "cancelled",
        "{c:?}"
    );
    let too_many = format!(
        r#"{{"actions":[{}]}}"#,
        vec![r#"{"action":"cancel","order_id":"1"}"#; 101].join(",")
    );
    assert_error(
        &s.post("/api/v1/orderbook/orders/batch", Some(&a), &too_many),
        400,
        "validation_error",
    );
    assert_error(
        &s.post(
            "/api/v1/orderbook/orders/batch",
            Some(&a),
            r#"{"actions":[]}"#,
        ),
        400,
        "validation_error",
    );
    assert_error(
        &s.post(
            "/api/v1/orderbook/orders/batch",
            Some(&a),
            r#"{"actions":[{"action":"explode"}]}"#,
        ),
        400,
        "validation_error",
    );
}

#[test]
fn idempotency_keys_replay_the_first_result_even_after_a_restart() {
    let mut s = Server::start(&["--signup-credits", "100"]);
    let (_, a) = s.register("a");
    let body = order("IDEM", "buy", "1", "10");
    let send = |s: &Server, key: &str, body: &str| {
        s.call_with(
            "POST",
            "/api/v1/orderbook/orders",
            Some(&a),
            Some(body),
            &[("Idempotency-Key", key)],
        )
    };
    let first = send(&s, "order-1", &body);
    assert_eq!(first.status, 201, "{first:?}");
    let again = send(&s, "order-1", &body);
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the same response");
    assert_eq!(
        s.credits(&a),
        ("90.00".into(), "10.00".into()),
        "no second effect"
    );
    assert_error(
        &send(&s, "order-1", &order("IDEM", "buy", "2", "10")),
        422,
        "idempotency_key_reused",
    );
    assert_error(&send(&s, &"k".repeat(57), &body), 400, "validation_error");
    // Batches replay entry by entry.
    let batch = r#"{"actions":[{"action":"place","asset":"IDEM","side":"buy","quantity":"1","price":"1"}]}"#;
    let b1 = s.call_with(
        "POST",
        "/api/v1/orderbook/orders/batch",
        Some(&a),
        Some(batch),
        &[("Idempotency-Key", "b-1")],
    );
    let b2 = s.call_with(
        "POST",
        "/api/v1/orderbook/orders/batch",
        Some(&a),
        Some(batch),
        &[("Idempotency-Key", "b-1")],
    );
    assert_eq!(b1.body, b2.body);
    s.restart();
    let after = send(&s, "order-1", &body);
    assert_eq!(after.body, first.body, "kept across a restart");
    assert_eq!(s.credits(&a), ("89.00".into(), "11.00".into()));
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let s = Server::start(&[
        "--rate-limit",
        "1",
        "--rate-burst",
        "3",
        "--register-per-minute",
        "2",
    ]);
    let (_, a) = s.register("a");
    s.register("b");
    let third = s.post("/api/v1/agents/register", None, r#"{"name":"c"}"#);
    assert_error(&third, 429, "rate_limited");
    assert!(third.header("retry-after").is_some());
    let answers: Vec<_> = (0..4)
        .map(|_| s.get("/api/v1/agents/me", Some(&a)))
        .collect();
    assert_eq!(answers[0].header("x-ratelimit-limit"), Some("3"));
    assert_eq!(answers[0].header("x-ratelimit-remaining"), Some("2"));
    assert_eq!(answers[2].header("x-ratelimit-remaining"), Some("0"));
    assert!(answers[0].header("x-ratelimit-reset").is_some());
    assert_error(&answers[3], 429, "rate_limited");
    assert_eq!(answers[3].header("retry-after"), Some("1"));
}

/// Rests `hundreds` × 100 one-lot buys of X at 1 for `key`, through the
/// batch endpoint.
fn rest_buys_on_x(s: &Server, key: &str, hundreds: usize) {
    let place = r#"{"action":"place","asset":"X","side":"buy","quantity":"1","price":"1"}"#;
    let batch = format!(r#"{{"actions":[{}]}}"#, vec![place; 100].join(","));
    for _ in 0..hundreds {
        let r = s.post("/api/v1/orderbook/orders/batch", Some(key), &batch);
        assert_eq!(r.status, 200, "{r:?}");
    }
}

#[test]
fn a_large_cancel_all_cancels_everything_once_even_when_retried() {
    let s = Server::start(&[]);
    let (id, a) = s.register("maker");
    s.deposit(&id, "100000");
    // More resting orders than one engine command cancels.
    rest_buys_on_x(&s, &a, 42);
    let key = [("idempotency-key", "cancel-everything")];
    let all = "/api/v1/orderbook/orders";
    let first = s.call_with("DELETE", all, Some(&a), None, &key);
    assert_eq!(
        (first.status, &first.body),
        (200, &json!({"cancelled": 4200}))
    );
    // A retry answers the same and cancels nothing placed since.
    let later = s.post(
        all,
        Some(&a),
        r#"{"asset":"X","side":"buy","order_type":"limit","quantity":"1","price":"1"}"#,
    );
    assert_eq!(later.status, 201, "{later:?}");
    let retry = s.call_with("DELETE", all, Some(&a), None, &key);
    assert_eq!((retry.status, &retry.body), (200, &first.body));
    let open = s.get(all, Some(&a));
    assert_eq!(open.body["items"].as_array().map(Vec::len), Some(1));
    let again = s.call("DELETE", all, Some(&a), None);
    assert_eq!(again.body, json!({"cancelled": 1}));
}

/// Every page of `path` (a list with `?`), following cursors: the items.
fn all_pages(s: &Server, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = path.to_string();
    loop {
        let r = s.get(&url, Some(key));
        assert_eq!(r.status, 200, "{r:?}");
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("{path}&cursor={c}"),
            None => return items,
        }
    }
}

/// A maker and a taker, registered and funded: the maker's id and key,
/// and the taker's key.
fn maker_and_taker(s: &Server) -> (String, String, String) {
    let (a_id, a) = s.register("maker");
    let (b_id, b) = s.register("taker");
    s.deposit(&a_id, "100000");
    s.deposit(&b_id, "100000");
    (a_id, a, b)
}

/// Places `body` as an order of `key`'s; its id.
fn placed(s: &Server, key: &str, body: &str) -> String {
    let r = s.post("/api/v1/orderbook/orders", Some(key), body);
    assert_eq!(r.status, 201, "{r:?}");
    r.body["order"]["id"].as_str().unwrap().to_string()
}

/// Finishes 4,200 of `key`'s orders on X (rested, then all cancelled):
/// more than the market keeps (4,096 by default), so every order of
/// `key`'s that finished before is only in the archive.
fn finish_more_than_the_market_keeps(s: &Server, key: &str) {
    rest_buys_on_x(s, key, 42);
    let c = s.call(
        "DELETE",
        "/api/v1/orderbook/orders?asset=X",
        Some(key),
        None,
    );
    assert_eq!(c.body, json!({"cancelled": 4200}));
}

#[test]
fn orders_finished_long_ago_are_still_found_listed_and_final() {
    let mut s = Server::start(&[]);
    let (_, a, b) = maker_and_taker(&s);
    let all = "/api/v1/orderbook/orders";
    let place = |key: &str, body: &str| placed(&s, key, body);
    let filled = place(
        &a,
        r#"{"asset":"Z","side":"buy","order_type":"limit","quantity":"2","price":"1","client_order_id":"first"}"#,
    );
    let taker = place(
        &b,
        r#"{"asset":"Z","side":"sell","order_type":"limit","quantity":"2","price":"1"}"#,
    );
    let cancelled = place(
        &a,
        r#"{"asset":"Z","side":"buy","order_type":"limit","quantity":"1","price":"1","client_order_id":"gone"}"#,
    );
    let c = s.call("DELETE", &format!("{all}/{cancelled}"), Some(&a), None);
    assert_eq!(c.status, 200, "{c:?}");
    // The first ones are now only in the archive.
    finish_more_than_the_market_keeps(&s, &a);
    let check = |s: &Server| {
        let got = s.get(&format!("{all}/{filled}"), Some(&a));
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(
            (
                &got.body["status"],
                &got.body["filled_quantity"],
                &got.body["remaining_quantity"]
            ),
            (&json!("filled"), &json!("2.00"), &json!("0.00")),
            "{got:?}"
        );
        assert_eq!(got.body["client_order_id"], "first");
        let by_client = s.get(&format!("{all}/first?by=client_order_id"), Some(&a));
        assert_eq!(by_client.body, got.body);
        let gone = s.get(&format!("{all}/gone?by=client_order_id"), Some(&a));
        assert_eq!(
            (&gone.body["id"], &gone.body["status"]),
            (&json!(cancelled), &json!("cancelled")),
            "{gone:?}"
        );
        let theirs = s.get(&format!("{all}/{taker}"), Some(&b));
        assert_eq!(theirs.body["status"], "filled", "{theirs:?}");
        // Nobody else sees them.
        assert_error(
            &s.get(&format!("{all}/{filled}"), Some(&b)),
            404,
            "not_found",
        );
        assert_error(
            &s.get(&format!("{all}/first?by=client_order_id"), Some(&b)),
            404,
            "not_found",
        );
        // Finished is final, as for an order the market still keeps.
        let cancel = s.call("DELETE", &format!("{all}/{filled}"), Some(&a), None);
        assert_error(&cancel, 409, "conflict");
        let amend = s.call(
            "PATCH",
            &format!("{all}/{cancelled}"),
            Some(&a),
            Some(r#"{"quantity":"1"}"#),
        );
        assert_error(&amend, 409, "conflict");
        assert_error(
            &s.call("DELETE", &format!("{all}/{filled}"), Some(&b), None),
            404,
            "not_found",
        );
        // Lists: archived and kept orders together, each once, in order.
        let ids = |items: Vec<Value>| -> Vec<String> {
            items
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(all_pages(s, &format!("{all}?status=filled"), &a)),
            std::slice::from_ref(&filled)
        );
        assert_eq!(
            ids(all_pages(s, &format!("{all}?status=filled"), &b)),
            std::slice::from_ref(&taker)
        );
        let z = all_pages(s, &format!("{all}?status=all&asset=Z&limit=1"), &a);
        assert_eq!(ids(z), [filled.clone(), cancelled.clone()]);
        let everything = all_pages(s, &format!("{all}?status=all&limit=500"), &a);
        assert_eq!(everything.len(), 4202);
        let listed = ids(everything);
        let numbers: Vec<u64> = listed.iter().map(|id| id.parse().unwrap()).collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "in id order, once each"
        );
        assert_eq!(
            all_pages(s, &format!("{all}?status=cancelled&limit=500"), &a).len(),
            4201
        );
    };
    check(&s);
    // The archive is durable.
    s.restart();
    check(&s);
}

#[test]
fn orders_that_finished_unfilled_are_forgotten_after_the_retention() {
    // Long enough for the order to be read from the archive before it
    // is forgotten, also in a debug build on a busy machine (with one
    // second, finishing the 4,200 orders below outlasted it in CI).
    let retention = Duration::from_secs(5);
    let mut s = Server::start(&[
        "--unfilled-order-retention-s",
        &retention.as_secs().to_string(),
    ]);
    let (a_id, a, b) = maker_and_taker(&s);
    let all = "/api/v1/orderbook/orders";
    let place = |key: &str, body: &str| placed(&s, key, body);
    let filled = place(
        &a,
        r#"{"asset":"Z","side":"buy","order_type":"limit","quantity":"2","price":"1","client_order_id":"kept"}"#,
    );
    place(
        &b,
        r#"{"asset":"Z","side":"sell","order_type":"limit","quantity":"1","price":"1"}"#,
    );
    // Partly filled, then cancelled: it has a fill, so it stays.
    let c = s.call("DELETE", &format!("{all}/{filled}"), Some(&a), None);
    assert_eq!(c.status, 200, "{c:?}");
    let unfilled = place(
        &a,
        r#"{"asset":"Z","side":"buy","order_type":"limit","quantity":"1","price":"1","client_order_id":"gone"}"#,
    );
    let c = s.call("DELETE", &format!("{all}/{unfilled}"), Some(&a), None);
    assert_eq!(c.status, 200, "{c:?}");
    let cancelled_at = Instant::now();
    // From now on only the archive has it.
    finish_more_than_the_market_keeps(&s, &a);
    let all_finished_at = Instant::now();
    let by_client = |s: &Server, c: &str| s.get(&format!("{all}/{c}?by=client_order_id"), Some(&a));
    let before_forgetting = by_client(&s, "gone");
    assert!(
        cancelled_at.elapsed() < retention,
        "finishing the orders took longer than the retention: raise it"
    );
    assert_eq!(before_forgetting.body["id"], json!(unfilled));
    // Forgetting follows the market's clock: commands after the
    // retention has passed for every order finished above move it on,
    // and one history write forgets them all (oldest first, up to
    // 10,000).
    std::thread::sleep(
        retention.saturating_sub(all_finished_at.elapsed()) + Duration::from_millis(100),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while by_client(&s, "gone").status != 404 {
        assert!(
            Instant::now() < deadline,
            "the unfilled order is still there"
        );
        s.deposit(&a_id, "1");
        std::thread::sleep(Duration::from_millis(50));
    }
    let check = |s: &Server| {
        assert_error(
            &s.get(&format!("{all}/{unfilled}"), Some(&a)),
            404,
            "not_found",
        );
        assert_error(&by_client(s, "gone"), 404, "not_found");
        let kept = by_client(s, "kept");
        assert_eq!(
            (
                &kept.body["id"],
                &kept.body["status"],
                &kept.body["filled_quantity"]
            ),
            (&json!(filled), &json!("cancelled"), &json!("1.00")),
            "{kept:?}"
        );
        // The market's own newest finished orders are still listed; of
        // the archive's, only the one with a fill.
        let cancelled = all_pages(s, &format!("{all}?status=cancelled&limit=500"), &a);
        assert_eq!(cancelled.len(), 4097);
        assert!(cancelled.iter().all(|o| o["id"] != json!(unfilled)));
        assert_eq!(cancelled[0]["id"], json!(filled));
    };
    check(&s);
    // Forgotten for good.
    s.restart();
    check(&s);
}

#[test]
fn a_narrow_order_list_pages_past_many_other_orders_with_cursors() {
    let s = Server::start(&[]);
    let (id, a) = s.register("maker");
    s.deposit(&id, "100000");
    let all = "/api/v1/orderbook/orders";
    let on_y = r#"{"asset":"Y","side":"buy","order_type":"limit","quantity":"1","price":"1"}"#;
    let place_y = |cancel: bool| {
        let r = s.post(all, Some(&a), on_y);
        assert_eq!(r.status, 201, "{r:?}");
        let order = r.body["order"]["id"].as_str().unwrap().to_string();
        if cancel {
            let c = s.call("DELETE", &format!("{all}/{order}"), Some(&a), None);
            assert_eq!(c.status, 200, "{c:?}");
        }
        order
    };
    let mut wanted = vec![place_y(false), place_y(true)];
    // More orders on another asset than one page of the list examines.
    rest_buys_on_x(&s, &a, 101);
    wanted.extend([place_y(false), place_y(true)]);
    // Open and cancelled orders on Y: the first page ends where the walk
    // of open orders stopped, so it is short but has a cursor; following
    // the cursors lists each order once, in order.
    let mut listed = Vec::new();
    let mut url = format!("{all}?asset=Y&status=all&limit=10");
    let mut pages = 0;
    loop {
        let r = s.get(&url, Some(&a));
        assert_eq!(r.status, 200, "{r:?}");
        pages += 1;
        for o in r.body["items"].as_array().unwrap() {
            assert_eq!(o["asset"], "Y", "{o}");
            listed.push(o["id"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("{all}?asset=Y&status=all&limit=10&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(listed, wanted);
    assert!(
        pages >= 2,
        "the walk over 10,100 orders stopped at its budget"
    );
    // The open orders alone, unnarrowed: full pages, oldest first.
    let first = s.get(&format!("{all}?limit=3"), Some(&a));
    let ids: Vec<&str> = (first.body["items"].as_array().unwrap().iter())
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!((ids.len(), ids[0]), (3, wanted[0].as_str()));
    assert!(first.body["next_cursor"].is_string());
}

#[test]
fn public_reads_are_limited_per_address_or_per_key() {
    let s = Server::start(&["--rate-limit", "1", "--rate-burst", "2"]);
    let (_, key) = s.register("reader");
    // Reads without a key count against the address; the burst runs out.
    let anonymous: Vec<_> = (0..10).map(|_| s.get("/api/v1/requests", None)).collect();
    let refused = anonymous
        .iter()
        .find(|a| a.status == 429)
        .expect("the address's allowance runs out");
    assert_error(refused, 429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(anonymous[0].header("x-ratelimit-limit"), Some("2"));
    // A caller with a key reads on its key's allowance, not the address's.
    assert_eq!(s.get("/api/v1/requests", Some(&key)).status, 200);
    // Service routes are never limited: probes and scrapers poll them.
    for _ in 0..10 {
        assert_eq!(s.get("/health", None).status, 200);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn the_server_keeps_its_memory_off_transparent_huge_pages() {
    // A first write to a new huge page stops the writing thread for the
    // whole page's zeroing; the server opts out at start-up.
    let s = Server::start(&[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.pid())).expect("status");
    let thp = status.lines().find(|l| l.starts_with("THP_enabled:"));
    assert_eq!(
        thp.and_then(|l| l.split_whitespace().nth(1)),
        Some("0"),
        "{status}"
    );
}

/// The first line `s` logs that contains `needle` (waiting up to 10 s).
fn log_line(s: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = s.logs();
        if let Some(line) = logs.lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(Instant::now() < deadline, "no `{needle}` logged: {logs}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn logs_are_plain_text_off_a_terminal_or_json_lines() {
    // `--repair` warns at start-up. Into a pipe, the text line has no
    // colour codes; with `--log-format json` it is one JSON object with its
    // level and message.
    let text = Server::start(&["--repair"]);
    let line = log_line(&text, "--repair");
    assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
    assert!(line.contains("WARN"), "{line}");
    let json = Server::start(&["--log-format", "json", "--repair"]);
    let event: Value = serde_json::from_str(&log_line(&json, "--repair")).expect("a JSON line");
    assert_eq!(event["level"], "WARN", "{event}");
    assert!(event["fields"]["message"]
        .as_str()
        .unwrap()
        .starts_with("--repair"));
    assert!(event["timestamp"].is_string());
    assert_eq!(json.get("/health", None).status, 200);
}

#[test]
fn a_taken_address_is_refused_before_anything_starts() {
    // Another process holds the port. The server says so and exits with
    // an error, before it opens the journal: once its engine, journal
    // and snapshot threads ran, leaving with them still in RocksDB
    // crashed the process on its way out (a race, hence three tries).
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = holder.local_addr().expect("bound").to_string();
    let data = tempfile::tempdir().expect("temp dir");
    for _ in 0..3 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(["serve", "--listen", &address, "--data-dir"])
            .arg(data.path())
            .output()
            .expect("the agora binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("cannot listen on {address}")),
            "{stderr}"
        );
        assert!(stderr.contains("in use"), "{stderr}");
    }
    assert!(!data.path().join("journal").exists());
}

#[test]
fn a_stop_signal_sent_the_moment_it_listens_stops_it_cleanly() {
    // The handlers are in place before the server says it listens, so a
    // signal sent at once is not met by its default action, which ends
    // the process with a nonzero status. (When they were set up on the
    // first poll instead, this failed on its first or second start.)
    let mut s = Server::start(&[]);
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP]
        .into_iter()
        .cycle()
        .take(12)
    {
        s.stop_with(signal);
        s.relaunch();
    }
}

#[test]
fn a_restart_keeps_agents_balances_and_orders() {
    let mut s = Server::start(&["--signup-credits", "50"]);
    let (id, a) = s.register("persistent");
    s.deposit(&id, "5");
    let o = s.post(
        "/api/v1/orderbook/orders",
        Some(&a),
        &order("KEEP", "buy", "2", "3"),
    );
    let order_id = o.body["order"]["id"].as_str().unwrap().to_string();
    let book_before = s.get("/api/v1/orderbook/KEEP", None).body;
    s.restart();
    assert_eq!(s.get("/api/v1/agents/me", Some(&a)).body["id"], id.as_str());
    assert_eq!(s.credits(&a), ("49.00".into(), "6.00".into()));
    assert_eq!(
        s.get(&format!("/api/v1/orderbook/orders/{order_id}"), Some(&a))
            .body["status"],
        "open"
    );
    assert_eq!(s.get("/api/v1/orderbook/KEEP", None).body, book_before);
    // New orders get new ids after a restart.
    let next = s.post(
        "/api/v1/orderbook/orders",
        Some(&a),
        &order("KEEP", "buy", "1", "3"),
    );
    let next_id: u64 = next.body["order"]["id"].as_str().unwrap().parse().unwrap();
    assert!(next_id > order_id.parse::<u64>().unwrap());
    // A kill -9 loses nothing that was acknowledged (sync durability).
    s.kill();
    s.relaunch();
    assert_eq!(s.credits(&a), ("46.00".into(), "9.00".into()));
    // Ctrl-C and a closed terminal stop it as cleanly as SIGTERM does
    // (a zero exit status: SIGHUP's default action would kill it).
    for signal in [libc::SIGINT, libc::SIGHUP] {
        s.stop_with(signal);
        s.relaunch();
        assert_eq!(s.credits(&a), ("46.00".into(), "9.00".into()));
    }
}

#[test]
fn operators_list_assets_with_their_own_grid() {
    let s = Server::start(&[]);
    let (_, a) = s.register("a");
    let asset = r#"{"symbol":"TOKENS","tick_size":"0.5","lot_size":"10","min_quantity":"10","max_quantity":"1000"}"#;
    let r = s.post("/api/v1/operator/assets", Some(OPERATOR_KEY), asset);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["tick_size"], "0.50");
    assert_error(
        &s.post("/api/v1/operator/assets", Some(OPERATOR_KEY), asset),
        409,
        "conflict",
    );
    assert_error(
        &s.post("/api/v1/operator/assets", Some(&a), asset),
        403,
        "forbidden",
    );
    let off_lot = s.post(
        "/api/v1/orderbook/orders",
        Some(&a),
        &order("TOKENS", "sell", "15", "1"),
    );
    assert_error(&off_lot, 400, "validation_error");
    assert_eq!(off_lot.body["error"]["details"]["lot_size"], "10.00");
    let bad = r#"{"symbol":"BAD","tick_size":"0","lot_size":"1"}"#;
    let refused = s.post("/api/v1/operator/assets", Some(OPERATOR_KEY), bad);
    assert_error(&refused, 400, "validation_error");
    // Said in the API's words, with the rule broken as a code.
    assert_eq!(
        refused.body["error"]["message"],
        "The asset is refused: tick_size must be positive."
    );
    assert_eq!(
        refused.body["error"]["details"]["problem"],
        "tick_size_not_positive"
    );
    let slash = r#"{"symbol":"A/B","tick_size":"1","lot_size":"1"}"#;
    let r = s.post("/api/v1/operator/assets", Some(OPERATOR_KEY), slash);
    assert_error(&r, 400, "validation_error");
    assert_eq!(r.body["error"]["details"]["field"], "symbol");
}

#[test]
fn assets_show_their_grid_and_touch_to_anyone() {
    let s = Server::start(&[]);
    let (_, a) = s.register("assets");
    let (_, b) = s.register("assets-b");
    let listed = r#"{"symbol":"TOKENS","quote_currency":"USD","tick_size":"0.5","lot_size":"10"}"#;
    assert_eq!(
        s.post("/api/v1/operator/assets", Some(OPERATOR_KEY), listed)
            .status,
        201
    );
    assert_eq!(
        s.post(
            "/api/v1/orderbook/orders",
            Some(&a),
            &order("GPU", "buy", "2", "9")
        )
        .status,
        201
    );
    assert_eq!(
        s.post(
            "/api/v1/orderbook/orders",
            Some(&b),
            &order("GPU", "sell", "1", "11")
        )
        .status,
        201
    );
    assert_eq!(
        s.post(
            "/api/v1/orderbook/orders",
            Some(&b),
            &order("GPU", "sell", "1", "9")
        )
        .status,
        201
    );
    // Newest first; no key needed.
    let all = s.get("/api/v1/assets", None);
    assert_eq!(all.status, 200, "{all:?}");
    let items = all.body["items"].as_array().unwrap();
    let symbols: Vec<&str> = items
        .iter()
        .map(|i| i["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["GPU", "TOKENS"]);
    assert_eq!(all.body.get("next_cursor"), None);
    let gpu = &items[0];
    assert_eq!(
        (gpu["best_bid"].as_str(), gpu["best_ask"].as_str()),
        (Some("9.00"), Some("11.00"))
    );
    assert_eq!(
        (gpu["last_price"].as_str(), gpu["resting_orders"].as_u64()),
        (Some("9.00"), Some(2))
    );
    assert_eq!(
        (gpu["tick_size"].as_str(), gpu["listed"].as_bool()),
        (Some("0.0001"), Some(true))
    );
    let tokens = &items[1];
    assert_eq!(
        (tokens["tick_size"].as_str(), tokens["lot_size"].as_str()),
        (Some("0.50"), Some("10.00"))
    );
    assert_eq!(
        (
            tokens["quote_currency"].as_str(),
            tokens["best_bid"].as_str()
        ),
        (Some("USD"), None)
    );
    // Pages of one.
    let first = s.get("/api/v1/assets?limit=1", None);
    assert_eq!(first.body["items"][0]["symbol"], "GPU");
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = s.get(&format!("/api/v1/assets?limit=1&cursor={cursor}"), None);
    assert_eq!(second.body["items"][0]["symbol"], "TOKENS");
    assert_eq!(second.body.get("next_cursor"), None);
    assert_eq!(s.get("/api/v1/assets/TOKENS", None).body, *tokens);
    // A symbol nobody traded yet: what its first order lists it with, an
    // empty book, no trades; and asking lists nothing.
    let fresh = s.get("/api/v1/assets/FRESH-1", None);
    assert_eq!(fresh.status, 200, "{fresh:?}");
    assert_eq!(
        (
            fresh.body["listed"].as_bool(),
            fresh.body["tick_size"].as_str()
        ),
        (Some(false), Some("0.0001"))
    );
    assert_eq!(fresh.body["quote_currency"], "CREDITS");
    let book = s.get("/api/v1/orderbook/FRESH-1", None);
    assert_eq!(book.status, 200, "{book:?}");
    assert_eq!(
        (
            book.body["bids"].as_array().map(Vec::len),
            book.body["best_ask"].as_str()
        ),
        (Some(0), None)
    );
    let trades = s.get("/api/v1/orderbook/FRESH-1/trades", None);
    assert_eq!(trades.body["items"], json!([]));
    let mine = s.get("/api/v1/orderbook/orders?asset=FRESH-1", Some(&a));
    assert_eq!(mine.body["items"], json!([]));
    assert_eq!(
        s.get("/api/v1/assets", None).body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Bad symbols and pages.
    assert_error(
        &s.get("/api/v1/assets/a%2Fb", None),
        400,
        "validation_error",
    );
    assert_error(
        &s.get("/api/v1/assets?limit=0", None),
        400,
        "validation_error",
    );
    assert_error(
        &s.get("/api/v1/assets?cursor=zz", None),
        400,
        "validation_error",
    );
}

#[test]
fn path_segments_are_percent_decoded() {
    // A client order id may hold `/`, `?` or `%`: escaped in the path, it
    // still finds and cancels its order.
    let s = Server::start(&[]);
    let (_, a) = s.register("escapes");
    let body =
        r#"{"asset":"ESC","side":"buy","quantity":"1","price":"1","client_order_id":"bot/7?a%"}"#;
    let placed = s.post("/api/v1/orderbook/orders", Some(&a), body);
    assert_eq!(placed.status, 201, "{placed:?}");
    let id = placed.body["order"]["id"].as_str().unwrap().to_string();
    let path = "/api/v1/orderbook/orders/bot%2F7%3Fa%25?by=client_order_id";
    let found = s.get(path, Some(&a));
    assert_eq!(found.status, 200, "{found:?}");
    assert_eq!(found.body["id"], id.as_str());
    assert_eq!(found.body["client_order_id"], "bot/7?a%");
    let cancelled = s.call("DELETE", path, Some(&a), None);
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(
        s.get(&format!("/api/v1/orderbook/orders/{id}"), Some(&a))
            .body["status"],
        "cancelled"
    );
    // Escapes of plain characters match as the characters; a path that
    // decodes to no text matches nothing.
    assert_eq!(s.get("/api/v1/orderbook/%45SC", None).body["asset"], "ESC");
    assert_eq!(s.get("/%68ealth", None).status, 200);
    assert_error(&s.get("/api/v1/orderbook/%FF", None), 404, "not_found");
}

#[test]
fn asset_symbols_are_the_ones_a_url_carries() {
    // A symbol names its book in `/orderbook/{asset}`: one that a URL
    // would split, cut or decode is refused up front, not accepted and
    // then unreachable.
    let s = Server::start(&[]);
    let (_, a) = s.register("symbols");
    for bad in [
        "GPU/USD", "x?y", "x#y", "A%41", "..", ".", "a+b", "a:b", "orders",
    ] {
        let r = s.post(
            "/api/v1/orderbook/orders",
            Some(&a),
            &order(bad, "buy", "1", "1"),
        );
        assert_error(&r, 400, "validation_error");
        assert_eq!(r.body["error"]["details"]["field"], "asset", "{bad}");
    }
    for good in ["GPU-USD", "gpu_h.1~x", "X"] {
        let r = s.post(
            "/api/v1/orderbook/orders",
            Some(&a),
            &order(good, "buy", "1", "1"),
        );
        assert_eq!(r.status, 201, "{good}: {r:?}");
        let book = s.get(&format!("/api/v1/orderbook/{good}"), None);
        assert_eq!(book.status, 200, "{good}: {book:?}");
        assert_eq!(book.body["asset"], good);
        assert_eq!(book.body["bids"][0]["quantity"], "1.00");
    }
}

#[test]
fn the_wallet_ledger_lists_every_movement_and_pages_through_them() {
    let mut s = Server::start(&["--signup-credits", "100"]);
    let (seller_id, seller) = s.register("seller");
    let (_, buyer) = s.register("buyer");
    s.deposit(&seller_id, "5");
    s.post(
        "/api/v1/orderbook/orders",
        Some(&seller),
        &order("LED", "sell", "2", "10"),
    );
    let buy = s.post(
        "/api/v1/orderbook/orders",
        Some(&buyer),
        &order("LED", "buy", "3", "10"),
    );
    let buy_id = buy.body["order"]["id"].as_str().unwrap().to_string();
    s.call(
        "DELETE",
        &format!("/api/v1/orderbook/orders/{buy_id}"),
        Some(&buyer),
        None,
    );
    // Buyer: signup credit, a hold of 30, 20 into escrow, 10 released.
    let all = |s: &Server, key: &str| -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/wallet/ledger?limit=2&cursor={c}"),
                None => "/api/v1/wallet/ledger?limit=2".to_string(),
            };
            let page = s.get(&path, Some(key));
            assert_eq!(page.status, 200, "{page:?}");
            items.extend(page.body["items"].as_array().unwrap().iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        items
    };
    let kinds = |items: &[Value]| -> Vec<(String, String, String, String)> {
        items
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap().to_string(),
                    i["amount"].as_str().unwrap().to_string(),
                    i["from"].as_str().unwrap().to_string(),
                    i["to"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let row = |k: &str, a: &str, f: &str, t: &str| (k.into(), a.into(), f.into(), t.into());
    // The ledger is a read model the snapshotter writes behind the
    // journal, but a read waits until it holds every acknowledged
    // command: read at once, it already shows the cancel's release.
    let buyer_ledger = all(&s, &buyer);
    assert_eq!(
        kinds(&buyer_ledger),
        vec![
            row("signup_credit", "100.00", "external", "available"),
            row("order_hold", "30.00", "available", "held"),
            row("trade_escrow", "20.00", "held", "escrow"),
            row("order_release", "10.00", "held", "available"),
        ]
    );
    assert_eq!(buyer_ledger[2]["order_id"], buy_id.as_str());
    assert!(buyer_ledger[2]["transaction_id"].is_string());
    // The seller's sale puts nothing in its own wallet yet (escrow pays
    // out on delivery), and nobody sees another's ledger.
    assert_eq!(
        kinds(&all(&s, &seller)),
        vec![
            row("signup_credit", "100.00", "external", "available"),
            row("deposit", "5.00", "external", "available"),
        ]
    );
    assert_error(
        &s.get("/api/v1/wallet/ledger?cursor=nope", Some(&buyer)),
        400,
        "validation_error",
    );
    assert_error(&s.get("/api/v1/wallet/ledger", None), 401, "unauthorized");
    // The ledger is durable.
    s.kill();
    s.relaunch();
    assert_eq!(all(&s, &buyer).len(), 4);
}
