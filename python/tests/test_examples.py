"""The three example servers keep the example-server contract the Rust ones keep, checked by the same suite:
``crates/twilio-webhook-http-suite`` runs its 29 signed requests under four configurations, the start-up
refusals and the tunnel's log line against each example started as a process
(``python python/examples/<name>.py``), exactly as it runs them against the Rust examples."""

import subprocess
import sys

import pytest

from conftest import EXAMPLES, REPO


@pytest.mark.parametrize("example", ["flask_app", "fastapi_app", "django_app"])
def test_the_example_keeps_the_contract(example):
    command = ["cargo", "run", "-q", "-p", "twilio-webhook-http-suite", "--bin", "http-suite", "--"]
    result = subprocess.run(
        [*command, sys.executable, str(EXAMPLES / f"{example}.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert "the contract holds (29 cases)" in result.stdout, result.stdout
