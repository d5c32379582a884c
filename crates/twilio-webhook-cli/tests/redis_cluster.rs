//! `--replay redis-cluster://…`: two guards share a real 3-master Redis Cluster (three `redis-server`
//! processes on loopback, joined by `redis-cli --cluster create`), each given different seed nodes. Keys
//! land on every master, and a request replayed to the other guard is refused wherever its key lives.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, Guard};

struct Cluster {
    ports: Vec<u16>,
    children: Vec<Child>,
    dir: std::path::PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let dir =
            std::env::temp_dir().join(format!("twilio-webhook-cluster-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ports: Vec<u16> = (0..3).map(|_| suite::free_port()).collect();
        let children = ports
            .iter()
            .map(|port| {
                Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args([
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &format!("nodes-{port}.conf"),
                    ])
                    .args(["--save", "", "--appendonly", "no"])
                    .current_dir(&dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server runs (apt-get install redis-server; .ci/run does)")
            })
            .collect();
        for &port in &ports {
            suite::wait_for(port);
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster {
            ports,
            children,
            dir,
        };
        let start = Instant::now();
        while !cluster.ports.iter().all(|&p| {
            cluster
                .cli(p, &["cluster", "info"])
                .contains("cluster_state:ok")
        }) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the cluster did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn url(&self, ports: &[u16]) -> String {
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis-cluster://{}", nodes.join(","))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn request(n: usize) -> suite::RawRequest {
    support::signed_public("/sms", format!("Body=message+{n}").as_bytes())
}

#[test]
fn replays_are_refused_across_two_guards_sharing_a_redis_cluster() {
    let cluster = Cluster::start();
    let echo = Echo::start();
    let (first, third) = (
        cluster.url(&cluster.ports[..2]),
        cluster.url(&cluster.ports[2..]),
    );
    let a = Guard::start(
        &echo.url(),
        &[
            "--replay",
            &first,
            "--public-url",
            "https://hooks.example.com",
        ],
    );
    let b = Guard::start(
        &echo.url(),
        &[
            "--replay",
            &third,
            "--public-url",
            "https://hooks.example.com",
        ],
    );
    const N: usize = 24;
    for n in 0..N {
        assert_eq!(
            suite::send(a.port, &request(n)).expect("a").status,
            200,
            "request {n}"
        );
    }
    for n in 0..N {
        let replay = suite::send(b.port, &request(n)).expect("b");
        assert_eq!(
            (replay.status, replay.text().contains("replayed")),
            (409, true),
            "replay {n}"
        );
    }
    assert_eq!(echo.hits(), N);
    // The keys are spread over the masters: redirections were followed, not avoided.
    let per_node: Vec<usize> = cluster
        .ports
        .iter()
        .map(|&p| cluster.cli(p, &["dbsize"]).trim().parse().expect("dbsize"))
        .collect();
    assert_eq!(per_node.iter().sum::<usize>(), N, "{per_node:?}");
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() >= 2,
        "{per_node:?}"
    );
}
