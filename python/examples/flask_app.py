"""A Flask app whose Twilio webhooks are verified by a view decorator on each webhook route.

    pip install flask ./python
    TWILIO_AUTH_TOKEN=... TWILIO_PUBLIC_URL=https://abc123.ngrok.app python python/examples/flask_app.py

The example-server contract (``example_settings.py``): ``127.0.0.1:$PORT`` (default 3000), ``TWILIO_AUTH_TOKEN``
required, ``TWILIO_PUBLIC_URL`` and ``TWILIO_TRUSTED_PROXIES`` optional. ``POST /sms`` (form) answers TwiML,
``POST /events`` (JSON with ``bodySHA256``) the number of events, ``POST /nested/sms`` is ``/sms`` in a
blueprint, ``GET /ws`` checks a WebSocket handshake (WSGI cannot upgrade it); ``GET /health`` is not a webhook.
Refusals: 400 without a signature, 413 over 1 MiB, 403 otherwise.
"""

import json

import example_settings
from flask import Blueprint, Flask, request

from twilio_webhook.flask import TwilioWebhook

app = Flask(__name__)
nested = Blueprint("nested", __name__, url_prefix="/nested")
# Protection attached to each webhook route: no path list to keep in step with the routes.
twilio_webhook = TwilioWebhook(**example_settings.protection())


@app.post("/sms")
@nested.post("/sms")
@twilio_webhook
def sms():
    count = len(list(request.form.items(multi=True)))
    return example_settings.twiml(count), 200, {"Content-Type": "text/xml"}


@app.post("/events")
@twilio_webhook
def events():
    return {"events": len(json.loads(request.get_data()))}


@app.route("/ws", methods=["GET"], websocket=True)  # werkzeug routes a handshake only to such a rule
@twilio_webhook
def websocket():
    return "WebSocket handshake verified\n"


@app.get("/health")
def health():
    return "ok"


app.register_blueprint(nested)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=example_settings.port())
