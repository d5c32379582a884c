"""Issue 28: the middleware's ``paths`` decide on the path the app routes on. Each attack runs against a real
server on loopback (uvicorn, werkzeug, wsgiref) over raw sockets, as an attacker writes it.

- ASGI: under ``uvicorn --root-path /api`` and in a Starlette ``Mount``, ``scope["path"]`` holds the root
  path while the router strips it; ``paths`` were matched against the whole of it, so an unsigned request
  reached a protected handler (findings 1).
- WSGI: ``PATH_INFO`` is latin-1 (PEP 3333) and was quoted as UTF-8, so a non-ASCII prefix never matched, and a
  URL rebuilt without ``RAW_URI`` (wsgiref) never verified (finding 2).
- A genuine POST asking for a WebSocket is refused as the Rust adapters refuse it (the Python LOW).
"""

from urllib.parse import urlencode

import pytest

from conftest import asgi_server, wsgi_server, wsgiref_server
from test_attacks import TOKEN, form_request, handshake, raw, signer, status_of
from twilio_webhook.asgi import VERDICT_KEY
from twilio_webhook.asgi import TwilioWebhookMiddleware as AsgiMiddleware
from twilio_webhook.wsgi import TwilioWebhookMiddleware as WsgiMiddleware

PUBLIC = "https://hooks.example.com"
SMS = [("From", "+15551234567"), ("Body", "hi")]


def fastapi_app(**protection):
    """The FastAPI example as it was: webhooks protected by the ASGI middleware and its ``paths``."""
    from fastapi import FastAPI, Request, WebSocket
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    @app.post("/sms")
    async def sms(request: Request) -> PlainTextResponse:
        form = await request.form()
        verified = request.scope.get(VERDICT_KEY) is not None
        return PlainTextResponse(f"sms handler ran with {len(form.multi_items())} params, verified={verified}")

    @app.post("/events")
    async def events(request: Request) -> PlainTextResponse:
        return PlainTextResponse("events handler ran")

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("streaming")
        await socket.close()

    @app.get("/health")
    async def health() -> PlainTextResponse:
        return PlainTextResponse("ok")

    app.add_middleware(AsgiMiddleware, auth_token=TOKEN, paths=["/sms", "/events", "/ws"], **protection)
    return app


def test_asgi_paths_hold_under_uvicorn_root_path():
    with asgi_server(fastapi_app(public_url=PUBLIC), root_path="/api") as port:
        host = f"127.0.0.1:{port}"
        for target in ("/sms", "/events"):
            answer = raw(port, form_request(target, host, "Body=forged", ""))
            assert status_of(answer) == 400 and b"missing_signature" in answer, answer
            assert b"handler ran" not in answer
        answer = raw(port, handshake(port))
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        # A genuine webhook still passes: uvicorn puts the root path in raw_path, so the URL is the public one.
        signature = signer.sign_form(f"{PUBLIC}/api/sms", SMS)
        answer = raw(port, form_request("/sms", host, urlencode(SMS), signature))
        assert status_of(answer) == 200 and b"2 params, verified=True" in answer, answer
        assert raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").endswith(b"ok")


def test_asgi_paths_hold_in_a_mounted_sub_app():
    """A sub-app protected by its own middleware, mounted with Starlette's Mount: its handler ran unverified,
    with verdict=None."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/twilio", app=fastapi_app())])
    with asgi_server(app) as port:
        host = f"127.0.0.1:{port}"
        for target in ("/twilio/sms", "/twilio/events"):
            answer = raw(port, form_request(target, host, "Body=forged", ""))
            assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        signature = signer.sign_form(f"http://{host}/twilio/sms", SMS)
        answer = raw(port, form_request("/twilio/sms", host, urlencode(SMS), signature))
        assert status_of(answer) == 200 and b"verified=True" in answer, answer


def _strips(prefix, app):
    """An ASGI app that strips its own mount prefix from the path before routing, as Django does with
    ``FORCE_SCRIPT_NAME`` and FastAPI with ``root_path``: the middleware outside it never sees that prefix
    go."""

    async def stripping(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(prefix + "/"):
            scope = dict(scope, path=scope["path"][len(prefix) :], root_path=scope.get("root_path", "") + prefix)
        await app(scope, receive, send)

    return stripping


def _routed_app(**settings):
    """A FastAPI app with a protected route. Wrapped as in the attack, ``FastAPI(root_path="/v2")`` writes the
    root path into the scope itself, inside the middleware."""
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse

    app = FastAPI(**settings)

    @app.post("/twilio/sms")
    async def sms(request: Request) -> PlainTextResponse:
        verified = request.scope.get(VERDICT_KEY) is not None
        return PlainTextResponse(f"twilio handler ran, verified={verified}")

    return app


@pytest.mark.parametrize("inner", ["fastapi-root-path", "self-stripping"])
def test_asgi_paths_hold_when_the_app_strips_its_own_prefix(inner):
    """Sixth outside attack (A5-F5): with ``paths=["/twilio"]``, an unsigned ``POST /v2/twilio/sms`` ran the
    protected view of an app that strips ``/v2`` itself (FastAPI's ``root_path``, Django's
    ``FORCE_SCRIPT_NAME``), verdict None. The core's path rules now protect the rest of a path after any of
    its segments."""
    app = _routed_app(root_path="/v2") if inner == "fastapi-root-path" else _strips("/v2", _routed_app())
    protected = AsgiMiddleware(app, TOKEN, paths=["/twilio"])
    with asgi_server(protected) as port:
        host = f"127.0.0.1:{port}"
        answer = raw(port, form_request("/v2/twilio/sms", host, "From=%2B1999&Body=forged", ""))
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        assert b"handler ran" not in answer
        signature = signer.sign_form(f"http://{host}/v2/twilio/sms", SMS)
        answer = raw(port, form_request("/v2/twilio/sms", host, urlencode(SMS), signature))
        assert status_of(answer) == 200 and b"twilio handler ran, verified=True" in answer, answer


@pytest.fixture
def django_example(monkeypatch):
    from test_middleware import _examples, load_example

    if "django_app" not in _examples:
        _examples["django_app"] = load_example("django_app", monkeypatch)
    return _examples["django_app"]


def test_asgi_paths_hold_for_django_under_a_root_path(django_example):
    """Django's ASGI handler strips root_path as Starlette does: /health, protected here, passed unsigned."""
    from django.core.asgi import get_asgi_application

    app = AsgiMiddleware(get_asgi_application(), TOKEN, paths=["/health"])
    with asgi_server(app, root_path="/api") as port:
        answer = raw(port, f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        signature = signer.sign_form(f"http://127.0.0.1:{port}/api/health", [])
        genuine = (
            f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Twilio-Signature: {signature}\r\n"
            "Connection: close\r\n\r\n"
        )
        answer = raw(port, genuine.encode())
        assert status_of(answer) == 200 and b"\r\nok" in answer.split(b"\r\n\r\n", 1)[1], answer


def cafe(environ, start_response):
    """A WSGI app routing as Flask and Django do: on PATH_INFO's bytes, decoded as UTF-8."""
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    verified = environ.get("twilio_webhook.verdict") is not None
    return [f"handler for {path} ran, verified={verified}".encode()]


@pytest.mark.parametrize("serve", [wsgi_server, wsgiref_server], ids=["werkzeug", "wsgiref"])
def test_wsgi_non_ascii_paths_are_protected(serve):
    with serve(WsgiMiddleware(cafe, TOKEN, public_url=PUBLIC, paths=["/café"])) as port:
        for target in ("/caf%C3%A9", "/caf%c3%a9/sms"):
            answer = raw(port, form_request(target, "hooks.example.com", "Body=forged", ""))
            assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        answer = raw(port, form_request("/cafe", "hooks.example.com", "", ""))
        assert status_of(answer) == 200 and b"verified=False" in answer, answer


@pytest.mark.parametrize("serve", [wsgi_server, wsgiref_server], ids=["werkzeug", "wsgiref"])
def test_wsgi_genuine_non_ascii_urls_verify(serve):
    """wsgiref sets no RAW_URI: the URL rebuilt from PATH_INFO quoted its latin-1 text as UTF-8 (403)."""
    signature = signer.sign_form(f"{PUBLIC}/caf%C3%A9/sms?x=%C3%A9", SMS)
    with serve(WsgiMiddleware(cafe, TOKEN, public_url=PUBLIC)) as port:
        answer = raw(port, form_request("/caf%C3%A9/sms?x=%C3%A9", "hooks.example.com", urlencode(SMS), signature))
        assert status_of(answer) == 200, answer
        assert "handler for /café/sms ran, verified=True".encode() in answer


def upgrade_post(port, target, host, body, signature):
    request = form_request(target, host, body, signature)
    return request.replace(b"Connection: close\r\n", b"Upgrade: websocket\r\nConnection: close\r\n")


def test_a_post_asking_for_a_websocket_is_refused_as_axum_refuses_it():
    """A genuine POST with Upgrade: websocket got 200 from the Python middleware and 400 from axum."""
    with asgi_server(fastapi_app()) as port:
        host = f"127.0.0.1:{port}"
        signature = signer.sign_form(f"http://{host}/sms", SMS)
        answer = raw(port, upgrade_post(port, "/sms", host, urlencode(SMS), signature))
        assert status_of(answer) == 400 and b"upgrade_not_handshake" in answer, answer
        assert status_of(raw(port, form_request("/sms", host, urlencode(SMS), signature))) == 200
    signature = signer.sign_form(f"{PUBLIC}/sms", SMS)
    with wsgi_server(WsgiMiddleware(cafe, TOKEN, public_url=PUBLIC)) as port:
        answer = raw(port, upgrade_post(port, "/sms", "hooks.example.com", urlencode(SMS), signature))
        assert status_of(answer) == 400 and b"upgrade_not_handshake" in answer, answer
        assert status_of(raw(port, form_request("/sms", "hooks.example.com", urlencode(SMS), signature))) == 200


def test_a_body_shorter_than_its_content_length_is_not_verified():
    """A client that declares more than it sends, then half-closes: what is left is never verified."""
    import socket

    signature = signer.sign_form(f"{PUBLIC}/sms", [])
    with wsgi_server(WsgiMiddleware(cafe, TOKEN, public_url=PUBLIC)) as port:
        head = (
            "POST /sms HTTP/1.1\r\nHost: hooks.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: 40\r\nX-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head.encode())
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert status_of(answer) == 400 and b"body_length_mismatch" in answer, answer
