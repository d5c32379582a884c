"""What the three example servers share: the contract the Rust examples keep.

- listen on ``127.0.0.1:$PORT`` (default 3000);
- refuse to start without ``TWILIO_AUTH_TOKEN`` (exit code 2, and a message naming it);
- ``TWILIO_PUBLIC_URL`` (several, comma-separated: the URLs Twilio calls, such as a tunnel's) and
  ``TWILIO_TRUSTED_PROXIES`` (comma-separated addresses or CIDR ranges whose ``Forwarded``/``X-Forwarded-*``
  count); without a public URL, the URL is built from ``Host`` and the connection's scheme;
- log to stderr, so that a refused webhook explains itself there (what Twilio signed, and the setting to
  change), at most ``TWILIO_DIAGNOSE`` a second (default 10; ``off``).
"""

import logging
import os
import sys
from typing import List, NoReturn

from twilio_webhook import PublicUrl

PATHS = ["/sms", "/events", "/nested", "/ws"]
"""The webhook routes, for the app-wide middleware (the fallback: the examples protect each route instead);
anything else (``/health``) is not a webhook."""


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _list(name: str) -> List[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def protection() -> dict:
    """The protection's settings from the environment (``auth_token``, ``public_url``, ``diagnose``: what the
    route decorators, the dependency and the middleware take); a mistake ends the program with exit code 2."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        fail("TWILIO_AUTH_TOKEN is not set: refusing to start without it")
    try:
        public_url = PublicUrl(_list("TWILIO_PUBLIC_URL"), _list("TWILIO_TRUSTED_PROXIES"))
    except ValueError as error:
        fail(str(error))
    diagnose = os.environ.get("TWILIO_DIAGNOSE", "").strip().lower() or "10"
    if diagnose != "off" and not diagnose.isdigit():
        fail(f"TWILIO_DIAGNOSE must be off or a number of diagnoses a second, got {diagnose!r}")
    return {"auth_token": token, "public_url": public_url, "diagnose": diagnose}


def port() -> int:
    text = os.environ.get("PORT", "3000")
    try:
        value = int(text)
    except ValueError:
        fail(f"PORT must be a port number, got {text!r}")
    if not 0 < value < 65536:
        fail(f"PORT must be a port number, got {text!r}")
    return value


def twiml(count: int) -> str:
    """What ``/sms`` answers: the number of form parameters it received, repeated keys counted."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Verified: '
        f"{count} parameters</Message></Response>"
    )
