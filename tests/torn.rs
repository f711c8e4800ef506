//! Torn and damaged journal files: a torn last write (which was never
//! acknowledged) is dropped and every acknowledged order is there; damage
//! inside the log stops start-up with an error naming it, and `--repair`
//! is the explicit way past it; a damaged snapshot table file either
//! loses nothing or stops start-up naming the file; a data directory in
//! use by another server, or not a directory, stops start-up naming it.

mod support;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use support::Server;

/// The journal's newest RocksDB log file.
fn newest_log(data: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a RocksDB log file")
}

/// Places `n` orders; returns their ids.
fn place(s: &Server, key: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let body = format!(
                r#"{{"asset":"TORN","side":"buy","quantity":"1","price":"{}"}}"#,
                1 + i % 7
            );
            let a = s.post("/api/v1/orderbook/orders", Some(key), &body);
            assert_eq!(a.status, 201, "{a:?}");
            a.body["order"]["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_torn_last_write_loses_nothing_acknowledged() {
    let mut s = Server::start(&["--signup-credits", "1000"]);
    let (_, key) = s.register("torn");
    let ids = place(&s, &key, 50);
    s.kill();
    // Half a record's worth of garbage after the last acknowledged write.
    let log = newest_log(s.data_dir());
    let mut file = OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(&[0x5a; 37]).unwrap();
    drop(file);
    s.relaunch();
    for id in &ids {
        let got = s.get(&format!("/api/v1/orderbook/orders/{id}"), Some(&key));
        assert_eq!(got.status, 200, "acknowledged order {id} lost: {got:?}");
    }
    assert_eq!(
        place(&s, &key, 1).len(),
        1,
        "and the journal takes new writes"
    );
}

#[test]
fn damage_inside_the_log_refuses_to_start_until_repaired() {
    let mut s = Server::start(&["--signup-credits", "1000"]);
    let (_, key) = s.register("damaged");
    place(&s, &key, 200);
    s.kill();
    let log = newest_log(s.data_dir());
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&log, &bytes).unwrap();
    let refused = s
        .try_launch(&[])
        .expect_err("a damaged journal must not start silently");
    assert!(
        refused.to_lowercase().contains("corrupt"),
        "the error names the damage: {refused}"
    );
    s.try_launch(&["--repair"]).expect("--repair starts");
    // What precedes the damage is there: the agent registered first.
    assert_eq!(s.get("/api/v1/agents/me", Some(&key)).status, 200);
}

#[test]
fn a_damaged_snapshot_file_recovers_everything_or_refuses_clearly() {
    let mut s = Server::start(&["--signup-credits", "1000", "--snapshot-every", "40"]);
    let (_, key) = s.register("snapshots");
    let ids = place(&s, &key, 150);
    // A clean stop takes a last snapshot and flushes every column family
    // into its table files.
    s.stop();
    let tables: Vec<PathBuf> = std::fs::read_dir(s.data_dir().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sst"))
        .collect();
    // The table of the snapshots column family names it in its properties.
    let snapshots = tables
        .iter()
        .find(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(9).any(|w| w == b"snapshots")
        })
        .expect("a table file holds the snapshots");
    let mut bytes = std::fs::read(snapshots).unwrap();
    for b in &mut bytes[64..256] {
        *b ^= 0xff;
    }
    std::fs::write(snapshots, &bytes).unwrap();
    match s.try_launch(&[]) {
        Ok(()) => {
            for id in &ids {
                let got = s.get(&format!("/api/v1/orderbook/orders/{id}"), Some(&key));
                assert_eq!(got.status, 200, "acknowledged order {id} lost: {got:?}");
            }
        }
        Err(refused) => {
            let name = snapshots.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                refused.to_lowercase().contains("corrupt") && refused.contains(&name),
                "the error names the damaged file: {refused}"
            );
        }
    }
}

#[test]
fn a_data_directory_in_use_or_unusable_refuses_to_start_saying_why() {
    // A second server on a running server's data directory, and a data
    // directory that is a file, each stop start-up with an error naming the
    // directory, and the running server is unharmed.
    let s = Server::start(&[]);
    let start = |dir: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .output()
            .expect("the agora binary runs")
    };
    let second = start(s.data_dir());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(
        said.contains("is in use by another agora process"),
        "{said}"
    );
    assert!(said.contains(&s.data_dir().display().to_string()), "{said}");
    let file = s.data_dir().join("not-a-directory");
    std::fs::write(&file, "a file").unwrap();
    let refused = start(&file);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("cannot create the data directory"), "{said}");
    assert_eq!(s.get("/health", None).status, 200);
}
