"""Field types of message arguments, each bounding a value's size and, where the value has
one spelling, its shape.

Admission decodes every message's arguments with its struct before the message's stateless
check runs, so a field typed here is refused at the door (``codec`` codespace, 422) and
never reaches a block, not even as a failed receipt. Execution then refuses only what
depends on state (a rollback, a duplicate VIN, a balance). ``tests/test_message_bounds.py``
holds every module to it: each text field has a maximum length, each list and map a
maximum count, each integer a lower bound.

Hex values (keys, hashes) have exactly one form, lower case without spaces, so the same
intent cannot be signed under several transaction hashes.
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
    "Count",
    "DidText",
    "HashText",
    "IdText",
    "ListOf",
    "NameText",
    "NonNegative",
    "PublicKeyHex",
    "Sha256Hex",
    "Text",
    "UrlText",
]

MAX_DID_CHARS = 256
MAX_ID_CHARS = 128
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 1_000
MAX_URL_CHARS = 2_048
MAX_LIST_ITEMS = 256

PublicKeyHex = Annotated[
    str,
    msgspec.Meta(
        min_length=64,
        max_length=64,
        pattern="^[0-9a-f]{64}$",
        description="Ed25519 public key, 64 lower-case hex digits",
    ),
]
Sha256Hex = Annotated[
    str,
    msgspec.Meta(
        min_length=64,
        max_length=64,
        pattern="^[0-9a-f]{64}$",
        description="SHA-256, 64 lower-case hex digits",
    ),
]
HashText = Annotated[str, msgspec.Meta(max_length=128)]
"""A hash whose shape (64 lower-case hex digits) the module's own check refuses with its code."""
DidText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DID_CHARS)]
"""A DID (its method's own rules are the module's check)."""
IdText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
"""An identifier: a VIN, an organisation id, a key id, an id of the caller's choosing."""
NameText = Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS)]
"""A short human-readable text: a name, a make, a model, a purpose."""
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
"""A longer human-readable text: a reason, a description."""
UrlText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_URL_CHARS)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
"""An integer from 0 (a distance, a time in ms, an amount; the decoder bounds it by 2^53-1)."""
Count = Annotated[int, msgspec.Meta(ge=1)]
"""An integer from 1."""
ListOf = msgspec.Meta(max_length=MAX_LIST_ITEMS)
"""Bound a list: ``Annotated[list[X], ListOf]``."""
