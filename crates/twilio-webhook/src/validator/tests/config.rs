//! Building a validator: bad configuration refused at startup without a secret's value, secrets
//! never in `Debug`, a validator cheap to share across threads.

use super::*;

#[test]
fn validator_is_cheap_to_share_across_threads() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<RequestValidator>();
    let v = RequestValidator::new("12345");
    let sig = sign("12345", Algorithm::HmacSha1, URL);
    let handle = std::thread::spawn({
        let v = v.clone();
        move || v.validate(URL, PARAMS, &sig)
    });
    assert!(handle.join().unwrap());
}

#[test]
fn debug_never_shows_a_secret() {
    let v = RequestValidator::builder()
        .auth_token("primary", "token-value-1")
        .shared_key(KS, "shared-value-2")
        .build()
        .unwrap();
    let debug = format!("{v:?}");
    assert!(debug.contains("primary") && debug.contains(KS) && debug.contains("REDACTED"));
    assert!(!debug.contains("token-value-1") && !debug.contains("shared-value-2"));
    let builder = format!(
        "{:?}",
        RequestValidator::builder().auth_token("a", "token-value-1")
    );
    assert!(!builder.contains("token-value-1"));
    assert!(builder.contains("RequestValidatorBuilder") && builder.contains("REDACTED"));
}

#[test]
fn builder_refuses_bad_configuration() {
    let err = |b: RequestValidatorBuilder| b.build().unwrap_err();
    assert_eq!(err(RequestValidator::builder()), ConfigError::NoSecrets);
    assert_eq!(
        err(RequestValidator::builder().auth_token("primary", "")),
        ConfigError::EmptySecret("primary".into())
    );
    assert_eq!(
        err(RequestValidator::builder()
            .auth_token("a", "x")
            .auth_token("a", "y")),
        ConfigError::DuplicateName("a".into())
    );
    assert_eq!(
        err(RequestValidator::builder()
            .shared_key(KS, "x")
            .shared_key(KS, "y")),
        ConfigError::DuplicateName(KS.into())
    );
}

#[test]
fn config_errors_name_the_secret_but_not_its_value() {
    assert_eq!(
        ConfigError::EmptySecret("primary".into()).to_string(),
        "the secret \"primary\" is empty"
    );
    assert_eq!(
        ConfigError::DuplicateName("a".into()).to_string(),
        "more than one secret is named \"a\""
    );
    assert!(
        ConfigError::NoSecrets
            .to_string()
            .contains("no Auth Token or SharedKey")
    );
}

#[test]
fn try_new_refuses_an_empty_token_at_startup() {
    assert_eq!(
        RequestValidator::try_new("").err(),
        Some(ConfigError::EmptySecret("primary".into()))
    );
    let v = RequestValidator::try_new("12345").unwrap();
    assert!(v.validate(URL, PARAMS, &sign("12345", Algorithm::HmacSha1, URL)));
}

#[test]
fn an_empty_name_or_key_id_is_a_configuration_error() {
    let empty_id = RequestValidator::builder().shared_key("", "secret").build();
    assert_eq!(empty_id.err(), Some(ConfigError::EmptyName));
    let blank_name = RequestValidator::builder().auth_token(" ", "token").build();
    assert_eq!(blank_name.err(), Some(ConfigError::EmptyName));
    assert!(ConfigError::EmptyName.to_string().contains("empty"));
}
