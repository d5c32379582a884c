"""Issue 18: the fail-open attacks on the Python middleware, each against a real server on loopback (werkzeug
for WSGI, uvicorn for ASGI) driven over raw sockets, so that the request goes on the wire exactly as an attacker
writes it. An attacker here holds one captured signature and nothing else."""

import socket
from urllib.parse import urlencode

from conftest import asgi_server, wsgi_server
from twilio_webhook import Signer
from twilio_webhook.request_validator import RequestValidator
from twilio_webhook.wsgi import TwilioWebhookMiddleware as WsgiMiddleware

TOKEN = "attack-test-token-0123456789abcd"
signer = Signer(TOKEN)
FORM = "application/x-www-form-urlencoded"


def raw(port, request: bytes) -> bytes:
    """Sends bytes as written and returns the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and request.startswith(b"GET") and b"Upgrade" in request:
                break  # a handshake's answer: 101 keeps the connection open
        return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def form_request(target: str, host: str, body: str, signature: str) -> bytes:
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\nContent-Length: {len(body)}\r\n"
        f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body.encode()


def routes(environ, start_response):
    """An app with a dangerous route beside its webhook."""
    path = environ.get("PATH_INFO", "")
    answer = {"/": b"webhook ok", "/admin/delete-account": b"account deleted", "/twilio": b"twilio webhook"}
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [answer.get(path, b"not found")]


def test_wsgi_an_absolute_form_target_counts_by_its_path():
    """werkzeug puts the absolute form in RAW_URI; the core turned any target not starting with '/' into '/',
    so a signature captured for the root URL verified a request to /admin/delete-account."""
    params = [("From", "+15551234567"), ("Body", "hi")]
    signature = signer.sign_form("https://hooks.example.com/", params)
    app = WsgiMiddleware(routes, TOKEN, public_url="https://hooks.example.com")
    with wsgi_server(app) as port:
        attack = form_request("http://hooks.example.com/admin/delete-account", "hooks.example.com", urlencode(params), signature)
        answer = raw(port, attack)
        assert status_of(answer) == 403, answer
        assert b"account deleted" not in answer
        # The absolute form of the URL that was signed is that request.
        genuine = form_request("http://hooks.example.com/", "hooks.example.com", urlencode(params), signature)
        assert b"webhook ok" in raw(port, genuine)


def test_wsgi_paths_match_whole_segments():
    """paths=["/twilio/"] was a raw string prefix: /twilio itself, the webhook, passed unverified."""
    app = WsgiMiddleware(routes, TOKEN, public_url="https://hooks.example.com", paths=["/twilio/"])
    with wsgi_server(app) as port:
        answer = raw(port, form_request("/twilio", "hooks.example.com", "Body=forged", ""))
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        answer = raw(port, form_request("/static/../twilio", "hooks.example.com", "Body=forged", ""))
        assert status_of(answer) == 400 and b"bad_request_target" in answer, answer
        # Outside the prefixes, requests pass unverified, as configured.
        assert b"webhook ok" in raw(port, form_request("/", "hooks.example.com", "", ""))


def websocket_app():
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def ws(websocket):
        await websocket.accept()
        await websocket.send_text("streaming")
        await websocket.close()

    from twilio_webhook.asgi import TwilioWebhookMiddleware

    app = Starlette(routes=[WebSocketRoute("/ws", ws)])
    app.add_middleware(TwilioWebhookMiddleware, auth_token=TOKEN)
    return app


def handshake(port, signature=None) -> bytes:
    head = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    )
    if signature:
        head += f"X-Twilio-Signature: {signature}\r\n"
    return (head + "\r\n").encode()


def test_asgi_websocket_handshakes_are_verified():
    """Every scope that was not http passed unverified: Media Streams and ConversationRelay sockets were open to
    anyone. A refused handshake gets the refusal a request gets (uvicorn supports ASGI's denial response)."""
    with asgi_server(websocket_app()) as port:
        answer = raw(port, handshake(port))
        assert status_of(answer) == 400 and b"missing_signature" in answer, answer
        wrong = signer.sign_form(f"http://127.0.0.1:{port}/ws", [])
        answer = raw(port, handshake(port, wrong))
        assert status_of(answer) == 403 and b"signature_mismatch" in answer, answer
        right = signer.sign_form(f"ws://127.0.0.1:{port}/ws", [])
        assert status_of(raw(port, handshake(port, right))) == 101


def test_asgi_a_refused_handshake_is_closed_with_1008_without_the_denial_extension():
    """A server without ASGI's WebSocket denial response: the socket is closed with 1008 before it is accepted."""
    import asyncio

    from twilio_webhook.asgi import TwilioWebhookMiddleware

    async def app(scope, receive, send):
        raise AssertionError("a refused handshake reached the app")

    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "query_string": b"", "headers": [], "scheme": "ws"}
    asyncio.run(TwilioWebhookMiddleware(app, TOKEN)(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "missing_signature"}]


def test_a_wrong_algorithm_type_is_a_rejection_not_an_exception():
    validator = RequestValidator(TOKEN)
    url = "https://example.com/sms"
    params = {"Body": "hi"}
    signature = validator.compute_signature(url, params)
    assert validator.validate(url, params, signature) is True
    for algorithm in (5, object(), b"HMAC_SHA1", ["HMAC_SHA1"], "MD5"):
        assert validator.validate(url, params, signature, algorithm=algorithm) is False


def test_a_forms_pairs_moved_into_its_url_are_refused():
    """Sixth outside attack (A5-F9): the boundary between the URL and the form's pairs is not signed (spec §2),
    so a genuine SMS's first pairs, moved from its body to the end of its URL as text, gave the same string to
    sign. With the SMS text written by the attacker, Flask's ``request.values.get("From")`` (Twilio's quick start
    reads it so) was the forged sender, verified. The core now refuses a target holding ``AccountSidAC``."""
    from flask import Flask, request

    app = Flask(__name__)

    @app.route("/sms", methods=["GET", "POST"])
    def sms():
        return f"From={request.values.get('From')}"

    app.wsgi_app = WsgiMiddleware(app.wsgi_app, TOKEN)
    sid = "AC0123456789abcdef0123456789abcdef"
    pairs = [
        ("AccountSid", sid),
        ("ApiVersion", "2010-04-01"),
        ("Body", "hi&From=%2B19995550000&Body=transfer+all&x="),
        ("From", "+15551234567"),
        ("To", "+15550000000"),
    ]
    moved = f"AccountSid{sid}ApiVersion2010-04-01Bodyhi&From=%2B19995550000&Body=transfer+all&x="
    with wsgi_server(app) as port:
        host = f"127.0.0.1:{port}"
        signature = signer.sign_form(f"http://{host}/sms?src=twilio", pairs)
        rest = urlencode(pairs[3:])
        shifted = form_request(f"/sms?src=twilio{moved}", host, rest, signature)
        emptied = (
            f"GET /sms?src=twilio{moved}From+15551234567To+15550000000 HTTP/1.1\r\nHost: {host}\r\n"
            f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
        ).encode()
        for attack in (shifted, emptied):
            answer = raw(port, attack)
            assert status_of(answer) == 400 and b"ambiguous_form" in answer, answer
            assert b"+19995550000" not in answer
        answer = raw(port, form_request("/sms?src=twilio", host, urlencode(pairs), signature))
        assert status_of(answer) == 200 and answer.endswith(b"From=+15551234567"), answer
