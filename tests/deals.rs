//! Black-box tests of escrowed trading over HTTP: requests and offers,
//! listings, the transaction lifecycle, reputation and trust, who may do
//! what, and that acknowledged steps survive a `kill -9`.

mod support;

use serde_json::{json, Value};
use support::{Answer, Server, OPERATOR_KEY};

/// Asserts status and error code.
fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!((a.status, a.code()), (status, code), "{a:?}");
    assert!(a.body["error"]["details"].is_object(), "{a:?}");
}

fn id(a: &Answer) -> String {
    assert!(a.status < 300, "{a:?}");
    a.body["id"].as_str().expect("an id").to_string()
}

const REQUEST: &str = r#"{"title":"Need 7-day weather forecast for NYC","description":"JSON, hourly","category":"data","budget":{"min":5,"max":15,"currency":"CREDITS"}}"#;

/// A listing of 5 units at 5 CREDITS.
const LISTING: &str =
    r#"{"title":"Stock API","price":{"amount":"5","currency":"CREDITS"},"quantity":5}"#;

fn offer_body(price: &str) -> String {
    format!(
        r#"{{"price":{{"amount":{price},"currency":"CREDITS"}},"message":"NOAA + OpenWeather","estimated_delivery":"2099-02-03T12:00:00Z"}}"#
    )
}

/// A buyer and a seller with an accepted offer of 10 CREDITS; returns
/// `(buyer key, seller key, transaction id, request id, offer id)`.
fn accepted(s: &Server) -> (String, String, String, String, String) {
    let (_, buyer) = s.register("ResearchAgent");
    let (_, seller) = s.register("WeatherBot");
    let request = id(&s.post("/api/v1/requests", Some(&buyer), REQUEST));
    let offer = id(&s.post(
        &format!("/api/v1/requests/{request}/offers"),
        Some(&seller),
        &offer_body("10"),
    ));
    let a = s.post(&format!("/api/v1/offers/{offer}/accept"), Some(&buyer), "");
    assert_eq!(a.status, 200, "{a:?}");
    let tx = a.body["transaction_id"].as_str().unwrap().to_string();
    (buyer, seller, tx, request, offer)
}

fn step(s: &Server, tx: &str, step: &str, key: &str, body: &str) -> Answer {
    s.post(
        &format!("/api/v1/transactions/{tx}/{step}"),
        Some(key),
        body,
    )
}

const DELIVER: &str =
    r#"{"delivery_proof":"https://weatherbot.example.com/nyc.json","message":"attached"}"#;

#[test]
fn weatherbot_sells_a_forecast_to_research_agent_end_to_end() {
    let s = Server::start(&[]);
    let (research_id, research) = s.register("ResearchAgent");
    let (weather_id, weather) = s.register("WeatherBot");

    // Phase 2: the request.
    let r = s.post("/api/v1/requests", Some(&research), REQUEST);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["requester_id"], research_id.as_str());
    assert_eq!(r.body["budget"]["max"], "15.00");
    let request = id(&r);

    // Phase 3: WeatherBot browses and offers.
    let browse = s.get("/api/v1/requests?category=data&status=open", None);
    assert_eq!(
        browse.body["items"][0]["id"],
        request.as_str(),
        "{browse:?}"
    );
    let o = s.post(
        &format!("/api/v1/requests/{request}/offers"),
        Some(&weather),
        &offer_body("10"),
    );
    assert_eq!(o.status, 201, "{o:?}");
    assert_eq!(o.body["status"], "pending");
    assert_eq!(o.body["seller_id"], weather_id.as_str());
    let offer = id(&o);
    let offers = s.get(
        &format!("/api/v1/requests/{request}/offers"),
        Some(&research),
    );
    assert_eq!(
        offers.body["items"][0]["price"]["amount"], "10.00",
        "{offers:?}"
    );

    // Phase 4: accept.
    let a = s.post(
        &format!("/api/v1/offers/{offer}/accept"),
        Some(&research),
        "",
    );
    assert_eq!(
        (a.status, &a.body["status"]),
        (200, &Value::from("accepted")),
        "{a:?}"
    );
    let tx = a.body["transaction_id"].as_str().unwrap().to_string();
    let r = s.get(&format!("/api/v1/requests/{request}"), None);
    assert_eq!(r.body["status"], "fulfilled");

    // Phase 5: fund (the reference's return_url is accepted).
    let f = step(
        &s,
        &tx,
        "fund",
        &research,
        r#"{"return_url":"https://x.example"}"#,
    );
    assert_eq!(
        (f.status, &f.body["status"]),
        (200, &Value::from("escrow_funded")),
        "{f:?}"
    );
    assert_eq!(f.body["escrow_balance"], "10.00");
    assert_eq!(s.credits(&research).0, "90.00");

    // Phase 6: deliver; phase 7: confirm and rate both ways.
    let d = step(&s, &tx, "deliver", &weather, DELIVER);
    assert_eq!(d.body["status"], "delivered", "{d:?}");
    let c = step(&s, &tx, "confirm", &research, "");
    assert_eq!(c.body["status"], "completed", "{c:?}");
    assert_eq!(c.body["fee"], "1.00");
    assert_eq!(s.credits(&weather).0, "109.00");
    let rate = r#"{"score":5,"message":"Excellent data quality"}"#;
    assert_eq!(step(&s, &tx, "rating", &research, rate).status, 200);
    assert_eq!(
        step(&s, &tx, "rating", &weather, r#"{"score":4}"#).status,
        200
    );
    assert_error(
        &step(&s, &tx, "rating", &weather, r#"{"score":4}"#),
        409,
        "conflict",
    );

    let t = s.get(&format!("/api/v1/transactions/{tx}"), Some(&weather));
    let history: Vec<&str> = t.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["pending", "escrow_funded", "delivered", "completed"]
    );
    assert_eq!(
        t.body["delivery"]["proof"],
        "https://weatherbot.example.com/nyc.json"
    );
    assert_eq!(t.body["buyer_rating"]["score"], 5);
    assert_eq!(t.body["origin"]["type"], "offer");

    let rep = s.get(&format!("/api/v1/agents/{weather_id}/reputation"), None);
    assert_eq!(rep.body["completed_transactions"], 1, "{rep:?}");
    assert_eq!(rep.body["average_rating"], 5.0);
    assert_eq!(rep.body["volume"][0]["amount"], "10.00");
    let trust = s.get(&format!("/api/v1/agents/{weather_id}/trust"), None);
    assert!(
        trust.body["trust_score"].as_f64().unwrap() > 0.0,
        "{trust:?}"
    );
    let mine = s.get(
        "/api/v1/transactions?role=seller&status=completed",
        Some(&weather),
    );
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "{mine:?}");
    let none = s.get("/api/v1/transactions?role=buyer", Some(&weather));
    assert!(none.body["items"].as_array().unwrap().is_empty());

    // Money: the platform holds the fee; nothing appeared or vanished.
    let totals = s.get("/api/v1/operator/totals", Some(OPERATOR_KEY));
    let credits = totals.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "CREDITS")
        .cloned()
        .unwrap();
    assert_eq!(credits["platform"], "1.00", "{totals:?}");
}

#[test]
fn only_the_right_party_may_take_each_step() {
    let s = Server::start(&[]);
    let (buyer, seller, tx, request, offer) = accepted(&s);
    let (_, stranger) = s.register("Stranger");
    let tx_path = format!("/api/v1/transactions/{tx}");

    // Reading: parties only.
    assert_eq!(s.get(&tx_path, Some(&buyer)).status, 200);
    assert_eq!(s.get(&tx_path, Some(&seller)).status, 200);
    assert_error(&s.get(&tx_path, Some(&stranger)), 404, "not_found");
    assert_error(&s.get(&tx_path, None), 401, "unauthorized");
    assert_error(&s.get(&tx_path, Some(OPERATOR_KEY)), 401, "unauthorized");

    // Each step: wrong party 403, stranger 404, no key 401.
    for (name, body, right, wrong) in [
        ("fund", "", &buyer, &seller),
        ("deliver", DELIVER, &seller, &buyer),
        ("confirm", "", &buyer, &seller),
    ] {
        assert_error(&step(&s, &tx, name, wrong, body), 403, "forbidden");
        assert_error(&step(&s, &tx, name, &stranger, body), 404, "not_found");
        let anonymous = s.post(&format!("{tx_path}/{name}"), None, body);
        assert_error(&anonymous, 401, "unauthorized");
        assert_eq!(step(&s, &tx, name, right, body).status, 200, "{name}");
    }
    // Resolve is the operator's alone, and only for a dispute.
    let resolve = r#"{"outcome":"release"}"#;
    assert_error(&step(&s, &tx, "resolve", &buyer, resolve), 403, "forbidden");
    assert_error(
        &step(&s, &tx, "resolve", OPERATOR_KEY, resolve),
        409,
        "conflict",
    );

    // Requests and offers: only the owner manages, only the requester
    // decides, only the maker withdraws; offers are private.
    let manage = format!("/api/v1/requests/{request}");
    let renew = r#"{"action":"renew"}"#;
    assert_error(
        &s.call("PATCH", &manage, Some(&seller), Some(renew)),
        403,
        "forbidden",
    );
    let offers = format!("/api/v1/requests/{request}/offers");
    assert!(s.get(&offers, Some(&stranger)).body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_error(
        &s.get(&format!("/api/v1/offers/{offer}"), Some(&stranger)),
        404,
        "not_found",
    );
    assert_eq!(
        s.get(&format!("/api/v1/offers/{offer}"), Some(&seller))
            .status,
        200
    );
    assert_error(
        &s.post(
            &format!("/api/v1/offers/{offer}/withdraw"),
            Some(&buyer),
            "",
        ),
        404,
        "not_found",
    );
    assert_error(
        &s.post(&format!("/api/v1/offers/{offer}/accept"), Some(&seller), ""),
        403,
        "forbidden",
    );
    assert_eq!(s.get(&manage, None).status, 200);

    // Listings: only the seller changes or withdraws; nobody buys their own.
    let listing = id(&s.post(
        "/api/v1/listings",
        Some(&seller),
        r#"{"title":"Stock API","category":"api","price":{"amount":"5","currency":"CREDITS"},"quantity":2}"#,
    ));
    let path = format!("/api/v1/listings/{listing}");
    assert_error(
        &s.call("PATCH", &path, Some(&buyer), Some(r#"{"price":"1"}"#)),
        403,
        "forbidden",
    );
    assert_error(
        &s.call("DELETE", &path, Some(&stranger), None),
        403,
        "forbidden",
    );
    assert_error(
        &s.post(&format!("{path}/purchase"), Some(&seller), ""),
        409,
        "conflict",
    );
    assert_error(
        &s.post(&format!("{path}/purchase"), None, ""),
        401,
        "unauthorized",
    );
    assert_eq!(s.get(&path, None).status, 200);
    // The seller changes the price as an amount, or as the listing shows
    // it: what was read can be sent back, in the listing's currency.
    let patch = |body: &str| s.call("PATCH", &path, Some(&seller), Some(body));
    assert_eq!(patch(r#"{"price":"6"}"#).body["price"]["amount"], "6.00");
    let shown = s.get(&path, None).body["price"].clone();
    let changed = patch(&json!({ "price": shown, "title": "Stock API v2" }).to_string());
    assert_eq!(changed.status, 200, "{changed:?}");
    let as_shown = patch(r#"{"price":{"amount":7.5,"currency":"CREDITS"}}"#);
    assert_eq!(
        as_shown.body["price"],
        json!({"amount": "7.50", "currency": "CREDITS"})
    );
    let other_currency = patch(r#"{"price":{"amount":"7","currency":"USD"}}"#);
    assert_error(&other_currency, 400, "validation_error");
    assert!(other_currency.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("CREDITS"));
    for bad in [
        r#"{"price":{"amount":"7"}}"#,
        r#"{"price":true}"#,
        r#"{"price":"-1"}"#,
    ] {
        assert_error(&patch(bad), 400, "validation_error");
    }
    assert_eq!(s.get(&path, None).body["price"]["amount"], "7.50");
}

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let s = Server::start(&[]);
    let (buyer, seller, tx, request, _) = accepted(&s);
    for (body, field) in [
        (
            r#"{"title":"x","budget":{"max":5,"currency":"CREDITS"},"color":"red"}"#,
            None,
        ),
        (
            r#"{"title":"x","budget":{"max":"-5","currency":"CREDITS"}}"#,
            Some("budget"),
        ),
        (
            r#"{"title":"","budget":{"max":5,"currency":"CREDITS"}}"#,
            Some("title"),
        ),
        (
            r#"{"title":"x","category":"weather","budget":{"max":5,"currency":"CREDITS"}}"#,
            None,
        ),
        (
            r#"{"title":"x","budget":{"max":5,"currency":"CREDITS"},"deadline":"tomorrow"}"#,
            Some("deadline"),
        ),
        (
            r#"{"title":"x","budget":{"max":5,"currency":"CREDITS"},"deadline":"2001-01-01T00:00:00Z"}"#,
            Some("deadline"),
        ),
        (
            r#"{"title":"x","budget":{"max":"1e40","currency":"CREDITS"}}"#,
            None,
        ),
        (
            r#"{"title":7,"budget":{"max":5,"currency":"CREDITS"}}"#,
            None,
        ),
    ] {
        let a = s.post("/api/v1/requests", Some(&buyer), body);
        assert_error(&a, 400, "validation_error");
        if let Some(field) = field {
            assert_eq!(a.body["error"]["details"]["field"], field, "{a:?}");
        }
    }
    let taken = s.post(
        &format!("/api/v1/requests/{request}/offers"),
        Some(&seller),
        &offer_body("3"),
    );
    assert_error(&taken, 409, "conflict");
    let open = id(&s.post("/api/v1/requests", Some(&buyer), REQUEST));
    let offers = format!("/api/v1/requests/{open}/offers");
    assert_error(
        &s.post(&offers, Some(&seller), &offer_body("-3")),
        400,
        "validation_error",
    );
    let usd = r#"{"price":{"amount":3,"currency":"USD"}}"#;
    let wrong_currency = s.post(&offers, Some(&seller), usd);
    assert_error(&wrong_currency, 400, "validation_error");
    assert_eq!(wrong_currency.body["error"]["details"]["field"], "currency");
    let expired =
        r#"{"price":{"amount":3,"currency":"CREDITS"},"expires_at":"2001-01-01T00:00:00Z"}"#;
    let expired = s.post(&offers, Some(&seller), expired);
    assert_error(&expired, 400, "validation_error");
    assert_eq!(expired.body["error"]["details"]["field"], "expires_at");
    assert_error(&s.get("/api/v1/requests/999", None), 404, "not_found");
    assert_error(&s.get("/api/v1/requests/abc", None), 404, "not_found");
    assert_error(
        &s.get("/api/v1/requests?status=weird", None),
        400,
        "validation_error",
    );
    assert_error(
        &s.get("/api/v1/transactions/77", Some(&buyer)),
        404,
        "not_found",
    );
    assert_error(
        &step(&s, &tx, "fund", &buyer, r#"{"amount":5}"#),
        400,
        "validation_error",
    );
    assert_error(&step(&s, &tx, "confirm", &buyer, ""), 409, "conflict");
    // A score out of range is bad input in any state; a good one waits
    // for the end.
    let nine = step(&s, &tx, "rating", &buyer, r#"{"score":9}"#);
    assert_error(&nine, 400, "validation_error");
    assert_eq!(nine.body["error"]["details"]["field"], "score");
    assert_error(
        &step(&s, &tx, "rating", &buyer, r#"{"score":5}"#),
        409,
        "conflict",
    );
    step(&s, &tx, "fund", &buyer, "");
    assert_error(
        &step(&s, &tx, "deliver", &seller, r#"{"message":"no proof"}"#),
        400,
        "validation_error",
    );
    // A proof and a reason must say something; a field is named as the
    // API names it.
    let long = format!(r#"{{"delivery_proof":"{}"}}"#, "p".repeat(100_000));
    for (action, who, body, field) in [
        (
            "deliver",
            &seller,
            r#"{"delivery_proof":"  "}"#.to_string(),
            "delivery_proof",
        ),
        ("deliver", &seller, long, "delivery_proof"),
        ("dispute", &buyer, r#"{"reason":""}"#.to_string(), "reason"),
    ] {
        let refused = step(&s, &tx, action, who, &body);
        assert_error(&refused, 400, "validation_error");
        assert_eq!(
            refused.body["error"]["details"]["field"], field,
            "{refused:?}"
        );
    }
    assert_eq!(
        s.get(&format!("/api/v1/transactions/{tx}"), Some(&buyer))
            .body["status"],
        "escrow_funded"
    );
    // Funding a second time is refused and moves no money.
    assert_error(&step(&s, &tx, "fund", &buyer, ""), 409, "conflict");
    assert_eq!(s.credits(&buyer).0, "90.00");

    // A dispute, then the operator's split: the fee applies to the seller's part.
    let dispute = step(&s, &tx, "dispute", &buyer, r#"{"reason":"late data"}"#);
    assert_eq!(dispute.body["status"], "disputed", "{dispute:?}");
    // The operator finds it in the dispute queue and reads it whole.
    let queue = s.get("/api/v1/operator/disputes", Some(OPERATOR_KEY));
    assert_eq!(queue.body["items"][0]["id"], tx.as_str(), "{queue:?}");
    assert_error(
        &s.get("/api/v1/operator/disputes", Some(&buyer)),
        403,
        "forbidden",
    );
    let seen = s.get(
        &format!("/api/v1/operator/transactions/{tx}"),
        Some(OPERATOR_KEY),
    );
    assert_eq!(seen.body["dispute"]["reason"], "late data", "{seen:?}");
    let too_much = r#"{"outcome":"split","seller_amount":"11"}"#;
    assert_error(
        &step(&s, &tx, "resolve", OPERATOR_KEY, too_much),
        400,
        "validation_error",
    );
    let split = step(
        &s,
        &tx,
        "resolve",
        OPERATOR_KEY,
        r#"{"outcome":"split","seller_amount":"4"}"#,
    );
    assert_eq!(split.body["status"], "resolved", "{split:?}");
    assert_eq!(split.body["resolution"]["seller_amount"], "4.00");
    let queue = s.get("/api/v1/operator/disputes", Some(OPERATOR_KEY));
    assert!(
        queue.body["items"].as_array().unwrap().is_empty(),
        "{queue:?}"
    );
    assert_eq!(s.credits(&buyer).0, "96.00");
    assert_eq!(s.credits(&seller).0, "103.60");
}

#[test]
fn listings_sell_out_and_search_pages_stay_stable() {
    let s = Server::start(&[]);
    let (seller_id, seller) = s.register("Seller");
    let (_, buyer) = s.register("Buyer");
    let (_, other) = s.register("Other");
    let listing = |title: &str, price: &str, units: u32| {
        id(&s.post(
            "/api/v1/listings",
            Some(&seller),
            &format!(r#"{{"title":"{title}","category":"api","price":{{"amount":"{price}","currency":"CREDITS"}},"quantity":{units}}}"#),
        ))
    };
    let gpt = listing("GPT-4 API calls", "7", 2);
    for i in 0..5 {
        listing(&format!("Dataset {i}"), "3", 1);
    }
    let buy = |key: &str, n: u32| {
        s.post(
            &format!("/api/v1/listings/{gpt}/purchase"),
            Some(key),
            &format!(r#"{{"quantity":{n}}}"#),
        )
    };
    let first = buy(&buyer, 2);
    assert_eq!(
        (first.status, &first.body["amount"]),
        (201, &Value::from("14.00")),
        "{first:?}"
    );
    assert_eq!(first.body["status"], "pending");
    let sold_out = buy(&other, 1);
    assert_error(&sold_out, 409, "conflict");
    assert_eq!(sold_out.body["error"]["details"]["available"], 0);
    let l = s.get(&format!("/api/v1/listings/{gpt}"), None);
    assert_eq!(
        (&l.body["status"], &l.body["sold"]),
        (&Value::from("sold_out"), &Value::from(2))
    );
    // The buyer backs out before paying: the units return.
    let tx = first.body["id"].as_str().unwrap();
    assert_eq!(
        step(&s, tx, "cancel", &buyer, "").body["status"],
        "cancelled"
    );
    assert_eq!(buy(&other, 1).status, 201);

    // Search: text, price range, owner; pages by cursor, newest first,
    // unaffected by a listing posted between pages.
    let found = s.get("/api/v1/listings?q=gpt-4&min_price=5", None);
    assert_eq!(
        found.body["items"].as_array().unwrap().len(),
        1,
        "{found:?}"
    );
    assert_eq!(found.body["items"][0]["seller_id"], seller_id.as_str());
    let page1 = s.get("/api/v1/listings?category=api&max_price=3&limit=2", None);
    let titles = |a: &Answer| -> Vec<String> {
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&page1), ["Dataset 4", "Dataset 3"]);
    listing("Dataset new", "1", 1);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = s.get(
        &format!("/api/v1/listings?category=api&max_price=3&limit=2&cursor={cursor}"),
        None,
    );
    assert_eq!(titles(&page2), ["Dataset 2", "Dataset 1"]);
    let mine = s.get("/api/v1/listings?mine=true&limit=500", Some(&buyer));
    assert!(mine.body["items"].as_array().unwrap().is_empty());
}

#[test]
fn sealed_offers_wait_for_the_window_and_retries_are_idempotent() {
    let s = Server::start(&[]);
    let (_, buyer) = s.register("Buyer");
    let (_, fast) = s.register("Fast");
    let body = r#"{"title":"Translate 400 words","category":"translation","budget":{"min":5,"max":25,"currency":"CREDITS"},"agent_ready":true,"offer_window_seconds":3600}"#;
    let r = s.post("/api/v1/requests", Some(&buyer), body);
    assert!(r.body["offers_sealed_until"].is_string(), "{r:?}");
    let request = id(&r);
    let offer = id(&s.post(
        &format!("/api/v1/requests/{request}/offers"),
        Some(&fast),
        &offer_body("20"),
    ));
    let hidden = s.get(&format!("/api/v1/requests/{request}/offers"), Some(&buyer));
    assert_error(&hidden, 409, "conflict");
    assert!(hidden.body["error"]["details"]["sealed_until"].is_string());
    assert_error(
        &s.post(&format!("/api/v1/offers/{offer}/accept"), Some(&buyer), ""),
        409,
        "conflict",
    );
    assert_eq!(
        s.get(&format!("/api/v1/requests/{request}/offers"), Some(&fast))
            .status,
        200
    );
    let listed = s.get(
        "/api/v1/requests?agent_ready=true&category=translation",
        None,
    );
    assert_eq!(listed.body["items"][0]["offer_count"], 1);

    // Accepting with an Idempotency-Key: a retry returns the same
    // transaction and creates no second one.
    let (_, b2) = s.register("B2");
    let (_, s2) = s.register("S2");
    let request = id(&s.post("/api/v1/requests", Some(&b2), REQUEST));
    let offer = id(&s.post(
        &format!("/api/v1/requests/{request}/offers"),
        Some(&s2),
        &offer_body("8"),
    ));
    let accept = || {
        s.call_with(
            "POST",
            &format!("/api/v1/offers/{offer}/accept"),
            Some(&b2),
            Some(""),
            &[("Idempotency-Key", "acc-1")],
        )
    };
    let (one, two) = (accept(), accept());
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(one.body["transaction_id"], two.body["transaction_id"]);
    let all = s.get("/api/v1/transactions", Some(&b2));
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
}

#[test]
fn a_seller_pages_through_its_own_offers_on_every_request() {
    let s = Server::start(&[]);
    let (_, buyer) = s.register("ResearchAgent");
    let (_, seller) = s.register("WeatherBot");
    let (_, rival) = s.register("RivalBot");
    let requests: Vec<String> = (0..3)
        .map(|_| id(&s.post("/api/v1/requests", Some(&buyer), REQUEST)))
        .collect();
    let offers: Vec<String> = requests
        .iter()
        .map(|r| {
            id(&s.post(
                &format!("/api/v1/requests/{r}/offers"),
                Some(&seller),
                &offer_body("10"),
            ))
        })
        .collect();
    let rivals = id(&s.post(
        &format!("/api/v1/requests/{}/offers", requests[2]),
        Some(&rival),
        &offer_body("9"),
    ));
    let accept = format!("/api/v1/offers/{}/accept", offers[0]);
    assert_eq!(s.post(&accept, Some(&buyer), "").status, 200);
    let reject = format!("/api/v1/offers/{}/reject", offers[1]);
    assert_eq!(s.post(&reject, Some(&buyer), "").status, 200);

    let list = |key: &str, query: &str| -> (Vec<(String, String)>, Option<String>) {
        let a = s.get(&format!("/api/v1/offers{query}"), Some(key));
        assert_eq!(a.status, 200, "{a:?}");
        let items = a.body["items"].as_array().unwrap();
        let rows = items
            .iter()
            .map(|o| {
                let field = |f: &str| o[f].as_str().unwrap().to_string();
                (field("id"), field("status"))
            })
            .collect();
        (rows, a.body["next_cursor"].as_str().map(str::to_owned))
    };
    let pair = |offer: &String, status: &str| (offer.clone(), status.to_string());
    // Newest first, each with where it stands; nobody else's.
    let expected = vec![
        pair(&offers[2], "pending"),
        pair(&offers[1], "rejected"),
        pair(&offers[0], "accepted"),
    ];
    assert_eq!(list(&seller, ""), (expected.clone(), None));
    assert_eq!(list(&rival, ""), (vec![pair(&rivals, "pending")], None));
    assert_eq!(list(&buyer, ""), (vec![], None));
    assert_eq!(
        list(&seller, "?status=pending"),
        (vec![pair(&offers[2], "pending")], None)
    );
    // Pages of two, then the rest.
    let (first, cursor) = list(&seller, "?limit=2");
    assert_eq!(first, expected[..2]);
    let cursor = cursor.expect("a second page");
    assert_eq!(
        list(&seller, &format!("?limit=2&cursor={cursor}")),
        (expected[2..].to_vec(), None)
    );

    assert_error(&s.get("/api/v1/offers", None), 401, "unauthorized");
    assert_error(
        &s.get("/api/v1/offers?status=won", Some(&seller)),
        400,
        "validation_error",
    );
    assert_error(
        &s.get("/api/v1/offers?request=1", Some(&seller)),
        400,
        "validation_error",
    );
}

#[test]
fn transactions_filter_by_the_kind_of_deal_that_made_them() {
    let s = Server::start(&[]);
    let (buyer, seller, offer_tx, _, _) = accepted(&s);
    let listing = id(&s.post("/api/v1/listings", Some(&seller), LISTING));
    let bought = s.post(
        &format!("/api/v1/listings/{listing}/purchase"),
        Some(&buyer),
        "",
    );
    let listing_tx = id(&bought);
    let ids = |origin: &str| -> Vec<String> {
        let a = s.get(
            &format!("/api/v1/transactions?origin={origin}"),
            Some(&buyer),
        );
        assert_eq!(a.status, 200, "{a:?}");
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["origin"]["type"], origin, "{t}");
                t["id"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(ids("offer"), [offer_tx]);
    assert_eq!(ids("listing"), [listing_tx.as_str()]);
    assert!(ids("trade").is_empty());
    assert!(ids("auction").is_empty());
    let both = s.get(
        "/api/v1/transactions?role=seller&origin=listing",
        Some(&seller),
    );
    assert_eq!(both.body["items"][0]["id"], listing_tx.as_str());
    assert_error(
        &s.get("/api/v1/transactions?origin=swap", Some(&buyer)),
        400,
        "validation_error",
    );
}

#[test]
fn racing_confirmations_settle_once() {
    let s = Server::start(&[]);
    let (buyer, seller, tx, _, _) = accepted(&s);
    step(&s, &tx, "fund", &buyer, "");
    step(&s, &tx, "deliver", &seller, DELIVER);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| step(&s, &tx, "confirm", &buyer, "").status))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(s.credits(&seller).0, "109.00");
}

#[test]
fn an_owner_claims_an_agent_and_the_operator_verifies_it() {
    let s = Server::start(&[]);
    let (agent_id, key) = s.register("Claimed");
    let before = s.get(&format!("/api/v1/agents/{agent_id}/trust"), None);
    assert_eq!(before.body["trust_score"], 0.0, "{before:?}");
    let profile = format!("/api/v1/agents/{agent_id}");
    let public = s.get(&profile, None).body;
    assert_eq!(
        (&public["verified"], &public["owner_linked"]),
        (&json!(false), &json!(false))
    );
    let t = s.post("/api/v1/agents/me/ownership-token", Some(&key), "");
    assert_eq!(t.status, 201, "{t:?}");
    let token = t.body["token"].as_str().unwrap();
    let claim = format!(r#"{{"token":"{token}","owner":"owner@example.com"}}"#);
    assert_eq!(s.post("/api/v1/agents/claim", None, &claim).status, 200);
    assert_error(
        &s.post("/api/v1/agents/claim", None, &claim),
        404,
        "not_found",
    );
    let verify = format!("/api/v1/operator/agents/{agent_id}/verify");
    assert_error(
        &s.post(&verify, Some(&key), r#"{"verified":true}"#),
        403,
        "forbidden",
    );
    let v = s.post(&verify, Some(OPERATOR_KEY), r#"{"verified":true}"#);
    assert_eq!(v.body["components"]["owner_linked"], 0.1, "{v:?}");
    assert_eq!(v.body["components"]["verified"], 0.15);
    assert_eq!(v.body["trust_score"], 0.25);
    // Anyone sees that it is verified and has an owner; only the agent
    // sees who.
    let public = s.get(&profile, None).body;
    assert_eq!(
        (&public["verified"], &public["owner_linked"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(public.get("owner"), None);
    let me = s.get("/api/v1/agents/me", Some(&key)).body;
    assert_eq!(
        (&me["owner"], &me["verified"]),
        (&json!("owner@example.com"), &json!(true))
    );
}

#[test]
fn acknowledged_steps_survive_kill_9() {
    let mut s = Server::start(&[]);
    let (buyer, seller, tx, request, _) = accepted(&s);
    assert_eq!(step(&s, &tx, "fund", &buyer, "").status, 200);
    assert_eq!(step(&s, &tx, "deliver", &seller, DELIVER).status, 200);
    s.kill();
    s.relaunch();
    let t = s.get(&format!("/api/v1/transactions/{tx}"), Some(&buyer));
    assert_eq!(t.body["status"], "delivered", "{t:?}");
    assert_eq!(
        s.get(&format!("/api/v1/requests/{request}"), None).body["status"],
        "fulfilled"
    );
    assert_eq!(s.credits(&buyer).0, "90.00");
    assert_eq!(step(&s, &tx, "confirm", &buyer, "").status, 200);
    assert_eq!(s.credits(&seller).0, "109.00");
}

#[test]
fn the_operator_sets_the_fee_and_it_survives_restarts() {
    let mut s = Server::start(&["--fee-bps", "250", "--release-cooldown-s", "60"]);
    let terms = s.get("/api/v1/terms", None);
    assert_eq!(terms.body["fee_bps"], 250, "{terms:?}");
    assert_eq!(terms.body["release_cooldown_seconds"], 60);
    let (buyer, seller, tx, _, _) = accepted(&s);
    step(&s, &tx, "fund", &buyer, "");
    step(&s, &tx, "deliver", &seller, DELIVER);
    let confirmed = step(&s, &tx, "confirm", &buyer, "");
    assert_eq!(confirmed.body["fee"], "0.25", "{confirmed:?}");
    assert_eq!(s.credits(&seller).0, "109.75");
    s.kill();
    s.relaunch();
    assert_eq!(s.get("/api/v1/terms", None).body["fee_bps"], 250);
    assert_eq!(s.credits(&seller).0, "109.75");
}

/// Who calls, in the authorization matrix.
#[derive(Copy, Clone, Debug)]
enum Who {
    Buyer,
    Seller,
    Stranger,
    NoKey,
    Operator,
}

/// Method, path, body, and each caller with the status it must get.
type Row<'a> = (&'a str, String, &'a str, Vec<(Who, u16)>);

#[test]
fn authorization_matrix_over_every_deal_endpoint() {
    use Who::*;
    let s = Server::start(&[]);
    let (buyer, seller, tx, request, offer) = accepted(&s);
    let (_, stranger) = s.register("Stranger");
    let listing = id(&s.post("/api/v1/listings", Some(&seller), LISTING));
    let second_offer = {
        let r = id(&s.post("/api/v1/requests", Some(&buyer), REQUEST));
        let o = id(&s.post(
            &format!("/api/v1/requests/{r}/offers"),
            Some(&seller),
            &offer_body("9"),
        ));
        (r, o)
    };
    let key = |who: Who| -> Option<&str> {
        match who {
            Buyer => Some(&buyer),
            Seller => Some(&seller),
            Stranger => Some(&stranger),
            NoKey => None,
            Operator => Some(OPERATOR_KEY),
        }
    };
    // Each row: method, path, body, and the callers in the order tried
    // with the status each must get. Refused callers come first: a refusal
    // changes nothing, so the allowed caller last still succeeds.
    let t = format!("/api/v1/transactions/{tx}");
    let rows: Vec<Row> = vec![
        (
            "GET",
            t.clone(),
            "",
            vec![
                (Stranger, 404),
                (NoKey, 401),
                (Operator, 401),
                (Buyer, 200),
                (Seller, 200),
            ],
        ),
        (
            "GET",
            "/api/v1/transactions".into(),
            "",
            vec![(NoKey, 401), (Operator, 401), (Stranger, 200)],
        ),
        (
            "POST",
            format!("{t}/fund"),
            "",
            vec![
                (Seller, 403),
                (Stranger, 404),
                (NoKey, 401),
                (Operator, 401),
                (Buyer, 200),
            ],
        ),
        (
            "POST",
            format!("{t}/deliver"),
            DELIVER,
            vec![
                (Buyer, 403),
                (Stranger, 404),
                (NoKey, 401),
                (Operator, 401),
                (Seller, 200),
            ],
        ),
        (
            "POST",
            format!("{t}/dispute"),
            r#"{"reason":"x"}"#,
            vec![
                (Stranger, 404),
                (NoKey, 401),
                (Operator, 401),
                (Seller, 200),
            ],
        ),
        (
            "POST",
            format!("{t}/resolve"),
            r#"{"outcome":"release"}"#,
            vec![
                (Buyer, 403),
                (Seller, 403),
                (Stranger, 403),
                (NoKey, 401),
                (Operator, 200),
            ],
        ),
        (
            "POST",
            format!("{t}/rating"),
            r#"{"score":4}"#,
            vec![
                (Stranger, 404),
                (NoKey, 401),
                (Operator, 401),
                (Buyer, 200),
                (Seller, 200),
            ],
        ),
        (
            "POST",
            format!("{t}/cancel"),
            "",
            vec![(Stranger, 404), (NoKey, 401), (Buyer, 409)],
        ),
        (
            "GET",
            format!("/api/v1/requests/{request}"),
            "",
            vec![(NoKey, 200), (Stranger, 200)],
        ),
        (
            "PATCH",
            format!("/api/v1/requests/{}", second_offer.0),
            r#"{"action":"renew"}"#,
            vec![
                (Seller, 403),
                (Stranger, 403),
                (NoKey, 401),
                (Operator, 401),
                (Buyer, 200),
            ],
        ),
        (
            "GET",
            format!("/api/v1/requests/{}/offers", second_offer.0),
            "",
            vec![
                (NoKey, 401),
                (Operator, 401),
                (Stranger, 200),
                (Seller, 200),
                (Buyer, 200),
            ],
        ),
        (
            "GET",
            format!("/api/v1/offers/{offer}"),
            "",
            vec![(Stranger, 404), (NoKey, 401), (Buyer, 200), (Seller, 200)],
        ),
        (
            "GET",
            "/api/v1/offers".into(),
            "",
            vec![
                (NoKey, 401),
                (Operator, 401),
                (Stranger, 200),
                (Seller, 200),
            ],
        ),
        (
            "POST",
            format!("/api/v1/offers/{}/reject", second_offer.1),
            "",
            vec![
                (Seller, 403),
                (Stranger, 404),
                (NoKey, 401),
                (Operator, 401),
                (Buyer, 200),
            ],
        ),
        (
            "POST",
            format!("/api/v1/offers/{}/withdraw", second_offer.1),
            "",
            vec![(Buyer, 404), (Stranger, 404), (NoKey, 401), (Seller, 409)],
        ),
        (
            "POST",
            format!("/api/v1/offers/{offer}/accept"),
            "",
            vec![(Seller, 403), (Stranger, 404), (NoKey, 401), (Buyer, 409)],
        ),
        (
            "GET",
            format!("/api/v1/listings/{listing}"),
            "",
            vec![(NoKey, 200), (Buyer, 200)],
        ),
        (
            "PATCH",
            format!("/api/v1/listings/{listing}"),
            r#"{"price":"6"}"#,
            vec![
                (Buyer, 403),
                (Stranger, 403),
                (NoKey, 401),
                (Operator, 401),
                (Seller, 200),
            ],
        ),
        (
            "POST",
            format!("/api/v1/listings/{listing}/purchase"),
            "",
            vec![
                (Seller, 409),
                (NoKey, 401),
                (Operator, 401),
                (Stranger, 201),
            ],
        ),
        (
            "DELETE",
            format!("/api/v1/listings/{listing}"),
            "",
            vec![(Buyer, 403), (Stranger, 403), (NoKey, 401), (Seller, 200)],
        ),
    ];
    for (method, path, body, callers) in rows {
        for (who, status) in callers {
            let body = (!body.is_empty() || method == "POST").then_some(body);
            let a = s.call(method, &path, key(who), body);
            assert_eq!(a.status, status, "{method} {path} as {who:?}: {a:?}");
            if status >= 400 {
                assert!(a.body["error"]["code"].is_string(), "{a:?}");
            }
        }
    }
}
