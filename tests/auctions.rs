//! Black-box tests of auctions over HTTP: English (anti-sniping, reserve,
//! buy-now), Dutch, sealed-bid privacy and second price, many clients
//! bidding at once, and bad input. Auctions here last seconds: the server
//! closes them on its own ticks.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Answer, Server};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 text of now + `ms` milliseconds.
fn in_ms(ms: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::milliseconds(ms))
        .format(&Rfc3339)
        .unwrap()
}

fn create(s: &Server, key: &str, body: &str) -> String {
    let a = s.post("/api/v1/auctions", Some(key), body);
    assert_eq!(a.status, 201, "{a:?}");
    a.body["id"].as_str().unwrap().to_string()
}

fn bid(s: &Server, key: &str, id: &str, amount: &str) -> Answer {
    s.post(
        &format!("/api/v1/auctions/{id}/bid"),
        Some(key),
        &format!(r#"{{"amount":"{amount}","currency":"CREDITS"}}"#),
    )
}

/// Waits until the auction is no longer open (the server's ticks close
/// it), at most 10 s.
fn closed(s: &Server, id: &str) -> Answer {
    for _ in 0..100 {
        let a = s.get(&format!("/api/v1/auctions/{id}"), None);
        if a.body["status"] != "open" {
            return a;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("auction {id} did not close");
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!((a.status, a.code()), (status, code), "{a:?}");
}

#[test]
fn english_extends_on_late_bids_and_the_winner_pays_into_escrow() {
    let s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let (_, alice) = s.register("Alice");
    let (_, bob) = s.register("Bob");
    let body = format!(
        r#"{{"title":"10M reviews","auction_type":"english","starting_price":{{"amount":10,"currency":"CREDITS"}},"reserve_price":{{"amount":20,"currency":"CREDITS"}},"min_increment":"5","extension_seconds":3,"ends_at":"{}"}}"#,
        in_ms(1_500)
    );
    let id = create(&s, &seller, &body);
    let before = s.get(&format!("/api/v1/auctions/{id}"), None);
    assert_error(&bid(&s, &seller, &id, "50"), 409, "conflict");
    let low = bid(&s, &alice, &id, "5");
    assert_error(&low, 409, "conflict");
    assert_eq!(low.body["error"]["details"]["minimum"], "10.00");
    assert_eq!(bid(&s, &alice, &id, "20").status, 200);
    assert_eq!(s.credits(&alice), ("80.00".into(), "20.00".into()));
    // A bid in the last 3 seconds moved the end.
    let after = s.get(&format!("/api/v1/auctions/{id}"), None);
    assert_ne!(after.body["ends_at"], before.body["ends_at"], "{after:?}");
    assert_error(&bid(&s, &bob, &id, "24"), 409, "conflict");
    let b = bid(&s, &bob, &id, "30");
    assert_eq!(
        (b.status, &b.body["current_price"]),
        (200, &Value::from("30.00")),
        "{b:?}"
    );
    // Alice was outbid: her hold is back at once.
    assert_eq!(s.credits(&alice), ("100.00".into(), "0.00".into()));
    let done = closed(&s, &id);
    assert_eq!(done.body["status"], "won", "{done:?}");
    assert_eq!(done.body["price_paid"], "30.00");
    assert_eq!(done.body["bids"].as_array().unwrap().len(), 2);
    let tx = done.body["transaction_id"].as_str().unwrap();
    let t = s.get(&format!("/api/v1/transactions/{tx}"), Some(&bob));
    assert_eq!(
        (&t.body["status"], &t.body["escrow_balance"]),
        (&Value::from("escrow_funded"), &Value::from("30.00"))
    );
    assert_eq!(t.body["origin"]["type"], "auction");
    assert_eq!(s.credits(&bob), ("70.00".into(), "0.00".into()));
    // The escrow flow takes over: the seller delivers, the buyer confirms.
    let deliver = s.post(
        &format!("/api/v1/transactions/{tx}/deliver"),
        Some(&seller),
        r#"{"delivery_proof":"s3://reviews"}"#,
    );
    assert_eq!(deliver.status, 200, "{deliver:?}");
    assert_eq!(
        s.post(
            &format!("/api/v1/transactions/{tx}/confirm"),
            Some(&bob),
            ""
        )
        .status,
        200
    );
    assert_eq!(s.credits(&seller).0, "127.00");
}

#[test]
fn a_reserve_not_met_releases_every_hold_and_buy_now_wins_at_once() {
    let s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let (_, alice) = s.register("Alice");
    let body = format!(
        r#"{{"title":"GPU week","auction_type":"english","starting_price":{{"amount":10,"currency":"CREDITS"}},"reserve_price":{{"amount":90,"currency":"CREDITS"}},"ends_at":"{}"}}"#,
        in_ms(800)
    );
    let id = create(&s, &seller, &body);
    bid(&s, &alice, &id, "40");
    let done = closed(&s, &id);
    assert_eq!(
        (&done.body["status"], &done.body["winner_id"]),
        (&Value::from("unsold"), &Value::Null)
    );
    assert_eq!(s.credits(&alice), ("100.00".into(), "0.00".into()));

    let body = format!(
        r#"{{"title":"API credits","auction_type":"english","starting_price":{{"amount":10,"currency":"CREDITS"}},"buy_now_price":"50","ends_at":"{}"}}"#,
        in_ms(60_000)
    );
    let id = create(&s, &seller, &body);
    let won = bid(&s, &alice, &id, "55");
    assert_eq!(
        (&won.body["status"], &won.body["price_paid"]),
        (&Value::from("won"), &Value::from("50.00")),
        "{won:?}"
    );
    assert_eq!(s.credits(&alice), ("50.00".into(), "0.00".into()));
}

#[test]
fn the_dutch_price_falls_until_someone_takes_it() {
    let s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let (_, alice) = s.register("Alice");
    let body = format!(
        r#"{{"title":"Compute hour","auction_type":"dutch","starting_price":{{"amount":90,"currency":"CREDITS"}},"floor_price":"40","decrement":"10","interval_seconds":1,"ends_at":"{}"}}"#,
        in_ms(60_000)
    );
    let id = create(&s, &seller, &body);
    let first = s.get(&format!("/api/v1/auctions/{id}"), None);
    assert_eq!(first.body["current_price"], "90.00", "{first:?}");
    std::thread::sleep(Duration::from_millis(2_300));
    let later = s.get(&format!("/api/v1/auctions/{id}"), None);
    let price: f64 = later.body["current_price"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((40.0..=70.0).contains(&price), "{later:?}");
    let taken = s.post(&format!("/api/v1/auctions/{id}/accept"), Some(&alice), "");
    assert_eq!(taken.body["status"], "won", "{taken:?}");
    let paid: f64 = taken.body["price_paid"].as_str().unwrap().parse().unwrap();
    assert!(paid <= price, "paid {paid}, saw {price}");
    let left: f64 = s.credits(&alice).0.parse().unwrap();
    assert_eq!(left, 100.0 - paid);
    assert_error(
        &s.post(&format!("/api/v1/auctions/{id}/accept"), Some(&alice), ""),
        409,
        "conflict",
    );
}

#[test]
fn sealed_bids_are_private_until_the_close_and_vickrey_pays_second_price() {
    let s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let (_, alice) = s.register("Alice");
    let (_, bob) = s.register("Bob");
    let (_, carol) = s.register("Carol");
    let body = format!(
        r#"{{"title":"Model weights","auction_type":"sealed_bid","pricing":"second_price","starting_price":{{"amount":5,"currency":"CREDITS"}},"ends_at":"{}"}}"#,
        in_ms(1_500)
    );
    let id = create(&s, &seller, &body);
    assert_eq!(bid(&s, &alice, &id, "60").status, 200);
    assert_eq!(bid(&s, &bob, &id, "80").status, 200);
    // Replacing a bid keeps one hold of the new amount.
    assert_eq!(bid(&s, &alice, &id, "65").status, 200);
    assert_eq!(s.credits(&alice), ("35.00".into(), "65.00".into()));
    let path = format!("/api/v1/auctions/{id}");
    let stranger = s.get(&path, Some(&carol));
    assert!(
        stranger.body["bids"].as_array().unwrap().is_empty(),
        "{stranger:?}"
    );
    assert_eq!(stranger.body["current_price"], Value::Null);
    assert_eq!(stranger.body["bid_count"], 3);
    let own = s.get(&path, Some(&alice));
    let amounts: Vec<&str> = own.body["bids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["60.00", "65.00"]);
    // The bid list pages newest first, with the same privacy.
    let bid_amounts = |key: Option<&str>, query: &str| -> (Vec<String>, Value) {
        let a = s.get(&format!("{path}/bids{query}"), key);
        assert_eq!(a.status, 200, "{a:?}");
        let amounts = a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["amount"].as_str().unwrap().to_string())
            .collect();
        (amounts, a.body["next_cursor"].clone())
    };
    assert_eq!(bid_amounts(Some(&carol), ""), (vec![], Value::Null));
    assert_eq!(bid_amounts(None, ""), (vec![], Value::Null));
    let (first, cursor) = bid_amounts(Some(&alice), "?limit=1");
    assert_eq!(first, ["65.00"]);
    let rest = bid_amounts(
        Some(&alice),
        &format!("?limit=1&cursor={}", cursor.as_str().unwrap()),
    );
    assert_eq!(rest, (vec!["60.00".to_string()], Value::Null));
    let listed = s.get("/api/v1/auctions?type=sealed_bid&status=open", Some(&carol));
    assert!(listed.body["items"][0]["bids"]
        .as_array()
        .unwrap()
        .is_empty());
    let done = closed(&s, &id);
    assert_eq!(done.body["price_paid"], "65.00", "{done:?}");
    assert_eq!(done.body["bids"].as_array().unwrap().len(), 3);
    assert_eq!(bid_amounts(None, "").0.len(), 3, "revealed at the close");
    assert_eq!(s.credits(&bob), ("35.00".into(), "0.00".into()));
    assert_eq!(s.credits(&alice), ("100.00".into(), "0.00".into()));
}

#[test]
fn many_clients_bidding_at_once_leave_one_leader_and_one_hold() {
    let s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let bidders: Vec<String> = (0..8).map(|i| s.register(&format!("B{i}")).1).collect();
    let body = format!(
        r#"{{"title":"Hot item","auction_type":"english","starting_price":{{"amount":1,"currency":"CREDITS"}},"min_increment":"0.01","ends_at":"{}"}}"#,
        in_ms(60_000)
    );
    let id = create(&s, &seller, &body);
    std::thread::scope(|scope| {
        for (i, key) in bidders.iter().enumerate() {
            let (s, id) = (&s, &id);
            scope.spawn(move || {
                for round in 0..10 {
                    let amount = format!("{}.{:02}", 1 + round * 8 + i, i);
                    let a = bid(s, key, id, &amount);
                    assert!(a.status == 200 || a.status == 409, "{a:?}");
                }
            });
        }
    });
    let a = s.get(&format!("/api/v1/auctions/{id}"), None);
    let leader_amount = a.body["current_price"].as_str().unwrap().to_string();
    let mut holders = 0;
    for key in &bidders {
        let (available, held) = s.credits(key);
        let total: f64 = available.parse::<f64>().unwrap() + held.parse::<f64>().unwrap();
        assert_eq!(total, 100.0, "no money moved between bidders");
        if held != "0.00" {
            holders += 1;
            assert_eq!(held, leader_amount);
        }
    }
    assert_eq!(holders, 1);
}

#[test]
fn bad_auctions_and_bids_get_clear_errors() {
    let s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let (_, alice) = s.register("Alice");
    let end = in_ms(60_000);
    for (body, field) in [
        (
            format!(
                r#"{{"title":"x","auction_type":"english","starting_price":{{"amount":0,"currency":"CREDITS"}},"ends_at":"{end}"}}"#
            ),
            "starting_price",
        ),
        (
            r#"{"title":"x","auction_type":"english","starting_price":{"amount":5,"currency":"CREDITS"},"ends_at":"2001-01-01T00:00:00Z"}"#.to_string(),
            "ends_at",
        ),
        (
            format!(
                r#"{{"title":"x","auction_type":"dutch","starting_price":{{"amount":5,"currency":"CREDITS"}},"decrement":"1","interval_seconds":1,"ends_at":"{end}"}}"#
            ),
            "floor_price",
        ),
        (
            format!(
                r#"{{"title":"x","auction_type":"dutch","starting_price":{{"amount":5,"currency":"CREDITS"}},"floor_price":"9","decrement":"1","interval_seconds":1,"ends_at":"{end}"}}"#
            ),
            "floor_price",
        ),
        (
            format!(
                r#"{{"title":"x","auction_type":"english","starting_price":{{"amount":5,"currency":"CREDITS"}},"buy_now_price":"2","ends_at":"{end}"}}"#
            ),
            "buy_now_price",
        ),
        (
            format!(
                r#"{{"title":"x","auction_type":"sealed_bid","min_increment":"1","starting_price":{{"amount":5,"currency":"CREDITS"}},"ends_at":"{end}"}}"#
            ),
            "min_increment",
        ),
    ] {
        let a = s.post("/api/v1/auctions", Some(&seller), &body);
        assert_error(&a, 400, "validation_error");
        assert_eq!(a.body["error"]["details"]["field"], field, "{a:?}");
    }
    let weird = s.post(
        "/api/v1/auctions",
        Some(&seller),
        r#"{"title":"x","auction_type":"candle"}"#,
    );
    assert_error(&weird, 400, "validation_error");
    let body = format!(
        r#"{{"title":"x","auction_type":"english","starting_price":{{"amount":5,"currency":"CREDITS"}},"ends_at":"{end}"}}"#
    );
    let id = create(&s, &seller, &body);
    assert_error(&bid(&s, &alice, "999", "5"), 404, "not_found");
    let usd = s.post(
        &format!("/api/v1/auctions/{id}/bid"),
        Some(&alice),
        r#"{"amount":5,"currency":"USD"}"#,
    );
    assert_error(&usd, 400, "validation_error");
    let message = usd.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("CREDITS") && message.contains("auction"),
        "{message}"
    );
    assert_error(&bid(&s, &alice, &id, "500"), 402, "insufficient_funds");
    assert_error(
        &s.post(
            &format!("/api/v1/auctions/{id}/bid"),
            Some(&alice),
            r#"{"amount":"lots"}"#,
        ),
        400,
        "validation_error",
    );
    assert_error(
        &s.post(
            &format!("/api/v1/auctions/{id}/bid"),
            None,
            r#"{"amount":5}"#,
        ),
        401,
        "unauthorized",
    );
    assert_error(
        &s.post(&format!("/api/v1/auctions/{id}/accept"), Some(&alice), ""),
        409,
        "conflict",
    );
    assert_error(
        &s.post(&format!("/api/v1/auctions/{id}/cancel"), Some(&alice), ""),
        403,
        "forbidden",
    );
    assert_eq!(bid(&s, &alice, &id, "5").status, 200);
    assert_error(
        &s.post(&format!("/api/v1/auctions/{id}/cancel"), Some(&seller), ""),
        409,
        "conflict",
    );
    let fresh = create(&s, &seller, &body);
    let cancelled = s.post(
        &format!("/api/v1/auctions/{fresh}/cancel"),
        Some(&seller),
        "",
    );
    assert_eq!(cancelled.body["status"], "cancelled", "{cancelled:?}");
    let mine = s.get("/api/v1/auctions?mine=true&status=cancelled", Some(&seller));
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "{mine:?}");
    // An auction may sell one of the seller's own listings, nobody else's.
    let listing = s.post(
        "/api/v1/listings",
        Some(&seller),
        r#"{"title":"Dataset","price":{"amount":5,"currency":"CREDITS"}}"#,
    );
    let listing = listing.body["id"].as_str().unwrap();
    let with_listing = |id: &str| {
        format!(
            r#"{{"title":"x","listing_id":"{id}","auction_type":"english","starting_price":{{"amount":5,"currency":"CREDITS"}},"ends_at":"{end}"}}"#
        )
    };
    let theirs = s.post("/api/v1/auctions", Some(&alice), &with_listing(listing));
    assert_error(&theirs, 403, "forbidden");
    let own = s.post("/api/v1/auctions", Some(&seller), &with_listing(listing));
    assert_eq!(own.body["listing_id"], listing, "{own:?}");
    assert_error(
        &s.post("/api/v1/auctions", Some(&seller), &with_listing("77")),
        404,
        "not_found",
    );
}

#[test]
fn a_closed_auction_stays_closed_once_across_a_kill_9() {
    let mut s = Server::start(&[]);
    let (_, seller) = s.register("Seller");
    let (_, alice) = s.register("Alice");
    let body = format!(
        r#"{{"title":"Once","auction_type":"english","starting_price":{{"amount":10,"currency":"CREDITS"}},"ends_at":"{}"}}"#,
        in_ms(700)
    );
    let id = create(&s, &seller, &body);
    assert_eq!(bid(&s, &alice, &id, "15").status, 200);
    let done = closed(&s, &id);
    let tx = done.body["transaction_id"].clone();
    s.kill();
    s.relaunch();
    std::thread::sleep(Duration::from_millis(600));
    let again = s.get(&format!("/api/v1/auctions/{id}"), None);
    assert_eq!(
        (&again.body["status"], &again.body["transaction_id"]),
        (&Value::from("won"), &tx)
    );
    assert_eq!(s.credits(&alice), ("85.00".into(), "0.00".into()));
    let mine = s.get("/api/v1/transactions", Some(&alice));
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "{mine:?}");
}
