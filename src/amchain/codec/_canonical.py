from __future__ import annotations

from typing import Any

import msgspec
import rfc8785


class CanonicalizationError(ValueError):
    """A value that has no RFC 8785 canonical form (e.g. an integer beyond ±(2^53−1))."""


def to_builtins(value: Any) -> Any:
    """Turn structs into plain dicts and lists (bytes are not allowed: encode them first)."""
    return msgspec.to_builtins(value)


def encode_canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of ``value`` (structs are converted first).

    Raises:
        CanonicalizationError: the value holds something JSON cannot carry canonically.
    """
    try:
        return rfc8785.dumps(to_builtins(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from exc
