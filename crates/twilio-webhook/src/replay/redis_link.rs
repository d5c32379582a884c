//! The connection of the Redis store: one server through a `ConnectionManager` (which reconnects), over
//! TLS when asked (feature `redis-tls`), or a Redis Cluster through the client's own cluster connection
//! (which follows slots and redirections). Both answer commands as one `ConnectionLike`.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// A connection to one Redis, or to a cluster.
#[derive(Clone)]
pub(super) enum Link {
    One(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Link {
    /// Connects to `url` (see `RedisStore::connect`), with `tls` when it holds anything.
    pub(super) async fn connect(url: &str, tls: &RedisTls, timeout: Duration) -> RedisResult<Link> {
        #[cfg(feature = "redis-tls")]
        install_crypto_provider();
        if let Some(nodes) = cluster_nodes(url) {
            let mut builder = redis::cluster::ClusterClient::builder(nodes?)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(1);
            if !tls.is_empty() {
                builder = with_certificates(builder, tls)?;
            }
            let client = builder.build()?;
            return Ok(Link::Cluster(client.get_async_connection().await?));
        }
        let client = if tls.is_empty() {
            redis::Client::open(url)?
        } else {
            tls_client(url, tls)?
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        Ok(Link::One(
            client.get_connection_manager_with_config(config).await?,
        ))
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::One(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::One(c) => c.req_packed_commands(cmd, offset, count),
            Link::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::One(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
        }
    }
}

fn invalid(message: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, message))
}

/// The node URLs of `redis-cluster://[user:password@]host:port,host:port` (`rediss-cluster://` for
/// TLS), each as `redis://[user:password@]host:port`; `None` for any other URL.
fn cluster_nodes(url: &str) -> Option<RedisResult<Vec<String>>> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("redis-cluster://") {
        ("redis", rest)
    } else {
        ("rediss", url.strip_prefix("rediss-cluster://")?)
    };
    let (userinfo, hosts) = match rest.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), rest),
    };
    let hosts = hosts.trim_end_matches('/');
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|host| format!("{scheme}://{userinfo}{host}"))
        .collect();
    Some(if nodes.is_empty() {
        Err(invalid("a cluster URL names at least one node"))
    } else {
        Ok(nodes)
    })
}

/// TLS material for a `rediss://` store, in PEM: the CA to trust instead of the system's roots, and a
/// client certificate with its key for mutual TLS. Never printed (`Debug` shows which parts are set).
#[derive(Clone, Default)]
pub struct RedisTls {
    ca_pem: Option<Vec<u8>>,
    client: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca", &self.ca_pem.is_some())
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

impl RedisTls {
    /// Trusts the CA certificate(s) in `pem` instead of the system's roots.
    #[must_use]
    pub fn ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// Presents the client certificate `cert_pem`, with its private key `key_pem` (mutual TLS).
    #[must_use]
    pub fn client_pem(mut self, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        self.client = Some((cert_pem, key_pem));
        self
    }

    fn is_empty(&self) -> bool {
        self.ca_pem.is_none() && self.client.is_none()
    }
}

#[cfg(feature = "redis-tls")]
// rustls deprecates ring's provider for lacking post-quantum key exchange; aws-lc-rs, which has it,
// needs a C toolchain with CMake to build. ring's classical TLS 1.2/1.3 is sound for a Redis link.
#[allow(deprecated)]
fn install_crypto_provider() {
    // One process-wide provider: ring. Already installed (by us or the application) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(feature = "redis-tls")]
fn tls_client(url: &str, tls: &RedisTls) -> RedisResult<redis::Client> {
    if !url.starts_with("rediss://") {
        return Err(invalid("a CA or client certificate needs a rediss:// URL"));
    }
    redis::Client::build_with_tls(url, certificates(tls)?)
}

#[cfg(feature = "redis-tls")]
fn certificates(tls: &RedisTls) -> RedisResult<redis::TlsCertificates> {
    Ok(redis::TlsCertificates {
        client_tls: tls
            .client
            .clone()
            .map(|(client_cert, client_key)| redis::ClientTlsConfig {
                client_cert,
                client_key,
            }),
        root_cert: tls.ca_pem.clone(),
    })
}

#[cfg(not(feature = "redis-tls"))]
fn tls_client(_url: &str, _tls: &RedisTls) -> RedisResult<redis::Client> {
    Err(invalid(
        "TLS settings need twilio-webhook's `redis-tls` feature",
    ))
}

#[cfg(feature = "redis-tls")]
fn with_certificates(
    builder: redis::cluster::ClusterClientBuilder,
    tls: &RedisTls,
) -> RedisResult<redis::cluster::ClusterClientBuilder> {
    Ok(builder.certs(certificates(tls)?))
}

#[cfg(not(feature = "redis-tls"))]
fn with_certificates(
    _builder: redis::cluster::ClusterClientBuilder,
    _tls: &RedisTls,
) -> RedisResult<redis::cluster::ClusterClientBuilder> {
    Err(invalid(
        "TLS settings need twilio-webhook's `redis-tls` feature",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_urls_name_their_nodes() {
        let nodes = |url| super::cluster_nodes(url).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(
            nodes("redis-cluster://10.0.0.1:7000, 10.0.0.2:7001/"),
            Some(Ok(vec![
                "redis://10.0.0.1:7000".to_string(),
                "redis://10.0.0.2:7001".to_string()
            ]))
        );
        assert_eq!(
            nodes("rediss-cluster://u:p@h1:6380,h2:6380"),
            Some(Ok(vec![
                "rediss://u:p@h1:6380".to_string(),
                "rediss://u:p@h2:6380".to_string()
            ]))
        );
        assert!(matches!(nodes("redis-cluster://"), Some(Err(_))));
        assert_eq!(nodes("redis://h:6379"), None);
    }
}
