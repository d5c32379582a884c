"""Issue 28, fourth outside attack, F13: the drop-in ``RequestValidator.validate(url, request.form, signature)``.

Twilio signs the form's keys and values run together, so where a key ends and its value begins is not signed.
A genuine SMS whose ``Body`` the sender wrote as ``hiFrom+15550000001`` can be re-split into ``Body=hi`` and a
second ``From=+15550000001``, which sorts ahead of the real ``From``: the signature still matches, and
``request.form["From"]`` (Flask, Starlette) is the forged one. Given a framework's parsed form, the drop-in now
applies the core's form rules: a second value of a parameter Twilio sends once is refused.

A list of pairs or a dict keeps the signature-level answer twilio-python gives (the conformance data has a
repeated ``To`` valid there, case P02): the caller then sees every value.

Each runs the seed page's pattern on a real server on loopback."""

import http.client
import logging
from urllib.parse import urlencode

import pytest

from conftest import asgi_server, wsgi_server
from test_attacks import TOKEN, signer
from twilio_webhook.request_validator import RequestValidator

PUBLIC = "http://hooks.example.com"
GENUINE = [
    ("AccountSid", "AC" + "0" * 32),
    ("Body", "hiFrom+15550000001"),
    ("From", "+15551234567"),
    ("MessageSid", "SM" + "1" * 32),
    ("To", "+15557654321"),
]
# The same signed text, re-split: Body=hi, then a forged From, which sorts first.
RESPLIT = [
    ("AccountSid", "AC" + "0" * 32),
    ("Body", "hi"),
    ("From", "+15550000001"),
    ("From", "+15551234567"),
    ("MessageSid", "SM" + "1" * 32),
    ("To", "+15557654321"),
]
SIGNATURE = signer.sign_form(PUBLIC + "/sms", GENUINE)


def post(port, params):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "Host": "hooks.example.com",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": SIGNATURE,
    }
    conn.request("POST", "/sms", body=urlencode(params), headers=headers)
    response = conn.getresponse()
    answer = response.status, response.read().decode()
    conn.close()
    return answer


def test_the_resplit_form_still_carries_the_signature():
    """The attack's premise: at the signature level the re-split form is the genuine one."""
    validator = RequestValidator(TOKEN)
    assert validator.validate(PUBLIC + "/sms", GENUINE, SIGNATURE)
    assert validator.validate(PUBLIC + "/sms", RESPLIT, SIGNATURE)  # pairs: every value seen, as twilio-python
    assert validator.validate(PUBLIC + "/sms", dict(GENUINE), SIGNATURE)


def flask_app():
    from flask import Flask, abort, request

    app = Flask(__name__)
    validator = RequestValidator(TOKEN)

    @app.post("/sms")
    def sms():
        # The seed page's pattern ("Validate Incoming Requests").
        if not validator.validate(request.url, request.form, request.headers.get("X-TWILIO-SIGNATURE", "")):
            abort(403)
        return "from " + request.form["From"]

    return app


def test_flask_request_form_with_a_second_from_is_refused(caplog):
    with wsgi_server(flask_app()) as port:
        assert post(port, GENUINE) == (200, "from +15551234567")
        with caplog.at_level(logging.WARNING, logger="twilio_webhook.request_validator"):
            status, _ = post(port, RESPLIT)
    assert status == 403
    assert "repeated_parameter" in caplog.text


def starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    validator = RequestValidator(TOKEN)

    async def sms(request):
        form = await request.form()
        url = "http://hooks.example.com" + request.url.path
        if not validator.validate(url, form, request.headers.get("x-twilio-signature", "")):
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse("from " + form["From"])

    return Starlette(routes=[Route("/sms", sms, methods=["POST"])])


def test_starlette_form_data_with_a_second_from_is_refused():
    with asgi_server(starlette_app()) as port:
        assert post(port, GENUINE) == (200, "from +15551234567")
        assert post(port, RESPLIT)[0] == 403


@pytest.mark.parametrize(
    "params",
    [
        [("From", "+1"), ("From", "+2")],
        [("To", "+1"), ("CallSid", "CA1"), ("CallSid", "CA2")],
        [(" From", "+1")],
        [("From[0]", "+1")],
    ],
    ids=["from-twice", "callsid-twice", "leading-space", "bracket"],
)
def test_a_parsed_form_twilio_never_sends_is_false(params):
    from werkzeug.datastructures import ImmutableMultiDict

    url = PUBLIC + "/sms"
    signature = signer.sign_form(url, params)
    assert RequestValidator(TOKEN).validate(url, params, signature)  # signature level: valid
    assert not RequestValidator(TOKEN).validate(url, ImmutableMultiDict(params), signature)


def test_names_twilio_may_repeat_pass_in_a_parsed_form():
    from werkzeug.datastructures import ImmutableMultiDict

    url = PUBLIC + "/sms"
    params = [("Body", "a"), ("Body", "b"), ("Digits", "1"), ("Digits", "2"), ("From", "+1"), ("From", "+1")]
    assert RequestValidator(TOKEN).validate(url, ImmutableMultiDict(params), signer.sign_form(url, params))


def test_flask_drop_in_refuses_a_forms_pairs_moved_into_its_url(caplog):
    """Sixth outside attack (A5-F9r): the boundary between the URL and the form's pairs is not signed, so a
    captured SMS re-sent as a GET whose query holds its whole string to sign validated with Flask's (empty)
    ``request.form``, and the quick start's ``request.values.get("From")`` read the forged sender. Given a
    framework's parsed form, the drop-in now refuses a URL holding ``AccountSidAC`` (``ambiguous_form``), as
    the middleware refuses such a target."""
    from flask import Flask, abort, request

    app = Flask(__name__)
    validator = RequestValidator(TOKEN)

    @app.route("/sms", methods=["GET", "POST"])
    def sms():
        if not validator.validate(request.url, request.form, request.headers.get("X-TWILIO-SIGNATURE", "")):
            abort(403)
        return "from " + str(request.values.get("From"))

    sid = "AC0123456789abcdef0123456789abcdef"
    text = "hi&From=%2B19995550000&x="
    pairs = [("AccountSid", sid), ("ApiVersion", "2010-04-01"), ("Body", text), ("From", "+15551234"), ("To", "+15550000")]
    signature = signer.sign_form(PUBLIC + "/sms?src=twilio", pairs)
    moved = f"/sms?src=twilioAccountSid{sid}ApiVersion2010-04-01Body{text}From+15551234To+15550000"

    def send(method, target, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Host": "hooks.example.com", "X-Twilio-Signature": signature}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.status, response.read().decode()
        conn.close()
        return answer

    with wsgi_server(app) as port:
        assert send("POST", "/sms?src=twilio", urlencode(pairs)) == (200, "from +15551234")
        with caplog.at_level(logging.WARNING, logger="twilio_webhook.request_validator"):
            status, body = send("GET", moved)
    assert status == 403, body
    assert "+19995550000" not in body
    assert "ambiguous_form" in caplog.text
