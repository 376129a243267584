"""One spelling per text: strings a transaction carries must be in Unicode NFC.

The same visible text can be written with composed or decomposed characters (``é`` as one
code point or as ``e`` + a combining accent); both would hash differently, so one intent
could be signed under several transaction hashes, and a look-up by the other spelling
would miss. The rule: every string (and object key) of a transaction's arguments is NFC,
and a string that is not is refused, not silently changed (the signer signed exactly these
bytes). Identifiers have stricter rules of their own, checked by their modules (a VIN is
ISO 3779: 17 ASCII capitals and digits, without I, O and Q).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from amchain.codec._strict import DecodeError, DecodeErrorCode

__all__ = ["check_normal_form"]


def check_normal_form(value: Any, *, where: str = "args") -> None:
    """Refuse a string anywhere in ``value`` that is not in Unicode NFC.

    Raises:
        DecodeError: INVALID_ENCODING, naming where the string is.
    """
    if isinstance(value, str):
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            raise DecodeError(
                DecodeErrorCode.INVALID_ENCODING,
                f"{where}: text must be in Unicode NFC (composed characters); normalise it "
                "(e.g. unicodedata.normalize('NFC', text)) and sign again",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_normal_form(key, where=where)
            check_normal_form(item, where=f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_normal_form(item, where=f"{where}[{index}]")
