//! The official SDKs, each in a worker process of its own, driven line by line (bench/peers/*).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

/// A running SDK worker.
pub struct Peer {
    pub name: String,
    pub version: String,
    /// Ids of the cases on which this SDK gives the `expected` verdict.
    pub ok_ids: Vec<String>,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `command` on the cases file and reads its verdicts.
    pub fn start(name: &str, mut command: Command, cases: &Path) -> Result<Self, String> {
        let mut child = command
            .arg(cases)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {name} worker: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut peer = Peer {
            name: name.to_string(),
            version: String::new(),
            ok_ids: Vec::new(),
            child,
            stdin,
            stdout,
        };
        let ready = peer.read()?;
        peer.version = ready["version"].as_str().unwrap_or("?").to_string();
        peer.ok_ids = ready["ok"]
            .as_array()
            .ok_or(format!("{name}: no verdicts"))?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        Ok(peer)
    }

    fn read(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| format!("{}: {e}", self.name))?;
        serde_json::from_str(&line).map_err(|e| format!("{}: bad reply {line:?}: {e}", self.name))
    }

    fn send(&mut self, command: &str) -> Result<Value, String> {
        writeln!(self.stdin, "{command}").map_err(|e| format!("{}: {e}", self.name))?;
        self.stdin
            .flush()
            .map_err(|e| format!("{}: {e}", self.name))?;
        self.read()
    }

    /// Restricts the worker to the ids listed (as a JSON array) in `ids_file`.
    pub fn select(&mut self, ids_file: &Path) -> Result<Value, String> {
        self.send(&format!("select {}", ids_file.display()))
    }

    /// Runs one timed round of `group` for at least `min_ms`; returns ns per validation.
    pub fn run(&mut self, group: &str, min_ms: u64) -> Result<f64, String> {
        let reply = self.send(&format!("run {group} {min_ms}"))?;
        reply["ns_per_op"]
            .as_f64()
            .ok_or(format!("{}: no timing in {reply}", self.name))
    }
}

impl Drop for Peer {
    /// Asks the worker to quit and closes its stdin; a worker still running after two seconds is killed,
    /// so the benchmark always exits.
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        for _ in 0..40 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
