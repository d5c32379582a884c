"""FastAPI and Starlette: a dependency that verifies the request before the endpoint runs. Protection attached
to the route, where no path is matched: the documented default (the ASGI middleware with ``paths`` is the
fallback).

::

    from fastapi import Depends, FastAPI, Request
    from twilio_webhook.fastapi import TwilioWebhook

    twilio_webhook = TwilioWebhook(public_url="https://hooks.example.com")  # token: TWILIO_AUTH_TOKEN

    @app.post("/sms", dependencies=[Depends(twilio_webhook)])
    async def sms(request: Request):
        form = await request.form()  # the body that was verified

    @app.websocket("/ws")
    async def stream(socket: WebSocket, verdict=Depends(twilio_webhook)):
        await socket.accept()

Declare it with ``Depends`` (on the route, its router, or a parameter), never as a decorator: written
``@twilio_webhook`` above ``@app.post`` it raises ``TypeError`` at import, since the route would be registered
without it. A sub-application ``app.mount(...)`` does not run its parent's dependencies: declare it there too.

The endpoint sees the host the request was verified for, the authority of the public URL, whatever ``Host``
the client sent: the scope's ``host`` header and ``server``, so ``request.url``, ``request.base_url`` and
``request.headers["host"]`` give it. A request whose URL an earlier dependency read, with another host, is
refused (``400`` ``bad_host``): declare this dependency first. Routing and middleware run before any
dependency, with the client's ``Host`` (Starlette's ``Host`` routes): use the ASGI middleware for those.

The dependency reads the body through the request (up to the limit), so the endpoint reads the same bytes
from ``request.body()``, ``request.form()`` or ``request.json()``. A refusal raises :class:`Refused`, an
``HTTPException`` with the core's status and reason (``400``, ``413``, ``403``), answered as a WebSocket
handshake's denial response too where the server supports it (uvicorn does); elsewhere a refused handshake
raises ``WebSocketException`` (code 1008) before it is accepted, which the server answers with ``403``.
``app.add_exception_handler(Refused, refusal_handler)`` answers with the plain text the middleware sends. Read forms
with ``request.form()``: FastAPI reads ``Form(...)`` parameters before dependencies run, and a body already
read is refused (``400`` ``body_unreadable``), never verified from what is left. The dependency returns the
:class:`~twilio_webhook.Verdict`.
"""

from typing import Any, Awaitable, Optional, Union

from starlette.exceptions import HTTPException, WebSocketException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response

from . import _native, asgi
from ._middleware import Protection, refusal
from .validator import Validator

__all__ = ["Refused", "TwilioWebhook", "refusal_handler"]


class TwilioWebhook:
    """A dependency (``Depends(TwilioWebhook(...))``) verifying the request or WebSocket handshake it is
    declared on (settings: see ``__init__``)."""

    def __init__(
        self,
        auth_token: Optional[str] = None,
        *,
        validator: Optional[Validator] = None,
        public_url: Union[None, str, _native.PublicUrl] = None,
        body_limit: Optional[int] = None,
        diagnose: Union[int, str] = 10,
    ) -> None:
        """The settings of :class:`twilio_webhook.asgi.TwilioWebhookMiddleware`, without ``paths``: the
        route the dependency is declared on is the protected one. A missing or empty token raises
        ``ValueError`` here."""
        self._protection = Protection(auth_token, validator, public_url, body_limit, None, diagnose)
        # FastAPI asks the instance for its __call__ to know whether to await it: it finds this coroutine
        # function. Calling the instance goes through the class's __call__, which checks its argument first.
        self.__dict__["__call__"] = self._verified

    def __call__(self, connection: HTTPConnection) -> Awaitable[_native.Verdict]:
        """Verifies the request (its body read through it) or the handshake, to be awaited; raises on a
        refusal. Raises ``TypeError`` at once when given something else than a request or a WebSocket: used
        as a decorator (``@twilio_webhook`` above ``@app.post``) the route would be registered without it."""
        if not isinstance(connection, HTTPConnection):
            raise TypeError(
                "TwilioWebhook is a FastAPI dependency, not a decorator: declare it on the route, "
                "@app.post(path, dependencies=[Depends(twilio_webhook)]); written as @twilio_webhook above "
                "@app.post, the route would run without verification"
            )
        return self._verified(connection)

    async def _verified(self, connection: HTTPConnection) -> _native.Verdict:
        """What ``Depends`` awaits: the verdict, once the request or handshake is verified."""
        protection = self._protection
        if connection.scope.get("type") == "websocket":
            verdict = asgi.verify_body(protection, dict(connection.scope), b"")
            if not verdict.valid and "websocket.http.response" not in connection.scope.get("extensions", {}):
                raise WebSocketException(code=1008, reason=verdict.reason or "")
        elif isinstance(connection, Request):
            verdict = await _verify(protection, connection)
        else:
            verdict = protection.unreadable()  # an HTTP connection without its body: nothing to verify
        if verdict.valid:
            verdict = _verified_host(protection, connection, verdict)
        if not verdict.valid:
            raise Refused(verdict)
        connection.scope[asgi.VERDICT_KEY] = verdict
        return verdict


# What Starlette caches on a connection once read: the URL and base URL, read before the dependency ran (by an
# earlier dependency) with the client's Host. (FastAPI reads the headers itself before every dependency, so
# those are computed again, never taken as a sign that the app read them.)
_URLS_READ = {"_url": "url", "_base_url": "base_url"}


def _without_scheme(url: Any) -> str:
    """A URL without its scheme: ``hooks.example.com/sms`` of ``https://hooks.example.com/sms``."""
    return str(url).partition("://")[2]


def _verified_host(protection: Protection, connection: HTTPConnection, verdict: _native.Verdict) -> _native.Verdict:
    """Gives the connection (whose scope the endpoint's request shares) the host it was verified for: the
    ``host`` header and ``server`` of its scope, so that ``request.url``, ``request.base_url`` and
    ``request.headers["host"]`` give the public URL's authority. Refuses it (``bad_host``) when an earlier
    dependency had read the URL with another host."""
    read = {cached: getattr(connection, cached) for cached in _URLS_READ if cached in vars(connection)}
    if not asgi.set_host(connection.scope, verdict):
        return protection.bad_host(verdict, "no verified authority")
    for cached in ("_headers", *read):
        vars(connection).pop(cached, None)  # Starlette computes them again from the scope
    # Another scheme alone (the connection's, behind a TLS-terminating proxy) named this origin: not refused.
    if any(_without_scheme(getattr(connection, _URLS_READ[cached])) != _without_scheme(value) for cached, value in read.items()):
        return protection.bad_host(verdict, "an earlier dependency read the request's URL, with another host")
    return verdict


class Refused(HTTPException):
    """A refused request or handshake: an ``HTTPException`` with the core's status, its text as ``detail``
    and the :class:`~twilio_webhook.Verdict` as ``verdict``. FastAPI's own handler answers it as JSON
    (``{"detail": "Twilio webhook rejected: <reason>"}``); :func:`refusal_handler` answers it as plain text,
    as the middleware and the other adapters do."""

    def __init__(self, verdict: _native.Verdict) -> None:
        """The refusal of ``verdict``."""
        status, _, _, text = refusal(verdict)
        super().__init__(status_code=status, detail=text.decode("utf-8").strip())
        self.verdict = verdict


async def refusal_handler(connection: HTTPConnection, exc: Exception) -> Response:
    """An exception handler answering :class:`Refused` as the middleware does: the status and a plain-text
    body naming the reason (``app.add_exception_handler(Refused, refusal_handler)``). For a WebSocket
    handshake it is sent as the server's denial response."""
    verdict = getattr(exc, "verdict", None)
    if verdict is None:
        raise exc
    status, _, headers, text = refusal(verdict)
    return Response(text, status_code=status, headers=dict(headers))


async def _verify(protection: Protection, request: Request) -> _native.Verdict:
    """Reads the body through the request (up to the limit), keeps it there for the endpoint, verifies."""
    # A Content-Length that is not a number (400) or one over the limit (413), before reading.
    refused = protection.declared(asgi.headers_of(dict(request.scope)))
    if refused is not None:
        return refused
    cached = getattr(request, "_body", None)
    if cached is None:
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                chunks.append(chunk)
                size += len(chunk)
                if size > protection.limit:
                    return protection.too_large()
        except (RuntimeError, ClientDisconnect):  # the stream was read by another part of the app, or the client went away
            return protection.unreadable()
        cached = b"".join(chunks)
        request._body = cached  # the endpoint reads the verified bytes from request.body()/form()/json()
    return asgi.verify_body(protection, dict(request.scope), cached)
