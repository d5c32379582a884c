"""Every conformance case gives its ``expected`` verdict through the Python API: the drop-in
``RequestValidator.validate`` and ``Validator.verify`` (with the decoded params, and with the raw body)."""

from urllib.parse import urlencode

import pytest

from conftest import jsonl
from twilio_webhook import SIGNATURE_SETTINGS_HEADER, RequestValidator, Validator, get_signature_algorithm

CASES = jsonl("corpus.jsonl") + jsonl("public-extra.jsonl") + jsonl("sdk-edge-probes.jsonl")
SETTINGS = SIGNATURE_SETTINGS_HEADER.lower()


def settings_of(case):
    """The settings header of a case (its name's case varies in the data)."""
    return next((v for k, v in (case.get("headers") or {}).items() if k.lower() == SETTINGS), None)


def params_of(case):
    return [tuple(p) for p in case["params"]]


def test_the_data_is_all_there():
    assert len(CASES) == 2000 + 332 + 23


def drop_in_verdict(case):
    validator = RequestValidator(case["auth_token"])
    params = case["body"] if case["kind"] == "json" else params_of(case)
    return validator.validate(case["url"], params, case["signature"], get_signature_algorithm(settings_of(case)))


def rich_validator(case):
    if case.get("key_id"):
        return Validator(shared_keys={case["key_id"]: case["auth_token"]})
    return Validator(case["auth_token"])


def test_every_case_through_the_drop_in():
    """The drop-in's token is the secret the case names; it reads the algorithm as twilio-python's callers
    do, with get_signature_algorithm. It does not know SharedKey ids, so a case whose verdict turns on the
    key id alone is answered by Validator.verify below."""
    wrong = [c["id"] for c in CASES if not key_id_decides(c) and drop_in_verdict(c) != c["expected"]]
    assert wrong == []


def key_id_decides(case):
    """Whether the settings header names another SharedKey than the one the case configures."""
    named = None
    for part in (settings_of(case) or "").split(","):
        name, _, value = part.partition("=")
        if name.strip() == "key":
            named = value.strip()
    return case.get("key_id") is not None and named != case["key_id"]


def test_every_case_through_verify():
    wrong = []
    for case in CASES:
        validator = rich_validator(case)
        headers = {"X-Twilio-Signature": case["signature"]} if case["signature"] is not None else {}
        if settings_of(case) is not None:
            headers[SIGNATURE_SETTINGS_HEADER] = settings_of(case)
        if case["kind"] == "json":
            verdict = validator.verify(
                case["url"], body=case["body"], content_type="application/json", headers=headers
            )
            got = [verdict.valid]
        else:
            from_params = validator.verify(case["url"], params=params_of(case), headers=headers)
            body = urlencode(params_of(case))
            from_body = validator.verify(
                case["url"], body=body, content_type="application/x-www-form-urlencoded", headers=headers
            )
            got = [from_params.valid, from_body.valid]
        if any(g != case["expected"] for g in got):
            wrong.append((case["id"], got))
    assert wrong == []


@pytest.mark.parametrize("kind", ["form", "json"])
def test_a_valid_verdict_names_the_secret_and_url(kind):
    case = next(c for c in CASES if c["kind"] == kind and c["expected"] and not c.get("key_id"))
    validator = rich_validator(case)
    headers = {"x-twilio-signature": case["signature"]}
    if kind == "json":
        verdict = validator.verify(case["url"], body=case["body"], content_type="application/json", headers=headers)
    else:
        verdict = validator.verify(case["url"], params=params_of(case), headers=headers)
    assert verdict and verdict.valid and verdict.reason is None
    assert (verdict.secret, verdict.secret_kind, verdict.algorithm) == ("primary", "auth_token", "HMAC_SHA1")
    assert verdict.matched_url == case["signed_url"]
