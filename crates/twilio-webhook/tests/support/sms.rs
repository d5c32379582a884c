//! A typical inbound SMS webhook, shared by the allocation test and the benchmark.

/// The 20 parameters of an inbound SMS webhook, in the order Twilio sends them.
pub fn sms_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("NumMedia", "0"),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", "94105"),
        ("SmsSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("FromState", "CA"),
        ("SmsStatus", "received"),
        ("FromCity", "SAN FRANCISCO"),
        ("Body", "Hello from Twilio, it's a test +1"),
        ("FromCountry", "US"),
        ("To", "+15558675310"),
        ("ToZip", "94105"),
        ("NumSegments", "1"),
        ("MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("AccountSid", "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
        ("From", "+15017250604"),
        ("ApiVersion", "2010-04-01"),
        ("MessagingServiceSid", "MGXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ]
}
