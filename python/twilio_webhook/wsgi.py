"""WSGI middleware (Flask, Django): verifies every Twilio webhook before the app sees it.

Flask::

    from twilio_webhook.wsgi import TwilioWebhookMiddleware
    app.wsgi_app = TwilioWebhookMiddleware(app.wsgi_app, public_url="https://example.com")

Django (``wsgi.py``)::

    application = TwilioWebhookMiddleware(get_wsgi_application(), paths=["/twilio/"])

The body is read once (up to the limit), verified, and handed to the app unchanged. A refusal is answered
here: ``400`` (no signature, or a request target the core refuses), ``413`` (body over the limit), ``403``
(every other reason), with a plain-text body naming the reason. The request target is taken as received from
``RAW_URI`` or ``REQUEST_URI`` (gunicorn, uWSGI, werkzeug set them; an absolute-form one counts by its path and
query, as the core rules); without either it is rebuilt from ``PATH_INFO``, which may differ from what Twilio
signed, and then fails closed. ``paths`` are matched against ``PATH_INFO``, the path the app routes on.
"""

import io
from typing import Any, Callable
from urllib.parse import quote

from ._middleware import Headers, Middleware, refusal

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


def _refuse(verdict: Any, start_response: Callable) -> Any:
    _, line, headers, text = refusal(verdict)
    start_response(line, headers)
    return [text]


class TwilioWebhookMiddleware(Middleware):
    """Wraps a WSGI app so that only verified Twilio webhooks reach it (parameters: see ``__init__``)."""

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        protection = self._protection
        verify, refused = protection.decide(environ.get("PATH_INFO", ""))
        if refused is not None:
            return _refuse(refused, start_response)
        if not verify:
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
            verdict = protection.check(
                _target(environ),
                _headers(environ),
                body,
                peer,
                environ.get("wsgi.url_scheme"),
                environ.get("REQUEST_METHOD", "POST"),
            )
        if not verdict.valid:
            return _refuse(verdict, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ[VERDICT_KEY] = verdict
        return self.app(environ, start_response)
