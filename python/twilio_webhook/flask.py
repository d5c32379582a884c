"""Flask: a view decorator that verifies the request before the view runs. Protection attached to the route,
where no path is matched: the documented default (the WSGI middleware with ``paths`` is the fallback).

::

    from twilio_webhook.flask import TwilioWebhook

    twilio_webhook = TwilioWebhook(public_url="https://hooks.example.com")  # token: TWILIO_AUTH_TOKEN

    @app.post("/sms")
    @twilio_webhook
    def sms():
        return reply(request.form)  # the form that was verified

A refused request never reaches the view: it is answered ``400`` (no signature, a body shorter than its
``Content-Length`` or already read by another part of the app, a ``POST`` asking for a WebSocket), ``413``
(over the limit) or ``403``, with a plain-text body naming the reason. A verified request's verdict is in
``request.environ["twilio_webhook.verdict"]``.
"""

import functools
from typing import Any, Callable, Optional, TypeVar, Union

from . import _native
from ._middleware import Protection, refusal
from .validator import Validator
from .wsgi import VERDICT_KEY, hand_on, read_and_verify

__all__ = ["VERDICT_KEY", "TwilioWebhook"]

View = TypeVar("View", bound=Callable[..., Any])

# What werkzeug keeps on a request once its body has been read (cached properties and the cached data).
_BODY_READ = ("stream", "form", "files", "_cached_data", "_cached_json", "data", "json")


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
        """Decorates ``view``: it runs only for a verified request."""
        protection = self._protection

        @functools.wraps(view)
        def verified_view(*args: Any, **kwargs: Any) -> Any:
            from flask import request

            current = request._get_current_object()  # type: ignore[attr-defined]
            if any(name in vars(current) for name in _BODY_READ):
                verdict = protection.unreadable()  # what is left of a body is never verified
            else:
                verdict, body = read_and_verify(protection, request.environ)
                if verdict.valid and body is not None:
                    hand_on(request.environ, body, verdict)
                    return view(*args, **kwargs)
            return _response(verdict)

        return verified_view  # type: ignore[return-value]


def _response(verdict: _native.Verdict) -> Any:
    from flask import Response

    status, _, headers, text = refusal(verdict)
    return Response(text, status=status, headers=headers)
