"""Field types of message arguments, each bounding a value's size.

Admission decodes every message's arguments with its struct before the message's stateless
check runs, so a field typed here is refused at the door (``codec`` codespace, 422) and
never reaches a block, not even as a failed receipt. Execution then refuses only what
depends on state (a rollback, a duplicate VIN, a balance). ``tests/test_message_bounds.py``
holds every module to it: each text field has a maximum length, each list and map a
maximum count (integers are bounded by the decoder, ±(2^53−1); their ranges are the
module's check).

Hex values (keys, hashes) have exactly one form, lower case without spaces, so the same
intent cannot be signed under several transaction hashes; their types here bound the size,
and each module's check refuses any other form with its own code.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = [
    "MAX_DID_CHARS",
    "MAX_ID_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_URL_CHARS",
    "DidText",
    "HashText",
    "IdText",
    "KeyText",
    "ListOf",
    "NameText",
    "Text",
    "UrlText",
]

MAX_DID_CHARS = 256
MAX_ID_CHARS = 128
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 1_000
MAX_URL_CHARS = 2_048
MAX_LIST_ITEMS = 256

HashText = Annotated[str, msgspec.Meta(max_length=128)]
"""A SHA-256 in hex, bounded here; its shape (64 lower-case hex digits) is the module's
check, refused with the module's own code."""
KeyText = Annotated[str, msgspec.Meta(max_length=128)]
"""An Ed25519 public key in hex, bounded here; its shape and point are the module's check."""
DidText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DID_CHARS)]
"""A DID (its method's own rules are the module's check)."""
IdText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
"""An identifier: a VIN, an organisation id, a key id, an id of the caller's choosing."""
NameText = Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS)]
"""A short human-readable text: a name, a make, a model, a purpose."""
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
"""A longer human-readable text: a reason, a description."""
UrlText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL_CHARS)]
ListOf = msgspec.Meta(max_length=MAX_LIST_ITEMS)
"""Bound a list: ``Annotated[list[X], ListOf]``."""
