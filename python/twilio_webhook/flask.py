"""Flask: a view decorator that verifies the request before the view runs. Protection attached to the route,
where no path is matched: the documented default (the WSGI middleware with ``paths`` is the fallback).

::

    from twilio_webhook.flask import TwilioWebhook

    twilio_webhook = TwilioWebhook(public_url="https://hooks.example.com")  # token: TWILIO_AUTH_TOKEN

    @app.post("/sms")
    @twilio_webhook
    def sms():
        return reply(request.form)  # the form that was verified

Write ``@twilio_webhook`` *below* ``@app.route`` (``@app.post``, ``@blueprint.route``…), so that the route
registers the verifying view. Written above it, the route would register the undecorated function and run
it unverified: that order raises ``TypeError`` when the decorator runs, if the app or blueprint is a name
where the view is defined, and otherwise makes every request of the app fail (``500``, the reason in the
log) before any view runs. A function given to ``twilio_webhook`` must not be registered undecorated
elsewhere either.

A refused request never reaches the view: it is answered ``400`` (no signature, a body shorter than its
``Content-Length`` or already read by another part of the app, a ``POST`` asking for a WebSocket), ``413``
(over the limit) or ``403``, with a plain-text body naming the reason. A verified request's verdict is in
``request.environ["twilio_webhook.verdict"]``.

The view sees the host the request was verified for, the authority of the public URL, whatever ``Host`` the
client sent: ``request.host``, ``request.url`` and ``url_for(..., _external=True)`` (``HTTP_HOST``,
``SERVER_NAME`` and ``SERVER_PORT`` in the environ). A request Flask routed on another host
(``host_matching``, ``subdomain_matching``), or whose URL the app read before the view, is refused (``400``
``bad_host``). ``before_request`` functions run before the check, with the client's ``Host``: use the WSGI
middleware for an app that picks a tenant there.
"""

import functools
import inspect
import sys
import weakref
from typing import Any, Callable, Dict, Optional, TypeVar, Union

from . import _native
from ._middleware import Protection, refusal
from .validator import Validator
from .wsgi import VERDICT_KEY, hand_on, read_and_verify, set_host

__all__ = ["VERDICT_KEY", "TwilioWebhook"]

View = TypeVar("View", bound=Callable[..., Any])

# What werkzeug keeps on a request once its body has been read (cached properties and the cached data).
_BODY_READ = ("stream", "form", "files", "_cached_data", "_cached_json", "data", "json")

# The URLs werkzeug keeps on a request once read: read before the view, with the client's Host.
_URLS_READ = ("url", "base_url", "root_url", "host_url")

# The functions a TwilioWebhook wrapped (and what they wrap): registered as a view, one runs unverified.
_wrapped: "weakref.WeakSet[Callable[..., Any]]" = weakref.WeakSet()
_checked_apps: "weakref.WeakSet[Any]" = weakref.WeakSet()
_watching = False


class TwilioWebhook:
    """A Flask view decorator verifying each request before the view runs (settings: see ``__init__``)."""

    def __init__(
        self,
        auth_token: Optional[str] = None,
        *,
        validator: Optional[Validator] = None,
        public_url: Union[None, str, _native.PublicUrl] = None,
        body_limit: Optional[int] = None,
        diagnose: Union[int, str] = 10,
    ) -> None:
        """The settings of :class:`twilio_webhook.wsgi.TwilioWebhookMiddleware`, without ``paths``: the
        decorated view is the protected route. A missing or empty token raises ``ValueError`` here."""
        self._protection = Protection(auth_token, validator, public_url, body_limit, None, diagnose)

    def __call__(self, view: View) -> View:
        """Decorates ``view``: it runs only for a verified request. Raises ``TypeError`` when ``view`` is
        already a view of an app or blueprint named where it is defined (``@twilio_webhook`` written above
        ``@app.route``: the route would run it unverified)."""
        protection = self._protection
        originals = _unwrapped(view)
        _refuse_registered(originals, sys._getframe(1))
        for original in originals:
            try:
                _wrapped.add(original)
            except TypeError:  # not weakly referenceable: the check at the first request cannot see it
                pass
        _watch_requests()

        @functools.wraps(view)
        def verified_view(*args: Any, **kwargs: Any) -> Any:
            from flask import request

            current = request._get_current_object()  # type: ignore[attr-defined]
            if any(name in vars(current) for name in _BODY_READ):
                verdict = protection.unreadable()  # what is left of a body is never verified
            else:
                urls = {name: vars(current)[name] for name in _URLS_READ if name in vars(current)}
                verdict, body = read_and_verify(protection, request.environ)
                if verdict.valid and body is not None:
                    verdict = _verified_host(protection, current, verdict, urls)
                if verdict.valid and body is not None:
                    hand_on(request.environ, body, verdict)
                    return view(*args, **kwargs)
            return _response(verdict)

        return verified_view  # type: ignore[return-value]


def _without_scheme(url: Any) -> str:
    """A URL without its scheme: ``hooks.example.com/sms`` of ``https://hooks.example.com/sms``."""
    return str(url).partition("://")[2]


def _verified_host(protection: Protection, current: Any, verdict: _native.Verdict, urls: Dict[str, str]) -> Any:
    """Gives the request the host it was verified for (the environ, werkzeug's cached host and URLs, the URL
    adapter ``url_for`` builds with); refuses it (``bad_host``) when Flask routed it on another host or the
    app read its URL before the view."""
    from flask import current_app
    from flask.globals import request_ctx

    if not set_host(current.environ, verdict) or verdict.server is None:
        return protection.bad_host(verdict, "no verified authority")
    current.server = verdict.server
    current.scheme = verdict.scheme  # read from the environ once, when werkzeug built the request
    for name in ("host", *_URLS_READ):
        vars(current).pop(name, None)  # werkzeug computes them again from the environ
    # Read with another host, the URL names another origin; with another scheme alone (the connection's, behind a
    # TLS-terminating proxy) it named this one: a refusal would turn away genuine requests of any app that logs its
    # URL before the view.
    if any(_without_scheme(getattr(current, name)) != _without_scheme(value) for name, value in urls.items()):
        return protection.bad_host(verdict, "the app read the request's URL, with another host, before the view")
    context = request_ctx._get_current_object()  # type: ignore[attr-defined]
    routed = getattr(context, "url_adapter", None)
    if routed is None:
        return verdict
    adapter = current_app.create_url_adapter(current)
    if adapter is None:
        return protection.bad_host(verdict, "Flask built no URL adapter for the verified host")
    same_server = (adapter.server_name or "").lower() == (routed.server_name or "").lower()
    if adapter.subdomain != routed.subdomain or (current_app.url_map.host_matching and not same_server):
        return protection.bad_host(verdict, "Flask routed the request on another host than the one verified")
    context.url_adapter = adapter  # url_for(_external=True) builds with the verified host
    return verdict


def _unwrapped(view: Callable[..., Any]) -> list:
    """``view`` and every function it wraps (``__wrapped__``, as ``functools.wraps`` sets it)."""
    chain = [view]
    try:
        inner = inspect.unwrap(view)
    except ValueError:  # a cycle of __wrapped__
        return chain
    current = view
    while current is not inner:
        current = current.__wrapped__  # type: ignore[attr-defined]
        chain.append(current)
    return chain


def _registered(target: Any, originals: list) -> Optional[str]:
    """The endpoint under which an app or blueprint registered one of ``originals``, if it did."""
    from flask import Blueprint, Flask

    if isinstance(target, Flask):
        for endpoint, registered in list(target.view_functions.items()):
            if any(registered is original for original in originals):
                return str(endpoint)
    elif isinstance(target, Blueprint):
        for deferred in list(target.deferred_functions):
            for cell in getattr(deferred, "__closure__", None) or ():
                try:
                    held = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if any(held is original for original in originals):
                    return f"{target.name}.{getattr(originals[0], '__name__', '?')}"
    return None


def _refuse_registered(originals: list, frame: Any) -> None:
    """Raises ``TypeError`` when an app or blueprint named where the decorator is used already registered
    the function it decorates (the decorator written above ``@app.route``)."""
    names = {**frame.f_globals, **frame.f_locals} if frame is not None else {}
    for target in list(names.values()):
        endpoint = _registered(target, originals)
        if endpoint is not None:
            raise TypeError(_misplaced(endpoint))


def _misplaced(endpoint: str) -> str:
    return (
        f"twilio_webhook: the view {endpoint!r} is registered undecorated: write @twilio_webhook below "
        "@app.route (or @app.post, @blueprint.route), so that the route runs the verifying view; written above "
        "it, the route would run without verification"
    )


def _watch_requests() -> None:
    """Checks every Flask app once, at its first request and before any view runs, for a view registered
    undecorated that a TwilioWebhook wrapped (the order the import-time check could not see)."""
    global _watching
    if _watching:
        return
    from flask import request_started

    try:
        request_started.connect(_check_app, weak=False)
    except RuntimeError:  # Flask 2.2 without blinker: no signals; the check at decoration time remains
        return
    _watching = True


def _check_app(sender: Any, **_: Any) -> None:
    """Raises (the request is answered ``500``, the reason in the log) while an app has a view that a
    TwilioWebhook wrapped registered undecorated."""
    if sender in _checked_apps:
        return
    for endpoint, view in list(sender.view_functions.items()):
        try:
            unprotected = view in _wrapped
        except TypeError:  # not weakly referenceable: never added
            unprotected = False
        if unprotected:
            raise RuntimeError(_misplaced(str(endpoint)))
    _checked_apps.add(sender)


def _response(verdict: _native.Verdict) -> Any:
    from flask import Response

    status, _, headers, text = refusal(verdict)
    return Response(text, status=status, headers=headers)
