"""``from twilio_webhook.util import RequestValidator``: the import of the "Validate Incoming Requests" page
(``from twilio.util import RequestValidator``, twilio-python before 6), for code written from it."""

from .request_validator import RequestValidator

__all__ = ["RequestValidator"]
