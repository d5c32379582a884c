"""The rich API: several secrets by name, verdicts that say why, and the mode chosen by the spec."""

from collections.abc import Mapping
from typing import Any, Iterable, Optional, Tuple, Union

from . import _native, _shapes
from .request_validator import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER

Verdict = _native.Verdict
Secrets = Union[None, str, Mapping, Iterable[Tuple[str, str]]]


def _named(secrets: Secrets, default_name: str) -> list:
    if secrets is None:
        return []
    if isinstance(secrets, str):
        return [(default_name, secrets)]
    if isinstance(secrets, Mapping):
        return list(secrets.items())
    return [tuple(s) for s in secrets]


class Validator:
    """Validates Twilio webhooks against named Auth Tokens and SharedKeys.

    ``auth_tokens`` is a token (named ``"primary"``), a mapping of name to token, or ``(name, token)``
    pairs, tried in order (put the current token first during a rotation). ``shared_keys`` maps SharedKey
    ids (``KS…``) to their secrets. The relaxations are explicit opt-ins (spec §4). A configuration mistake
    raises ``ValueError`` naming the secret, never showing it.
    """

    def __init__(
        self,
        auth_tokens: Secrets = None,
        shared_keys: Secrets = None,
        *,
        allow_trailing_slash_variant: bool = False,
        allow_query_reencoding: bool = False,
    ) -> None:
        self._native = _native.Validator(
            _named(auth_tokens, "primary"),
            _named(shared_keys, "default"),
            allow_trailing_slash_variant=allow_trailing_slash_variant,
            allow_query_reencoding=allow_query_reencoding,
        )

    def __repr__(self) -> str:
        return repr(self._native)

    def verify(
        self,
        url: str,
        *,
        params: Any = None,
        body: Union[None, str, bytes, bytearray] = None,
        content_type: Optional[str] = None,
        headers: Any = None,
        signature: Optional[str] = None,
    ) -> "_native.Verdict":
        """Verifies one request and says why (``verdict.valid``, ``.reason``, ``.secret``, ``.algorithm``,
        ``.matched_url``; a verdict is truthy when valid).

        The mode follows spec §5: with the raw ``body`` (preferred: repeated keys are never lost), a URL with
        ``bodySHA256`` is checked against the body's hash, a form content type (or an empty body) as form
        parameters, anything else is ``body_hash_missing``. With decoded ``params`` only, the request is a
        form; a URL with ``bodySHA256`` is then ``body_not_hashed``. The signature and the SharedKey settings
        are read from ``headers`` (any mapping or pairs, any case) unless ``signature`` is given.

        :raises TypeError: if ``params`` is not a shape of form parameters, or a value is not text
        """
        if signature is None:
            signature = _shapes.header(headers, SIGNATURE_HEADER)
        settings = _shapes.header(headers, SIGNATURE_SETTINGS_HEADER)
        if content_type is None:
            content_type = _shapes.header(headers, "content-type")
        if body is None and isinstance(params, (str, bytes, bytearray)):
            body, params = params, None
        if body is not None:
            raw = _shapes.body_bytes(body)
            return self._native.verify_request(url, content_type, raw, signature, settings)
        if params is not None:
            return self._native.verify_form(url, _shapes.pairs(params), signature, settings)
        return self._native.verify_request(url, content_type, b"", signature, settings)

    def compute_signature(self, url: str, params: Any) -> str:
        """The signature Twilio would send for a form request, with the first Auth Token."""
        return self._native.compute_signature(url, _shapes.pairs(params))
