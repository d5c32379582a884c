"""twilio-webhook: exact, fast, fail-closed validation of Twilio webhook signatures.

- :class:`RequestValidator` is a drop-in for twilio-python's (``from twilio_webhook import RequestValidator``);
- :class:`Validator` verifies with several named secrets and returns a :class:`Verdict` that says why;
- :mod:`twilio_webhook.flask`, :mod:`twilio_webhook.django` and :mod:`twilio_webhook.fastapi` protect each
  webhook route (the default: no path is matched); :mod:`twilio_webhook.wsgi` and :mod:`twilio_webhook.asgi`
  protect a whole app by path prefix (the fallback);
- :class:`Signer` signs requests as Twilio does, and :class:`PublicUrl` rebuilds the URL Twilio requested
  behind proxies and tunnels.

The rules are the Rust core's (twilio-webhook), called through a compiled extension.
"""

from ._native import PublicUrl, Signer, Verdict, WebhookVerifier, __version__, body_sha256_hex
from .request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from .validator import Validator

__all__ = [
    "HMAC_SHA1",
    "HMAC_SHA256",
    "SIGNATURE_HEADER",
    "SIGNATURE_SETTINGS_HEADER",
    "PublicUrl",
    "RequestValidator",
    "Signer",
    "Validator",
    "Verdict",
    "WebhookVerifier",
    "__version__",
    "body_sha256_hex",
    "get_signature_algorithm",
]
