//! Crash test: clients place and cancel orders concurrently, recording
//! every acknowledged reply; the server is killed with SIGKILL at a random
//! moment and restarted on the same data directory. Every acknowledged
//! order must be there (at least as far along as acknowledged), and money
//! must be conserved. `AGORA_CRASH_CYCLES` sets the number of cycles
//! (default 10); `AGORA_CRASH_SEED` replays a run.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::{Server, OPERATOR_KEY};

/// What a client was told about one order.
struct Acked {
    key: String,
    id: String,
    filled: f64,
}

fn decimal(v: &Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

/// One client: orders until the server goes away or `limit` is reached.
fn client(base: String, key: String, seed: u64, limit: usize, stop: Arc<AtomicBool>) -> Vec<Acked> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let mut acked = Vec::new();
    let mut open: Vec<String> = Vec::new();
    while acked.len() < limit && !stop.load(Ordering::Relaxed) {
        let cancel = rng.gen_bool(0.2) && !open.is_empty();
        let result = if cancel {
            let id = open.swap_remove(rng.gen_range(0..open.len()));
            agent
                .delete(&format!("{base}/api/v1/orderbook/orders/{id}"))
                .set("X-API-Key", &key)
                .call()
        } else {
            let side = if rng.gen_bool(0.5) { "buy" } else { "sell" };
            let price = rng.gen_range(95..=105);
            let qty = rng.gen_range(1..=3);
            let body = format!(
                r#"{{"asset":"CRASH","side":"{side}","quantity":"{qty}","price":"{price}"}}"#
            );
            agent
                .post(&format!("{base}/api/v1/orderbook/orders"))
                .set("X-API-Key", &key)
                .send_string(&body)
        };
        let response = match result {
            Ok(r) => r,
            // A refusal (409 for an order filled meanwhile) is an answer too.
            Err(ureq::Error::Status(_, r)) => r,
            // The server is gone: what was in flight is unacknowledged.
            Err(_) => break,
        };
        let Ok(v) = response.into_json::<Value>() else {
            break;
        };
        if let Some(order) = v.get("order") {
            let id = order["id"].as_str().unwrap().to_string();
            if order["status"] == "open" || order["status"] == "partially_filled" {
                open.push(id.clone());
            }
            acked.push(Acked {
                key: key.clone(),
                id,
                filled: decimal(&order["filled_quantity"]),
            });
        } else if v.get("id").is_some() {
            acked.push(Acked {
                key: key.clone(),
                id: v["id"].as_str().unwrap().to_string(),
                filled: decimal(&v["filled_quantity"]),
            });
        }
    }
    acked
}

fn check_money(s: &Server) {
    let totals = s.get("/api/v1/operator/totals", Some(OPERATOR_KEY));
    assert_eq!(totals.status, 200, "{totals:?}");
    for t in totals.body["items"].as_array().unwrap() {
        let parts = decimal(&t["available"])
            + decimal(&t["held"])
            + decimal(&t["escrowed"])
            + decimal(&t["platform"]);
        let whole = decimal(&t["deposited_net"]);
        assert!((parts - whole).abs() < 1e-6, "money not conserved: {t}");
        for part in ["available", "held", "escrowed", "platform"] {
            assert!(decimal(&t[part]) >= 0.0, "negative {part}: {t}");
        }
    }
}

/// The agent's ledger, paged through, adds up to its wallet: no entry is
/// missing or doubled after a crash.
fn check_ledger(s: &Server, key: &str) {
    let (mut available, mut held) = (0.0, 0.0);
    let mut cursor = String::new();
    loop {
        let page = s.get(
            &format!("/api/v1/wallet/ledger?limit=500{cursor}"),
            Some(key),
        );
        assert_eq!(page.status, 200, "{page:?}");
        for e in page.body["items"].as_array().unwrap() {
            let amount = decimal(&e["amount"]);
            for (side, sign) in [("from", -1.0), ("to", 1.0)] {
                match e[side].as_str() {
                    Some("available") => available += sign * amount,
                    Some("held") => held += sign * amount,
                    _ => {}
                }
            }
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let (a, h) = s.credits(key);
    let (a, h) = (a.parse::<f64>().unwrap(), h.parse::<f64>().unwrap());
    assert!(
        (available - a).abs() < 1e-6 && (held - h).abs() < 1e-6,
        "ledger {available}/{held} vs wallet {a}/{h}"
    );
}

/// One [`client`] thread per key, client `i` seeded with `seed ^ i`.
fn spawn_clients(
    s: &Server,
    keys: &[String],
    seed: u64,
    limit: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<Acked>>> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let (base, key, stop) = (s.base.clone(), key.clone(), stop.clone());
            std::thread::spawn(move || client(base, key, seed ^ i as u64, limit, stop))
        })
        .collect()
}

/// After a restart (`when`): every acknowledged order is there, at least
/// as far along as acknowledged; money is conserved; every agent's ledger
/// explains its wallet.
fn check_recovered(s: &Server, acked: &[Acked], keys: &[String], when: &str) {
    for a in acked {
        let got = s.get(&format!("/api/v1/orderbook/orders/{}", a.id), Some(&a.key));
        assert_eq!(
            got.status, 200,
            "{when}: acknowledged order {} lost: {got:?}",
            a.id
        );
        assert!(
            decimal(&got.body["filled_quantity"]) >= a.filled,
            "{when}: order {} went back: {got:?}",
            a.id
        );
    }
    check_money(s);
    for key in keys {
        check_ledger(s, key);
    }
}

#[test]
fn acknowledged_orders_survive_kill_9() {
    let cycles: usize = std::env::var("AGORA_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("AGORA_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test: {cycles} cycles, AGORA_CRASH_SEED={seed}");
    let mut rng = SmallRng::seed_from_u64(seed);
    // Small snapshot intervals, so restarts also start from snapshots.
    let mut s = Server::start(&["--signup-credits", "100000", "--snapshot-every", "300"]);
    let keys: Vec<String> = (0..4)
        .map(|i| s.register(&format!("crash-{i}")).1)
        .collect();
    for cycle in 0..cycles {
        let stop = Arc::new(AtomicBool::new(false));
        // Few enough orders that every one of the cycle is still kept for
        // lookup once finished.
        let clients = spawn_clients(&s, &keys, seed ^ (cycle * 16) as u64, 200, &stop);
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
        s.kill();
        stop.store(true, Ordering::Relaxed);
        let acked: Vec<Acked> = clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        s.relaunch();
        check_recovered(&s, &acked, &keys, &format!("cycle {cycle}"));
        eprintln!(
            "cycle {cycle}: {} acknowledged replies checked",
            acked.len()
        );
    }
    s.stop();
}

#[test]
fn a_journal_that_cannot_write_stops_the_server_and_loses_nothing_acknowledged() {
    // No file may grow past 256 KiB, so the journal's log soon cannot grow
    // (its writes fail as on a full disk) while clients keep ordering. The
    // server must stop by itself, exit non-zero saying the journal failed,
    // and not panic; restarted without the limit, it has every order it
    // acknowledged, and money is conserved. (256 KiB of log holds fewer
    // records than the 4,096 finished orders kept for lookup, so every
    // acknowledged order can still be looked up.)
    let flags = [
        "--signup-credits",
        "100000",
        "--rate-limit",
        "1000000",
        "--rate-burst",
        "1000000",
    ];
    let mut s = Server::start_limited(&flags, &[(libc::RLIMIT_FSIZE, 256 << 10)]);
    let keys: Vec<String> = (0..4).map(|i| s.register(&format!("full-{i}")).1).collect();
    let stop = Arc::new(AtomicBool::new(false));
    // Each client orders until the server goes away.
    let clients = spawn_clients(&s, &keys, 0, usize::MAX, &stop);
    let status = s.wait_exit(Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    let status = status.expect("the server stopped by itself");
    let acked: Vec<Acked> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let logs = s.logs();
    assert!(!status.success(), "exit status {status}");
    assert!(logs.contains("the journal failed at record"), "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(
        acked.len() > 100,
        "only {} orders acknowledged",
        acked.len()
    );
    s.lift_limits();
    s.relaunch();
    check_recovered(&s, &acked, &keys, "after the journal failed");
    s.stop();
}
