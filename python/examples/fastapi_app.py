"""A FastAPI app whose Twilio webhooks are verified by a dependency on each webhook route, WebSocket handshakes
included.

    pip install fastapi uvicorn python-multipart websockets ./python
    TWILIO_AUTH_TOKEN=... TWILIO_PUBLIC_URL=https://abc123.ngrok.app python python/examples/fastapi_app.py

The example-server contract (``example_settings.py``): ``127.0.0.1:$PORT`` (default 3000), ``TWILIO_AUTH_TOKEN``
required, ``TWILIO_PUBLIC_URL`` and ``TWILIO_TRUSTED_PROXIES`` optional. ``POST /sms`` (form) answers TwiML,
``POST /events`` (JSON with ``bodySHA256``) the number of events, ``POST /nested/sms`` is ``/sms`` in a
router mounted at ``/nested``, ``/ws`` is a WebSocket (Media Streams, ConversationRelay) whose handshake is
verified against its ``ws://`` URL; ``GET /health`` is not a webhook. Refusals: 400 without a signature, 413
over 1 MiB, 403 otherwise.
"""

import json

import example_settings
from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from fastapi.responses import Response

from twilio_webhook.fastapi import Refused, TwilioWebhook, refusal_handler

# Protection attached to each webhook route: no path list to keep in step with the routes.
twilio_webhook = TwilioWebhook(**example_settings.protection())
app = FastAPI()
app.add_exception_handler(Refused, refusal_handler)  # refusals in plain text, as every adapter answers them
nested = APIRouter()


@app.post("/sms", dependencies=[Depends(twilio_webhook)])
@nested.post("/sms", dependencies=[Depends(twilio_webhook)])
async def sms(request: Request) -> Response:
    form = await request.form()
    return Response(example_settings.twiml(len(form.multi_items())), media_type="text/xml")


@app.post("/events", dependencies=[Depends(twilio_webhook)])
async def events(request: Request) -> dict:
    return {"events": len(json.loads(await request.body()))}


@app.websocket("/ws", dependencies=[Depends(twilio_webhook)])
async def websocket(socket: WebSocket) -> None:
    await socket.accept()
    await socket.send_text("WebSocket handshake verified")
    await socket.close()


@app.get("/health")
async def health() -> Response:
    return Response("ok")


app.include_router(nested, prefix="/nested")

if __name__ == "__main__":
    import uvicorn

    # proxy_headers off: which proxy's X-Forwarded-* count is TWILIO_TRUSTED_PROXIES's decision. uvicorn
    # would otherwise rewrite the scheme and the client address from them first (for 127.0.0.1 by default).
    uvicorn.run(app, host="127.0.0.1", port=example_settings.port(), log_level="warning", proxy_headers=False)
