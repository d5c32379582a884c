"""A drop-in for ``twilio.request_validator`` (twilio-python 9.13): same names, same calls, exact rules.

Change one import line::

    from twilio_webhook.request_validator import RequestValidator

Where it answers differently from twilio-python it is on purpose (see the project README's table):

- ports follow the specification: ``user:pass@`` hosts and IPv6 literals keep their host when the port is
  removed, and ``wss``/``ws`` default to 443/80;
- ``validate`` never raises on request input (a missing signature, odd parameter types, an undecodable body):
  it answers ``False``;
- a URL with ``bodySHA256`` is only valid with the raw body (a ``str`` or ``bytes``) whose SHA-256 it names;
  form parameters, or a URL with two ``bodySHA256``, are rejected;
- a validator built from an empty token accepts nothing;
- given a framework's parsed form (``request.form``, ``request.POST``: anything with ``getlist`` or
  ``getall``), it also applies the core's form rules, because the app then reads one value per name: a second
  value of a parameter Twilio sends once (``From``, ``To``, ``CallSid``…) is refused, as a re-split genuine SMS
  can put a forged ``From`` first; so is a name some server reads as another (``From[x]``, `` From``).
"""

import hashlib
import hmac
import logging
from typing import Any, Optional, Union

from . import _native, _shapes

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
"""The header Twilio signs every webhook with."""
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
"""The header of a webhook signed with a SharedKey: ``key=<sharedKeyId>,algorithm=<algorithm>``."""
HMAC_SHA1 = "HMAC_SHA1"
"""Auth Token signatures, and SharedKeys with ``algorithm=HMAC_SHA1``."""
HMAC_SHA256 = "HMAC_SHA256"
"""SharedKey signatures with ``algorithm=HMAC_SHA256``."""

_ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)
# The token is also configured as a SharedKey under this id, so that ``algorithm=HMAC_SHA256`` checks it
# as twilio-python does (the caller has already chosen the secret by the header's key id).
_KEY_ID = "drop-in"


def get_signature_algorithm(signature_settings_header: Optional[str]) -> str:
    """The algorithm named in the ``X-Twilio-Webhooks-Signature-Settings`` header.

    A missing or empty header, or one without ``algorithm=``, means the Auth Token signature, HMAC_SHA1.
    """
    for part in (signature_settings_header or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return value.strip()
    return HMAC_SHA1


def compare(string1: Any, string2: Any) -> bool:
    """Whether two strings are equal, compared in constant time (``hmac.compare_digest`` on their UTF-8
    bytes). Anything that is not ``str`` or ``bytes`` is unequal, never an exception."""
    def as_bytes(value: Any) -> Optional[bytes]:
        if isinstance(value, str):
            return value.encode("utf-8", "surrogatepass")
        return bytes(value) if isinstance(value, (bytes, bytearray)) else None

    left, right = as_bytes(string1), as_bytes(string2)
    if left is None or right is None:
        return False
    return hmac.compare_digest(left, right)


def _host_and_userinfo(netloc: str) -> str:
    """``netloc`` without its port: a ``user:pass@`` userinfo and an IPv6 literal's brackets kept (spec §4;
    twilio-python 9.13 cuts both at their first ``:``)."""
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host = hostport[: hostport.find("]") + 1] if "]" in hostport else hostport
    else:
        host = hostport.split(":")[0]
    return userinfo + at + host


def remove_port(uri: Any) -> str:
    """The URL of a parsed URI (``urllib.parse.urlparse``) without its port, as twilio-python's
    ``remove_port``, with the port removed as the specification says (userinfo and IPv6 literals kept)."""
    if not uri.port:
        return uri.geturl()
    return uri._replace(netloc=_host_and_userinfo(uri.netloc)).geturl()


def add_port(uri: Any) -> str:
    """The URL of a parsed URI (``urllib.parse.urlparse``) with its scheme's default port added when it has
    none, as twilio-python's ``add_port`` (443 for ``https`` and ``wss``, 80 otherwise)."""
    if uri.port:
        return uri.geturl()
    port = 443 if uri.scheme in ("https", "wss") else 80
    return uri._replace(netloc=f"{uri.netloc}:{port}").geturl()


def _algorithm(algorithm: Any) -> Optional[str]:
    """The algorithm's name, or ``None`` when it is not one (a wrong type included: never an exception)."""
    if algorithm is None or algorithm == "":
        return HMAC_SHA1
    if not isinstance(algorithm, str):
        return None
    name = algorithm.upper()
    return name if name in _ALGORITHMS else None


class RequestValidator:
    """Validates that a request came from Twilio, with one secret (an Auth Token or a SharedKey secret)."""

    def __init__(self, token: Union[str, bytes]) -> None:
        """:param token: the account Auth Token, or the SharedKey secret when the request carries
        ``X-Twilio-Webhooks-Signature-Settings``."""
        if isinstance(token, bytes):
            token = token.decode("utf-8")
        self._validator: Optional[_native.Validator] = None
        self._sha256: Optional[_native.Signer] = None
        if token:
            self._validator = _native.Validator([("primary", token)], [(_KEY_ID, token)])
            self._sha256 = _native.Signer(token, HMAC_SHA256)

    def __repr__(self) -> str:
        return "<RequestValidator>"

    def compute_signature(self, uri: str, params: Any, algorithm: Optional[str] = None) -> str:
        """The signature Twilio sends for ``uri`` and the POST ``params`` (any shape ``validate`` takes; a
        raw ``str``/``bytes`` body is not signed, only its URL).

        :raises ValueError: if the algorithm is not supported, or the token is empty
        :raises TypeError: if a parameter is not text
        """
        name = _algorithm(algorithm)
        if name is None:
            raise ValueError("Unsupported webhook signature algorithm: %s" % algorithm)
        if self._validator is None or self._sha256 is None:
            raise ValueError("an empty token signs nothing")
        form = [] if isinstance(params, (str, bytes, bytearray)) else _shapes.pairs(params)
        if name == HMAC_SHA1:
            return self._validator.compute_signature(uri, form)
        return self._sha256.sign_form(uri, form)

    def get_values(self, param_dict: Any, param_name: str) -> list:
        """Every value of ``param_name``, from a multidict, a ``QueryDict`` or a plain dict."""
        for accessor in ("getall", "getlist"):
            get = getattr(param_dict, accessor, None)
            if callable(get):
                return list(get(param_name))
        return [param_dict[param_name]]

    def compute_hash(self, body: Union[str, bytes]) -> str:
        """The lowercase hex SHA-256 of a body, as Twilio puts it in ``bodySHA256``."""
        return hashlib.sha256(_shapes.body_bytes(body)).hexdigest()

    def validate(self, uri: str, params: Any, signature: str, algorithm: Optional[str] = None) -> bool:
        """Whether a request came from Twilio.

        :param uri: the full URL Twilio requested
        :param params: the POST parameters (a dict, a multidict, a ``QueryDict``, a list of pairs), or the
            raw body (``str`` or ``bytes``) of a JSON request
        :param signature: the ``X-Twilio-Signature`` header
        :param algorithm: ``HMAC_SHA1`` (default) or ``HMAC_SHA256``, see :func:`get_signature_algorithm`
        :returns: ``True`` if the request passes validation; ``False`` otherwise, never an exception
        """
        validator = self._validator
        if algorithm is None and type(params) is list and validator is not None:
            # The common case, without the checks below: pairs, the Auth Token, HMAC-SHA1.
            try:
                return validator.validate_form(uri, params, signature)
            except (TypeError, ValueError, UnicodeError):
                return False
        name = _algorithm(algorithm)
        if name is None:
            logger.warning("Unsupported webhook signature algorithm %r: rejected.", algorithm)
            return False
        if self._validator is None or not isinstance(uri, str) or not isinstance(signature, str):
            return False
        settings = None if name == HMAC_SHA1 else f"key={_KEY_ID},algorithm={name}"
        try:
            if isinstance(params, (str, bytes, bytearray)):
                body = _shapes.body_bytes(params)
                return self._validator.verify_request(uri, None, body, signature, settings).valid
            form = _shapes.pairs(params)
            if _shapes.is_multidict(params):
                refusal = _native.parsed_form_refusal(uri, form)
                if refusal is not None:
                    logger.warning(
                        "Twilio webhook rejected: %s (a form Twilio never sends: a parameter it sends once "
                        "has two values, or a name some server reads as another; request.form[name] would "
                        "read one of them)",
                        refusal,
                    )
                    return False
            if settings is None:
                return self._validator.validate_form(uri, form, signature)
            return self._validator.verify_form(uri, form, signature, settings).valid
        except (TypeError, ValueError, UnicodeError, AttributeError, KeyError) as error:
            logger.warning("Twilio webhook rejected: unreadable input (%s)", type(error).__name__)
            return False
