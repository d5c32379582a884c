//! The connection of the Redis store: one server through a `ConnectionManager` (which reconnects), over
//! TLS when asked (feature `redis-tls`); a Redis Cluster through the client's own cluster connection
//! (which follows slots and redirections); or the master that Redis Sentinel names, found again after
//! a failover. All answer commands as one `ConnectionLike`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// A connection to one Redis, to a cluster, or to a Sentinel-managed master.
#[derive(Clone)]
pub(super) enum Link {
    One(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelLink),
}

/// The master Sentinel names: a connection to it while it answers, and, after a connection error,
/// a new one to whichever master Sentinel names then. A command that failed is not retried (a `SET`
/// may have run): the store reports it, and the guard fails closed.
#[derive(Clone)]
pub(super) struct SentinelLink {
    client: Arc<tokio::sync::Mutex<SentinelClient>>,
    current: Arc<Mutex<Option<MultiplexedConnection>>>,
    timeout: Duration,
}

impl SentinelLink {
    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(connection) = self.lock().clone() {
            return Ok(connection);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let found = tokio::time::timeout(self.timeout * 2, async {
            let client = self.client.lock().await.async_get_client().await?;
            client
                .get_multiplexed_async_connection_with_config(&config)
                .await
        })
        .await
        .map_err(|_| invalid("Sentinel named no master in time"))??;
        *self.lock() = Some(found.clone());
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the connection after an error that may mean the master changed.
    fn failed(&self, error: &redis::RedisError) {
        if error.is_io_error()
            || error.is_connection_dropped()
            || error.is_unrecoverable_error()
            || error.is_timeout()
            || error.code() == Some("READONLY")
        {
            *self.lock() = None;
        }
    }
}

impl Link {
    /// Connects to `url` (see `RedisStore::connect`), with `tls` when it holds anything.
    pub(super) async fn connect(url: &str, tls: &RedisTls, timeout: Duration) -> RedisResult<Link> {
        #[cfg(feature = "redis-tls")]
        install_crypto_provider();
        if let Some(sentinel) = sentinel_nodes(url) {
            let (nodes, service) = sentinel?;
            let client = SentinelClient::build(nodes, service, None, SentinelServerType::Master)?;
            let link = SentinelLink {
                client: Arc::new(tokio::sync::Mutex::new(client)),
                current: Arc::default(),
                timeout,
            };
            link.connection().await?;
            return Ok(Link::Sentinel(link));
        }
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

impl Link {
    /// Whether writes must reach a replica before they count (Sentinel: a failover must not lose a
    /// recorded key).
    pub(super) fn replicated(&self) -> bool {
        matches!(self, Link::Sentinel(_))
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::One(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
            Link::Sentinel(link) => Box::pin(async move {
                let mut connection = link.connection().await?;
                let answer = connection.req_packed_command(cmd).await;
                if let Err(e) = &answer {
                    link.failed(e);
                }
                answer
            }),
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
            Link::Sentinel(link) => Box::pin(async move {
                let mut connection = link.connection().await?;
                let answer = connection.req_packed_commands(cmd, offset, count).await;
                if let Err(e) = &answer {
                    link.failed(e);
                }
                answer
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::One(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
            Link::Sentinel(_) => 0,
        }
    }
}

fn invalid(message: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, message))
}

/// The Sentinel URLs and the service of `redis-sentinel://[user:password@]host:port,host:port/service`,
/// each Sentinel as `redis://host:port` (the password, if any, is the master's); `None` for any other URL.
fn sentinel_nodes(url: &str) -> Option<RedisResult<(Vec<String>, String)>> {
    let rest = url.strip_prefix("redis-sentinel://")?;
    let Some((hosts, service)) = rest.split_once('/') else {
        return Some(Err(invalid("a Sentinel URL ends with /<service name>")));
    };
    let hosts = hosts.rsplit_once('@').map_or(hosts, |(_, hosts)| hosts);
    let service = service.trim_end_matches('/');
    let nodes = node_urls(hosts, "redis://");
    Some(if nodes.is_empty() || service.is_empty() {
        Err(invalid(
            "a Sentinel URL names at least one Sentinel and a service",
        ))
    } else {
        Ok((nodes, service.to_string()))
    })
}

/// `start` followed by each of the comma-separated `hosts` (blanks skipped): the URL of each node.
fn node_urls(hosts: &str, start: &str) -> Vec<String> {
    hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|host| format!("{start}{host}"))
        .collect()
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
    let nodes = node_urls(
        hosts.trim_end_matches('/'),
        &format!("{scheme}://{userinfo}"),
    );
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
    if let Some(pem) = &tls.ca_pem {
        check_ca(pem)?;
    }
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

/// Refuses a CA that is not PEM certificates (at least one, each one parsable), which would
/// otherwise trust nothing and fail every handshake as an unknown issuer.
#[cfg(feature = "redis-tls")]
fn check_ca(pem: &[u8]) -> RedisResult<()> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("the Redis CA file is not valid PEM"))?;
    if certificates.is_empty() {
        return Err(invalid(
            "the Redis CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    let (_, unparsable) = roots.add_parsable_certificates(certificates);
    if unparsable > 0 {
        return Err(invalid(
            "the Redis CA file holds a PEM block that is not a valid certificate",
        ));
    }
    Ok(())
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

    #[test]
    fn sentinel_urls_name_their_sentinels_and_service() {
        let parse = |url| super::sentinel_nodes(url).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(
            parse("redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster"),
            Some(Ok((
                vec![
                    "redis://10.0.0.1:26379".to_string(),
                    "redis://10.0.0.2:26379".to_string()
                ],
                "mymaster".to_string()
            )))
        );
        assert!(matches!(parse("redis-sentinel://h:26379"), Some(Err(_))));
        assert!(matches!(parse("redis-sentinel://h:26379/"), Some(Err(_))));
        assert_eq!(parse("redis://h:6379/0"), None);
    }

    #[cfg(feature = "redis-tls")]
    #[test]
    fn a_ca_file_whose_certificate_block_does_not_parse_is_refused() {
        // Valid PEM and base64, but an empty DER sequence, not a certificate.
        let pem = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        let error = super::check_ca(pem).unwrap_err().to_string();
        assert!(error.contains("not a valid certificate"), "{error}");
        let error = super::check_ca(b"no PEM here\n").unwrap_err().to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
    }
}
