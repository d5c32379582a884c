"""twilio-python's own validator tests (tests/unit/test_request_validator.py), run against the drop-in
through the ``twilio.request_validator`` alias set up in conftest.py.

Provenance: the tests and their vectors are those of twilio/twilio-python (MIT License, Copyright (C) 2023,
Twilio, Inc.), as recorded with their names in testdata/sdk-vectors.json (``"sdk": "python"``). The file
itself is not copied: the tests are restated here with the same names, inputs, parameter shapes (a dict,
multidict's ``MultiDict``, Django's ``QueryDict``) and assertions, and the vectors are read from the data.
"""

import unittest

from django.conf import settings
from django.http import QueryDict
from multidict import MultiDict

from conftest import sdk_vectors
from twilio.request_validator import RequestValidator

VECTORS = {v["test_name"]: v for v in sdk_vectors() if v["sdk"] == "python"}


class ValidationTest(unittest.TestCase):
    def setUp(self):
        if not settings.configured:
            settings.configure()
        base = VECTORS["test_validation"]
        self.validator = RequestValidator(base["auth_token"])
        self.uri = base["url"]
        self.params = dict(base["params"])
        self.expected = base["signature"]
        body = VECTORS["test_validation_of_body_succeeds"]
        self.body = body["body"]
        self.uriWithBody = body["url"]
        self.bodyHash = VECTORS["test_compute_hash_unicode"]["body_sha256"]
        self.duplicate_expected = VECTORS["test_compute_signature_duplicate_multi_dict"]["signature"]

    def test_compute_signature(self):
        signature = self.validator.compute_signature(self.uri, self.params)
        assert signature == VECTORS["test_compute_signature"]["signature"]

    def test_compute_hash_unicode(self):
        assert self.validator.compute_hash(self.body) == self.bodyHash

    def test_compute_signature_duplicate_multi_dict(self):
        params = MultiDict(VECTORS["test_compute_signature_duplicate_multi_dict"]["params"])
        assert len(params.getall("Digits")) >= 2  # a repeated key
        assert self.validator.compute_signature(self.uri, params) == self.duplicate_expected

    def test_compute_signature_duplicate_query_dict(self):
        pairs = VECTORS["test_compute_signature_duplicate_query_dict"]["params"]
        params = QueryDict("&".join(f"{k}={v}" for k, v in pairs), encoding="utf-8")
        assert len(params.getlist("Digits")) >= 2  # a repeated key
        assert self.validator.compute_signature(self.uri, params) == self.duplicate_expected

    def test_validation(self):
        assert self.validator.validate(self.uri, self.params, self.expected)

    def test_validation_removes_port_on_https(self):
        v = VECTORS["test_validation_removes_port_on_https"]
        assert v["url"] == self.uri.replace(".com", ".com:1234")
        assert self.validator.validate(v["url"], self.params, self.expected)

    def test_validation_removes_port_on_http(self):
        v = VECTORS["test_validation_removes_port_on_http"]
        assert v["url"] == self.uri.replace(".com", ".com:1234").replace("https", "http")
        assert self.validator.validate(v["url"], self.params, v["signature"])

    def test_validation_adds_port_on_https(self):
        v = VECTORS["test_validation_adds_port_on_https"]
        assert self.validator.validate(self.uri, self.params, v["signature"])

    def test_validation_adds_port_on_http(self):
        v = VECTORS["test_validation_adds_port_on_http"]
        uri = self.uri.replace("https", "http")
        assert self.validator.validate(uri, self.params, v["signature"])

    def test_validation_of_body_succeeds(self):
        v = VECTORS["test_validation_of_body_succeeds"]
        assert self.uriWithBody == self.uri + "&bodySHA256=" + self.bodyHash
        assert self.validator.validate(self.uriWithBody, self.body, v["signature"])


def test_every_python_vector_is_covered():
    """Each of the suite's vectors has its test above, so none is silently skipped."""
    names = {n for n in dir(ValidationTest) if n.startswith("test_")}
    assert set(VECTORS) <= names, set(VECTORS) - names
