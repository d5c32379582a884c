//! What the tests share: a real axum server on a loopback port (stopped when dropped).

use std::net::SocketAddr;

/// Stops a server started by [`serve`] when dropped.
pub struct Stop(
    Option<tokio::sync::oneshot::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.1.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `app` on a free loopback port, with the peer's address, until the returned server is dropped.
pub fn serve(app: axum::Router) -> twilio_webhook_http_suite::Server {
    let port = twilio_webhook_http_suite::free_port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind");
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
    });
    twilio_webhook_http_suite::wait_for(port);
    twilio_webhook_http_suite::Server::new(port, Box::new(Stop(Some(tx), Some(thread))))
}
