//! `--replay redis-cluster://…`: two guards share a real 3-master Redis Cluster (three `redis-server`
//! processes on loopback, joined by `redis-cli --cluster create`), each given different seed nodes. Keys
//! land on every master, and a request replayed to the other guard is refused wherever its key lives.

use std::process::Command;

use twilio_webhook_http_suite as suite;

mod support;
use support::redis::{Redis, Scratch, redis_cli, until};
use support::{Echo, Guard};

/// Three masters, each a `redis-server` in a scratch directory, joined into one cluster.
struct Cluster {
    ports: Vec<u16>,
    // Stopped before their directory is removed (fields drop in this order).
    _nodes: Vec<Redis>,
    _dir: Scratch,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = Scratch::new("cluster");
        let ports: Vec<u16> = (0..3).map(|_| suite::free_port()).collect();
        let nodes = ports
            .iter()
            .map(|port| {
                let (port, config) = (port.to_string(), format!("nodes-{port}.conf"));
                let args = [
                    "--port",
                    port.as_str(),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                ];
                let rest = [
                    "--cluster-config-file",
                    config.as_str(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ];
                Redis::start(dir.path(), &[&args[..], &rest].concat())
            })
            .collect();
        for &port in &ports {
            suite::wait_for(port);
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        until("the cluster comes up", 20, || {
            ports
                .iter()
                .all(|&p| redis_cli(p, &["cluster", "info"]).contains("cluster_state:ok"))
        });
        Cluster {
            ports,
            _nodes: nodes,
            _dir: dir,
        }
    }

    fn url(&self, ports: &[u16]) -> String {
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis-cluster://{}", nodes.join(","))
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
        .map(|&p| redis_cli(p, &["dbsize"]).trim().parse().expect("dbsize"))
        .collect();
    assert_eq!(per_node.iter().sum::<usize>(), N, "{per_node:?}");
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() >= 2,
        "{per_node:?}"
    );
}
