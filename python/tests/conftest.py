"""Shared test setup: the conformance data, and ``twilio.request_validator`` aliased to the drop-in."""

import json
import sys
import types
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
