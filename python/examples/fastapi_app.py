"""A FastAPI app whose Twilio webhooks are verified by the ASGI middleware.

    TWILIO_AUTH_TOKEN=... PUBLIC_BASE_URL=https://abc123.ngrok.app uvicorn --app-dir python/examples fastapi_app:app

Routes as in ``flask_app.py``: ``POST /sms``, ``POST /events`` (JSON), ``GET /health`` (not protected).
"""

import json
import os

from fastapi import FastAPI, Request
from fastapi.responses import Response

from twilio_webhook.asgi import VERDICT_KEY, TwilioWebhookMiddleware

app = FastAPI()
app.add_middleware(
    TwilioWebhookMiddleware,
    auth_token=os.environ.get("TWILIO_AUTH_TOKEN"),
    public_url=os.environ.get("PUBLIC_BASE_URL"),
    paths=["/sms", "/events"],
)


@app.post("/sms")
async def sms(request: Request) -> Response:
    form = await request.form()
    body = form.get("Body", "")
    secret = request.scope[VERDICT_KEY].secret
    twiml = f"<Response><Message>{len(body)} characters, signed with {secret}</Message></Response>"
    return Response(twiml, media_type="text/xml")


@app.post("/events")
async def events(request: Request) -> dict:
    return {"events": len(json.loads(await request.body()))}


@app.get("/health")
async def health() -> Response:
    return Response("ok")


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, port=int(os.environ.get("PORT", "8000")))
