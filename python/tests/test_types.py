"""The package's annotations and the extension's stubs (`_native.pyi`) agree: mypy finds no issue."""

import importlib.util
import subprocess
import sys


def test_mypy_checks_the_installed_package_clean(tmp_path):
    assert importlib.util.find_spec("mypy"), "mypy is in the test extras: pip install ./python[test]"
    # Run from an empty directory, so the installed package (with its compiled module) is checked.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "-p", "twilio_webhook"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
