"""ASGI middleware (FastAPI, Starlette, Django ASGI): verifies every Twilio webhook before the app sees it.

The documented default is protection attached to the route, where no path is matched: the dependency of
:mod:`twilio_webhook.fastapi` for FastAPI and Starlette, :mod:`twilio_webhook.django` for Django. This
app-wide middleware with its ``paths`` is the fallback for apps that cannot use them.

FastAPI::

    from twilio_webhook.asgi import TwilioWebhookMiddleware
    app.add_middleware(TwilioWebhookMiddleware, public_url="https://example.com")

The body is received once (up to the limit), verified, and replayed to the app unchanged. A refusal is
answered here: ``400`` (no signature, a path the core refuses, a ``Content-Length`` that is not a number, a
body cut short, a method that is not a method, or a ``POST`` asking for a WebSocket), ``413`` (body over the limit), ``403``
(every other reason), with a plain-text body naming the reason. The request target is the raw path as
received (``raw_path``) and the query string. ``paths`` are matched against the path the app routes on:
``path`` without ``root_path`` (under ``uvicorn --root-path`` and in a Starlette ``Mount``), and the whole
``path`` as well: a request is verified when either is protected. A protected prefix also protects the rest of
a path after any of its segments (``/v2/twilio/sms`` under ``paths=["/twilio"]``): an app that strips its own
prefix inside this middleware (``FastAPI(root_path=...)``, Django's ``FORCE_SCRIPT_NAME``) routes it so.

A WebSocket handshake (a ``websocket`` scope: Media Streams, ConversationRelay) is verified too, against its
``ws``/``wss`` URL. A refused one gets the same refusal as a request (``403`` and its reason) where the server
supports ASGI's WebSocket denial response (uvicorn does), and is otherwise closed with code 1008 (policy
violation) before it is accepted, which the server answers with ``403``. ``lifespan`` scopes go to the app; a
scope of any other type never does.

A verified request or handshake reaches the app with the origin it was verified for: the scope's ``host``
header and ``server`` are the authority of the URL that verified (the public URL's) and ``scheme`` its scheme,
whatever ``Host`` the client sent, as the guard forwards it. ``x-forwarded-host``, ``-proto``, ``-port`` and
``-prefix``, when the request has them, name that URL (a prefix only when the URL verified had one), and every
other header that tells an app where or how a request was sent (``x-original-url``,
``x-http-method-override``, …) is removed, in every spelling: the core's one list, which the guard strips too.
Starlette's ``request.url`` and Django's ``get_host()`` give it. Behind a proxy that sends an internal ``Host``, a
genuine request still verifies against the public URL. Add this middleware last (outermost), so that every layer sees that host.
"""

from typing import Any, Awaitable, Callable, Iterator, MutableMapping, Optional, Tuple

from . import _native
from ._middleware import Headers, Middleware, Protection, refusal

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

VERDICT_KEY = "twilio_webhook.verdict"
"""The scope key under which a verified request's :class:`Verdict` is handed to the app."""


def _target(scope: Scope) -> str:
    """The request target as received: ``raw_path`` and the query string; without ``raw_path``, the target
    the core rebuilds from the decoded path (as for WSGI), which may differ from what Twilio signed and then
    fails closed."""
    raw = scope.get("raw_path")
    query = scope.get("query_string", b"").decode("latin-1")
    if raw:
        path = raw.decode("latin-1")
        return f"{path}?{query}" if query else path
    full, root = scope.get("path", ""), scope.get("root_path", "")
    decoded = full if full.startswith(root) else root + full
    return _native.origin_target(decoded.encode("utf-8", "surrogateescape"), query)


def routed_path(scope: Scope) -> str:
    """The path the app routes on: ``path`` without ``root_path``, as Starlette (``get_route_path``) and
    Django strip it. Under ``uvicorn --root-path /api`` and inside a ``Mount``, ``path`` holds the root."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def _views(scope: Scope) -> Iterator[bytes]:
    """The views of a scope's path an app may route on: the routed path, and the path with its root (an
    app or server that does not strip it). A request is verified when any of them is protected."""
    yield routed_path(scope).encode("utf-8", "surrogateescape")
    yield scope.get("path", "").encode("utf-8", "surrogateescape")


def decide(protection: Protection, scope: Scope) -> Tuple[bool, Any]:
    """The core's path rule for a scope: ``(verify, refusal)``, on the path the app routes on."""
    return protection.decide_any(_views(scope))


def headers_of(scope: Scope) -> Headers:
    """A scope's headers as ``(name, value)`` byte pairs."""
    return [(bytes(n), bytes(v)) for n, v in scope.get("headers", [])]


def set_host(scope: MutableMapping[str, Any], verdict: _native.Verdict) -> bool:
    """Gives the app the origin, path and method the request was verified for, and no other (the core's
    decision, ``verdict.hand_over``), in ``scope`` itself: one ``host`` header and ``server``, the authority of
    the URL the request was verified against, ``scheme`` its scheme (``ws``/``wss`` for a WebSocket);
    ``x-forwarded-host``, ``-proto``, ``-port`` and ``-prefix``, when the request has them, name that URL; every
    other header that tells an app where or how a request was sent (``x-original-url``,
    ``x-http-method-override``, …) goes, in every spelling (Django's ASGI handler folds ``_`` as ``-``).
    ``False`` for a verdict without an authority (never a verified one), which the caller refuses."""
    authority, server, scheme = verdict.authority, verdict.server, verdict.scheme
    if not verdict.valid or not authority or not server or scheme not in ("http", "https"):
        return False
    try:
        host = authority.encode("ascii")
        changes = [(n.encode("ascii"), None if v is None else v.encode("ascii")) for n, v in verdict.hand_over]
    except UnicodeEncodeError:
        return False
    changed = {n for n, _ in changes} | {b"host"}
    headers = [(bytes(n), bytes(v)) for n, v in scope.get("headers", []) if bytes(n).lower() not in changed]
    added = [(n, v) for n, v in changes if v is not None and n != b"host"]
    scope["headers"] = [(b"host", host), *headers, *added]
    scope["server"] = (server[0], server[1])
    if scope.get("type") == "websocket":
        scope["scheme"] = "wss" if scheme == "https" else "ws"
    else:
        scope["scheme"] = scheme
    return True


def verify_body(protection: Protection, scope: Scope, body: bytes) -> _native.Verdict:
    """Verifies an ASGI request (or a WebSocket handshake, with an empty body) whose body is ``body``: its
    target as received, its headers, peer, scheme and method."""
    method = scope.get("method", "") if scope.get("type") == "http" else "GET"
    return protection.check(_target(scope), headers_of(scope), body, _peer(scope), scope.get("scheme"), method)


async def read_and_verify(protection: Protection, scope: Scope, receive: Receive) -> Tuple[_native.Verdict, bytes]:
    """Receives an HTTP request's body (up to the limit) and verifies the request: the verdict and the body."""
    refused = protection.declared(headers_of(scope))  # not a number (400) or over the limit (413)
    if refused is not None:
        return refused, b""
    chunks, size, more = [], 0, True
    while more and size <= protection.limit:
        message = await receive()
        if message.get("type") != "http.request":
            return protection.unreadable(), b""  # the client went away
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    if size > protection.limit:
        return protection.too_large(), b""
    body = b"".join(chunks)
    return verify_body(protection, scope, body), body


class TwilioWebhookMiddleware(Middleware):
    """Wraps an ASGI app so that only verified Twilio webhooks reach it (parameters: see ``__init__``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        protection = self._protection
        kind = scope.get("type")
        if kind == "lifespan":
            return await self.app(scope, receive, send)
        verify, refused = decide(protection, scope)
        if kind == "websocket":
            return await self._websocket(scope, receive, send, verify, refused)
        if refused is not None:
            return await _answer(send, refused)
        if kind != "http":
            return None  # no other kind of scope exists; an unknown one never reaches the app
        if not verify:
            return await self.app(scope, receive, send)
        verdict, body = await read_and_verify(protection, scope, receive)
        scope = dict(scope)
        if verdict.valid and not set_host(scope, verdict):
            verdict = protection.bad_host(verdict, "no verified authority")
        if not verdict.valid:
            return await _answer(send, verdict)
        scope[VERDICT_KEY] = verdict
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, verify: bool, refused: Any) -> Any:
        """A handshake is verified like any request (no body, its ``ws``/``wss`` URL); a refused one is closed
        with 1008 before it is accepted."""
        if verify and refused is None:
            verdict = verify_body(self._protection, scope, b"")
            scope = dict(scope)
            if verdict.valid and not set_host(scope, verdict):
                verdict = self._protection.bad_host(verdict, "no verified authority")
            if verdict.valid:
                scope[VERDICT_KEY] = verdict
            else:
                refused = verdict
        if refused is None:
            return await self.app(scope, receive, send)
        message = await receive()  # websocket.connect comes first
        if message.get("type") != "websocket.connect":
            return None
        if "websocket.http.response" in scope.get("extensions", {}):
            # The server can answer the handshake with an HTTP response: the same one a request gets.
            status, _, answer_headers, text = refusal(refused)
            encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer_headers]
            await send({"type": "websocket.http.response.start", "status": status, "headers": encoded})
            await send({"type": "websocket.http.response.body", "body": text})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": refused.reason or ""})
        return None


def _peer(scope: Scope) -> Any:
    client = scope.get("client")
    return client[0] if client else None


async def _answer(send: Send, verdict: Any) -> None:
    """A refusal as an HTTP response: its status and a plain-text body naming the reason."""
    status, _, answer_headers, text = refusal(verdict)
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer_headers]
    await send({"type": "http.response.start", "status": status, "headers": encoded})
    await send({"type": "http.response.body", "body": text})
