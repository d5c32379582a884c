use super::*;
use crate::http::WebhookVerifier;
use crate::public_url::PublicUrl;
use crate::{Algorithm, Rejection, Signer};
use std::sync::atomic::{AtomicUsize, Ordering};

const AC1: &str = "AC00000000000000000000000000000001";
const AC2: &str = "AC00000000000000000000000000000002";
const URL: &str = "https://example.com/sms";

fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("these lookups never wait"),
    }
}

/// A form request claiming `account`, signed with `token`.
fn request(account: &str, token: &str) -> (http::request::Parts, Vec<u8>) {
    let body = format!("AccountSid={account}&From=%2B1555&Body=hi");
    let signature = Signer::new(token, Algorithm::HmacSha1)
        .unwrap()
        .sign_form_body(URL, body.as_bytes())
        .unwrap();
    let parts = http::Request::post("/sms")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(())
        .unwrap()
        .into_parts()
        .0;
    (parts, body.into_bytes())
}

fn verifier(accounts: impl AccountSecrets + 'static) -> WebhookVerifier {
    WebhookVerifier::new(RequestValidator::new("master-token"))
        .public_url(PublicUrl::base("https://example.com").unwrap())
        .accounts(accounts)
}

fn outcome(v: &WebhookVerifier, account: &str, token: &str) -> Result<String, String> {
    let (parts, body) = request(account, token);
    let incoming = crate::Incoming::from_parts(&parts);
    ready(v.verify_async(&incoming, &body))
        .map(|ok| ok.verified().secret().name().to_string())
        .map_err(|e| e.body_text())
}

#[test]
fn each_subaccount_validates_with_its_own_token_and_no_other() {
    let accounts = StaticAccounts::new()
        .account(AC1, ["token-1"])
        .and_then(|a| a.account(AC2, ["token-2", "token-2-old"]))
        .unwrap();
    let v = verifier(accounts);
    assert_eq!(outcome(&v, AC1, "token-1"), Ok(AC1.to_string()));
    assert_eq!(outcome(&v, AC2, "token-2-old"), Ok(format!("{AC2}#2")));
    // Claiming another account does not help: its token is the one checked.
    assert!(
        outcome(&v, AC2, "token-1")
            .unwrap_err()
            .contains("signature_mismatch")
    );
    // An account the resolver does not know: the verifier's own validator.
    assert_eq!(
        outcome(&v, "AC99", "master-token"),
        Ok("primary".to_string())
    );
    assert!(outcome(&v, "AC99", "token-1").is_err());
    // Without a resolver, the claim plays no part.
    let plain = WebhookVerifier::new(RequestValidator::new("master-token"))
        .public_url(PublicUrl::base("https://example.com").unwrap());
    assert!(outcome(&plain, AC1, "token-1").is_err());
    assert_eq!(
        StaticAccounts::new().account(AC1, [""]).err(),
        Some(ConfigError::EmptySecret(AC1.to_string()))
    );
}

#[test]
fn cached_accounts_load_once_per_ttl_known_or_not_and_never_keep_failures() {
    let loads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&loads);
    let cached = CachedAccounts::new(move |sid: String| {
        counter.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match sid.as_str() {
                AC1 => Ok(Some(vec!["token-1".to_string()])),
                "ACdown" => Err(LookupError("database unavailable".into())),
                _ => Ok(None),
            }
        })
    })
    .ttl(Duration::from_secs(60))
    .max_entries(2);
    let v = verifier(cached);
    assert_eq!(outcome(&v, AC1, "token-1"), Ok(AC1.to_string()));
    assert_eq!(outcome(&v, AC1, "token-1"), Ok(AC1.to_string()));
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "the second request used the cache"
    );
    assert_eq!(
        outcome(&v, "ACnobody", "master-token"),
        Ok("primary".to_string())
    );
    assert_eq!(
        outcome(&v, "ACnobody", "master-token"),
        Ok("primary".to_string())
    );
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "an unknown account is kept too"
    );
    // A lookup failure is 503, every time: it is not kept.
    let down = outcome(&v, "ACdown", "token-1").unwrap_err();
    assert!(down.contains("account_lookup_failed"), "{down}");
    assert!(outcome(&v, "ACdown", "token-1").is_err());
    assert_eq!(loads.load(Ordering::SeqCst), 4);
    // A third account evicts the oldest of the two kept.
    assert!(outcome(&v, "ACthird", "master-token").is_ok());
    assert_eq!(outcome(&v, AC1, "token-1"), Ok(AC1.to_string()));
    assert_eq!(
        loads.load(Ordering::SeqCst),
        6,
        "AC1 was evicted and loaded again"
    );
}

#[test]
fn a_json_body_names_its_account_through_the_callers_reader() {
    let accounts = StaticAccounts::new().account(AC1, ["token-1"]).unwrap();
    let v = verifier(accounts).json_account_sid(|body| {
        let text = std::str::from_utf8(body).ok()?;
        let start = text.find("\"account_sid\":\"")? + 15;
        Some(text.get(start..)?.split('"').next()?.to_string())
    });
    let body = format!(r#"{{"account_sid":"{AC1}","event":"x"}}"#);
    let signed = Signer::new("token-1", Algorithm::HmacSha1)
        .unwrap()
        .sign_body(URL, body.as_bytes())
        .unwrap();
    let target = signed.url.strip_prefix("https://example.com").unwrap();
    let parts = http::Request::post(target)
        .header("content-type", "application/json")
        .header("x-twilio-signature", &signed.signature)
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let incoming = crate::Incoming::from_parts(&parts);
    let ok = ready(v.verify_async(&incoming, body.as_bytes())).unwrap();
    assert_eq!(ok.verified().secret().name(), AC1);
    let tampered = body.replace("\"x\"", "\"y\"");
    let e = ready(v.verify_async(&incoming, tampered.as_bytes())).unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::BodyHashMismatch));
}
