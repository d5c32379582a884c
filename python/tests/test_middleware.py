"""The WSGI and ASGI middleware protecting the three example apps, each served for real on loopback
(werkzeug for Flask and Django, uvicorn for FastAPI) and called over HTTP."""

import http.client
import importlib.util
import json
import sys
from urllib.parse import urlencode

import pytest

from conftest import EXAMPLES, asgi_server, wsgi_server
from twilio_webhook import PublicUrl, Signer, Validator
from twilio_webhook.wsgi import TwilioWebhookMiddleware as WsgiMiddleware

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://example.com"
signer = Signer(TOKEN)
SMS = [("From", "+15017250604"), ("To", "+15558675310"), ("Body", "Hello from Twilio ✓"), ("MediaUrl0", "a")]


def load_example(name, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_PUBLIC_URL", BASE)
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the examples import example_settings
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Django imports its URL configuration by module name
    spec.loader.exec_module(module)
    return module


_examples = {}


EXAMPLES_SERVED = {
    # name: (example module, its app attribute, served by)
    "flask": ("flask_app", "app", wsgi_server),
    "django-wsgi": ("django_app", "application", wsgi_server),
    "django-asgi": ("django_app", "asgi_application", asgi_server),
    "fastapi": ("fastapi_app", "app", asgi_server),
}


@pytest.fixture(params=sorted(EXAMPLES_SERVED))
def port(request, monkeypatch):
    """A real server on a free loopback port running one example app."""
    module_name, attribute, serve = EXAMPLES_SERVED[request.param]
    if module_name not in _examples:  # Django configures itself once per process
        _examples[module_name] = load_example(module_name, monkeypatch)
    with serve(getattr(_examples[module_name], attribute)) as p:
        yield p


def post(port, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST" if body is not None else "GET", path, body=body, headers=headers)
    response = conn.getresponse()
    answer = response.status, response.read().decode()
    conn.close()
    return answer


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_signed_sms_reaches_the_app_with_its_body(port):
    status, text = post(port, "/sms", urlencode(SMS), {**FORM, "X-Twilio-Signature": signer.sign_form(BASE + "/sms", SMS)})
    assert status == 200, text
    assert f"Verified: {len(SMS)} parameters" in text


def test_a_tampered_body_is_403(port):
    signature = signer.sign_form(BASE + "/sms", SMS)
    tampered = urlencode([(k, v + "!" if k == "Body" else v) for k, v in SMS])
    status, text = post(port, "/sms", tampered, {**FORM, "X-Twilio-Signature": signature})
    assert (status, text) == (403, "Twilio webhook rejected: signature_mismatch\n")


def test_a_missing_signature_is_400(port):
    status, text = post(port, "/sms", urlencode(SMS), FORM)
    assert (status, text) == (400, "Twilio webhook rejected: missing_signature\n")


def test_a_body_over_the_limit_is_413(port):
    status, text = post(port, "/sms", b"Body=" + b"x" * (1024 * 1024), {**FORM, "X-Twilio-Signature": "x"})
    assert (status, text) == (413, "Twilio webhook rejected: body_too_large\n")


def test_a_signed_json_body_reaches_the_app_and_a_changed_one_does_not(port):
    events = json.dumps([{"type": "com.twilio.messaging.message.delivered"}] * 3).encode()
    url, signature = signer.sign_body(BASE + "/events", events)
    target = url[len(BASE):]
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": signature}
    status, text = post(port, target, events, headers)
    assert (status, json.loads(text)) == (200, {"events": 3})
    status, text = post(port, target, events.replace(b"3", b"4") + b" ", headers)
    assert (status, text) == (403, "Twilio webhook rejected: body_hash_mismatch\n")


def test_paths_outside_the_protected_ones_pass(port):
    assert post(port, "/health", None, {}) == (200, "ok")


def echo(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def test_behind_a_trusted_proxy_the_forwarded_url_is_checked():
    """The Host-based policy with X-Forwarded-* believed from 127.0.0.1 only (the test client's address)."""
    form = urlencode(SMS)
    signature = signer.sign_form("https://public.example/sms?x=1", SMS)
    forwarded = {**FORM, "X-Twilio-Signature": signature, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example"}
    trusting = WsgiMiddleware(echo, TOKEN, public_url=PublicUrl(trusted_proxies=["127.0.0.1"]))
    with wsgi_server(trusting) as p:
        assert post(p, "/sms?x=1", form, forwarded) == (200, form)
    distrusting = WsgiMiddleware(echo, validator=Validator(TOKEN), public_url=PublicUrl(trusted_proxies=["10.0.0.0/8"]))
    with wsgi_server(distrusting) as p:
        assert post(p, "/sms?x=1", form, forwarded)[0] == 403


def test_a_missing_token_fails_at_startup(monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    with pytest.raises(ValueError):
        WsgiMiddleware(echo)


def test_a_chunked_body_is_read_to_its_end_and_verified(port):
    """No Content-Length: the body arrives in chunks (werkzeug marks it wsgi.input_terminated)."""
    form = urlencode(SMS).encode()
    signature = signer.sign_form(BASE + "/sms", SMS)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    chunks = iter([form[:10], form[10:]])
    conn.request("POST", "/sms", body=chunks, headers={**FORM, "X-Twilio-Signature": signature}, encode_chunked=True)
    response = conn.getresponse()
    status, text = response.status, response.read().decode()
    conn.close()
    assert status == 200, text
    assert f"Verified: {len(SMS)} parameters" in text


def test_a_chunked_body_over_the_limit_is_413(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    chunks = iter([b"Body=", b"x" * (512 * 1024), b"x" * (512 * 1024)])
    conn.request("POST", "/sms", body=chunks, headers={**FORM, "X-Twilio-Signature": "x"}, encode_chunked=True)
    response = conn.getresponse()
    answer = response.status, response.read().decode()
    conn.close()
    assert answer == (413, "Twilio webhook rejected: body_too_large\n")
