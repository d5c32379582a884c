"""Issue 28: protection attached to the route, where no path is matched: the Flask view decorator, the Django
middleware class and ``twilio_view``, the FastAPI dependency. Each runs on a real server on loopback; a genuine
signed request reaches the view with its body, an unsigned one is refused with the core's status, and a body
another part of the app already read is refused, never verified from what is left."""

import http.client
from urllib.parse import quote, urlencode

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


# Issue 28, round two: the body's framing and the method are the core's to decide, on every adapter.


def signed_head(method, target, host, signature, framing):
    """A request head with the framing headers as written (bytes: a latin-1 ``²`` goes on the wire as is)."""
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM['Content-Type']}\r\n"
    head += f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n"
    return head.encode("latin-1") + framing + b"\r\n"


def wsgi_apps():
    """The Flask decorator and the WSGI middleware, each guarding a route that echoes the form it got."""
    from twilio_webhook.wsgi import TwilioWebhookMiddleware

    def echo(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app ran: " + body]

    return {"flask": flask_app(), "wsgi": TwilioWebhookMiddleware(echo, TOKEN, public_url=PUBLIC)}


def test_wsgi_a_content_length_that_is_not_a_number_is_refused():
    """Audit: the WSGI adapters read ``int(CONTENT_LENGTH)``, which takes ``+12``, ``1_0`` and Unicode spaces
    (a form feed would even drop the header in the binding, read as no body),
    while HTTP takes digits only, and ``²`` (``isdigit()`` but no ``int()``) was read as no body at all: a
    URL-only signature verified an empty body and the body sent stayed on the connection. The core's rule
    decides now: ``400 bad_content_length``, before anything is read, on werkzeug (which passes the header
    through as written)."""
    body = urlencode(SMS).encode()
    full = signer.sign_form(PUBLIC + "/sms", SMS)
    empty = signer.sign_form(PUBLIC + "/sms", [])  # a signature over the URL alone
    for name, app in wsgi_apps().items():
        with wsgi_server(app) as port:
            genuine = signed_head("POST", "/sms", "hooks.example.com", full, b"Content-Length: %d\r\n" % len(body))
            answer = raw(port, genuine + body)
            assert status_of(answer) == 200 and b" ran: " in answer, (name, answer)
            for spelled, signature in [
                (b"+%d" % len(body), full),
                (b"%d_" % len(body), full),
                (b"0_%d" % len(body), full),
                (b"\x0c%d" % len(body), full),  # int() cuts a form feed and a no-break space
                (b"\xa0%d" % len(body), full),
                (b"\xb2", empty),
                (b"\xc2\xb2", empty),
                (b"%d, %d" % (len(body), len(body) + 1), full),
            ]:
                framing = b"Content-Length: " + spelled + b"\r\n"
                answer = raw(port, signed_head("POST", "/sms", "hooks.example.com", signature, framing) + body)
                assert status_of(answer) == 400 and b"bad_content_length" in answer, (name, spelled, answer)
                assert b" ran: " not in answer, (name, spelled, answer)


def test_wsgi_a_chunked_body_on_a_stream_without_an_end_is_refused():
    """Audit: a WSGI server that neither dechunks nor sets ``wsgi.input_terminated`` (wsgiref) gives no
    ``CONTENT_LENGTH`` for a chunked request, and the middleware verified it as an empty body, so a URL-only
    signature let any chunked body through. The core refuses it now (``411 length_required``); a server that
    marks the body's end (werkzeug) still has its chunked body read and verified."""
    from conftest import wsgiref_server

    chunked = b"Transfer-Encoding: chunked\r\n"
    body = urlencode(SMS).encode()
    wire = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    empty = signer.sign_form(PUBLIC + "/sms", [])
    for name, app in wsgi_apps().items():
        with wsgiref_server(app) as port:
            answer = raw(port, signed_head("POST", "/sms", "hooks.example.com", empty, chunked) + wire)
            assert status_of(answer) == 411 and b"length_required" in answer, (name, answer)
        with wsgi_server(app) as port:  # werkzeug dechunks and sets wsgi.input_terminated
            full = signer.sign_form(PUBLIC + "/sms", SMS)
            answer = raw(port, signed_head("POST", "/sms", "hooks.example.com", full, chunked) + wire)
            assert status_of(answer) == 200 and b" ran: " in answer, (name, answer)
            answer = raw(port, signed_head("POST", "/sms", "hooks.example.com", empty, chunked) + wire)
            assert status_of(answer) == 403, (name, answer)


def test_wsgi_a_method_that_is_not_a_method_is_refused():
    """Audit: a method the core could not read became ``POST`` in the binding, so ``P@ST`` verified with a
    POST's signature and reached the app with a method no signature named. werkzeug passes any word on the
    request line through; the core refuses it now (``400 bad_method``). (Flask's router answers such a method
    ``405`` before a view runs.)"""
    body = urlencode(SMS).encode()
    full = signer.sign_form(PUBLIC + "/sms", SMS)
    framing = b"Content-Length: %d\r\n" % len(body)
    with wsgi_server(wsgi_apps()["wsgi"]) as port:
        answer = raw(port, signed_head("P@ST", "/sms", "hooks.example.com", full, framing) + body)
        assert status_of(answer) == 400 and b"bad_method" in answer, answer
        assert b" ran: " not in answer
        answer = raw(port, signed_head("POST", "/sms", "hooks.example.com", full, framing) + body)
        assert status_of(answer) == 200 and b"app ran: " in answer, answer


def run_asgi(app, method, headers, body, path="/sms", raw_path=True):
    """One request through an ASGI app, as a server that passes its head through unchecked would deliver it:
    the answer's status and body."""
    import asyncio

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000), "headers": [(b"host", b"hooks.example.com"), *headers],
    }
    if not raw_path:
        del scope["raw_path"]  # a server that gives the decoded path only
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays until the answer is sent (Django listens for it)

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_asgi_a_content_length_or_method_that_is_not_valid_is_refused_not_a_500():
    """Audit: the FastAPI dependency tested ``isdigit()`` and then called ``int()``: ``Content-Length: ²``
    (``"²".isdigit()`` is true) raised, and FastAPI answered 500; the ASGI middleware compared a
    different spelling. uvicorn (h11) refuses such a head itself, so the adapters are driven as a server
    that passes it through would drive them; both answer the core's ``400`` now, and the core decides on a
    method too."""
    from twilio_webhook.asgi import TwilioWebhookMiddleware

    async def echo(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app ran"})

    body = urlencode(SMS).encode()
    base = "http://hooks.example.com"
    form = [(b"content-type", FORM["Content-Type"].encode())]
    full = [*form, (b"x-twilio-signature", signer.sign_form(base + "/sms", SMS).encode())]
    length = [(b"content-length", str(len(body)).encode())]
    apps = {"asgi": TwilioWebhookMiddleware(echo, TOKEN), "fastapi": fastapi_app()}
    for name, app in apps.items():
        assert run_asgi(app, "POST", full + length, body)[0] == 200, name
        for spelled in [b"\xb2", b"+%d" % len(body), b"%d_" % len(body), b"x"]:
            status, text = run_asgi(app, "POST", [*full, (b"content-length", spelled)], body)
            assert (status, text) == (400, b"Twilio webhook rejected: bad_content_length\n"), (name, spelled)
    # FastAPI's router answers a method no route has (405) before a dependency runs; the middleware runs first.
    status, text = run_asgi(apps["asgi"], "P@ST", full + length, body)
    assert (status, text) == (400, b"Twilio webhook rejected: bad_method\n")
    with asgi_server(fastapi_app()) as port:  # the real server refuses the head before any app sees it
        framing = b"Content-Length: \xb2\r\n"
        answer = raw(port, signed_head("POST", "/sms", f"127.0.0.1:{port}", "x", framing) + body)
        assert status_of(answer) == 400, answer


def test_django_a_content_length_that_is_not_a_number_is_refused(django_example):
    """The Django middleware class, under WSGI (werkzeug: Django's own ``int()`` read ``+51`` as 51) and
    under ASGI (Django reads the body itself; the declared length is the core's to judge before it is)."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings

    body = urlencode(SMS).encode()
    full = signer.sign_form(PUBLIC + "/health", SMS)
    settings = {"auth_token": TOKEN, "public_url": PUBLIC}
    with override_settings(MIDDLEWARE=["twilio_webhook.django.TwilioWebhookMiddleware"], TWILIO_WEBHOOK=settings):
        wsgi_app, asgi_app = get_wsgi_application(), ASGIHandler()  # each loads the middleware chain now
    with wsgi_server(wsgi_app) as port:
        answer = raw(port, signed_head("POST", "/health", "hooks.example.com", full, b"Content-Length: %d\r\n" % len(body)) + body)
        assert status_of(answer) == 200 and b"\r\nok\r\n" in answer, answer
        answer = raw(port, signed_head("POST", "/health", "hooks.example.com", full, b"Content-Length: +%d\r\n" % len(body)) + body)
        assert status_of(answer) == 400 and b"bad_content_length" in answer, answer
    headers = [(b"content-type", FORM["Content-Type"].encode()), (b"x-twilio-signature", full.encode())]
    assert run_asgi(asgi_app, "POST", [*headers, (b"content-length", b"%d" % len(body))], body, "/health") == (200, b"ok")
    for spelled in [b"+%d" % len(body), b"\xb2"]:
        status, text = run_asgi(asgi_app, "POST", [*headers, (b"content-length", spelled)], body, "/health")
        assert (status, text) == (400, b"Twilio webhook rejected: bad_content_length\n"), spelled


def test_asgi_without_raw_path_the_core_rebuilds_the_target():
    """A server without ``raw_path``: the middleware rebuilt the target with ``urllib.parse.quote``, which
    escapes ``;``, ``:`` and ``@`` that a path holds as sent, so a genuine webhook to ``/a:b;c`` was
    ``403``. The core rebuilds it now, as it does for WSGI (``origin_target``)."""
    from twilio_webhook.asgi import TwilioWebhookMiddleware

    async def echo(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app ran"})

    app = TwilioWebhookMiddleware(echo, TOKEN, public_url=PUBLIC)
    body = urlencode(SMS).encode()
    for path in ["/a:b;c@d", "/caf\u00e9"]:
        signature = signer.sign_form(PUBLIC + quote(path, safe="/:;@"), SMS)
        headers = [(b"content-type", FORM["Content-Type"].encode()), (b"x-twilio-signature", signature.encode())]
        assert run_asgi(app, "POST", headers, body, path, raw_path=False) == (200, b"app ran"), path
