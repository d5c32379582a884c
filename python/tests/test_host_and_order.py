"""Issue 28, "Trust, round two": the host the app sees, and decorators written in the wrong order.

F5 remainder: with one public URL, the in-process adapters verified the request against that URL and the
app then read the client's ``Host``: a request Twilio signed for ``hooks.example.com``, sent with
``Host: admin.internal``, ran with ``admin.internal`` as its host (Django ``get_host()``, Flask
``request.host``, Starlette ``request.url``, a Flask ``host_matching`` route of the other host). The app now
sees the authority of the URL that verified, which the core reports (``verdict.authority``), as the guard
forwards it; where the framework had already routed on or read another host, the request is ``400 bad_host``.

F7: a Flask view decorator written above ``@app.route`` left the route unprotected without a word (the route
registered the undecorated function). That order now fails at import, or at the latest on the first request
before any view runs; the FastAPI dependency used as a decorator fails at import; Django's ``twilio_view``
protects the view in every order with Django's decorators.

Each runs on a real server on loopback."""

import http.client
import socket
import sys
import types
from urllib.parse import urlencode

import pytest

from conftest import asgi_server, wsgi_server
from test_attacks import TOKEN, signer, status_of

PUBLIC = "https://hooks.example.com"
SMS = [("From", "+15551234567"), ("Body", "Hello")]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SIGNED = {**FORM, "X-Twilio-Signature": signer.sign_form(PUBLIC + "/sms", SMS)}
BODY = urlencode(SMS)


def until(port, request: bytes, wanted: bytes) -> bytes:
    """Sends bytes as written and reads until ``wanted`` arrives, the server closes, or 5 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        answer = b""
        while wanted not in answer:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            answer += chunk
        return answer


def post(port, path, host, headers=SIGNED, body=BODY, method="POST"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": host, **headers})
    response = conn.getresponse()
    answer = response.status, response.read().decode()
    conn.close()
    return answer


# F5: the host the app sees is the one that was verified.


def test_wsgi_middleware_hands_the_app_the_verified_host():
    """``Host: admin.internal`` (and a client ``X-Forwarded-Host``) on a request signed for the public URL:
    the app saw ``admin.internal``. Behind a proxy sending an internal ``Host``, the genuine request still
    passes, and the app sees the public host."""
    from twilio_webhook.wsgi import TwilioWebhookMiddleware

    def echo(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        seen = [environ.get(k, "-") for k in ("HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "HTTP_X_FORWARDED_HOST")]
        return [" ".join(seen).encode()]

    with wsgi_server(TwilioWebhookMiddleware(echo, TOKEN, public_url=PUBLIC)) as port:
        assert post(port, "/sms", "admin.internal") == (200, "hooks.example.com hooks.example.com 443 -")
        forwarded = {**SIGNED, "X-Forwarded-Host": "admin.internal"}
        answer = post(port, "/sms", "admin.internal", forwarded)
        assert answer == (200, "hooks.example.com hooks.example.com 443 hooks.example.com"), answer
        assert post(port, "/sms", "127.0.0.1:8000") == (200, "hooks.example.com hooks.example.com 443 -")
        assert post(port, "/sms", "admin.internal", FORM)[0] == 400  # unsigned: refused as before


def flask_hosts_app():
    from flask import Flask, request, url_for

    from twilio_webhook.flask import TwilioWebhook

    app = Flask(__name__)
    twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

    @app.post("/sms")
    @twilio_webhook
    def sms():
        return f"{request.host} {request.url} {url_for('sms', _external=True)} {request.environ['SERVER_PORT']}"

    @app.post("/late")
    @twilio_webhook
    def late():
        return "late ran"

    @app.before_request
    def read_url_first():
        if request.path == "/late":
            request.url  # werkzeug keeps it: read with the client's Host

    return app


def test_flask_decorator_hands_the_view_the_verified_host():
    late = {**FORM, "X-Twilio-Signature": signer.sign_form(PUBLIC + "/late", SMS)}
    with wsgi_server(flask_hosts_app()) as port:
        expected = (200, "hooks.example.com https://hooks.example.com/sms https://hooks.example.com/sms 443")
        assert post(port, "/sms", "admin.internal") == expected
        assert post(port, "/sms", "127.0.0.1:8000") == expected  # behind a proxy: still genuine
        assert post(port, "/late", "admin.internal", late) == (400, "Twilio webhook rejected: bad_host\n")
        assert post(port, "/late", "hooks.example.com", late) == (200, "late ran")


def test_flask_a_route_matched_on_another_host_is_refused():
    """``host_matching``: Flask chose the route of ``admin.internal`` before the view's decorator ran; the
    request, signed for the public URL, ran the admin host's view."""
    from flask import Flask

    from twilio_webhook.flask import TwilioWebhook

    app = Flask(__name__, host_matching=True, static_folder=None)
    twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

    @app.post("/sms", host="hooks.example.com")
    @twilio_webhook
    def hooks():
        return "hooks ran"

    @app.post("/sms", host="admin.internal", endpoint="admin")
    @twilio_webhook
    def admin():
        return "admin ran"

    with wsgi_server(app) as port:
        assert post(port, "/sms", "hooks.example.com") == (200, "hooks ran")
        assert post(port, "/sms", "admin.internal") == (400, "Twilio webhook rejected: bad_host\n")


@pytest.fixture
def django_settings(monkeypatch):
    from test_middleware import _examples, load_example

    if "django_app" not in _examples:
        _examples["django_app"] = load_example("django_app", monkeypatch)


def django_urls(*patterns):
    urls = types.ModuleType("host_urls")  # a URL configuration for one test
    urls.urlpatterns = list(patterns)
    return urls


def test_django_twilio_view_hands_the_view_the_verified_host(django_settings):
    """The auditor's shape: ``twilio_view`` on a class-based view, served by Django's own handlers (WSGI on
    werkzeug, ASGI on uvicorn); ``ALLOWED_HOSTS`` names the public host only, as behind a proxy."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpResponse
    from django.test import override_settings
    from django.urls import path
    from django.views import View

    from twilio_webhook.django import twilio_view

    class Call(View):
        def post(self, request):
            meta = request.META
            return HttpResponse(f"{request.get_host()} {request.build_absolute_uri()} {meta['SERVER_PORT']}")

    class ReadHeaders:  # a middleware that reads the headers before the view (and Django keeps them)
        def __init__(self, get_response):
            self.get_response = get_response

        def __call__(self, request):
            request.headers.get("Host")
            return self.get_response(request)

    settings = {"auth_token": TOKEN, "public_url": PUBLIC}
    expected = (200, "hooks.example.com https://hooks.example.com/sms 443")
    with override_settings(TWILIO_WEBHOOK=settings, ALLOWED_HOSTS=["hooks.example.com"], MIDDLEWARE=[]):
        urls = django_urls(path("sms", twilio_view(Call.as_view())))
        with override_settings(ROOT_URLCONF=urls):
            wsgi, asgi = get_wsgi_application(), ASGIHandler()
        with override_settings(ROOT_URLCONF=urls, USE_X_FORWARDED_HOST=True):
            forwarded = get_wsgi_application()
        reader = types.ModuleType("host_reader")
        reader.ReadHeaders = ReadHeaders
        sys.modules["host_reader"] = reader
        with override_settings(ROOT_URLCONF=urls, MIDDLEWARE=["host_reader.ReadHeaders"]):
            reading = get_wsgi_application()
        with override_settings(ROOT_URLCONF=urls):
            for app, serve in [(wsgi, wsgi_server), (asgi, asgi_server)]:
                with serve(app) as port:
                    assert post(port, "/sms", "admin.internal") == expected
                    assert post(port, "/sms", "127.0.0.1:8000") == expected
        with override_settings(ROOT_URLCONF=urls, USE_X_FORWARDED_HOST=True), wsgi_server(forwarded) as port:
            assert post(port, "/sms", "admin.internal", {**SIGNED, "X-Forwarded-Host": "admin.internal"}) == expected
        with override_settings(ROOT_URLCONF=urls), wsgi_server(reading) as port:
            assert post(port, "/sms", "admin.internal") == (400, "Twilio webhook rejected: bad_host\n")
            assert post(port, "/sms", "hooks.example.com") == expected
        # The middleware class, in front of a view that is not decorated: the same host reaches the view.
        plain = django_urls(path("sms", Call.as_view()))
        with override_settings(ROOT_URLCONF=plain, MIDDLEWARE=["twilio_webhook.django.TwilioWebhookMiddleware"]):
            wsgi, asgi = get_wsgi_application(), ASGIHandler()
            for app, serve in [(wsgi, wsgi_server), (asgi, asgi_server)]:
                with serve(app) as port:
                    assert post(port, "/sms", "admin.internal") == expected
                    assert post(port, "/sms", "admin.internal", FORM)[0] == 400


async def starlette_echo(scope, receive, send):
    """An ASGI app that answers with the host it sees: the ``host`` header, Starlette's URL, ``server``."""
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.websockets import WebSocket

    server = f"{scope['server'][0]}:{scope['server'][1]}"
    if scope["type"] == "websocket":
        socket = WebSocket(scope, receive, send)
        await socket.accept()
        await socket.send_text(f"{socket.url.netloc} {server}")
        await socket.close()
        return
    request = Request(scope, receive)
    await PlainTextResponse(f"{request.headers['host']} {request.url} {server}")(scope, receive, send)


def test_asgi_middleware_hands_the_app_the_verified_host():
    from twilio_webhook.asgi import TwilioWebhookMiddleware

    app = TwilioWebhookMiddleware(starlette_echo, TOKEN, public_url=PUBLIC)
    with asgi_server(app) as port:
        expected = (200, "hooks.example.com https://hooks.example.com/sms hooks.example.com:443")
        assert post(port, "/sms", "admin.internal") == expected
        assert post(port, "/sms", "127.0.0.1:8000", {**SIGNED, "X-Forwarded-Host": "admin.internal"}) == expected
        # A WebSocket handshake signed for the public wss URL, with another Host: the app sees the public one.
        signature = signer.sign_form("wss://hooks.example.com/ws", [])
        head = (
            "GET /ws HTTP/1.1\r\nHost: admin.internal\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"X-Twilio-Signature: {signature}\r\n\r\n"
        )
        answer = until(port, head.encode(), b"hooks.example.com hooks.example.com:443")
        assert status_of(answer) == 101 and b"hooks.example.com hooks.example.com:443" in answer, answer


def test_fastapi_dependency_hands_the_endpoint_the_verified_host():
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import PlainTextResponse

    from twilio_webhook.fastapi import Refused, TwilioWebhook, refusal_handler

    app = FastAPI()
    app.add_exception_handler(Refused, refusal_handler)
    twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

    def read_url(request: Request) -> str:
        return str(request.url)  # an earlier dependency: Starlette keeps the URL it built

    @app.post("/sms", dependencies=[Depends(twilio_webhook)])
    async def sms(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{request.url.hostname} {request.headers['host']} {request.base_url}")

    @app.post("/late", dependencies=[Depends(read_url), Depends(twilio_webhook)])
    async def late() -> PlainTextResponse:
        return PlainTextResponse("late ran")

    late_signed = {**FORM, "X-Twilio-Signature": signer.sign_form(PUBLIC + "/late", SMS)}
    with asgi_server(app) as port:
        expected = (200, "hooks.example.com hooks.example.com https://hooks.example.com/")
        assert post(port, "/sms", "admin.internal") == expected
        assert post(port, "/sms", "127.0.0.1:8000") == expected
        assert post(port, "/late", "admin.internal", late_signed) == (400, "Twilio webhook rejected: bad_host\n")
        assert post(port, "/late", "hooks.example.com", late_signed) == (200, "late ran")


# F7: a decorator in the wrong order fails loudly, never leaves the route unprotected.


def test_flask_decorator_above_the_route_fails_at_import():
    """The auditor's app: ``@twilio_webhook`` written above ``@app.post``. If it builds, it is served and
    must not run its view unverified."""
    from flask import Flask

    from twilio_webhook.flask import TwilioWebhook

    ran = []

    def build():
        app = Flask(__name__)
        twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

        @twilio_webhook
        @app.post("/sms")
        def sms():
            ran.append("sms")
            return "handler ran"

        return app

    try:
        app = build()
    except TypeError as error:
        assert "below @app.route" in str(error) and "'sms'" in str(error)
        return
    with wsgi_server(app) as port:
        answer = post(port, "/sms", "hooks.example.com", FORM, "Body=forged")
    assert ran == [], answer


def test_flask_decorator_above_a_blueprint_route_fails_at_the_first_request():
    """The blueprint is not a name where the view is defined (an attribute of another object), so the
    import-time check cannot see it: the app's first request fails (500) before any view runs, and so does
    every request after it, the reason in the log."""
    from flask import Blueprint, Flask

    from twilio_webhook.flask import TwilioWebhook

    ran = []
    routes = types.SimpleNamespace(hooks=Blueprint("hooks", __name__))
    twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

    @twilio_webhook
    @routes.hooks.post("/sms")
    def sms():
        ran.append("sms")
        return "handler ran"

    @routes.hooks.get("/health")
    def health():
        ran.append("health")
        return "ok"

    app = Flask(__name__)
    app.register_blueprint(routes.hooks)
    with wsgi_server(app) as port:
        assert post(port, "/sms", "hooks.example.com", FORM, "Body=forged")[0] == 500
        assert post(port, "/health", "hooks.example.com", {}, None, "GET")[0] == 500
        assert post(port, "/sms", "hooks.example.com")[0] == 500
    assert ran == []


def test_fastapi_dependency_as_a_decorator_fails_at_import():
    """``@twilio_webhook`` above ``@app.post``: the route was registered without the dependency (and the name
    bound to a coroutine never awaited), so its endpoint ran for anyone."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from twilio_webhook.fastapi import TwilioWebhook

    ran = []

    def build():
        app = FastAPI()
        twilio_webhook = TwilioWebhook(TOKEN, public_url=PUBLIC)

        @twilio_webhook
        @app.post("/sms")
        async def sms() -> PlainTextResponse:
            ran.append("sms")
            return PlainTextResponse("handler ran")

        return app

    try:
        app = build()
    except TypeError as error:
        assert "not a decorator" in str(error) and "Depends(twilio_webhook)" in str(error)
        return
    with asgi_server(app) as port:
        answer = post(port, "/sms", f"127.0.0.1:{port}", FORM, "Body=forged")
    assert ran == [], answer


def test_django_twilio_view_protects_in_every_order(django_settings):
    """With Django's decorators above or below it, on ``as_view()`` and through ``method_decorator``: an
    unsigned request never reaches the view. On a class it raises, never leaves the view unprotected."""
    from django.core.wsgi import get_wsgi_application
    from django.http import HttpResponse
    from django.test import override_settings
    from django.urls import path
    from django.utils.decorators import method_decorator
    from django.views import View
    from django.views.decorators.csrf import csrf_exempt
    from django.views.decorators.http import require_POST

    from twilio_webhook.django import twilio_view

    ran = []

    def view(request):
        ran.append(request.path)
        return HttpResponse("view ran")

    class Call(View):
        def post(self, request):
            return view(request)

    middleware = ["django.middleware.csrf.CsrfViewMiddleware"]
    with override_settings(TWILIO_WEBHOOK={"auth_token": TOKEN, "public_url": PUBLIC}, MIDDLEWARE=middleware):
        shapes = {
            "exempt-above": csrf_exempt(twilio_view(view)),
            "exempt-below": twilio_view(csrf_exempt(view)),
            "post-above": require_POST(twilio_view(view)),
            "post-below": twilio_view(require_POST(view)),
            "as-view": twilio_view(Call.as_view()),
            "dispatch": method_decorator(twilio_view, name="dispatch")(type("Dispatch", (Call,), {})).as_view(),
        }
        with pytest.raises(TypeError, match="as_view"):
            twilio_view(Call)
        urls = django_urls(*(path(name, shape) for name, shape in shapes.items()))
        with override_settings(ROOT_URLCONF=urls, ALLOWED_HOSTS=["*"]):
            with wsgi_server(get_wsgi_application()) as port:
                for name in shapes:
                    assert post(port, f"/{name}", "hooks.example.com", FORM)[0] == 400, name
                    signed = {**FORM, "X-Twilio-Signature": signer.sign_form(f"{PUBLIC}/{name}", SMS)}
                    assert post(port, f"/{name}", "hooks.example.com", signed) == (200, "view ran"), name
    assert ran == [f"/{name}" for name in shapes]
