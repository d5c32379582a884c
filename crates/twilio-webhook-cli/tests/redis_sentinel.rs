//! `--replay redis-sentinel://…/mymaster`: two guards share a master with two replicas, watched by a
//! real Redis Sentinel (four `redis-server` processes on loopback). The master is killed mid-run:
//! while no master answers, requests are refused with `503` (fail closed); once Sentinel has promoted
//! the replica, the guards find it, no recorded key is lost, and a replay sent to the other guard is
//! still refused.

use twilio_webhook_http_suite as suite;

mod support;
use support::redis::{Redis, Scratch, redis_cli as cli, until};
use support::{Echo, Guard};

fn request(n: usize) -> suite::RawRequest {
    support::signed_public("/sms", format!("Body=failover+{n}").as_bytes())
}

#[test]
fn a_failover_fails_closed_then_loses_no_key() {
    let scratch = Scratch::new("sentinel");
    let dir = scratch.path();
    let (master_port, sentinel_port) = (suite::free_port(), suite::free_port());
    let common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    let mut master = Redis::start(
        dir,
        &[&["--port", &master_port.to_string()][..], &common].concat(),
    );
    // Two replicas: after the failover one is the master, and the other replicates from it (a key
    // counts once a replica holds it).
    let replica_ports = [suite::free_port(), suite::free_port()];
    let _replicas: Vec<Redis> = replica_ports
        .iter()
        .map(|port| {
            let (port, master) = (port.to_string(), master_port.to_string());
            let own = [
                "--port",
                port.as_str(),
                "--replicaof",
                "127.0.0.1",
                master.as_str(),
            ];
            Redis::start(dir, &[&own[..], &common].concat())
        })
        .collect();
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sentinel_port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds mymaster 500\nsentinel failover-timeout mymaster 3000\n"
        ),
    )
    .expect("sentinel.conf");
    let _sentinel = Redis::start(dir, &[conf.to_str().expect("path"), "--sentinel"]);
    suite::wait_for(sentinel_port);
    for port in replica_ports {
        until("the replicas are in sync", 20, || {
            cli(port, &["info", "replication"]).contains("master_link_status:up")
        });
        until("Sentinel knows the replicas", 20, || {
            cli(sentinel_port, &["sentinel", "replicas", "mymaster"]).contains(&port.to_string())
        });
    }

    let echo = Echo::start();
    let url = format!("redis-sentinel://127.0.0.1:{sentinel_port}/mymaster");
    let args = [
        "--replay",
        url.as_str(),
        "--public-url",
        "https://hooks.example.com",
    ];
    let a = Guard::start(&echo.url(), &args);
    let b = Guard::start(&echo.url(), &args);
    let status = |port: u16, n: usize| suite::send(port, &request(n)).expect("answer").status;
    assert_eq!(status(a.port, 1), 200);
    assert_eq!(status(b.port, 1), 409, "a replay to the other guard");

    master.kill();
    // No master answers: refused, never let through unchecked.
    assert_eq!(
        status(a.port, 2),
        503,
        "fail closed while no master answers"
    );
    // Sentinel promotes a replica; the guards find it.
    let mut n = 3;
    let mut statuses = Vec::new();
    until("a request is accepted after the failover", 30, || {
        n += 1;
        let s = status(a.port, n);
        statuses.push(s);
        assert!(
            s == 200 || s == 503,
            "only 200 or 503 during a failover: {statuses:?}"
        );
        s == 200
    });
    let promoted = cli(
        sentinel_port,
        &["sentinel", "get-master-addr-by-name", "mymaster"],
    );
    assert!(
        !promoted.contains(&master_port.to_string()),
        "a replica is the master now: {promoted}"
    );
    // The key recorded before the failover survived it, and so did the one just recorded. Guard b
    // has not spoken to Redis since the failover: its first command finds the old master gone (503,
    // still a refusal) and the next one the new master.
    for (n, what) in [
        (1, "the first request's key was not lost"),
        (n, "a replay after the failover"),
    ] {
        let mut seen = Vec::new();
        until(what, 10, || {
            let s = status(b.port, n);
            seen.push(s);
            assert!(
                s == 409 || s == 503,
                "{what}: a replay is never let through: {seen:?}"
            );
            s == 409
        });
    }
    assert_eq!(
        echo.hits(),
        statuses.iter().filter(|&&s| s == 200).count() + 1
    );
}
