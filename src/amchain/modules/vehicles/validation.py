"""Value rules: ISO 3779 VINs, hashes, DIDs, odometer ranges, short texts. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence

from amchain.modules.vehicles.errors import VehiclesCode, VehiclesError
from amchain.modules.vehicles.types import MAX_ODOMETER_KM

VIN_LENGTH = 17
MAX_DID_LENGTH = 256
MAX_TEXT_LENGTH = 64
MIN_MODEL_YEAR = 1886  # Benz Patent-Motorwagen
MAX_MODEL_YEAR = 2100
MAX_SAFE_INTEGER = 2**53 - 1

_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEX = "0123456789abcdef"
_VIN_FORBIDDEN = "IOQ"

# ISO 3779 / FMVSS 565 transliteration and position weights for the check digit.
_TRANSLITERATION: dict[str, int] = {
    **{d: int(d) for d in _DIGITS},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_CHECK_DIGIT_INDEX = 8
# Regions whose VINs carry a mandatory check digit: North America (FMVSS 565) and China
# (GB 16735). Elsewhere position 9 is free, so it is not checked.
_CHECK_DIGIT_REGIONS = ("1", "2", "3", "4", "5", "L")


def _invalid_vin(vin: str, reason: str, message: str, **extra: str | int) -> VehiclesError:
    return VehiclesError(
        VehiclesCode.INVALID_VIN,
        message,
        details={"vin": vin[:32], "reason": reason, **extra},
    )


def compute_vin_check_digit(vin: str) -> str:
    """Return the ISO 3779 check digit ('0'-'9' or 'X') of a 17-character VIN.

    The character at position 9 does not count (its weight is 0). The VIN's characters must
    already be known to be valid.
    """
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(vin: str) -> None:
    """Check a VIN against ISO 3779.

    17 characters from A–Z and 0–9 without I, O and Q; for VINs of North America (first
    character 1–5) and China (first character L) the check digit at position 9 must match.

    Raises:
        VehiclesError: INVALID_VIN, with ``details["reason"]`` one of ``length``,
            ``invalid_character``, ``forbidden_letter`` or ``check_digit``.
    """
    if not isinstance(vin, str) or len(vin) != VIN_LENGTH:
        length = len(vin) if isinstance(vin, str) else -1
        raise _invalid_vin(
            str(vin), "length", f"a VIN has exactly 17 characters, this one has {length}"
        )
    for position, char in enumerate(vin, start=1):
        if char in _VIN_FORBIDDEN:
            raise _invalid_vin(
                vin,
                "forbidden_letter",
                f"VINs never contain I, O or Q (position {position} is {char!r}); "
                "check for a misread 1 or 0",
                position=position,
            )
        if char not in _DIGITS and char not in _UPPER:
            raise _invalid_vin(
                vin,
                "invalid_character",
                f"VIN characters are uppercase A–Z and 0–9 (position {position} is {char!r})",
                position=position,
            )
    if vin[0] in _CHECK_DIGIT_REGIONS:
        expected = compute_vin_check_digit(vin)
        if vin[_CHECK_DIGIT_INDEX] != expected:
            raise _invalid_vin(
                vin,
                "check_digit",
                f"check digit (position 9) is {vin[_CHECK_DIGIT_INDEX]!r} but the other "
                f"characters give {expected!r}: a character is probably mistyped",
                expected=expected,
            )


def _invalid(field: str, message: str) -> VehiclesError:
    return VehiclesError(VehiclesCode.INVALID_FIELD, message, details={"field": field})


def check_hash(field: str, value: str | None) -> None:
    """Refuse a document hash that is not 64 lowercase hex characters (None passes).

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if value is None:
        return
    if len(value) != 64 or any(c not in _HEX for c in value):
        raise _invalid(field, f"{field} must be a sha256 hash: 64 lowercase hex characters")


def check_text(field: str, value: str | None, *, max_length: int = MAX_TEXT_LENGTH) -> None:
    """Refuse a short text that is empty, too long, or has control characters (None passes).

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if value is None:
        return
    if not 1 <= len(value) <= max_length:
        raise _invalid(field, f"{field} must have 1 to {max_length} characters")
    if not value.isprintable():
        raise _invalid(field, f"{field} must not contain control characters")


def check_text_list(field: str, values: Sequence[str], *, min_items: int, max_items: int) -> None:
    """Refuse a list of short codes with the wrong number of items or a bad item.

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if not min_items <= len(values) <= max_items:
        raise _invalid(field, f"{field} must have {min_items} to {max_items} items")
    for value in values:
        check_text(field, value)


def check_did(field: str, value: str | None) -> None:
    """Refuse a DID that is not shaped ``did:<method>:<id>`` (None passes).

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if value is None:
        return
    if not value.startswith("did:") or value.count(":") < 2 or len(value) > MAX_DID_LENGTH:
        raise _invalid(field, f"{field} must be a DID such as did:amc:person:…")
    if not value.isprintable() or " " in value:
        raise _invalid(field, f"{field} must not contain spaces or control characters")


def check_odometer(value: int | None) -> None:
    """Refuse an odometer reading outside 0..2,000,000 km (None passes).

    Raises:
        VehiclesError: INVALID_ODOMETER.
    """
    if value is None:
        return
    if not 0 <= value <= MAX_ODOMETER_KM:
        raise VehiclesError(
            VehiclesCode.INVALID_ODOMETER,
            f"odometer_km must be between 0 and {MAX_ODOMETER_KM}, got {value}",
            details={"attempted_km": value},
        )


def check_non_negative(field: str, value: int | None) -> None:
    """Refuse a negative or unsafe integer (None passes).

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if value is None:
        return
    if not 0 <= value <= MAX_SAFE_INTEGER:
        raise _invalid(field, f"{field} must be between 0 and 2^53-1")


def check_letters(field: str, value: str, length: int) -> None:
    """Refuse a code that is not ``length`` uppercase letters A–Z (ISO 3166, ISO 4217).

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if len(value) != length or any(c not in _UPPER for c in value):
        raise _invalid(field, f"{field} must be {length} uppercase letters A–Z")


def check_model_year(value: int) -> None:
    """Refuse a model year outside 1886..2100.

    Raises:
        VehiclesError: INVALID_FIELD.
    """
    if not MIN_MODEL_YEAR <= value <= MAX_MODEL_YEAR:
        raise _invalid(
            "model_year", f"model_year must be between {MIN_MODEL_YEAR} and {MAX_MODEL_YEAR}"
        )
