//! What `send` sends: realistic parameter sets for each kind of Twilio webhook, with fresh SIDs for
//! every request (so a replay guard sees distinct requests).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::args::SendKind;

/// A source of plausible SIDs and numbers: xorshift seeded from the clock, the process and a counter.
pub(crate) struct Ids(u64);

impl Ids {
    pub(crate) fn new(salt: u64) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ids((nanos
            ^ u64::from(std::process::id()).rotate_left(32)
            ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A SID: two letters and 32 lowercase hex digits.
    pub(crate) fn sid(&mut self, prefix: &str) -> String {
        format!("{prefix}{:016x}{:016x}", self.next(), self.next())
    }
}

/// The account every generated request claims.
const ACCOUNT: &str = "AC00000000000000000000000000000000";
const FROM: &str = "+15551234567";
const TO: &str = "+15557654321";

/// The form parameters of one request of `kind` (not for `event-stream` or `raw`).
pub(crate) fn params(kind: SendKind, ids: &mut Ids) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match kind {
        SendKind::Sms => {
            let sid = ids.sid("SM");
            vec![
                ("ToCountry", "US".into()),
                ("ToState", "CA".into()),
                ("SmsMessageSid", sid.clone()),
                ("NumMedia", "0".into()),
                ("ToCity", "SAN FRANCISCO".into()),
                ("FromZip", "94105".into()),
                ("SmsSid", sid.clone()),
                ("FromState", "CA".into()),
                ("SmsStatus", "received".into()),
                ("FromCity", "SAN FRANCISCO".into()),
                ("Body", "Hello from twilio-webhook send".into()),
                ("FromCountry", "US".into()),
                ("To", TO.into()),
                ("ToZip", "94107".into()),
                ("NumSegments", "1".into()),
                ("MessageSid", sid),
                ("AccountSid", ACCOUNT.into()),
                ("From", FROM.into()),
                ("ApiVersion", "2010-04-01".into()),
            ]
        }
        SendKind::Voice => vec![
            ("AccountSid", ACCOUNT.into()),
            ("ApiVersion", "2010-04-01".into()),
            ("CallSid", ids.sid("CA")),
            ("CallStatus", "ringing".into()),
            ("Called", TO.into()),
            ("Caller", FROM.into()),
            ("Direction", "inbound".into()),
            ("From", FROM.into()),
            ("FromCountry", "US".into()),
            ("To", TO.into()),
            ("ToCountry", "US".into()),
        ],
        SendKind::MessageStatus => {
            let sid = ids.sid("SM");
            vec![
                ("SmsSid", sid.clone()),
                ("SmsStatus", "delivered".into()),
                ("MessageStatus", "delivered".into()),
                ("To", TO.into()),
                ("MessageSid", sid),
                ("AccountSid", ACCOUNT.into()),
                ("From", FROM.into()),
                ("ApiVersion", "2010-04-01".into()),
            ]
        }
        SendKind::CallStatus => vec![
            ("AccountSid", ACCOUNT.into()),
            ("ApiVersion", "2010-04-01".into()),
            ("CallSid", ids.sid("CA")),
            ("CallStatus", "completed".into()),
            ("CallDuration", "42".into()),
            ("Duration", "1".into()),
            ("Direction", "inbound".into()),
            ("From", FROM.into()),
            ("To", TO.into()),
            ("SequenceNumber", "0".into()),
            ("CallbackSource", "call-progress-events".into()),
            ("Timestamp", "Sat, 28 Nov 2026 15:00:00 +0000".into()),
        ],
        SendKind::EventStream | SendKind::Raw => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A JSON CloudEvents array as Event Streams sends it, with fresh ids.
pub(crate) fn event_stream(ids: &mut Ids) -> String {
    let (event, message) = (ids.sid("EZ"), ids.sid("SM"));
    format!(
        r#"[{{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","source":"/2010-04-01/Accounts/{ACCOUNT}/Messages/{message}.json","id":"{event}","dataschema":"https://events-schemas.twilio.com/Messaging.MessageStatus/2","datacontenttype":"application/json","time":"2026-11-28T15:00:00.000Z","data":{{"accountSid":"{ACCOUNT}","messageSid":"{message}","messageStatus":"DELIVERED","to":"{TO}","from":"{FROM}"}}}}]"#
    )
}

/// `-d KEY=VALUE`: replaces the first parameter named KEY (dropping its other values) or adds it.
pub(crate) fn apply_overrides(params: &mut Vec<(String, String)>, overrides: &[(String, String)]) {
    for (key, value) in overrides {
        match params.iter().position(|(k, _)| k == key) {
            Some(i) => {
                if let Some(slot) = params.get_mut(i) {
                    slot.1 = value.clone();
                }
                let mut seen = 0;
                params.retain(|(k, _)| {
                    seen += usize::from(k == key);
                    k != key || seen == 1
                });
            }
            None => params.push((key.clone(), value.clone())),
        }
    }
}
