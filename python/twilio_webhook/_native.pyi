"""Type stubs of the compiled extension (crates/twilio-webhook-py)."""

from typing import List, Optional, Sequence, Tuple

__version__: str

Pairs = Sequence[Tuple[str, str]]
RawHeaders = Sequence[Tuple[bytes, bytes]]

class Verdict:
    """Whether a request came from Twilio, and why. Truthy when valid."""

    valid: bool
    reason: Optional[str]
    secret: Optional[str]
    secret_kind: Optional[str]
    algorithm: Optional[str]
    matched_url: Optional[str]
    status: Optional[int]
    urls_tried: List[str]
    message: Optional[str]
    explanation: Optional[str]
    cause: Optional[str]
    authority: Optional[str]
    server: Optional[Tuple[str, int]]
    scheme: Optional[str]
    hand_over: List[Tuple[str, Optional[str]]]
    def __bool__(self) -> bool: ...

class Validator:
    def __init__(
        self,
        auth_tokens: Sequence[Tuple[str, str]],
        shared_keys: Sequence[Tuple[str, str]] = ...,
        *,
        allow_trailing_slash_variant: bool = False,
        allow_query_reencoding: bool = False,
    ) -> None: ...
    def verify_form(
        self, url: str, params: Pairs, signature: Optional[str], settings: Optional[str] = None
    ) -> Verdict: ...
    def validate_form(self, url: str, params: Pairs, signature: str) -> bool: ...
    def verify_request(
        self,
        url: str,
        content_type: Optional[str],
        body: bytes,
        signature: Optional[str],
        settings: Optional[str] = None,
    ) -> Verdict: ...
    def compute_signature(self, url: str, params: Pairs) -> str: ...

class Signer:
    """Signs requests with one secret and algorithm, exactly as Twilio does."""

    def __init__(self, secret: str, algorithm: str = "HMAC_SHA1") -> None: ...
    def sign_form(self, url: str, params: Pairs) -> str: ...
    def sign_form_body(self, url: str, body: bytes) -> str: ...
    def sign_body(self, url: str, body: bytes) -> Tuple[str, str]: ...

class PublicUrl:
    """How to rebuild the URL Twilio requested (base URLs, or Host with trusted proxies)."""

    def __init__(
        self,
        bases: Sequence[str] = ...,
        trusted_proxies: Sequence[str] = ...,
        connection_scheme: str = "http",
    ) -> None: ...
    def urls(
        self,
        target: str,
        headers: RawHeaders,
        peer: Optional[str] = None,
        scheme: Optional[str] = None,
        authority: Optional[str] = None,
        method: str = "POST",
    ) -> List[str]: ...

class WebhookVerifier:
    """A validator, a public-URL policy, a body limit and the paths it guards: the whole check a web server
    makes."""

    body_limit: int
    def __init__(
        self,
        validator: Validator,
        public_url: Optional[PublicUrl] = None,
        body_limit: Optional[int] = None,
        paths: Optional[Sequence[str]] = None,
        diagnoses_per_second: Optional[int] = None,
    ) -> None: ...
    def decide(self, target: str) -> Tuple[bool, Optional[Verdict]]: ...
    def decide_path(self, path: bytes) -> Tuple[bool, Optional[Verdict]]: ...
    def check_declared_length(self, headers: RawHeaders) -> Optional[Verdict]: ...
    def body_extent(self, headers: RawHeaders, stream_ends: bool) -> Tuple[Optional[int], Optional[Verdict]]: ...
    def too_large(self) -> Verdict: ...
    def unreadable(self) -> Verdict: ...
    def bad_host(self, verified_url: Optional[str] = None) -> Verdict: ...
    def check(
        self,
        target: str,
        headers: RawHeaders,
        body: bytes,
        peer: Optional[str] = None,
        scheme: Optional[str] = None,
        authority: Optional[str] = None,
        method: str = "POST",
    ) -> Verdict: ...

def body_sha256_hex(body: bytes) -> str: ...
def parsed_form_refusal(url: str, params: Pairs) -> Optional[str]: ...
def origin_target(path: bytes, query: str) -> str: ...
