"""The shapes requests arrive in from Python web frameworks, turned into what the core takes."""

from collections.abc import Iterable, Mapping
from typing import Any, List, Optional, Tuple

Pairs = List[Tuple[str, str]]


def pairs(params: Any) -> Pairs:
    """Form parameters as ``(key, value)`` pairs, every value of a repeated key kept.

    Accepts a list (or other iterable) of pairs, a multidict with ``getall`` (multidict, aiohttp), a mapping
    with ``getlist`` (werkzeug/Flask, Django ``QueryDict``, Starlette ``FormData``), or a plain mapping, whose
    list or tuple values count as repeated keys. A value that is not ``str`` is refused by the core with
    ``TypeError``.
    """
    if params is None:
        return []
    if type(params) is list:
        return params  # pairs as tuples or lists: the core reads any two-item sequence
    if isinstance(params, (str, bytes, bytearray)):
        raise TypeError("a raw body is not form parameters")
    for accessor in ("getall", "getlist"):
        get = getattr(params, accessor, None)
        if callable(get):
            return [(k, v) for k in dict.fromkeys(params) for v in get(k)]
    if isinstance(params, Mapping):
        out: Pairs = []
        for key, value in params.items():
            if isinstance(value, (list, tuple)):
                out.extend((key, v) for v in value)
            else:
                out.append((key, value))
        return out
    if isinstance(params, Iterable):
        return list(params)
    raise TypeError(f"cannot read form parameters from {type(params).__name__}")


def is_multidict(params: Any) -> bool:
    """Whether ``params`` is a framework's parsed form, read one value per name by ``params[name]``: it has
    ``getall`` (multidict, aiohttp) or ``getlist`` (werkzeug/Flask, Django ``QueryDict``, Starlette
    ``FormData``)."""
    return any(callable(getattr(params, accessor, None)) for accessor in ("getall", "getlist"))


def header(headers: Any, name: str) -> Optional[str]:
    """The first value of header ``name`` (any case) in a mapping or an iterable of pairs."""
    if headers is None:
        return None
    wanted = name.lower()
    items = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if key.lower() == wanted:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def body_bytes(body: Any) -> bytes:
    """A raw body as bytes (``str`` is encoded as UTF-8, as twilio-python does)."""
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)
