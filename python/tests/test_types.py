"""The package's annotations and the extension's stubs (`_native.pyi`) agree: mypy finds no issue."""

import subprocess
import sys

import mypy  # noqa: F401  (in the test extras: a missing mypy fails here rather than skipping)


def test_mypy_checks_the_installed_package_clean(tmp_path):
    # Run from an empty directory, so the installed package (with its compiled module) is checked.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "-p", "twilio_webhook"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
