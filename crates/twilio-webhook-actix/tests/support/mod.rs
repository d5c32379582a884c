//! What the tests share: a real actix-web server on a loopback port (stopped when dropped).

/// Stops a server started by `serve_app!` when dropped.
pub struct Stop(
    pub actix_web::dev::ServerHandle,
    pub Option<std::thread::JoinHandle<()>>,
);

impl Drop for Stop {
    fn drop(&mut self) {
        let handle = self.0.clone();
        let _ =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(true)))
                .join();
        if let Some(thread) = self.1.take() {
            let _ = thread.join();
        }
    }
}

/// Serves the app that `$factory` (an `actix_web::HttpServer::new` factory) builds, on a free loopback port, in
/// its own actix system; the returned server stops it when dropped. A macro: the factory's type has
/// bounds that name actix-http types this crate does not depend on.
#[allow(unused_macros)]
macro_rules! serve_app {
    ($factory:expr) => {{
        let port = twilio_webhook_http_suite::free_port();
        let factory = $factory;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(factory)
                    .workers(1)
                    .bind(("127.0.0.1", port))
                    .expect("bind")
                    .run();
                tx.send(server.handle()).expect("handle");
                server.await.expect("serve");
            });
        });
        let handle = rx.recv().expect("server started");
        twilio_webhook_http_suite::wait_for(port);
        twilio_webhook_http_suite::Server::new(
            port,
            Box::new($crate::support::Stop(handle, Some(thread))),
        )
    }};
}
