//! Replay protection (feature `http`): a signed request delivered twice inside a window is a replay.
//!
//! Twilio's signature has no timestamp or nonce, so a captured request validates forever. The guard
//! remembers every request it let through for a window (5 minutes by default, the order of Twilio's
//! retry horizon) and refuses a second delivery of the same signed request. The key is what is signed:
//! the verified signature and the name of the secret that matched, hashed; never an unsigned header
//! such as `I-Twilio-Idempotency-Token`, which an attacker can change.
//!
//! The trade-off: a replay after the window passes, and a genuine retry by Twilio of a request your
//! server already accepted inside the window is refused (`409`; Twilio treats it as a failed delivery,
//! which is what an accepted-then-retried request needs anyway). A longer window catches more replays and
//! holds more keys.
//!
//! A key is recorded when the request is verified, before the app runs, so that two deliveries racing
//! to two instances are accepted once. When the delivery then fails (the app or upstream answers `502`,
//! `503` or `504`: see `WebhookVerifier::delivered`), the key is released, so Twilio's retry of it is
//! delivered instead of refused. A store command that timed out is undone when it runs late (the
//! Redis store), so a time-out never burns a key either.
//!
//! In answer mode ([`Duplicates::Answer`]) the mark of a request in flight is a **lease**, shorter
//! than Twilio's 15 s webhook time-out (10 s at most, see [`ReplayGuard::lease`]): the key holds it
//! until the delivery ends, and then, for the rest of the window, the answer. A delivery that never
//! ends (its process crashed or was killed half-way) lets its lease lapse, and the next duplicate
//! (Twilio's retry) takes the lease and is delivered, instead of waiting and being refused for the
//! whole window. A delivery that is still running renews its lease
//! ([`Delivery::renewing`](crate::Delivery::renewing)) until it ends, however long the app takes: a
//! duplicate then waits for its answer instead of being delivered a second time.

use core::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

/// A boxed, sendable future: what [`ReplayStore`] methods return, so stores can be used as trait
/// objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The default window: 5 minutes.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The key of a verified request: SHA-256 of the secret's name and the signature, first 16 bytes.
///
/// The method is not part of it: a URL-only signature (any method but `POST`) is the same for a `GET`
/// and a `HEAD` of one URL, and most frameworks run the `GET` handler for a `HEAD`, so a key per
/// method would deliver a captured request once per method. A signed request is delivered once,
/// whatever its method; in answer mode a kept answer is given only to a duplicate with the method of
/// the request it answered ([`StoredAnswer::answers`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey([u8; 16]);

impl ReplayKey {
    /// The key for a request verified by the secret named `secret` with `signature`.
    pub fn new(secret: &str, signature: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(secret.as_bytes())
            .chain_update([0u8])
            .chain_update(signature.as_bytes())
            .finalize();
        let mut key = [0u8; 16];
        key.iter_mut().zip(digest.iter()).for_each(|(k, d)| *k = *d);
        ReplayKey(key)
    }

    /// The 32 lowercase hex digits of the key.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({})", self.to_hex())
    }
}

/// What a store says about a key it was asked to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not seen inside the window: now recorded.
    First,
    /// Already recorded inside the window.
    Replay,
}

/// The mark of one delivery in flight (answer mode): a value no other delivery's mark holds, which a
/// store records with the key ([`ReplayStore::check_and_lease`]) and checks before it renews the
/// lease ([`ReplayStore::renew`]), so that a delivery only ever extends its own lease. It is 32 or
/// more lowercase hex digits (never starting with a zero byte, which starts a kept answer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken(String);

impl LeaseToken {
    /// A token no other delivery of this process or another one holds.
    pub fn unique() -> Self {
        LeaseToken(unique_token())
    }

    /// The token's text, as a store records it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value no other call of this process or another one uses: the process's random hasher seed, its
/// id and a counter, in hex.
pub(crate) fn unique_token() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = SEED.get_or_init(Default::default).build_hasher();
    hasher.write_u32(std::process::id());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    hasher.write_u64(n);
    format!("{:016x}{:08x}{n:x}", hasher.finish(), std::process::id())
}

/// A store that could not answer (a Redis outage, a timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replay store unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Where the guard records keys. `check_and_mark` must be **one atomic operation**: two concurrent
/// calls with the same key must never both answer [`Seen::First`].
pub trait ReplayStore: Send + Sync + fmt::Debug {
    /// Records `key` for `window` unless it is already recorded, and says which. A call that fails
    /// (a time-out) must leave the key unrecorded, or undo it once it is known to have been recorded:
    /// a failed call is answered `503`, and Twilio's retry must then not be refused as a replay.
    fn check_and_mark<'a>(
        &'a self,
        key: &'a ReplayKey,
        window: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>>;

    /// Forgets `key`, which [`check_and_mark`](Self::check_and_mark) recorded for a request whose
    /// delivery then failed, so that a retry of it is accepted.
    fn release<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Answer mode ([`Duplicates::Answer`]): records `key` with `value` (its delivered request's
    /// answer) for `window` from now, whatever it held: the lease of its delivery ends here, and a
    /// lease that lapsed during a slow delivery is recorded again, so a later replay is still caught.
    /// A store that cannot keep values answers an error (the default), and its guard refuses
    /// duplicates instead.
    fn keep<'a>(
        &'a self,
        key: &'a ReplayKey,
        value: Vec<u8>,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = (key, value, window);
        Box::pin(async { Err(StoreError("this store cannot keep answers".to_string())) })
    }

    /// Whether [`keep`](Self::keep) and [`value`](Self::value) work (`false` by default). Only a
    /// store that keeps answers gets leases in answer mode: in any other, a mark lasts its window,
    /// since no kept answer would ever end a lease.
    fn keeps_answers(&self) -> bool {
        false
    }

    /// Answer mode: what `key` holds, `None` when it is not recorded (expired or released).
    fn value<'a>(
        &'a self,
        key: &'a ReplayKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let _ = key;
        Box::pin(async { Err(StoreError("this store cannot keep answers".to_string())) })
    }

    /// Answer mode: [`check_and_mark`](Self::check_and_mark) for a delivery that holds a `lease`,
    /// marking `key` in flight by `token` (one atomic operation, as `check_and_mark` is). A store
    /// that renews leases records `token`, so that [`renew`](Self::renew) extends this delivery's
    /// lease and no other's. The default ignores `token` and calls `check_and_mark`; a store that
    /// records it overrides [`renews_leases`](Self::renews_leases) too.
    fn check_and_lease<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        let _ = token;
        self.check_and_mark(key, lease)
    }

    /// Whether [`check_and_lease`](Self::check_and_lease) records its token and
    /// [`renew`](Self::renew) works (`false` by default). A store that keeps answers but cannot renew
    /// gets no leases: a request in flight there is marked for the whole window (fail closed: a slow
    /// delivery is never delivered twice, and a delivery whose process died has its duplicates
    /// refused until the window ends), and the guard says so once in its log.
    fn renews_leases(&self) -> bool {
        false
    }

    /// Answer mode: extends the lease of `key` to `lease` from now, **only** if `key` is still marked
    /// in flight by `token` (one atomic operation): not if it holds an answer or the "not kept" mark,
    /// is absent (released, or its lease lapsed), or was taken by another delivery. Answers whether it
    /// did. A call that fails (a time-out) and runs later extends nothing but that same lease. The
    /// default answers an error.
    fn renew<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let _ = (key, token, lease);
        Box::pin(async { Err(StoreError("this store cannot renew leases".to_string())) })
    }
}

/// What the guard does when its store cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnStoreError {
    /// Refuse the request (`503`): the default. A replay is never let through unchecked.
    #[default]
    FailClosed,
    /// Let the verified request through **without** replay protection, logging an error each time.
    /// Only for deployments where availability outranks replay protection, and chosen by name.
    AllowUncheckedDuringOutage,
}

/// Refuses a second delivery of the same verified request inside a window (or, in answer mode,
/// answers it with the first delivery's response).
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    store: Arc<dyn ReplayStore>,
    window: Duration,
    on_error: OnStoreError,
    duplicates: Duplicates,
    /// Answer mode: the lease set with [`ReplayGuard::lease`]; `None`: derived from the wait.
    lease: Option<Duration>,
}

/// Why the guard did not let a request through.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayRefusal {
    /// The request was already accepted inside the window.
    Replayed,
    /// The store could not answer and the policy is to fail closed.
    StoreUnavailable,
    /// Answer mode: the request was already delivered with the same method, and this was its answer.
    Answered(Arc<StoredAnswer>),
}

impl ReplayGuard {
    /// A guard over `store` with a 5-minute window that fails closed.
    pub fn new(store: impl ReplayStore + 'static) -> Self {
        ReplayGuard::shared(Arc::new(store))
    }

    /// A guard over a store shared with other guards (or kept to read its counters).
    pub fn shared(store: Arc<dyn ReplayStore>) -> Self {
        ReplayGuard {
            store,
            window: DEFAULT_REPLAY_WINDOW,
            on_error: OnStoreError::FailClosed,
            duplicates: Duplicates::Reject,
            lease: None,
        }
    }

    /// The longest lease of a request in flight in answer mode: 10 s, under Twilio's 15 s webhook
    /// time-out, so that Twilio's retry of a delivery whose process died finds the lease lapsed.
    pub const MAX_LEASE: Duration = Duration::from_secs(10);

    /// Answer mode: sets how long a request in flight holds its key before a duplicate may take it
    /// over and be delivered (at most [`MAX_LEASE`](Self::MAX_LEASE); by default the duplicates'
    /// `wait`, capped at it): how long after its process died a delivery's duplicates are delivered.
    /// A delivery still running renews its lease every third of it
    /// ([`Delivery::renewing`](crate::Delivery::renewing)), so a slow app is not delivered twice.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The lease of a request in flight: in answer mode over a store that keeps answers and renews
    /// leases, the one set (or the duplicates' `wait`), at most [`MAX_LEASE`](Self::MAX_LEASE);
    /// otherwise `None` (a key is recorded for its whole window at once).
    pub fn in_flight_lease(&self) -> Option<Duration> {
        match self.duplicates {
            Duplicates::Answer { wait, .. }
                if self.store.keeps_answers() && self.store.renews_leases() =>
            {
                Some(self.lease.unwrap_or(wait).min(Self::MAX_LEASE))
            }
            _ => None,
        }
    }

    /// Records `key` as [`check`](Self::check) first does: in answer mode, as in flight by a token of
    /// its own for its lease (the token is returned, for its renewals); else for the window.
    async fn mark(&self, key: &ReplayKey) -> Result<(Seen, Option<LeaseToken>), StoreError> {
        let Some(lease) = self.in_flight_lease() else {
            if matches!(self.duplicates, Duplicates::Answer { .. })
                && self.store.keeps_answers()
                && !NO_RENEWAL_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(target: "twilio_webhook", "answer mode: this replay store keeps answers but cannot renew leases, so a request in flight is marked for the whole window: a duplicate of a delivery whose process died is refused until the window ends (a store that renews leases lets it through after the lease)");
            }
            return Ok((self.store.check_and_mark(key, self.window).await?, None));
        };
        let token = LeaseToken::unique();
        let seen = self.store.check_and_lease(key, &token, lease).await?;
        Ok((seen, (seen == Seen::First).then_some(token)))
    }

    /// Renews the lease `token` holds on `key` every third of the lease, pausing with `sleep`, until
    /// the future is dropped or the lease is found lost. A renewal the store does not confirm is
    /// logged once (the delivery is unprotected past its lease until a renewal succeeds again); a
    /// lease found lost (it lapsed while the store could not be reached, or the store dropped it) is
    /// logged and ends the renewals.
    pub(crate) async fn keep_leased<S, Z>(&self, key: &ReplayKey, token: &LeaseToken, mut sleep: S)
    where
        S: FnMut(Duration) -> Z,
        Z: std::future::Future<Output = ()>,
    {
        let Some(lease) = self.in_flight_lease() else {
            return;
        };
        let every = (lease / 3).max(Duration::from_millis(10));
        let mut failing = false;
        loop {
            sleep(every).await;
            match self.store.renew(key, token, lease).await {
                Ok(true) => {
                    if failing {
                        tracing::info!(target: "twilio_webhook", key = %key.to_hex(), "the lease of a delivery in flight is renewed again");
                    }
                    failing = false;
                }
                Ok(false) => {
                    tracing::error!(target: "twilio_webhook", key = %key.to_hex(), "the lease of a delivery still in flight was lost (it lapsed while the store could not renew it, or the store dropped it): a duplicate of this request may be delivered a second time");
                    return;
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(target: "twilio_webhook", key = %key.to_hex(), error = %e, "the lease of a delivery in flight could not be renewed: unless a later renewal succeeds, once it lapses a duplicate of this request is delivered a second time");
                    }
                    failing = true;
                }
            }
        }
    }

    /// Sets how a duplicate is treated: refused (the default) or answered with the first answer.
    #[must_use]
    pub fn duplicates(mut self, mode: Duplicates) -> Self {
        self.duplicates = mode;
        self
    }

    /// How duplicates are treated.
    pub fn duplicates_mode(&self) -> Duplicates {
        self.duplicates
    }

    /// Answer mode: whether a response with this status and body length, to a request with
    /// `method`, is kept for duplicates. A failed delivery is not: it releases its key; nor a body of
    /// unknown length or over the limit; nor an answer to `HEAD` (it has no body to give a duplicate,
    /// and a fresh one says the length of a body it does not have) or an interim one (`1xx`).
    pub fn keeps_answer(
        &self,
        method: &http::Method,
        status: u16,
        body_length: Option<u64>,
    ) -> bool {
        match self.duplicates {
            Duplicates::Answer { max_body, .. } => {
                keepable(method, status)
                    && body_length.is_some_and(|n| n <= u64::try_from(max_body).unwrap_or(u64::MAX))
            }
            Duplicates::Reject => false,
        }
    }

    /// Tells the guard how the delivery of `key`'s request, sent with `method`, ended: a failed one
    /// (`502`, `503`, `504`) releases the key; in answer mode, any other keeps `answer` (or, without
    /// one, or one [`keeps_answer`](Self::keeps_answer) refuses, the mark that its answer was not
    /// kept) for the key's duplicates, bound to `method`: only a duplicate with that method gets it.
    pub async fn delivered(
        &self,
        key: &ReplayKey,
        method: &http::Method,
        status: u16,
        answer: Option<&StoredAnswer>,
    ) {
        if delivery_failed(status) {
            return self.release(key).await;
        }
        if let Duplicates::Answer { .. } = self.duplicates {
            let kept = answer.filter(|a| a.status() == status && keepable(method, status));
            let value = Entry::value_for(kept.map(|a| (method, a)));
            if let Err(e) = self.store.keep(key, value, self.window).await {
                tracing::error!(target: "twilio_webhook", error = %e, "the answer could not be kept (unless the store runs the command late): once the delivery's lease lapses, a duplicate of this request is delivered again");
            }
        }
    }

    /// Sets the window.
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Sets what happens when the store cannot answer.
    #[must_use]
    pub fn on_store_error(mut self, policy: OnStoreError) -> Self {
        self.on_error = policy;
        self
    }

    /// The configured window.
    pub fn replay_window(&self) -> Duration {
        self.window
    }

    /// Releases `key` after the delivery of its request failed, so that a retry of it passes. A
    /// release the store does not confirm is logged: unless it ran anyway (a command that timed out
    /// may run once the store is back), the key stays and a retry is refused as a replay.
    pub async fn release(&self, key: &ReplayKey) {
        match self.store.release(key).await {
            Ok(()) => {
                tracing::info!(target: "twilio_webhook", key = %key.to_hex(), "delivery failed: replay key released for a retry");
            }
            Err(e) => {
                tracing::error!(target: "twilio_webhook", error = %e, "delivery failed, and the release of its replay key was not confirmed: unless the store ran it anyway, a retry is refused until the key expires");
            }
        }
    }

    /// Records `key`, the key of a request sent with `method`, or says why the request must not reach
    /// the app: refused, or, in answer mode, answered (only with an answer to a request with the same
    /// method: a duplicate with another is refused).
    pub async fn check(&self, key: &ReplayKey, method: &http::Method) -> Result<(), ReplayRefusal> {
        self.check_leased(key, method).await.map(drop)
    }

    /// [`check`](Self::check), with the token of the lease the request now holds in answer mode
    /// (`None` in reject mode, over a store without leases, or when let through unchecked).
    pub(crate) async fn check_leased(
        &self,
        key: &ReplayKey,
        method: &http::Method,
    ) -> Result<Option<LeaseToken>, ReplayRefusal> {
        match self.mark(key).await {
            Ok((Seen::First, token)) => Ok(token),
            Ok((Seen::Replay, _)) => match self.duplicates {
                Duplicates::Reject => Err(ReplayRefusal::Replayed),
                Duplicates::Answer { wait, .. } => self.duplicate(key, method, wait).await,
            },
            Err(e) => match self.on_error {
                OnStoreError::FailClosed => {
                    tracing::error!(target: "twilio_webhook", error = %e, "replay store unavailable: refusing the request");
                    Err(ReplayRefusal::StoreUnavailable)
                }
                OnStoreError::AllowUncheckedDuringOutage => {
                    tracing::error!(target: "twilio_webhook", error = %e, "replay store unavailable: request let through WITHOUT replay protection");
                    Ok(None)
                }
            },
        }
    }
}

/// Whether the guard already said that its store cannot renew leases (once a process).
static NO_RENEWAL_LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a delivery that ended with `status` failed: the app or upstream was down (`502`), said it
/// could not take the request (`503`), or was too slow (`504`).
pub(crate) fn delivery_failed(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// Whether an answer with `status` to a request with `method` may be kept for duplicates: a final
/// answer (not `1xx`) of a delivery that did not fail, to any method but `HEAD`.
fn keepable(method: &http::Method, status: u16) -> bool {
    *method != http::Method::HEAD && status >= 200 && !delivery_failed(status)
}

impl ReplayGuard {
    /// The guard `value` asks for, as the examples read `TWILIO_REPLAY`: unset, empty or `off`: none;
    /// `memory`: a [`MemoryStore`]; `redis://HOST:PORT` (or `rediss://`): a `RedisStore` (feature
    /// `redis`), connected now. Anything else is an error, never a silent "off".
    ///
    /// Schemes are read in any case (`Redis://`). No error holds the value, which may hold a
    /// password: an error names the setting and what is wrong with it.
    pub async fn from_setting(value: Option<&str>) -> Result<Option<Self>, String> {
        let value = value.map(str::trim).unwrap_or_default();
        if value.is_empty() || value.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        if value.eq_ignore_ascii_case("memory") {
            return Ok(Some(ReplayGuard::new(MemoryStore::new())));
        }
        let url = scheme_lowercased(value);
        if REDIS_SCHEMES.iter().any(|scheme| {
            url.strip_prefix(scheme)
                .is_some_and(|r| r.starts_with("://"))
        }) {
            return Self::redis(&url).await.map(Some);
        }
        let what = if url.contains("://") {
            "its scheme is none of these"
        } else {
            "it is neither a word of these nor a URL"
        };
        Err(format!(
            "TWILIO_REPLAY must be off, memory, redis://HOST:PORT (rediss:// for TLS), \
             redis-cluster://HOST:PORT,… (rediss-cluster://) or redis-sentinel://HOST:PORT,…/SERVICE: \
             {what} (the value is not shown: it may hold a password)"
        ))
    }
}

/// The URL schemes of a Redis store, as [`ReplayGuard::from_setting`] and `RedisStore::connect`
/// read them.
pub(crate) const REDIS_SCHEMES: [&str; 5] = [
    "redis",
    "rediss",
    "redis-cluster",
    "rediss-cluster",
    "redis-sentinel",
];

/// `url` with its scheme (what comes before `://`) in lower case, as RFC 3986 compares schemes.
pub(crate) fn scheme_lowercased(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => url.to_string(),
    }
}

impl ReplayGuard {
    #[cfg(feature = "redis")]
    async fn redis(url: &str) -> Result<Self, String> {
        let store = RedisStore::connect(url).await.map_err(|e| e.to_string())?;
        Ok(ReplayGuard::new(store))
    }

    #[cfg(not(feature = "redis"))]
    async fn redis(_url: &str) -> Result<Self, String> {
        Err("TWILIO_REPLAY=redis://… needs twilio-webhook's `redis` feature".to_string())
    }
}

mod answer;
mod memory;
mod timer;
pub use answer::{Duplicates, Entry, StoredAnswer};
pub use memory::MemoryStore;
#[cfg(test)]
pub(crate) use timer::sleep_for;

#[cfg(feature = "redis")]
mod redis_link;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
pub use redis_store::{RedisStore, RedisTls};

#[cfg(test)]
pub(crate) mod tests;
