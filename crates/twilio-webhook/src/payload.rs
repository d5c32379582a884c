//! Typed webhook payloads (feature `serde`): incoming messages and calls, message and call status
//! callbacks.
//!
//! Each type takes the parameters it names and keeps **every other parameter** in [`other`], so a
//! parameter Twilio adds never breaks parsing; SIDs and phone numbers stay strings; statuses are enums
//! that keep values they do not know. They parse from the verified form pairs in received order
//! (repeated keys kept: a second value of a named parameter goes to `other` too), with
//! [`from_pairs`](IncomingMessage::from_pairs), or through serde as the inner type of a form
//! extractor (`TwilioWebhook<Form<IncomingMessage>>` in axum, `web::Form` in actix-web).
//!
//! [`other`]: IncomingMessage::other

use core::fmt;
use std::collections::BTreeMap;

/// Parameters a type does not name: each key with all its values, in received order.
pub type OtherParams = BTreeMap<String, Vec<String>>;

/// A required parameter is missing, or a number is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// This parameter is required and absent.
    Missing(&'static str),
    /// This parameter must be a non-negative whole number.
    NotANumber(&'static str),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::Missing(name) => write!(f, "the {name} parameter is missing"),
            PayloadError::NotANumber(name) => write!(f, "the {name} parameter is not a number"),
        }
    }
}

impl std::error::Error for PayloadError {}

/// The pairs of a request, grouped by key, taken field by field.
struct Fields(OtherParams);

impl Fields {
    fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut map = OtherParams::new();
        for (k, v) in pairs {
            map.entry(k.into()).or_default().push(v.into());
        }
        Fields(map)
    }

    /// The first value of `key`; any further values stay for `other`.
    fn take(&mut self, key: &str) -> Option<String> {
        let values = self.0.get_mut(key)?;
        let first = if values.is_empty() {
            None
        } else {
            Some(values.remove(0))
        };
        if values.is_empty() {
            self.0.remove(key);
        }
        first
    }

    fn require(&mut self, key: &'static str) -> Result<String, PayloadError> {
        self.take(key).ok_or(PayloadError::Missing(key))
    }

    fn number(&mut self, key: &'static str) -> Result<Option<u32>, PayloadError> {
        self.take(key)
            .map(|v| v.trim().parse().map_err(|_| PayloadError::NotANumber(key)))
            .transpose()
    }

    /// `MediaUrlN` / `MediaContentTypeN` pairs, by index, for the indices present.
    fn media(&mut self) -> Vec<Media> {
        let mut indices: Vec<u32> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix("MediaUrl")?.parse().ok())
            .collect();
        indices.sort_unstable();
        indices
            .into_iter()
            .filter_map(|i| {
                let url = self.take(&format!("MediaUrl{i}"))?;
                let content_type = self.take(&format!("MediaContentType{i}"));
                Some(Media { url, content_type })
            })
            .collect()
    }
}

/// One media item of a message: `MediaUrlN` and `MediaContentTypeN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Where Twilio stores the media.
    pub url: String,
    /// Its MIME type, when Twilio sent one.
    pub content_type: Option<String>,
}

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this version does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The status as Twilio spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.as_str() {
                    $($text => $name::$variant,)*
                    _ => $name::Other(text),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// `MessageStatus` / `SmsStatus`.
    MessageStatus {
        /// `accepted`
        Accepted = "accepted",
        /// `scheduled`
        Scheduled = "scheduled",
        /// `canceled`
        Canceled = "canceled",
        /// `queued`
        Queued = "queued",
        /// `sending`
        Sending = "sending",
        /// `sent`
        Sent = "sent",
        /// `failed`
        Failed = "failed",
        /// `delivered`
        Delivered = "delivered",
        /// `undelivered`
        Undelivered = "undelivered",
        /// `receiving`
        Receiving = "receiving",
        /// `received`
        Received = "received",
        /// `read`
        Read = "read",
        /// `partially_delivered`
        PartiallyDelivered = "partially_delivered",
    }
);

status_enum!(
    /// `CallStatus`.
    CallStatus {
        /// `queued`
        Queued = "queued",
        /// `initiated`
        Initiated = "initiated",
        /// `ringing`
        Ringing = "ringing",
        /// `in-progress`
        InProgress = "in-progress",
        /// `completed`
        Completed = "completed",
        /// `busy`
        Busy = "busy",
        /// `failed`
        Failed = "failed",
        /// `no-answer`
        NoAnswer = "no-answer",
        /// `canceled`
        Canceled = "canceled",
    }
);

/// An incoming message (SMS, MMS, WhatsApp): the webhook of a phone number or Messaging Service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncomingMessage {
    /// `MessageSid` (`SM…`/`MM…`; `SmsSid` when only that was sent).
    pub message_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// `MessagingServiceSid`, when the number belongs to one.
    pub messaging_service_sid: Option<String>,
    /// `From` (E.164, or `whatsapp:+…`).
    pub from: String,
    /// `To`.
    pub to: String,
    /// `Body` (empty for media only).
    pub body: String,
    /// `NumMedia` (0 when absent).
    pub num_media: u32,
    /// The media items, by index.
    pub media: Vec<Media>,
    /// `NumSegments`.
    pub num_segments: Option<u32>,
    /// `ProfileName` (WhatsApp).
    pub profile_name: Option<String>,
    /// `WaId` (WhatsApp).
    pub wa_id: Option<String>,
    /// Every other parameter.
    pub other: OtherParams,
}

impl IncomingMessage {
    /// Parses the verified form pairs, in received order.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PayloadError> {
        let mut f = Fields::new(pairs);
        let message_sid = match f.take("MessageSid") {
            Some(sid) => sid,
            None => f.require("SmsSid")?,
        };
        Ok(IncomingMessage {
            message_sid,
            account_sid: f.require("AccountSid")?,
            messaging_service_sid: f.take("MessagingServiceSid"),
            from: f.require("From")?,
            to: f.require("To")?,
            body: f.take("Body").unwrap_or_default(),
            num_media: f.number("NumMedia")?.unwrap_or(0),
            media: f.media(),
            num_segments: f.number("NumSegments")?,
            profile_name: f.take("ProfileName"),
            wa_id: f.take("WaId"),
            other: f.0,
        })
    }
}

/// An incoming call: the voice webhook of a phone number or application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncomingCall {
    /// `CallSid` (`CA…`).
    pub call_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// `From`.
    pub from: String,
    /// `To`.
    pub to: String,
    /// `CallStatus`.
    pub call_status: CallStatus,
    /// `Direction` (`inbound`, `outbound-api`, `outbound-dial`).
    pub direction: Option<String>,
    /// `CallerName`, when caller-name lookup is on.
    pub caller_name: Option<String>,
    /// `ForwardedFrom`.
    pub forwarded_from: Option<String>,
    /// `Digits`, after a `<Gather>`.
    pub digits: Option<String>,
    /// `SpeechResult`, after a `<Gather input="speech">`.
    pub speech_result: Option<String>,
    /// Every other parameter.
    pub other: OtherParams,
}

impl IncomingCall {
    /// Parses the verified form pairs, in received order.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PayloadError> {
        let mut f = Fields::new(pairs);
        Ok(IncomingCall {
            call_sid: f.require("CallSid")?,
            account_sid: f.require("AccountSid")?,
            from: f.require("From")?,
            to: f.require("To")?,
            call_status: f.require("CallStatus")?.into(),
            direction: f.take("Direction"),
            caller_name: f.take("CallerName"),
            forwarded_from: f.take("ForwardedFrom"),
            digits: f.take("Digits"),
            speech_result: f.take("SpeechResult"),
            other: f.0,
        })
    }
}

/// A message status callback (`StatusCallback` of a message).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageStatusCallback {
    /// `MessageSid`.
    pub message_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// `MessageStatus` (or `SmsStatus` when only that was sent).
    pub message_status: MessageStatus,
    /// `From`.
    pub from: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `ErrorCode`, for a failed or undelivered message.
    pub error_code: Option<String>,
    /// `ErrorMessage`.
    pub error_message: Option<String>,
    /// Every other parameter.
    pub other: OtherParams,
}

impl MessageStatusCallback {
    /// Parses the verified form pairs, in received order.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PayloadError> {
        let mut f = Fields::new(pairs);
        let status = match f.take("MessageStatus") {
            Some(status) => status,
            None => f.require("SmsStatus")?,
        };
        Ok(MessageStatusCallback {
            message_sid: f.require("MessageSid")?,
            account_sid: f.require("AccountSid")?,
            message_status: status.into(),
            from: f.take("From"),
            to: f.take("To"),
            error_code: f.take("ErrorCode"),
            error_message: f.take("ErrorMessage"),
            other: f.0,
        })
    }
}

/// A call status callback (`StatusCallback` of a call).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallStatusCallback {
    /// `CallSid`.
    pub call_sid: String,
    /// `AccountSid`.
    pub account_sid: String,
    /// `CallStatus`.
    pub call_status: CallStatus,
    /// `From`.
    pub from: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `CallDuration` in seconds, once the call has ended.
    pub call_duration: Option<u32>,
    /// `SequenceNumber` of this callback.
    pub sequence_number: Option<u32>,
    /// `Timestamp` (RFC 2822, as sent).
    pub timestamp: Option<String>,
    /// `CallbackSource`.
    pub callback_source: Option<String>,
    /// Every other parameter.
    pub other: OtherParams,
}

impl CallStatusCallback {
    /// Parses the verified form pairs, in received order.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, PayloadError> {
        let mut f = Fields::new(pairs);
        Ok(CallStatusCallback {
            call_sid: f.require("CallSid")?,
            account_sid: f.require("AccountSid")?,
            call_status: f.require("CallStatus")?.into(),
            from: f.take("From"),
            to: f.take("To"),
            call_duration: f.number("CallDuration")?,
            sequence_number: f.number("SequenceNumber")?,
            timestamp: f.take("Timestamp"),
            callback_source: f.take("CallbackSource"),
            other: f.0,
        })
    }
}

/// Deserializes from a map of string pairs, every entry kept in order (as `serde_urlencoded`, used by
/// axum's and actix-web's form extractors, delivers a form body, repeated keys included).
struct Pairs(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("form parameters")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

macro_rules! deserialize_from_pairs {
    ($($name:ident),*) => {$(
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let Pairs(pairs) = Pairs::deserialize(deserializer)?;
                $name::from_pairs(pairs).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

deserialize_from_pairs!(
    IncomingMessage,
    IncomingCall,
    MessageStatusCallback,
    CallStatusCallback
);

#[cfg(test)]
mod tests;
