"""WSGI middleware (Flask, Django): verifies every Twilio webhook before the app sees it.

Flask::

    from twilio_webhook.wsgi import TwilioWebhookMiddleware
    app.wsgi_app = TwilioWebhookMiddleware(app.wsgi_app, public_url="https://example.com")

Django (``wsgi.py``)::

    application = TwilioWebhookMiddleware(get_wsgi_application(), paths=["/twilio/"])

The body is read once (up to the limit), verified, and handed to the app unchanged. A refusal is answered
here: ``400`` (no signature), ``413`` (body over the limit), ``403`` (every other reason), with a plain-text
body naming the reason. The request target is taken as received from ``RAW_URI`` or ``REQUEST_URI``
(gunicorn, uWSGI, werkzeug set them); without either it is rebuilt from ``PATH_INFO``, which may differ from
what Twilio signed, and then fails closed.
"""

import io
from typing import Any, Callable, Iterable, Optional, Union
from urllib.parse import quote

from . import _native
from ._middleware import Headers, Protection, refusal
from .validator import Validator

VERDICT_KEY = "twilio_webhook.verdict"
"""The environ key under which a verified request's :class:`Verdict` is handed to the app."""


def _target(environ: dict) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/;=,@:+$!*'()~")
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


def _headers(environ: dict) -> Headers:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.replace("_", "-").lower()
        else:
            continue
        if isinstance(value, str) and value:
            headers.append((name.encode("latin-1"), value.encode("latin-1", "replace")))
    return headers


class TwilioWebhookMiddleware:
    """Wraps a WSGI app so that only verified Twilio webhooks reach it.

    :param app: the WSGI application to protect
    :param auth_token: the Auth Token (default: the ``TWILIO_AUTH_TOKEN`` environment variable); ignored when
        ``validator`` is given. A missing or empty token raises ``ValueError`` at startup.
    :param validator: a :class:`~twilio_webhook.Validator` with several secrets
    :param public_url: the public base URL Twilio calls (``https://example.com``), or a
        :class:`~twilio_webhook.PublicUrl` (several bases, trusted proxies); default: the ``Host`` header
    :param body_limit: the largest body accepted, in bytes (default 1 MiB)
    :param paths: path prefixes to protect (default: every request)
    """

    def __init__(
        self,
        app: Callable,
        auth_token: Optional[str] = None,
        *,
        validator: Optional[Validator] = None,
        public_url: Union[None, str, _native.PublicUrl] = None,
        body_limit: Optional[int] = None,
        paths: Optional[Iterable[str]] = None,
    ) -> None:
        self.app = app
        self._protection = Protection(auth_token, validator, public_url, body_limit, paths)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        protection = self._protection
        if not protection.guards(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length > protection.limit:
            verdict = protection.too_large()
        else:
            stream = environ.get("wsgi.input")
            if length > 0 and stream is not None:
                body = stream.read(length)
            elif environ.get("wsgi.input_terminated") and stream is not None:
                body = stream.read(protection.limit + 1)
            else:
                body = b""
            peer = environ.get("REMOTE_ADDR")
            verdict = protection.check(_target(environ), _headers(environ), body, peer, environ.get("wsgi.url_scheme"))
        if not verdict.valid:
            _, line, headers, text = refusal(verdict)
            start_response(line, headers)
            return [text]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ[VERDICT_KEY] = verdict
        return self.app(environ, start_response)
