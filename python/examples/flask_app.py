"""A Flask app whose Twilio webhooks are verified by the WSGI middleware.

    TWILIO_AUTH_TOKEN=... PUBLIC_BASE_URL=https://abc123.ngrok.app python python/examples/flask_app.py

Routes: ``POST /sms`` answers TwiML echoing the message; ``POST /events`` (JSON, signed with ``bodySHA256``)
answers the number of events; ``GET /health`` is not a webhook and is not protected.
"""

import json
import os

from flask import Flask, request

from twilio_webhook.wsgi import VERDICT_KEY, TwilioWebhookMiddleware

app = Flask(__name__)


@app.post("/sms")
def sms():
    body = request.form.get("Body", "")
    secret = request.environ[VERDICT_KEY].secret
    return f"<Response><Message>{len(body)} characters, signed with {secret}</Message></Response>", 200, {
        "Content-Type": "text/xml"
    }


@app.post("/events")
def events():
    return {"events": len(json.loads(request.get_data()))}


@app.get("/health")
def health():
    return "ok"


app.wsgi_app = TwilioWebhookMiddleware(
    app.wsgi_app,
    os.environ.get("TWILIO_AUTH_TOKEN"),
    public_url=os.environ.get("PUBLIC_BASE_URL"),
    paths=["/sms", "/events"],
)

if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
