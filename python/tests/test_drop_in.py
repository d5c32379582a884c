"""The drop-in's deliberate differences from twilio-python, its robustness, and the parameter shapes."""

import hashlib
import hmac
import logging
from base64 import b64encode

import pytest
from multidict import MultiDict
from werkzeug.datastructures import ImmutableMultiDict

from twilio_webhook import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    Signer,
    Validator,
    body_sha256_hex,
    get_signature_algorithm,
)

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309"}


def sign(url, pairs=(), token=TOKEN, digest=hashlib.sha1):
    """An independent signer written from spec §2 (not the library's)."""
    s = url + "".join(k + v for k, v in sorted(set(pairs)))
    return b64encode(hmac.new(token.encode(), s.encode(), digest).digest()).decode()


validator = RequestValidator(TOKEN)


def test_compute_signature_matches_an_independent_signer():
    assert validator.compute_signature(URL, PARAMS) == sign(URL, PARAMS.items())
    assert validator.compute_signature(URL, PARAMS, HMAC_SHA256) == sign(URL, PARAMS.items(), digest=hashlib.sha256)


@pytest.mark.parametrize(
    "received, signed",
    [
        ("https://user:pass@example.com:8443/sms", "https://user:pass@example.com/sms"),
        ("https://[2001:db8::1]:8443/sms", "https://[2001:db8::1]/sms"),
        ("wss://example.com/stream", "wss://example.com:443/stream"),
        ("ws://example.com/stream", "ws://example.com:80/stream"),
    ],
)
def test_ports_follow_the_spec(received, signed):
    """twilio-python drops the userinfo or mangles IPv6 when it removes a port, and gives wss port 80."""
    assert validator.validate(received, PARAMS, sign(signed, PARAMS.items()))


def test_a_url_with_body_sha256_needs_the_body():
    body = '{"property": "value", "boolean": true}'
    url = URL + "&bodySHA256=" + hashlib.sha256(body.encode()).hexdigest()
    signature = sign(url)
    assert validator.validate(url, body, signature)
    assert validator.validate(url, body.encode(), signature)
    # The same request replayed with its body stripped, as an app passing its (empty) form dict.
    assert not validator.validate(url, {}, signature)
    assert not validator.validate(url, "", signature)
    assert not validator.validate(url, body + " ", signature)
    twice = url + "&bodySHA256=" + hashlib.sha256(body.encode()).hexdigest()
    assert not validator.validate(twice, body, sign(twice))


@pytest.mark.parametrize(
    "uri, params, signature",
    [
        (URL, PARAMS, None),
        (URL, PARAMS, ""),
        (URL, {"Digits": 1234}, sign(URL, [("Digits", "1234")])),
        (URL, b"\xff\xfe", sign(URL)),
        (URL, object(), sign(URL)),
        (None, PARAMS, sign(URL, PARAMS.items())),
        (URL, [("only-a-key",)], sign(URL)),
    ],
)
def test_bad_input_is_false_never_an_exception(uri, params, signature):
    assert validator.validate(uri, params, signature) is False


def test_an_unsupported_algorithm_is_rejected_and_logged(caplog):
    with caplog.at_level(logging.WARNING):
        assert not validator.validate(URL, PARAMS, sign(URL, PARAMS.items()), "HMAC_MD5")
    assert "HMAC_MD5" in caplog.text
    with pytest.raises(ValueError):
        validator.compute_signature(URL, PARAMS, "HMAC_MD5")


def test_sha256_signatures_with_the_algorithm_from_the_header():
    header = "key=KS0123,algorithm=HMAC_SHA256"
    signature = sign(URL, PARAMS.items(), digest=hashlib.sha256)
    assert get_signature_algorithm(header) == HMAC_SHA256
    assert validator.validate(URL, PARAMS, signature, get_signature_algorithm(header))
    assert not validator.validate(URL, PARAMS, signature)  # a SHA-256 signature is no SHA-1 one


@pytest.mark.parametrize(
    "header, algorithm",
    [(None, HMAC_SHA1), ("", HMAC_SHA1), ("key=KS1", HMAC_SHA1), ("key=KS1, algorithm = HMAC_SHA256", HMAC_SHA256)],
)
def test_get_signature_algorithm(header, algorithm):
    assert get_signature_algorithm(header) == algorithm


def test_an_empty_token_accepts_nothing():
    empty = RequestValidator("")
    assert not empty.validate(URL, PARAMS, sign(URL, PARAMS.items(), token=""))
    with pytest.raises(ValueError):
        empty.compute_signature(URL, PARAMS)


PAIRS = [("Digits", "1234"), ("Digits", "5678"), ("From", "+14158675309")]


@pytest.mark.parametrize(
    "shape",
    [
        lambda: PAIRS,
        lambda: [list(p) for p in PAIRS],
        lambda: iter(PAIRS),
        lambda: MultiDict(PAIRS),
        lambda: ImmutableMultiDict(PAIRS),
        lambda: {"Digits": ["1234", "5678"], "From": "+14158675309"},
    ],
    ids=["pairs", "lists", "iterator", "multidict", "werkzeug", "dict-of-lists"],
)
def test_every_parameter_shape_keeps_repeated_keys(shape):
    assert validator.validate(URL, shape(), sign(URL, PAIRS))


def test_compute_hash_and_the_signer():
    assert validator.compute_hash("{}") == hashlib.sha256(b"{}").hexdigest() == body_sha256_hex(b"{}")
    url, signature = Signer(TOKEN).sign_body(URL, b"{}")
    assert url == URL + "&bodySHA256=" + hashlib.sha256(b"{}").hexdigest()
    assert signature == sign(url)
    assert Signer(TOKEN, HMAC_SHA256).sign_form(URL, PAIRS) == sign(URL, PAIRS, digest=hashlib.sha256)


def test_configuration_mistakes_name_the_secret_never_show_it():
    with pytest.raises(ValueError) as error:
        Validator({"primary": "s3cr3t-token", "backup": ""})
    assert "backup" in str(error.value) and "s3cr3t" not in str(error.value)
    with pytest.raises(ValueError):
        Validator()
    assert "s3cr3t" not in repr(Validator({"primary": "s3cr3t-token"}))
    assert "s3cr3t" not in repr(RequestValidator("s3cr3t-token"))


def test_verify_says_why():
    v = Validator({"current": "new-token", "previous": TOKEN})
    verdict = v.verify(URL, params=PARAMS, headers={"X-Twilio-Signature": sign(URL, PARAMS.items())})
    assert verdict and verdict.secret == "previous"
    rejected = v.verify(URL, params=PARAMS, headers={"X-Twilio-Signature": sign(URL)})
    assert not rejected and rejected.reason == "signature_mismatch"
    assert v.verify(URL, params=PARAMS).reason == "missing_signature"
    assert v.verify(URL, body=b'{"a":1}', content_type="application/json", signature=sign(URL)).reason == (
        "body_hash_missing"
    )


def test_the_seed_pages_import_and_example_shape():
    """The "Validate Incoming Requests" page's example, with its old import path, a dict of POST variables."""
    from twilio_webhook.util import RequestValidator as FromUtil

    url = "http://www.example.com/my/callback/url.xml"
    post_vars = {"From": "+15017250604", "To": "+15558675310"}
    signature = sign(url, post_vars.items(), token="YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY")
    validator = FromUtil("YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY")
    assert validator.validate(url, post_vars, signature)
    assert not validator.validate(url, post_vars, "HpS7PBa1Agvt4OtO+wZp75IuQa0=")  # the page's placeholder


def test_the_modules_helpers_are_there_too():
    """twilio-python 9.13's module also exports ``compare``, ``remove_port`` and ``add_port``: code importing them
    with the one changed import line must keep working (fifth outside attack, A4-F1)."""
    from urllib.parse import urlparse

    from twilio_webhook.request_validator import add_port, compare, remove_port

    assert compare("abc", "abc") and not compare("abc", "abd") and not compare("abc", "ab")
    assert compare(b"\xff", b"\xff") and not compare("a", None) and not compare(1, 1)
    assert compare("é", "é")
    assert remove_port(urlparse("https://example.com:8443/a?b=1")) == "https://example.com/a?b=1"
    assert remove_port(urlparse("https://example.com/a")) == "https://example.com/a"
    assert remove_port(urlparse("https://user:pass@example.com:8443/a")) == "https://user:pass@example.com/a"
    assert remove_port(urlparse("https://[2001:db8::1]:8443/a")) == "https://[2001:db8::1]/a"
    assert add_port(urlparse("https://example.com/a")) == "https://example.com:443/a"
    assert add_port(urlparse("http://example.com/a")) == "http://example.com:80/a"
    assert add_port(urlparse("wss://example.com/a")) == "wss://example.com:443/a"
    assert add_port(urlparse("https://example.com:8443/a")) == "https://example.com:8443/a"
