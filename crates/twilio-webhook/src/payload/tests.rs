use super::*;

const SMS: [(&str, &str); 9] = [
    ("MessageSid", "SM1"),
    ("AccountSid", "AC1"),
    ("From", "+15551230000"),
    ("To", "+15559870000"),
    ("Body", "Hi"),
    ("NumMedia", "2"),
    ("MediaUrl1", "https://api.twilio.com/m1"),
    ("MediaUrl0", "https://api.twilio.com/m0"),
    ("MediaContentType0", "image/jpeg"),
];

#[test]
fn named_fields_media_by_index_and_everything_else_kept() {
    let mut pairs = SMS.to_vec();
    pairs.extend([
        ("FromCity", "SF"),
        ("Body", "second body"),
        ("NewParam", "x"),
        ("NewParam", "y"),
    ]);
    let m = IncomingMessage::from_pairs(pairs).unwrap();
    assert_eq!(
        (m.message_sid.as_str(), m.from.as_str(), m.body.as_str()),
        ("SM1", "+15551230000", "Hi")
    );
    assert_eq!(m.num_media, 2);
    assert_eq!(
        m.media,
        [
            Media {
                url: "https://api.twilio.com/m0".into(),
                content_type: Some("image/jpeg".into())
            },
            Media {
                url: "https://api.twilio.com/m1".into(),
                content_type: None
            },
        ]
    );
    let other: Vec<(&str, Vec<&str>)> = m
        .other
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        other,
        [
            ("Body", vec!["second body"]),
            ("FromCity", vec!["SF"]),
            ("NewParam", vec!["x", "y"])
        ]
    );
}

#[test]
fn statuses_keep_values_they_do_not_know() {
    assert_eq!(
        MessageStatus::from("delivered".to_string()),
        MessageStatus::Delivered
    );
    assert_eq!(
        CallStatus::from("no-answer".to_string()),
        CallStatus::NoAnswer
    );
    let new = MessageStatus::from("teleported".to_string());
    assert_eq!(new, MessageStatus::Other("teleported".into()));
    assert_eq!(
        (new.as_str(), CallStatus::InProgress.to_string().as_str()),
        ("teleported", "in-progress")
    );
}

#[test]
fn missing_and_malformed_parameters_are_errors_naming_them() {
    let no_from = SMS.iter().filter(|(k, _)| *k != "From").copied();
    assert_eq!(
        IncomingMessage::from_pairs(no_from),
        Err(PayloadError::Missing("From"))
    );
    let bad = SMS
        .iter()
        .map(|&(k, v)| if k == "NumMedia" { (k, "two") } else { (k, v) });
    let e = IncomingMessage::from_pairs(bad).unwrap_err();
    assert_eq!(
        (e.clone(), e.to_string()),
        (
            PayloadError::NotANumber("NumMedia"),
            "the NumMedia parameter is not a number".into()
        )
    );
    // Older parameter names are accepted where Twilio still sends only them.
    let legacy = [
        ("SmsSid", "SM9"),
        ("SmsStatus", "sent"),
        ("MessageSid", "SM9"),
        ("AccountSid", "AC1"),
    ];
    let status = MessageStatusCallback::from_pairs(legacy).unwrap();
    assert_eq!(status.message_status, MessageStatus::Sent);
    assert_eq!(
        CallStatusCallback::from_pairs([("CallSid", "CA1")]),
        Err(PayloadError::Missing("AccountSid"))
    );
}

#[test]
fn serde_reads_a_form_body_with_repeated_keys() {
    let body = "MessageSid=SM1&AccountSid=AC1&From=%2B1555&To=%2B1666&Body=a+b&Tag=x&Tag=y";
    let m: IncomingMessage = serde_urlencoded::from_str(body).unwrap();
    assert_eq!(m.body, "a b");
    assert_eq!(
        m.other.get("Tag"),
        Some(&vec!["x".to_string(), "y".to_string()])
    );
    let e = serde_urlencoded::from_str::<IncomingCall>("CallSid=CA1").unwrap_err();
    assert!(e.to_string().contains("AccountSid"), "{e}");
    let call: IncomingCall = serde_urlencoded::from_str(
        "CallSid=CA1&AccountSid=AC1&From=%2B1&To=%2B2&CallStatus=ringing&Digits=42",
    )
    .unwrap();
    assert_eq!(
        (call.call_status, call.digits.as_deref()),
        (CallStatus::Ringing, Some("42"))
    );
}
