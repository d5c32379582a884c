"""Django: a middleware class for ``settings.MIDDLEWARE`` and a view decorator, :func:`twilio_view`, in the
manner of django-twilio's. Protection attached to the route is the documented default; the middleware class
decides on ``request.path_info``, the path Django's URL resolver matches, under any ``SCRIPT_NAME`` or ASGI
``root_path``.

::

    # settings.py
    TWILIO_WEBHOOK = {"public_url": "https://hooks.example.com"}   # token: TWILIO_AUTH_TOKEN (setting or env)

    # views.py
    from twilio_webhook.django import twilio_view

    @twilio_view
    def sms(request):
        ...

    # or, app-wide, in settings.py (``paths`` from TWILIO_WEBHOOK; every request when absent):
    MIDDLEWARE = ["twilio_webhook.django.TwilioWebhookMiddleware", ...]

The settings are the keyword arguments of :class:`twilio_webhook.wsgi.TwilioWebhookMiddleware`
(``auth_token``, ``validator``, ``public_url``, ``body_limit``, ``diagnose``, and ``paths`` for the middleware
class), read from the ``TWILIO_WEBHOOK`` dict; the token defaults to ``settings.TWILIO_AUTH_TOKEN``, then to the
``TWILIO_AUTH_TOKEN`` environment variable. A refused request never reaches the view: ``400`` (no signature, a
body shorter than its ``Content-Length`` or already read as a stream), ``413`` or ``403`` with the reason. A
verified request carries its verdict as ``request.twilio_webhook_verdict`` and is exempt from CSRF checks: the
signature is what authenticates it (Twilio's POSTs carry no CSRF token).

``twilio_view`` goes on a view function in any order with Django's decorators (``csrf_exempt``,
``require_POST``…), on ``MyView.as_view()`` in the URLconf, or on a class-based view's ``dispatch`` with
``method_decorator(twilio_view, name="dispatch")``. Written on a class or on a method, it raises
``TypeError``, never leaves the view unprotected.

A verified request reaches the view with the host it was verified for, the authority of the public URL,
whatever ``Host`` the client sent: ``request.get_host()`` and ``build_absolute_uri()`` (``META``'s
``HTTP_HOST``, ``SERVER_NAME``, ``SERVER_PORT``, and ``HTTP_X_FORWARDED_HOST`` when present) give it, so that
``ALLOWED_HOSTS`` must name the public host. A request whose headers or absolute URI the app read before the
check, with another host, is refused (``400`` ``bad_host``). Middleware that runs before the view (before
``TwilioWebhookMiddleware`` in ``MIDDLEWARE``) sees the client's ``Host``: put the middleware class first for an
app that picks a tenant or a URLconf by host.
"""

import functools
import io
from typing import Any, Callable, Optional

from . import _native, asgi, wsgi
from ._middleware import Protection, refusal

__all__ = ["TwilioWebhookMiddleware", "twilio_view"]


def _protection(with_paths: bool, options: dict) -> Protection:
    from django.conf import settings  # type: ignore[import-untyped]

    merged = dict(getattr(settings, "TWILIO_WEBHOOK", None) or {})
    merged.update(options)
    if merged.get("auth_token") is None and merged.get("validator") is None:
        merged["auth_token"] = getattr(settings, "TWILIO_AUTH_TOKEN", None)
    paths = merged.pop("paths", None) if with_paths else None
    merged.pop("paths", None)
    return Protection(paths=paths, **merged)


def _verify(protection: Protection, request: Any) -> _native.Verdict:
    """Verifies a Django request (WSGI or ASGI) with the body Django read, as the app will see it."""
    meta = request.META
    scope = getattr(request, "scope", None)
    if scope is None and not request._read_started and not hasattr(request, "_body"):
        # WSGI, body unread: read it as the WSGI middleware does (a chunked one too, which Django alone
        # reads as empty), and give Django the bytes that were verified.
        verdict, body = wsgi.read_and_verify(protection, meta)
        if body is not None:
            wsgi.hand_on(meta, body, verdict)
            request._stream = io.BytesIO(body)
        return verdict
    from django.http.request import RawPostDataException  # type: ignore[import-untyped]

    # Not a number (400) or over the limit (413): refused before Django reads the body.
    refused = protection.declared(asgi.headers_of(scope) if scope is not None else wsgi.headers_of(meta))
    if refused is not None:
        return refused
    try:
        body = request.body
    except RawPostDataException:
        return protection.unreadable()  # read as a stream already: what is left is never verified
    if scope is not None:
        return asgi.verify_body(protection, scope, body)
    return wsgi.verify_body(protection, meta, body)


# What a Django request caches once read (the headers, the scheme and host): read before the check, with the
# client's Host.
_HOST_READ = ("headers", "_current_scheme_host")


def _without_scheme(value: Any) -> Any:
    """A scheme and host read (``https://hooks.example.com``) without its scheme; anything else as it is."""
    return value.partition("://")[2] if isinstance(value, str) else value


def _verified_host(protection: Protection, request: Any, verdict: _native.Verdict, read: dict) -> _native.Verdict:
    """Gives the request the origin it was verified for (:func:`twilio_webhook.wsgi.set_host`): ``META``'s
    ``HTTP_HOST``, ``SERVER_NAME``, ``SERVER_PORT``, ``wsgi.url_scheme`` (and the scope's ``scheme`` under
    ASGI), the forwarded headers that name the verified URL and no other routing header, so ``get_host()``
    and ``build_absolute_uri()`` give the public URL's scheme and authority. Refuses it (``bad_host``) when the app had read the headers or the absolute URI before the
    check and they now differ."""
    if not wsgi.set_host(request.META, verdict):
        return protection.bad_host(verdict, "no verified authority")
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope["scheme"] = verdict.scheme  # Django's ASGI request reads its scheme from the scope
    for name in read:
        del request.__dict__[name]  # Django computes them again from META
    # Another scheme alone (the connection's, behind a TLS-terminating proxy) named this origin: not refused.
    if any(_without_scheme(getattr(request, name)) != _without_scheme(value) for name, value in read.items()):
        return protection.bad_host(verdict, "the app read the request's host before the check, with another value")
    return verdict


def _answer(protection: Protection, request: Any, view: Callable[[Any], Any]) -> Any:
    from django.http import HttpRequest  # type: ignore[import-untyped]

    if not isinstance(request, HttpRequest):
        raise TypeError(
            "twilio_view decorates a view function or View.as_view(); on a method of a class-based view, use "
            "method_decorator(twilio_view, name='dispatch')"
        )
    read = {name: request.__dict__[name] for name in _HOST_READ if name in request.__dict__}
    verdict = _verify(protection, request)
    if verdict.valid:
        verdict = _verified_host(protection, request, verdict, read)
    if not verdict.valid:
        return _answer_refusal(verdict)
    request.twilio_webhook_verdict = verdict
    request._dont_enforce_csrf_checks = True  # the signature authenticates it, as csrf_exempt says
    return view(request)


class TwilioWebhookMiddleware:
    """Django middleware verifying the requests whose ``path_info`` is under ``TWILIO_WEBHOOK["paths"]``
    (every request when absent): the path Django's resolver matches, without ``SCRIPT_NAME``/``root_path``."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        """Reads the settings once, at startup: a mistake raises here."""
        self.get_response = get_response
        self._protection = _protection(True, {})

    def __call__(self, request: Any) -> Any:
        """Answers a refused request; hands a verified or unprotected one on."""
        verify, refused = self._protection.decide(request.path_info.encode("utf-8", "surrogateescape"))
        if refused is not None:
            return _answer_refusal(refused)
        if not verify:
            return self.get_response(request)
        return _answer(self._protection, request, self.get_response)


def _answer_refusal(verdict: _native.Verdict) -> Any:
    from django.http import HttpResponse  # type: ignore[import-untyped]

    status, _, headers, text = refusal(verdict)
    response = HttpResponse(text, status=status)
    for name, value in headers:
        response[name] = value
    return response


def twilio_view(view: Optional[Callable[..., Any]] = None, **options: Any) -> Any:
    """Decorates a Django view so that it runs only for a verified request, and exempts it from CSRF
    checks (it is ``csrf_exempt``). Bare (``@twilio_view``) it reads ``settings.TWILIO_WEBHOOK``; called
    (``@twilio_view(public_url=...)``) its keyword arguments override those settings."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]

        if isinstance(view, type):
            raise TypeError(
                f"twilio_view decorates a view function, not the class {view.__name__}: write "
                f"twilio_view({view.__name__}.as_view()) in the URLconf, or decorate the class with "
                "method_decorator(twilio_view, name='dispatch')"
            )
        protection = _protection(False, options)

        @functools.wraps(view)
        def verified_view(request: Any, *args: Any, **kwargs: Any) -> Any:
            return _answer(protection, request, lambda r: view(r, *args, **kwargs))

        return csrf_exempt(verified_view)

    return decorate(view) if view is not None else decorate
