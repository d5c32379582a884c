"""Sixth outside attack, A5-F2: the WSGI and ASGI middleware handed the app only the verified host; the scheme
(``wsgi.url_scheme``, ASGI ``scheme``) and the client's ``X-Forwarded-Proto``, ``-Port`` and ``-Prefix`` (and
``X-Original-URL``, ``X-HTTP-Method-Override``, …) reached it as sent. With werkzeug's ``ProxyFix`` inside the
middleware, a genuine SMS verified for ``https://hooks.example.com/sms`` was read by the app as
``http://hooks.example.com:8443/admin/sms``. The app now reads the origin, path and method that were verified
(the core's hand-over, ``verdict.hand_over``), and a trusted proxy's prefix and port, which the URL verified
was built with, stay.

Each runs on a real server on loopback."""

from urllib.parse import urlencode

from conftest import asgi_server, wsgi_server
from test_attacks import TOKEN, signer

PUBLIC = "https://hooks.example.com"
SMS = [("From", "+15551234567"), ("Body", "Hello")]
BODY = urlencode(SMS)

# What a client adds to a genuine SMS: another scheme, port, prefix, URL and method.
FORGED = {
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/admin",
    "X-Original-URL": "/admin/sms",
    "X-HTTP-Method-Override": "DELETE",
    "X-Forwarded-Scheme": "http",
}


def post(port, path, headers):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=BODY, headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    response = conn.getresponse()
    answer = response.status, response.read().decode()
    conn.close()
    return answer


def proxy_fixed_flask(**middleware):
    """Flask behind the WSGI middleware (outermost, as documented) with werkzeug's ``ProxyFix`` inside it
    (the recipe for an app behind nginx): the view answers with the URL, scheme and method the app reads."""
    from flask import Flask, request, url_for
    from werkzeug.middleware.proxy_fix import ProxyFix

    from twilio_webhook.wsgi import TwilioWebhookMiddleware

    app = Flask(__name__)

    @app.post("/sms")
    def sms():
        override = request.headers.get("X-HTTP-Method-Override", "-")
        original = request.headers.get("X-Original-URL", "-")
        return f"{request.url} {url_for('sms', _external=True)} {request.is_secure} {override} {original}"

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
    app.wsgi_app = TwilioWebhookMiddleware(app.wsgi_app, TOKEN, **middleware)
    return app


def test_wsgi_middleware_with_proxyfix_reads_the_verified_url():
    signed = {"Host": "hooks.example.com", "X-Twilio-Signature": signer.sign_form(PUBLIC + "/sms", SMS)}
    with wsgi_server(proxy_fixed_flask(public_url=PUBLIC)) as port:
        want = "https://hooks.example.com/sms https://hooks.example.com/sms True - -"
        assert post(port, "/sms", {**signed, **FORGED}) == (200, want)
        # The same from a proxy's internal Host, and without a forwarded header: the verified URL alone.
        assert post(port, "/sms", {**signed, **FORGED, "Host": "app.internal:8000"}) == (200, want)
        assert post(port, "/sms", signed) == (200, want)


def test_wsgi_middleware_keeps_a_trusted_proxys_prefix_and_port():
    """A trusted proxy's ``X-Forwarded-Prefix`` and ``-Port`` built the URL verified: the app behind
    ``ProxyFix`` builds its URLs with them, as before. A client's, which the policy did not read, are gone."""
    from twilio_webhook import _native

    policy = _native.PublicUrl([], ["127.0.0.1"])
    url = "https://hooks.example.com:8443/api/sms"
    proxied = {
        "Host": "app.internal",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hooks.example.com",
        "X-Forwarded-Port": "8443",
        "X-Forwarded-Prefix": "/api",
        "X-Original-URL": "/admin/sms",
        "X-Twilio-Signature": signer.sign_form(url, SMS),
    }
    with wsgi_server(proxy_fixed_flask(public_url=policy)) as port:
        assert post(port, "/sms", proxied) == (200, f"{url} {url} True - -")


def asgi_echo_app():
    """A raw ASGI app that answers with the scheme, server, method and the headers it reads."""

    async def app(scope, receive, send):
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        headers = sorted(f"{bytes(n).decode()}={bytes(v).decode()}" for n, v in scope["headers"])
        text = f"{scope['scheme']} {scope['server'][0]}:{scope['server'][1]} {scope['method']} {' '.join(headers)}"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": text.encode()})

    return app


def test_asgi_middleware_hands_the_app_the_verified_scheme_and_no_clients_routing_header():
    from twilio_webhook.asgi import TwilioWebhookMiddleware

    signed = {"Host": "admin.internal", "X-Twilio-Signature": signer.sign_form(PUBLIC + "/sms", SMS)}
    # uvicorn's own proxy headers (on, trusting loopback) set the client's scheme in the scope first.
    with asgi_server(TwilioWebhookMiddleware(asgi_echo_app(), TOKEN, public_url=PUBLIC)) as port:
        status, text = post(port, "/sms", {**signed, **FORGED, "X-Forwarded-Host": "admin.internal"})
        assert status == 200, text
        scheme, server, method, *headers = text.split(" ")
        assert (scheme, server, method) == ("https", "hooks.example.com:443", "POST"), text
        assert "host=hooks.example.com" in headers and "x-forwarded-host=hooks.example.com" in headers, text
        assert "x-forwarded-proto=https" in headers and "x-forwarded-port=443" in headers, text
        for forged in ("prefix", "original", "override", "scheme", "admin", "8443", "DELETE"):
            assert forged not in text, (forged, text)


def test_asgi_middleware_hands_a_websocket_its_verified_scheme():
    """A handshake verified against ``wss://hooks.example.com/ws`` reaches the app as ``wss``, whatever uvicorn
    read from the client's ``X-Forwarded-Proto``."""
    from test_host_and_order import until

    from twilio_webhook.asgi import TwilioWebhookMiddleware

    async def app(scope, receive, send):
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        names = ",".join(sorted(bytes(n).decode() for n, _ in scope["headers"]))
        await send({"type": "websocket.send", "text": f"scheme={scope['scheme']} headers={names}"})
        await send({"type": "websocket.close"})

    signature = signer.sign_form("wss://hooks.example.com/ws", [])
    head = (
        "GET /ws HTTP/1.1\r\nHost: admin.internal\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "X-Forwarded-Proto: http\r\nX-Original-URL: /admin\r\n"
        f"X-Twilio-Signature: {signature}\r\n\r\n"
    )
    with asgi_server(TwilioWebhookMiddleware(app, TOKEN, public_url=PUBLIC)) as port:
        answer = until(port, head.encode(), b"headers=")
        assert b"scheme=wss " in answer and b"x-original-url" not in answer, answer
