//! Starts the real `agora` binary on a loopback port with a temporary
//! data directory, and talks HTTP to it.

#![allow(dead_code)]

mod contract;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use contract::Contract;

/// A resource `setrlimit` limits (`libc::RLIMIT_*`).
pub type Resource = libc::__rlimit_resource_t;

/// The operator key every test server is started with.
pub const OPERATOR_KEY: &str = "test-operator-key";

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    extra: Vec<String>,
    /// Resource limits (`RLIMIT_*`, both soft and hard) the server runs
    /// under.
    limits: Vec<(Resource, u64)>,
    /// What the server has logged so far.
    logs: Arc<Mutex<String>>,
    /// The server's `/openapi.json`, read on the first request.
    contract: OnceLock<Contract>,
}

/// An HTTP answer: status, headers we care about, JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Server {
    /// Starts a server with a fresh data directory and `args`.
    pub fn start(args: &[&str]) -> Server {
        Server::start_limited(args, &[])
    }

    /// Like [`Server::start`], under resource `limits` (each soft and hard,
    /// `SIGXFSZ` ignored): with `RLIMIT_FSIZE`, a write past the limit
    /// fails as on a full disk.
    pub fn start_limited(args: &[&str], limits: &[(Resource, u64)]) -> Server {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let mut s = Server {
            child: None,
            base: String::new(),
            dir,
            _temp: Some(temp),
            extra: args.iter().map(|a| a.to_string()).collect(),
            limits: limits.to_vec(),
            logs: Arc::default(),
            contract: OnceLock::new(),
        };
        s.launch();
        s
    }

    /// Lets later launches run without resource limits.
    pub fn lift_limits(&mut self) {
        self.limits.clear();
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Waits (at most `timeout`) for the server to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Some(status) = child.try_wait().expect("the server's status") {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The running server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn launch(&mut self) {
        if let Err(stderr) = self.try_launch(&[]) {
            panic!("the server did not start: {stderr}");
        }
    }

    /// Starts the server on the same data directory with `more` flags;
    /// if it exits instead of listening, returns what it printed.
    pub fn try_launch(&mut self, more: &[&str]) -> Result<(), String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agora"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["--operator-key", OPERATOR_KEY])
            .args(&self.extra)
            .args(more)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !self.limits.is_empty() {
            let limits = self.limits.clone();
            // SAFETY: runs in the child between fork and exec, and calls
            // only async-signal-safe functions (setrlimit, signal).
            unsafe {
                command.pre_exec(move || {
                    for &(resource, value) in &limits {
                        let limit = libc::rlimit {
                            rlim_cur: value,
                            rlim_max: value,
                        };
                        if libc::setrlimit(resource, &limit) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("the agora binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the server's output");
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
            return Err(stderr);
        };
        // Keep draining its logs so the server never blocks on a full pipe.
        let stderr = child.stderr.take().expect("stderr piped");
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[agora] {line}");
                let mut logs = logs.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        self.base = address.to_string();
        self.child = Some(child);
        Ok(())
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        self.stop_with(libc::SIGTERM);
    }

    /// Stops the server with `signal` (SIGTERM, SIGINT, SIGHUP), sent
    /// straight from this process, and checks that it stopped cleanly.
    pub fn stop_with(&mut self, signal: libc::c_int) {
        if let Some(mut child) = self.child.take() {
            let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
            // SAFETY: kill has no memory-safety preconditions; the pid is
            // our own child, not yet waited for, so it cannot be reused.
            unsafe { libc::kill(pid, signal) };
            let status = child.wait().expect("the server exits");
            assert!(
                status.success(),
                "graceful stop on signal {signal} failed: {status}"
            );
        }
    }

    /// Kills the server with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Starts it again after a kill.
    pub fn relaunch(&mut self) {
        self.launch();
    }

    /// Sends a request; `key` goes in `X-API-Key`.
    pub fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Answer {
        self.call_with(method, path, key, body, &[])
    }

    /// Sends a request with extra headers, and checks the answer (and the
    /// body, when the server accepted it) against `/openapi.json`.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let answer = self.exchange(method, path, key, body, headers);
        let contract = self.contract.get_or_init(|| {
            let document = self.exchange("GET", "/openapi.json", None, None, &[]);
            assert_eq!(document.status, 200, "{document:?}");
            Contract::new(&document.body)
        });
        contract.check(method, path, body, answer.status, &answer.body);
        answer
    }

    /// Sends a request.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        let mut request = agent.request(method, &format!("{}{}", self.base, path));
        if let Some(k) = key {
            request = request.set("X-API-Key", k);
        }
        for (n, v) in headers {
            request = request.set(n, v);
        }
        let result = match body {
            Some(b) => request
                .set("Content-Type", "application/json")
                .send_string(b),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
            .collect();
        let text = response.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            body,
            headers,
        }
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> Answer {
        self.call("GET", path, key, None)
    }

    pub fn post(&self, path: &str, key: Option<&str>, body: &str) -> Answer {
        self.call("POST", path, key, Some(body))
    }

    /// Registers an agent; returns `(id, key)`.
    pub fn register(&self, name: &str) -> (String, String) {
        let a = self.post(
            "/api/v1/agents/register",
            None,
            &format!(r#"{{"name":"{name}"}}"#),
        );
        assert_eq!(a.status, 201, "{a:?}");
        (
            a.body["agent"]["id"].as_str().unwrap().to_string(),
            a.body["api_key"].as_str().unwrap().to_string(),
        )
    }

    /// Credits `amount` CREDITS to agent `id` as the operator.
    pub fn deposit(&self, id: &str, amount: &str) {
        let a = self.post(
            "/api/v1/operator/deposits",
            Some(OPERATOR_KEY),
            &format!(r#"{{"agent_id":"{id}","currency":"CREDITS","amount":"{amount}"}}"#),
        );
        assert_eq!(a.status, 201, "{a:?}");
    }

    /// `(available, held)` CREDITS of the agent with `key`.
    pub fn credits(&self, key: &str) -> (String, String) {
        let a = self.get("/api/v1/wallet/balance", Some(key));
        let b = a.body["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["currency"] == "CREDITS")
            .cloned()
            .unwrap_or_default();
        (
            b["available"].as_str().unwrap_or("0.00").to_string(),
            b["held"].as_str().unwrap_or("0.00").to_string(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
