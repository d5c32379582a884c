//! The servers under test: an example binary started with the contract's environment, or any server
//! a test starts itself, each on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

/// Sends `request` as it is on a new connection to `port` (closing the sending side after it when
/// `half_close`), and returns all the server answered until it closed, or 10 s passed.
pub fn exchange(port: u16, request: &[u8], half_close: bool) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    stream.write_all(request).expect("write");
    if half_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
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
            start.elapsed() < Duration::from_secs(60),
            "{name}: no server on port {port} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A started example, stopped with everything it started: an example is often a launcher (`npm run`,
/// a script that runs workerd), so it runs in a process group of its own, and the whole group is
/// stopped (`SIGTERM`, then `SIGKILL` after a second).
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let signal = |name: &str| {
            let _ = Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal("-KILL");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An example server: the command that starts it (a Rust example binary, or `python …/flask_app.py`).
#[derive(Debug, Clone)]
pub struct Example {
    /// A name for failure messages.
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    /// Whether the server knows the peer address of a connection (a Cloudflare Worker does not, so it
    /// trusts no proxy: the trusted-proxy configuration is not run against it).
    pub peer: bool,
}

impl Example {
    /// The workspace's example binary `name` (`axum`, `actix`).
    pub fn binary(name: &str) -> Example {
        Example {
            name: name.to_string(),
            program: example_binary(name),
            args: Vec::new(),
            peer: true,
        }
    }

    /// Any command: `program` and its arguments (`python3 python/examples/flask_app.py`).
    pub fn command(name: &str, program: impl Into<PathBuf>, args: &[String]) -> Example {
        Example {
            name: name.to_string(),
            program: program.into(),
            args: args.to_vec(),
            peer: true,
        }
    }

    /// The same server, known to have no peer address (it ignores `TWILIO_TRUSTED_PROXIES`).
    #[must_use]
    pub fn without_peer(mut self) -> Example {
        self.peer = false;
        self
    }

    fn command_with(&self, env: &[(&str, String)]) -> Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&self.program);
        cmd.process_group(0);
        cmd.args(&self.args)
            .env_remove("TWILIO_PUBLIC_URL")
            .env_remove("TWILIO_TRUSTED_PROXIES")
            .env_remove("TWILIO_REPLAY")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// Starts it with the contract's environment (`PORT`, `TWILIO_AUTH_TOKEN`, `TWILIO_PUBLIC_URL`,
    /// `TWILIO_TRUSTED_PROXIES`, and `extra`), its standard error to `log` if given, and waits until it
    /// listens.
    pub fn spawn(&self, config: &Config, extra: &[(&str, String)], log: Option<&Path>) -> Server {
        let port = free_port();
        let mut env = vec![
            ("PORT", port.to_string()),
            ("TWILIO_AUTH_TOKEN", TOKEN.to_string()),
        ];
        env.extend(
            config
                .public_url
                .map(|v| ("TWILIO_PUBLIC_URL", v.to_string())),
        );
        env.extend(
            config
                .trusted_proxies
                .map(|v| ("TWILIO_TRUSTED_PROXIES", v.to_string())),
        );
        env.extend(extra.iter().cloned());
        let mut cmd = self.command_with(&env);
        if let Some(log) = log {
            cmd.stderr(std::fs::File::create(log).expect("log file"));
        }
        let mut child = cmd.spawn().expect("example starts");
        wait_for_child(port, &mut child, &self.name);
        Server::new(port, Box::new(Kill(child)))
    }

    /// Runs it to its end with `env` (for the start-up refusals): exit code and standard error. One that
    /// is still running after 60 s (it started instead of refusing) is killed: no exit code.
    fn run(&self, env: &[(&str, String)]) -> (Option<i32>, String) {
        let mut cmd = self.command_with(env);
        cmd.env_remove("TWILIO_AUTH_TOKEN")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("example runs");
        let mut stderr = child.stderr.take().expect("piped stderr");
        // Read on a thread of its own: a grandchild (`npm run` starts one) may hold the pipe open.
        let (sent, text) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
            let _ = sent.send(text);
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let code = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let text = text
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (code, String::from_utf8_lossy(&text).into_owned())
    }
}

/// Starts an example binary with the contract's environment (`PORT`, `TWILIO_AUTH_TOKEN`,
/// `TWILIO_PUBLIC_URL`, `TWILIO_TRUSTED_PROXIES`) and waits until it listens.
pub fn spawn_example(name: &str, config: &Config) -> Server {
    spawn_example_with(name, config, &[])
}

/// [`spawn_example`] with more environment variables (`TWILIO_REPLAY`).
pub fn spawn_example_with(name: &str, config: &Config, extra: &[(&str, String)]) -> Server {
    Example::binary(name).spawn(config, extra, None)
}

/// The example server `name` keeps its contract (see [`command_contract`]).
pub fn example_contract(name: &str) -> usize {
    command_contract(&Example::binary(name))
}

/// An example server keeps its contract: every case of the suite under every configuration; no start
/// without `TWILIO_AUTH_TOKEN` or with a bad `PORT` (exit code 2, a message naming what is wrong); and,
/// behind a tunnel with no configuration, its own log says at the first refused webhook what Twilio
/// signed and the setting to change, while the response stays the terse reason. Returns the number of
/// cases run.
pub fn command_contract(example: &Example) -> usize {
    let name = &example.name;
    let (code, stderr) = example.run(&[("PORT", free_port().to_string())]);
    assert_eq!(code, Some(2), "{name} without a token: {stderr}");
    assert!(stderr.contains("TWILIO_AUTH_TOKEN"), "{name}: {stderr}");
    let (code, stderr) = example.run(&[
        ("TWILIO_AUTH_TOKEN", TOKEN.to_string()),
        ("PORT", "not-a-port".to_string()),
    ]);
    assert_eq!(code, Some(2), "{name} with PORT=not-a-port: {stderr}");
    // A setting's value is never shown: a public URL may carry `user:password@`. (Every binding says
    // what is wrong in the core's words, "invalid public base URL".)
    let (code, stderr) = example.run(&[
        ("TWILIO_AUTH_TOKEN", TOKEN.to_string()),
        ("PORT", free_port().to_string()),
        (
            "TWILIO_PUBLIC_URL",
            "https://user:pw-s3cret-4711@hooks.example.com".to_string(),
        ),
    ]);
    assert_eq!(
        code,
        Some(2),
        "{name} with a password in TWILIO_PUBLIC_URL: {stderr}"
    );
    assert!(
        stderr.contains("public base URL") && !stderr.contains("pw-s3cret-4711"),
        "{name} shows TWILIO_PUBLIC_URL's value: {stderr}"
    );
    crate::tunnel_contract(example);
    crate::run_configs(&format!("{name} example"), example.peer, |config| {
        example.spawn(config, &[], None)
    })
}
