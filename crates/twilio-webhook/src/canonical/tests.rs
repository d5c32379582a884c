use super::keys::{PREFIX, left_aligned, level_key};
use super::*;

/// `P` both ways, streamed and joined, checked to be the same.
/// `P` three ways, streamed, joined and joined in the buffer `with_joined` picks, checked to agree.
fn p_of<S: Pairs + ?Sized>(c: &Canonical<'_, S>) -> String {
    let mut streamed = Vec::new();
    c.feed(|run| streamed.extend_from_slice(run));
    let mut buf = vec![0u8; streamed.len()];
    assert_eq!(c.join(&mut buf), Some(streamed.len()));
    assert_eq!(buf, streamed);
    if !streamed.is_empty() {
        assert_eq!(
            c.join(&mut buf[1..]),
            None,
            "a P that does not fit is refused"
        );
    }
    assert!(c.raw_len >= streamed.len(), "raw_len bounds P");
    c.with_joined(|joined| match joined {
        Some(joined) => assert_eq!(joined, streamed),
        None => assert!(c.raw_len > LONG_JOINED),
    });
    String::from_utf8(streamed).unwrap()
}

/// `P` of decoded parameters, through the entry point validation uses; the same with an iterator that
/// does not tell its length (the larger stack space).
fn of_pairs<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let p = with_params(params.iter(), p_of);
    let unsized_hint = with_params(params.iter().filter(|_| true), p_of);
    assert_eq!(p, unsized_hint);
    p
}

fn of_params(params: &[(&str, &str)]) -> String {
    of_pairs(params)
}

fn of_body(body: &[u8]) -> Option<String> {
    #[allow(clippy::redundant_closure)]
    // the closure is what makes it general over the fields' lifetime
    with_form_body(body, |c| p_of(c))
}

#[test]
fn sorts_keys_then_values_and_drops_duplicate_pairs() {
    let params = [("b", "2"), ("a", "9"), ("a", "10"), ("b", "2"), ("a", "")];
    assert_eq!(of_params(&params), "aa10a9b2");
}

#[test]
fn body_decoding_matches_params() {
    let body = b"To=%2B1555&Body=Hello+w%C3%B6rld%21&Empty=&Flag&&Body=Hello+w%C3%B6rld%21";
    assert_eq!(
        of_body(body).unwrap(),
        "BodyHello w\u{f6}rld!EmptyFlagTo+1555"
    );
}

#[test]
fn a_body_value_of_only_pluses_is_spaces() {
    assert_eq!(of_body(b"a=+&b=++&+=c").unwrap(), " ca b  ");
}

#[test]
fn plus_in_decoded_params_is_literal() {
    assert_eq!(of_params(&[("To", "+1 555")]), "To+1 555");
}

#[test]
fn invalid_utf8_after_decoding_is_refused() {
    for body in [&b"a=%FF"[..], b"a=%C3", b"%C3%28=1", b"a=\xff"] {
        assert_eq!(of_body(body), None, "{body:?}");
    }
    assert_eq!(of_body(b"a=%E2%9C%93").as_deref(), Some("a\u{2713}"));
    // A raw body that is not UTF-8 may still decode to UTF-8: `%C3` then a raw continuation byte.
    assert_eq!(of_body(b"a=%C3\xa9&b=c").as_deref(), Some("a\u{e9}bc"));
    assert_eq!(of_body(b"b=c&a=\xa9%C3"), None);
}

#[test]
fn decoded_order_ignores_encoding() {
    // '%41' is 'A', which sorts before 'B' even though '%' sorts before both as raw bytes.
    assert_eq!(of_body(b"B=1&%41=2").unwrap(), "A2B1");
}

#[test]
fn prefix_order_agrees_with_byte_order() {
    // Keys that tie on the 12-byte prefix, are prefixes of each other, or contain NUL.
    let keys = [
        "SipHeader_X-Zeta",
        "SipHeader_X-Alpha",
        "SipHeader_X-",
        "ReasonConferenceEnded",
        "Reason",
        "ReasonConference",
        "a",
        "a\0",
        "a\0b",
        "",
        "\u{ff21}",
        "\u{1f600}",
        "ReasonA",
    ];
    let params: Vec<(&str, &str)> = keys.iter().map(|k| (*k, "v")).collect();
    let mut sorted = keys.to_vec();
    sorted.sort();
    let want: String = sorted.iter().map(|k| format!("{k}v")).collect();
    assert_eq!(of_params(&params), want);
    // Repeated keys that tie on the prefix are ordered and deduplicated by value.
    let repeated = [
        ("SipHeader_X-Same", "2"),
        ("SipHeader_X-Same", "1"),
        ("SipHeader_X-Same", "2"),
    ];
    assert_eq!(of_params(&repeated), "SipHeader_X-Same1SipHeader_X-Same2");
}

#[test]
fn spills_to_heap_beyond_inline_capacity() {
    let params: Vec<(String, String)> = (0..200)
        .rev()
        .map(|i| (format!("k{i:03}"), i.to_string()))
        .collect();
    let s = of_pairs(&params);
    assert!(s.starts_with("k0000k0011k0022"));
    assert!(s.ends_with("k199199"));
}

#[test]
fn a_p_longer_than_a_chunk_streams_whole() {
    // Three values of 1,500 and of 3,000 decoded bytes (the second too long to join at all), escapes
    // and pluses straddling the 2 KiB chunk boundaries.
    for repeat in [300, 600] {
        let value = "ab%2B+c".repeat(repeat);
        let body = format!("z={value}&a={value}&m={value}");
        let decoded = "ab+ c".repeat(repeat);
        assert_eq!(
            of_body(body.as_bytes()).unwrap(),
            format!("a{decoded}m{decoded}z{decoded}")
        );
    }
}

#[test]
fn beyond_the_indexed_count_every_pair_is_compared_in_full() {
    // 300 pairs (more than a one-byte index holds), shuffled, with a duplicate pair and a repeated key.
    let mut params: Vec<(String, String)> = (0..298)
        .map(|i| (format!("k{:03}", (i * 7) % 298), i.to_string()))
        .collect();
    params.push(("k005".into(), "a".into()));
    params.push(("k005".into(), "a".into()));
    let mut want = params.clone();
    want.sort();
    want.dedup();
    let want: String = want.iter().map(|(k, v)| format!("{k}{v}")).collect();
    assert_eq!(of_pairs(&params), want);
}

#[test]
fn left_aligned_is_the_first_bytes_big_endian_zero_padded() {
    let text = b"ABCDEFGHIJ";
    for len in 0..=text.len() {
        let mut want = [0u8; 8];
        let n = len.min(8);
        want[..n].copy_from_slice(&text[..n]);
        assert_eq!(
            left_aligned(&text[..len]),
            u64::from_be_bytes(want),
            "length {len}"
        );
    }
}

#[test]
fn sort_keys_hold_seven_bytes_then_the_index() {
    let key = |k: &str, i| sort_key(Part::plain(k.as_bytes()), i);
    assert!(key("AccountSid", 9) < key("ApiVersion", 0));
    assert!(key("To", 9) < key("ToCity", 0));
    // Seven bytes alike tie; a run of them is ordered one level down, seven bytes further.
    assert_eq!(key("MediaUrl0", 3) >> 8, key("MediaUrl1", 4) >> 8);
    let level = |k: &str, i| level_key(Part::plain(k.as_bytes()), PREFIX, i);
    assert!(level("MediaUrl0", 9) < level("MediaUrl1", 0));
    assert_eq!(key("MediaUrl1", 7) & 0xff, 7);
    let encoded = sort_key(Part::raw(b"Medi%61Url1"), 7);
    assert_eq!(encoded, key("MediaUrl1", 7));
    let encoded = level_key(Part::raw(b"Media%55rl1"), PREFIX, 7);
    assert_eq!(encoded, level("MediaUrl1", 7));
}

#[test]
fn tied_runs_are_ordered_at_every_depth() {
    // Families that tie at 7, 14, 21 and 28 bytes and past them, shuffled, with repeated keys, keys
    // that are prefixes of others, and duplicate pairs; raw and encoded alike.
    let mut keys: Vec<String> = Vec::new();
    for stem in [
        "MediaUrl",
        "MediaContentType",
        "SipHeader_X-Some-Long-Header-Name-",
        "Param",
    ] {
        for i in [3, 10, 0, 7, 1, 12] {
            keys.push(format!("{stem}{i}"));
        }
        keys.push(stem.to_string());
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (n, k) in keys.iter().enumerate() {
        params.push((k.clone(), format!("v{}", n % 3)));
        if n % 4 == 0 {
            params.push((k.clone(), "a".into()));
            params.push((k.clone(), format!("v{}", n % 3)));
        }
    }
    // A fixed shuffle.
    let len = params.len();
    for i in 0..len {
        params.swap(i, (i * 17 + 5) % len);
    }
    let mut want = params.clone();
    want.sort();
    want.dedup();
    let want: String = want.iter().map(|(k, v)| format!("{k}{v}")).collect();
    assert_eq!(of_pairs(&params), want);
    let body: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={v}", k.replace('e', "%65").replace('_', "%5F")))
        .collect();
    assert_eq!(of_body(body.join("&").as_bytes()).unwrap(), want);
}

/// An iterator that claims to hold at most `hint` items, whatever it holds.
struct Understated<I> {
    inner: I,
    hint: usize,
}

impl<I: Iterator> Iterator for Understated<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.hint))
    }
}

#[test]
fn an_understated_size_hint_moves_to_the_heap_and_keeps_every_pair() {
    // The iterator says few (so the 32-field stack size is chosen), then yields 40 or 200.
    for n in [33, 40, 200] {
        let params: Vec<(String, String)> = (0..n)
            .rev()
            .map(|i| (format!("K{i:03}"), format!("{i}")))
            .collect();
        let got = with_params(
            Understated {
                inner: params.iter(),
                hint: 2,
            },
            p_of,
        );
        let want: String = (0..n).map(|i| format!("K{i:03}{i}")).collect();
        assert_eq!(got, want, "{n} params");
    }
}

#[test]
fn every_stack_size_gives_the_same_p() {
    // Around the few-fields size (32), the inline size (128) and the short join buffer (512 bytes).
    for n in [0, 1, 31, 32, 33, 60, 127, 128, 129, 300] {
        let params: Vec<(String, String)> = (0..n)
            .map(|i| (format!("K{:03}", (i * 11) % n.max(1)), "v".repeat(i % 5)))
            .collect();
        let mut want = params.clone();
        want.sort();
        want.dedup();
        let want: String = want.iter().map(|(k, v)| format!("{k}{v}")).collect();
        assert_eq!(of_pairs(&params), want, "{n} params");
        let body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            of_body(body.join("&").as_bytes()).as_deref(),
            Some(want.as_str()),
            "{n} fields"
        );
    }
}
