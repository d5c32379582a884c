//! `--replay rediss://…`: two guards share a real `redis-server` that speaks only TLS and requires a
//! client certificate (certificates made by `openssl` for the test). Without the client certificate,
//! or with a CA that did not sign the server's, the guard does not serve: it fails closed at start.

use std::process::Command;

use twilio_webhook_http_suite as suite;

mod support;
use support::redis::{Redis, Scratch};
use support::{Echo, Guard, TOKEN};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in a directory of their own.
struct Pki(Scratch);

impl Pki {
    fn make(name: &str) -> Pki {
        let scratch = Scratch::new(name);
        let dir = scratch.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &key,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=test CA",
                ],
            ]
            .concat(),
        );
        for (who, ext) in [
            ("server", "subjectAltName=IP:127.0.0.1"),
            ("client", "extendedKeyUsage=clientAuth"),
        ] {
            std::fs::write(dir.join(format!("{who}.ext")), ext).expect("ext");
            openssl(
                &[
                    &["req"][..],
                    &key,
                    &[
                        "-keyout",
                        &format!("{who}.key"),
                        "-out",
                        &format!("{who}.csr"),
                        "-subj",
                        &format!("/CN={who}"),
                    ],
                ]
                .concat(),
            );
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{who}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
            ]);
        }
        Pki(scratch)
    }

    fn file(&self, name: &str) -> String {
        self.0.file(name)
    }
}

/// `redis-server` on a free port, TLS only, client certificates required.
struct TlsRedis {
    port: u16,
    _server: Redis,
}

impl TlsRedis {
    fn start(pki: &Pki) -> TlsRedis {
        let port = suite::free_port();
        let (port_arg, cert, key, ca) = (
            port.to_string(),
            pki.file("server.pem"),
            pki.file("server.key"),
            pki.file("ca.pem"),
        );
        let server = Redis::start(
            pki.0.path(),
            &[
                "--port",
                "0",
                "--tls-port",
                &port_arg,
                "--bind",
                "127.0.0.1",
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
                "--tls-ca-cert-file",
                &ca,
                "--tls-auth-clients",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
        suite::wait_for(port);
        TlsRedis {
            port,
            _server: server,
        }
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }
}

fn request() -> suite::RawRequest {
    support::signed_public("/sms", b"Body=over+tls")
}

/// The guard's exit status and stderr when it is expected to stop at start.
fn fails_to_start(upstream: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .args([
            "guard",
            "--listen",
            &format!("127.0.0.1:{}", suite::free_port()),
            "--upstream",
            upstream,
        ])
        .args(args)
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env_remove("TWILIO_REPLAY")
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn replays_are_refused_across_two_guards_through_redis_over_mutual_tls() {
    let pki = Pki::make("redis-tls");
    let redis = TlsRedis::start(&pki);
    let echo = Echo::start();
    let url = redis.url();
    let (ca, cert, key) = (
        pki.file("ca.pem"),
        pki.file("client.pem"),
        pki.file("client.key"),
    );
    let tls = [
        "--replay",
        url.as_str(),
        "--redis-ca",
        &ca,
        "--redis-client-cert",
        &cert,
        "--redis-client-key",
        &key,
        "--public-url",
        "https://hooks.example.com",
    ];
    let a = Guard::start(&echo.url(), &tls);
    let b = Guard::start(&echo.url(), &tls);
    assert_eq!(suite::send(a.port, &request()).expect("a").status, 200);
    let replay = suite::send(b.port, &request()).expect("b");
    assert_eq!(
        (replay.status, replay.text().contains("replayed")),
        (409, true)
    );
    assert_eq!(echo.hits(), 1);

    // Without the client certificate the server refuses the guard, which stops at start.
    let (code, stderr) = fails_to_start(&echo.url(), &["--replay", &url, "--redis-ca", &ca]);
    assert_eq!(code, Some(2), "{stderr}");
    // With another CA, the guard refuses the server.
    let other = Pki::make("redis-tls-other");
    let (code, stderr) = fails_to_start(
        &echo.url(),
        &[
            "--replay",
            &url,
            "--redis-ca",
            &other.file("ca.pem"),
            "--redis-client-cert",
            &cert,
            "--redis-client-key",
            &key,
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        !stderr.contains("BEGIN"),
        "no key material in errors: {stderr}"
    );
}

#[test]
fn tls_settings_are_checked_before_anything_connects() {
    let (code, stderr) = fails_to_start(
        "http://127.0.0.1:9",
        &[
            "--replay",
            "redis://127.0.0.1:6379",
            "--redis-ca",
            "/nonexistent",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("need --replay rediss://"), "{stderr}");
    let (code, stderr) = fails_to_start(
        "http://127.0.0.1:9",
        &[
            "--replay",
            "rediss://127.0.0.1:6379",
            "--redis-ca",
            "/nonexistent/ca.pem",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--redis-ca: cannot read /nonexistent/ca.pem"),
        "{stderr}"
    );
    let (code, stderr) = fails_to_start(
        "http://127.0.0.1:9",
        &[
            "--replay",
            "rediss://127.0.0.1:6379",
            "--redis-client-cert",
            "/etc/hostname",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("go together"), "{stderr}");
}

#[test]
fn a_ca_file_that_is_not_pem_is_reported_as_such_not_as_an_unknown_issuer() {
    let pki = Pki::make("redis-tls-der");
    let redis = TlsRedis::start(&pki);
    // The right CA, saved as DER: a common mistake.
    let der = pki.file("ca.der");
    let out = Command::new("openssl")
        .args([
            "x509",
            "-in",
            &pki.file("ca.pem"),
            "-outform",
            "der",
            "-out",
            &der,
        ])
        .output()
        .expect("openssl runs");
    assert!(out.status.success());
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    for ca in [der.as_str(), "/etc/hostname"] {
        let (code, stderr) = fails_to_start(
            "http://127.0.0.1:9",
            &[
                "--replay",
                &redis.url(),
                "--redis-ca",
                ca,
                "--redis-client-cert",
                &cert,
                "--redis-client-key",
                &key,
            ],
        );
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("CA file")
                && stderr.contains("PEM")
                && !stderr.contains("UnknownIssuer"),
            "{stderr}"
        );
    }
}
