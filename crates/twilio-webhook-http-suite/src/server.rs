//! The servers under test: an example binary started with the contract's environment, or any server
//! a test starts itself, each on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twilio_webhook::WebhookVerifier;

/// The Auth Token every server of the suite is configured with.
pub const TOKEN: &str = "suite-auth-token-7f3a";

/// One server configuration: the three values of the example servers' environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// A name for failure messages.
    pub name: &'static str,
    /// `TWILIO_PUBLIC_URL`.
    pub public_url: Option<&'static str>,
    /// `TWILIO_TRUSTED_PROXIES`.
    pub trusted_proxies: Option<&'static str>,
}

impl Config {
    /// The verifier a server with this configuration uses (what `WebhookVerifier::from_env` builds).
    pub fn verifier(&self) -> WebhookVerifier {
        WebhookVerifier::from_vars(Some(TOKEN), self.public_url, self.trusted_proxies)
            .unwrap_or_else(|e| panic!("suite configuration {}: {e}", self.name))
    }
}

/// A running server; dropping it stops the server.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    _stop: Box<dyn std::any::Any + Send>,
}

impl Server {
    /// A server on `port` that `stop` stops when dropped.
    pub fn new(port: u16, stop: Box<dyn std::any::Any + Send>) -> Self {
        Server { port, _stop: stop }
    }
}

/// A free port on 127.0.0.1 (bound then released: the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until something accepts connections on `port`.
pub fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no server on port {port} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The path of an example binary of the workspace (`cargo test` builds examples beside the tests).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --examples` (cargo test builds it)",
        path.display()
    );
    path
}

/// Waits until the child listens on `port`, failing early (with its exit status) if it exits.
fn wait_for_child(port: u16, child: &mut Child, name: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("example {name} exited before listening: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{name}: no server on port {port} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts an example binary with the contract's environment (`PORT`, `TWILIO_AUTH_TOKEN`,
/// `TWILIO_PUBLIC_URL`, `TWILIO_TRUSTED_PROXIES`) and waits until it listens.
pub fn spawn_example(name: &str, config: &Config) -> Server {
    spawn_example_with(name, config, &[])
}

/// [`spawn_example`] with more environment variables (`TWILIO_REPLAY`).
pub fn spawn_example_with(name: &str, config: &Config, extra: &[(&str, String)]) -> Server {
    let port = free_port();
    let mut cmd = Command::new(example_binary(name));
    cmd.env("PORT", port.to_string())
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env_remove("TWILIO_PUBLIC_URL")
        .env_remove("TWILIO_TRUSTED_PROXIES")
        .env_remove("TWILIO_REPLAY")
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(v) = config.public_url {
        cmd.env("TWILIO_PUBLIC_URL", v);
    }
    if let Some(v) = config.trusted_proxies {
        cmd.env("TWILIO_TRUSTED_PROXIES", v);
    }
    let mut child = cmd.spawn().expect("example starts");
    wait_for_child(port, &mut child, name);
    Server::new(port, Box::new(Kill(child)))
}

/// The example server `name` keeps its contract: every case of the suite, and no start without
/// `TWILIO_AUTH_TOKEN` or with a bad `PORT`. Returns the number of cases run.
pub fn example_contract(name: &str) -> usize {
    assert_refuses_without_token(name);
    let out = Command::new(example_binary(name))
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env("PORT", "not-a-port")
        .output()
        .expect("example runs");
    assert_eq!(out.status.code(), Some(2), "{name} with PORT=not-a-port");
    crate::run(&format!("{name} example"), |config| {
        spawn_example(name, config)
    })
}

/// The example refuses to start without `TWILIO_AUTH_TOKEN`: exit code 2 and a message naming it.
fn assert_refuses_without_token(name: &str) {
    let out = Command::new(example_binary(name))
        .env_remove("TWILIO_AUTH_TOKEN")
        .env("PORT", free_port().to_string())
        .output()
        .expect("example runs");
    assert_eq!(out.status.code(), Some(2), "{name} without a token");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TWILIO_AUTH_TOKEN"), "{name}: {stderr}");
}
