"""What the middleware and the per-route protections share: the verifier, which paths are protected, the
refusal."""

import logging
import os
from http import HTTPStatus
from typing import Callable, Iterable, List, Optional, Tuple, Union

from . import _native
from .validator import Validator

logger = logging.getLogger("twilio_webhook")

Headers = List[Tuple[bytes, bytes]]


class Protection:
    """A :class:`WebhookVerifier` and the path prefixes it guards."""

    def __init__(
        self,
        auth_token: Optional[str] = None,
        validator: Optional[Validator] = None,
        public_url: Union[None, str, _native.PublicUrl] = None,
        body_limit: Optional[int] = None,
        paths: Optional[Iterable[str]] = None,
        diagnose: Union[int, str] = 10,
    ) -> None:
        """The settings are the middleware's (see :class:`Middleware`); ``paths=None`` verifies every
        request it is asked about."""
        if validator is None:
            token = auth_token if auth_token is not None else os.environ.get("TWILIO_AUTH_TOKEN", "")
            validator = Validator(token)  # an empty or missing token raises ValueError here, at startup
        if isinstance(public_url, str):
            public_url = _native.PublicUrl([public_url])
        prefixes = None if paths is None else list(paths)
        rate = 0 if str(diagnose).lower() == "off" else int(diagnose)
        if rate < 0:
            raise ValueError("diagnose must be 'off' or a number of diagnoses a second")
        # A prefix that is not a path in normal form raises ValueError here, at startup.
        self.verifier = _native.WebhookVerifier(validator._native, public_url, body_limit, prefixes, rate)
        self.limit: int = self.verifier.body_limit

    def decide(self, path: bytes) -> Tuple[bool, Optional[_native.Verdict]]:
        """The core's path rule for the path the app routes on, decoded, as bytes (WSGI's ``PATH_INFO``
        encoded as latin-1, ASGI's ``path`` without ``root_path`` as UTF-8): ``(verify, refusal)``.
        Prefixes match whole segments; a path with dot segments, encoded slashes or empty segments is
        refused (``400``) whenever ``paths`` are set, since a server could resolve it to a protected one."""
        verify, refused = self.verifier.decide_path(path)
        if refused is not None:
            explain(refused)
        return verify, refused

    def decide_any(self, paths: Iterable[bytes]) -> Tuple[bool, Optional[_native.Verdict]]:
        """:meth:`decide` for every view of one path an app may route on: verified if any view is, refused
        if any view is refused. Two views never let a request through that one of them would verify."""
        verify = False
        for path in dict.fromkeys(paths):
            one, refused = self.decide(path)
            if refused is not None:
                return True, refused
            verify = verify or one
        return verify, None

    def unreadable(self) -> _native.Verdict:
        """The verdict for a body that cannot be read whole, or that another part of the app already read:
        ``400`` ``body_unreadable``. Nothing is verified against what is left of a body."""
        verdict = self.verifier.unreadable()
        explain(verdict)
        return verdict

    def declared(self, headers: Headers) -> Optional[_native.Verdict]:
        """The core's rule on a request's ``Content-Length`` before its body is read, for a server that frames
        the body itself (ASGI): ``400`` ``bad_content_length`` for a value that is not a number of bytes
        (``+12``, ``1_0``, ``²``, lengths that disagree), ``413`` over the limit, ``None`` otherwise."""
        verdict = self.verifier.check_declared_length(headers)
        if verdict is not None:
            explain(verdict)
        return verdict

    def extent(self, headers: Headers, stream_ends: bool) -> Tuple[Optional[int], Optional[_native.Verdict]]:
        """How much body to read from a stream read here (WSGI's ``wsgi.input``), as the core decides from the
        framing headers: ``(length, refusal)``, ``length`` ``None`` meaning to the end of a stream that ends
        where the body does (``stream_ends``: ``wsgi.input_terminated``). Refused before reading: a
        ``Content-Length`` that is not a number (``400``), one over the limit (``413``), a
        ``Transfer-Encoding`` body on a stream that does not end (``411`` ``length_required``)."""
        length, refused = self.verifier.body_extent(headers, stream_ends)
        if refused is not None:
            explain(refused)
        return length, refused

    def bad_host(self, verdict: _native.Verdict, why: str) -> _native.Verdict:
        """The refusal of a verified request whose app had already taken another host than the one its
        signature was made for (``why`` says how, in words of this package's, never the client's): ``400``
        ``bad_host``, the verified URL as the one tried."""
        refused = self.verifier.bad_host(verdict.urls_tried[0] if verdict.urls_tried else None)
        logger.warning("rejected (bad_host): %s; the signature was made for %s", why, ", ".join(refused.urls_tried))
        return refused

    def too_large(self) -> _native.Verdict:
        """The verdict for a body over the limit, without reading it."""
        verdict = self.verifier.too_large()
        explain(verdict)
        return verdict

    def check(
        self,
        target: str,
        headers: Headers,
        body: bytes,
        peer: Optional[str],
        scheme: Optional[str],
        method: str,
    ) -> _native.Verdict:
        """The core's whole check of one request (target as received, raw headers, the body as read); a
        refusal is explained in the log."""
        verdict = self.verifier.check(target, headers, body, peer, scheme, method=method)
        if not verdict.valid:
            explain(verdict)
        return verdict


class Middleware:
    """What both middleware take: the app to protect and how to verify its requests."""

    def __init__(
        self,
        app: Callable,
        auth_token: Optional[str] = None,
        *,
        validator: Optional[Validator] = None,
        public_url: Union[None, str, _native.PublicUrl] = None,
        body_limit: Optional[int] = None,
        paths: Optional[Iterable[str]] = None,
        diagnose: Union[int, str] = 10,
    ) -> None:
        """
        :param app: the application to protect
        :param auth_token: the Auth Token (default: the ``TWILIO_AUTH_TOKEN`` environment variable); ignored
            when ``validator`` is given. A missing or empty token raises ``ValueError`` at startup.
        :param validator: a :class:`~twilio_webhook.Validator` with several secrets
        :param public_url: the public base URL Twilio calls (``https://example.com``), or a
            :class:`~twilio_webhook.PublicUrl` (several bases, trusted proxies); default: the ``Host`` header
        :param body_limit: the largest body accepted, in bytes (default 1 MiB)
        :param paths: path prefixes to protect (default: every request). They match whole segments of
            the path the app routes on (``/twilio`` covers ``/twilio/sms``, not ``/twilios``); once set, a
            request whose path has dot segments, encoded slashes or empty segments is refused (400).
        :param diagnose: how many refusals a second are explained in the log (the ``twilio_webhook`` logger,
            at WARNING) with what Twilio signed and the setting to change; ``"off"`` or ``0`` for none. The
            explanation goes to the log only, never into the response.
        """
        self.app = app
        self._protection = Protection(auth_token, validator, public_url, body_limit, paths, diagnose)


def explain(verdict: _native.Verdict) -> None:
    """Logs a refusal once, at WARNING on the ``twilio_webhook`` logger: the core's explanation (what Twilio
    signed and the setting to change), or its reason and the URLs tried."""
    if verdict.explanation:
        logger.warning("%s", verdict.explanation)
    else:
        logger.warning(
            "rejected (%s); urls tried: %s", verdict.reason, ", ".join(verdict.urls_tried) or "none"
        )


def refusal(verdict: _native.Verdict) -> Tuple[int, str, List[Tuple[str, str]], bytes]:
    """Status code, status line text, headers and body of the answer to a refused request."""
    status = verdict.status or 403
    body = (verdict.message or "Twilio webhook rejected\n").encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return status, f"{status} {HTTPStatus(status).phrase}", headers, body
