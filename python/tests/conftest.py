"""Shared test setup: the conformance data, and ``twilio.request_validator`` aliased to the drop-in."""

import json
import socket
import sys
import threading
import time
import types
from contextlib import contextmanager
from pathlib import Path

import twilio_webhook.request_validator as drop_in

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"
EXAMPLES = REPO / "python" / "examples"

# Code written against twilio-python (`from twilio.request_validator import RequestValidator`) runs
# unchanged against the drop-in: the test environment does not install twilio, so the alias shadows nothing.
if "twilio" not in sys.modules:
    package = types.ModuleType("twilio")
    package.__path__ = []  # a package, so that `twilio.request_validator` imports
    package.request_validator = drop_in
    sys.modules["twilio"] = package
    sys.modules["twilio.request_validator"] = drop_in


def jsonl(name):
    """The lines of a conformance file, parsed."""
    with open(TESTDATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sdk_vectors():
    with open(TESTDATA / "sdk-vectors.json", encoding="utf-8") as f:
        return json.load(f)


@contextmanager
def wsgi_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def wsgiref_server(app):
    """The standard library's WSGI server: no ``RAW_URI`` or ``REQUEST_URI``, so the target is rebuilt."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format, *args):
            pass

    server = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@contextmanager
def asgi_server(app, **config):
    """uvicorn on a free loopback port; ``config`` goes to ``uvicorn.Config`` (``root_path="/api"``)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", **config)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(5)
