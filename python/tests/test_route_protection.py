"""Issue 28: protection attached to the route, where no path is matched: the Flask view decorator, the Django
middleware class and ``twilio_view``, the FastAPI dependency. Each runs on a real server on loopback; a genuine
signed request reaches the view with its body, an unsigned one is refused with the core's status, and a body
another part of the app already read is refused, never verified from what is left."""

import http.client
from urllib.parse import urlencode

import pytest

from conftest import asgi_server, wsgi_server
from test_attacks import TOKEN, handshake, raw, signer, status_of

PUBLIC = "https://hooks.example.com"
SMS = [("From", "+15551234567"), ("Body", "Hello ✓"), ("Body", "again")]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post(port, path, body, headers, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=body, headers={"Host": host or "hooks.example.com", **headers})
    response = conn.getresponse()
    answer = response.status, response.read().decode()
    conn.close()
    return answer


def signed(path, params=SMS, base=PUBLIC, by=signer):
    return {**FORM, "X-Twilio-Signature": by.sign_form(base + path, params)}


# Flask


def flask_app():
    from flask import Flask, request

    from twilio_webhook.flask import TwilioWebhook

    app = Flask(__name__)
    twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

    @app.post("/sms")
    @twilio_webhook
    def sms():
        verified = request.environ.get("twilio_webhook.verdict") is not None
        return f"sms ran: {request.form.getlist('Body')} verified={verified}"

    @app.post("/early")
    @twilio_webhook
    def early():
        return "early ran"

    @app.before_request
    def read_form_first():
        if request.path == "/early":
            request.form  # another part of the app takes the body first

    @app.get("/health")
    def health():
        return "ok"

    return app


def test_flask_decorator_verifies_the_view():
    with wsgi_server(flask_app()) as port:
        status, text = post(port, "/sms", urlencode(SMS), signed("/sms"))
        assert (status, text) == (200, "sms ran: ['Hello ✓', 'again'] verified=True")
        assert post(port, "/sms", urlencode(SMS), FORM) == (400, "Twilio webhook rejected: missing_signature\n")
        tampered = urlencode(SMS).replace("again", "evil")
        assert post(port, "/sms", tampered, signed("/sms")) == (403, "Twilio webhook rejected: signature_mismatch\n")
        big = b"Body=" + b"x" * (1024 * 1024)
        assert post(port, "/sms", big, signed("/sms"))[0] == 413


def test_flask_decorator_refuses_a_body_already_read():
    """A before_request hook read the form: verifying what is left would check an empty body."""
    with wsgi_server(flask_app()) as port:
        signature = signer.sign_form(PUBLIC + "/early", [])  # a signature over the URL alone
        status, text = post(port, "/early", "Body=evil", {**FORM, "X-Twilio-Signature": signature})
        assert (status, text) == (400, "Twilio webhook rejected: body_unreadable\n")


# Django


@pytest.fixture
def django_example(monkeypatch):
    from test_middleware import _examples, load_example

    if "django_app" not in _examples:
        _examples["django_app"] = load_example("django_app", monkeypatch)
    return _examples["django_app"]


def test_django_twilio_view_verifies_and_is_csrf_exempt(django_example):
    """The example's webhook views are twilio_view: served by Django's own WSGI handler, CSRF checks on."""
    from django.core.wsgi import get_wsgi_application

    from test_middleware import BASE, signer as example_signer  # the example's public URL and token here

    with wsgi_server(get_wsgi_application()) as port:
        status, text = post(port, "/sms", urlencode(SMS), signed("/sms", base=BASE, by=example_signer))
        assert status == 200 and "Verified: 3 parameters" in text, text
        assert post(port, "/nested/sms", urlencode(SMS), signed("/sms", base=BASE, by=example_signer))[0] == 403
        assert post(port, "/sms", urlencode(SMS), FORM) == (400, "Twilio webhook rejected: missing_signature\n")


def test_django_middleware_class_decides_on_path_info(django_example):
    """The middleware class in settings.MIDDLEWARE, under an ASGI root path: it decides on request.path_info."""
    from django.core.handlers.asgi import ASGIHandler
    from django.test import override_settings

    middleware = ["twilio_webhook.django.TwilioWebhookMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]
    with override_settings(MIDDLEWARE=middleware, TWILIO_WEBHOOK={"auth_token": TOKEN, "paths": ["/health"]}):
        app = ASGIHandler()  # loads the middleware chain now
    with asgi_server(app, root_path="/api") as port:
        host = f"127.0.0.1:{port}"
        answer = raw(port, f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        signature = signer.sign_form(f"http://{host}/api/health", [])
        genuine = f"GET /health HTTP/1.1\r\nHost: {host}\r\nX-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
        answer = raw(port, genuine.encode())
        assert status_of(answer) == 200 and b"\r\nok" in answer.split(b"\r\n\r\n", 1)[1], answer
        # A verified POST to a view that is not csrf_exempt: the signature authenticates it, CSRF checks are off.
        signature = signer.sign_form(f"http://{host}/api/health", SMS)
        assert post(port, "/health", urlencode(SMS), {**FORM, "X-Twilio-Signature": signature}, host) == (200, "ok")


def test_django_refuses_a_charset_other_than_utf8(django_example):
    """Audit (Django charset): ``Content-Type`` is not signed, and Django decodes ``request.GET`` (and, in 4.2,
    ``request.POST``) in the charset it names. A captured GET webhook whose signed query holds the SMS text
    ``hi+ACY-Digits+AD0-1234``, replayed with ``charset=utf-7``, showed the view ``Digits=1234``, which no
    signature covers. Twilio encodes parameters as UTF-8: any other charset is ``400 unsupported_charset``
    before the view runs, on Django's own WSGI handler behind a real server."""
    from types import ModuleType

    from django.core.wsgi import get_wsgi_application
    from django.http import JsonResponse
    from django.test import override_settings
    from django.urls import path

    from test_middleware import BASE, signer as example_signer  # the example's public URL and token here
    from twilio_webhook.django import twilio_view

    @twilio_view
    def echo(request):
        return JsonResponse({"GET": dict(request.GET.lists()), "POST": dict(request.POST.lists())})

    def send(port, method, target, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, target, body=body, headers={"Host": "example.com", **headers})
        response = conn.getresponse()
        answer = response.status, response.read().decode()
        conn.close()
        return answer

    refused = (400, "Twilio webhook rejected: unsupported_charset\n")
    query = "/voice?AccountSid=AC123&Body=hi+ACY-Digits+AD0-1234&From=%2B15551234567"
    by_query = {"X-Twilio-Signature": example_signer.sign_form(BASE + query, [])}
    form = [("AccountSid", "AC123"), ("Body", "hi ACY-Digits AD0-1234")]
    by_form = {"X-Twilio-Signature": example_signer.sign_form(BASE + "/voice", form)}
    urls = ModuleType("charset_urls")  # a URL configuration for this test alone
    urls.urlpatterns = [path("voice", echo)]
    with override_settings(ROOT_URLCONF=urls), wsgi_server(get_wsgi_application()) as port:
        status, text = send(port, "GET", query, None, by_query)
        assert status == 200 and '"Body": ["hi ACY-Digits AD0-1234"]' in text and "Digits\"" not in text, text
        assert send(port, "GET", query, None, {**by_query, "Content-Type": 'text/plain; charset="UTF-8"'})[0] == 200
        for charset in ["utf-7", "UTF-7", '"utf-7"', "us-ascii", "utf-8; charset=utf-7"]:
            answer = send(port, "GET", query, None, {**by_query, "Content-Type": f"text/plain; charset={charset}"})
            assert answer == refused, (charset, answer)
        body = urlencode(form)
        status, text = send(port, "POST", "/voice", body, {**by_form, **FORM})
        assert status == 200 and '"Body": ["hi ACY-Digits AD0-1234"]' in text, text
        utf7 = {**by_form, "Content-Type": FORM["Content-Type"] + "; charset=utf-7"}
        assert send(port, "POST", "/voice", body, utf7) == refused


# FastAPI


def fastapi_app(handler=True):
    from fastapi import Depends, FastAPI, Form, Request, WebSocket
    from fastapi.responses import PlainTextResponse

    from twilio_webhook.fastapi import Refused, TwilioWebhook, refusal_handler

    app = FastAPI()
    twilio_webhook = TwilioWebhook(TOKEN)
    if handler:
        app.add_exception_handler(Refused, refusal_handler)

    @app.post("/sms", dependencies=[Depends(twilio_webhook)])
    async def sms(request: Request) -> PlainTextResponse:
        form = await request.form()
        return PlainTextResponse(f"sms ran: {form.getlist('Body')}")

    @app.post("/typed")
    async def typed(Body: str = Form(...), verdict=Depends(twilio_webhook)) -> PlainTextResponse:
        return PlainTextResponse(f"typed ran: {Body}")

    @app.websocket("/ws")
    async def ws(socket: WebSocket, verdict=Depends(twilio_webhook)) -> None:
        await socket.accept()
        await socket.send_text("streaming")
        await socket.close()

    return app


def test_fastapi_dependency_verifies_the_route():
    with asgi_server(fastapi_app()) as port:
        host = f"127.0.0.1:{port}"
        base = f"http://{host}"
        status, text = post(port, "/sms", urlencode(SMS), signed("/sms", base=base), host)
        assert (status, text) == (200, "sms ran: ['Hello ✓', 'again']")
        assert post(port, "/sms", urlencode(SMS), FORM, host) == (400, "Twilio webhook rejected: missing_signature\n")
        tampered = urlencode(SMS).replace("again", "evil")
        assert post(port, "/sms", tampered, signed("/sms", base=base), host)[0] == 403
        big = b"Body=" + b"x" * (1024 * 1024)
        assert post(port, "/sms", big, signed("/sms", base=base), host)[0] == 413


def test_fastapi_dependency_without_the_handler_answers_json_with_the_status():
    with asgi_server(fastapi_app(handler=False)) as port:
        status, text = post(port, "/sms", urlencode(SMS), FORM, f"127.0.0.1:{port}")
        assert (status, text) == (400, '{"detail":"Twilio webhook rejected: missing_signature"}')


def test_fastapi_dependency_refuses_a_body_form_parameters_took():
    """FastAPI reads Form(...) parameters before dependencies run: what is left is never verified."""
    with asgi_server(fastapi_app()) as port:
        host = f"127.0.0.1:{port}"
        signature = signer.sign_form(f"http://{host}/typed", [("Body", "hi")])
        status, text = post(port, "/typed", "Body=hi", {**FORM, "X-Twilio-Signature": signature}, host)
        assert (status, text) == (400, "Twilio webhook rejected: body_unreadable\n")


def test_fastapi_dependency_verifies_websocket_handshakes():
    with asgi_server(fastapi_app()) as port:
        answer = raw(port, handshake(port))
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        wrong = signer.sign_form(f"http://127.0.0.1:{port}/ws", [])
        answer = raw(port, handshake(port, wrong))
        assert status_of(answer) == 403 and b"signature_mismatch" in answer, answer
        right = signer.sign_form(f"ws://127.0.0.1:{port}/ws", [])
        assert status_of(raw(port, handshake(port, right))) == 101
