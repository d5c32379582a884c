//! Typed payloads against the real webhook parameter sets of the conformance corpus: each inbound SMS,
//! inbound call, message status and call status case parses, its named fields hold the first value of
//! their parameter, and no parameter value is lost (named fields + media + `other` = every pair).

use std::path::PathBuf;

use serde_json::Value;
use twilio_webhook::payload::{
    CallStatusCallback, IncomingCall, IncomingMessage, MessageStatusCallback, OtherParams,
};

fn cases(category: &str) -> Vec<Vec<(String, String)>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus.jsonl");
    let text = std::fs::read_to_string(path).expect("corpus");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|c| c["category"] == category && c["expected"] == true)
        .map(|c| {
            c["params"]
                .as_array()
                .expect("params")
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap_or("").to_string(),
                        p[1].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn count(other: &OtherParams) -> usize {
    other.values().map(Vec::len).sum()
}

#[test]
fn inbound_messages() {
    let all = cases("sms-inbound");
    assert_eq!(all.len(), 320);
    let (mut with_media, mut whatsapp) = (0, 0);
    for pairs in &all {
        let m = IncomingMessage::from_pairs(pairs.clone()).expect("parses");
        assert_eq!(Some(m.message_sid.as_str()), first(pairs, "MessageSid"));
        assert_eq!(Some(m.from.as_str()), first(pairs, "From"));
        assert_eq!(m.body, first(pairs, "Body").unwrap_or(""));
        assert_eq!(m.media.len() as u32, m.num_media, "{pairs:?}");
        with_media += usize::from(!m.media.is_empty());
        whatsapp += usize::from(m.wa_id.is_some());
        let named = 4
            + [&m.messaging_service_sid, &m.profile_name, &m.wa_id]
                .iter()
                .filter(|f| f.is_some())
                .count()
            + usize::from(first(pairs, "Body").is_some())
            + usize::from(first(pairs, "NumMedia").is_some())
            + usize::from(m.num_segments.is_some())
            + m.media
                .iter()
                .map(|x| 1 + usize::from(x.content_type.is_some()))
                .sum::<usize>();
        assert_eq!(
            named + count(&m.other),
            pairs.len(),
            "a value was lost: {pairs:?}"
        );
    }
    assert!(
        with_media > 0 && whatsapp > 0,
        "media {with_media}, WhatsApp {whatsapp}"
    );
}

#[test]
fn inbound_calls() {
    let all = cases("voice-inbound");
    assert_eq!(all.len(), 210);
    for pairs in &all {
        let c = IncomingCall::from_pairs(pairs.clone()).expect("parses");
        assert_eq!(Some(c.call_sid.as_str()), first(pairs, "CallSid"));
        assert_eq!(Some(c.call_status.as_str()), first(pairs, "CallStatus"));
        let named = 5 + [
            &c.direction,
            &c.caller_name,
            &c.forwarded_from,
            &c.digits,
            &c.speech_result,
        ]
        .iter()
        .filter(|f| f.is_some())
        .count();
        assert_eq!(
            named + count(&c.other),
            pairs.len(),
            "a value was lost: {pairs:?}"
        );
    }
}

#[test]
fn message_status_callbacks() {
    let all = cases("sms-status");
    assert_eq!(all.len(), 80);
    for pairs in &all {
        let s = MessageStatusCallback::from_pairs(pairs.clone()).expect("parses");
        assert_eq!(
            Some(s.message_status.as_str()),
            first(pairs, "MessageStatus")
        );
        assert!(
            !matches!(
                s.message_status,
                twilio_webhook::payload::MessageStatus::Other(_)
            ),
            "{pairs:?}"
        );
        let named = 3 + [&s.from, &s.to, &s.error_code, &s.error_message]
            .iter()
            .filter(|f| f.is_some())
            .count();
        assert_eq!(
            named + count(&s.other),
            pairs.len(),
            "a value was lost: {pairs:?}"
        );
    }
}

#[test]
fn call_status_callbacks() {
    let all = cases("voice-status");
    assert_eq!(all.len(), 50);
    for pairs in &all {
        let s = CallStatusCallback::from_pairs(pairs.clone()).expect("parses");
        assert_eq!(Some(s.call_status.as_str()), first(pairs, "CallStatus"));
        assert!(
            !matches!(s.call_status, twilio_webhook::payload::CallStatus::Other(_)),
            "{pairs:?}"
        );
        let named = 3
            + [&s.from, &s.to, &s.timestamp, &s.callback_source]
                .iter()
                .filter(|f| f.is_some())
                .count()
            + usize::from(s.call_duration.is_some())
            + usize::from(s.sequence_number.is_some());
        assert_eq!(
            named + count(&s.other),
            pairs.len(),
            "a value was lost: {pairs:?}"
        );
    }
}
