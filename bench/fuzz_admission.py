"""Coverage-guided fuzzing (atheris, libFuzzer) of what a node does with a request body
before anything is stored: splitting a ``POST /v1/txs`` body, strict JSON decoding, and the
whole admission pipeline (envelope, NFC text, every message's argument struct and stateless
check, signatures, window, permission) against a chain of every installed module.

The only acceptable outcomes are an admitted transaction or a refusal with a codespace and
code (``DecodeError``, ``LedgerError``); anything else is a crash, and atheris stops with the
input that caused it (saved as ``crash-<sha1>`` in the working directory).

    .venv/bin/python bench/fuzz_admission.py -runs=20000000 -max_len=4096
    .venv/bin/python bench/fuzz_admission.py -runs=5000          # a smoke run

The seed corpus is one valid signed transaction of each kind the demo sends, so mutations
start deep in the pipeline; libFuzzer's flags (``-runs``, ``-max_total_time``, ``-jobs``)
pass through.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["amchain"]):
    from amchain.codec import DecodeError, decode_json
    from amchain.crypto import KeyPair
    from amchain.ledger import LedgerError, MemoryState
    from amchain.modules.base import ROLES, GenesisMember
    from amchain.node.intake import split_submission
    from amchain.runtime import admit_transaction, apply_genesis, default_registry, make_genesis
    from amchain.sdk import build_tx

CHAIN_ID = "fuzz"
NOW_MS = time.time_ns() // 1_000_000
REGISTRY = default_registry()
KEYS = {role: KeyPair.from_seed(bytes([i + 1]) * 32) for i, role in enumerate(ROLES)}
STATE = MemoryState()
apply_genesis(
    REGISTRY,
    STATE,
    make_genesis(
        REGISTRY,
        chain_id=CHAIN_ID,
        genesis_time_ms=NOW_MS - 1_000,
        members=[
            GenesisMember(
                id=role, name=role, roles=(role,), admin_keys=(KEYS[role].public_key.hex(),)
            )
            for role in ROLES
        ],
    ),
)


def seeds() -> list[bytes]:
    """One valid signed transaction per message kind, as the node receives them."""
    vin = "1HGCM82633A004352"
    person = KeyPair.from_seed(b"\x55" * 32)
    samples = [
        ("oem", "vehicles", "register_vehicle",
         {"vin": vin, "make": "Honda", "model": "Accord", "model_year": 2026}),
        ("registry", "vehicles", "record_event",
         {"vin": vin, "event": {"type": "odometer", "odometer_km": 1200}}),
        ("insurer", "vehicles", "record_event",
         {"vin": vin, "event": {"type": "insurance_claim", "claim_ref_hash": "ab" * 32,
                                "amount_minor": 1000, "currency": "EUR", "status": "opened"}}),
        ("dealer", "identity", "create_did", {"public_key": person.public_key.hex()}),
        ("oem", "tokens", "transfer", {"denom": "AMCT", "to": "did:amc:org:dealer",
                                       "amount_minor": 5}),
        ("oem", "consortium", "add_key", {"org": "oem", "public_key": "cd" * 32,
                                          "kind": "member"}),
    ]  # fmt: skip
    out = []
    for role, module, message, args in samples:
        tx = build_tx(
            chain_id=CHAIN_ID, signers=[KEYS[role]], module=module, message=message, args=args
        )
        out.append(tx.canonical)
    return out


def test_one_input(data: bytes) -> None:
    try:
        parts, _ = split_submission(data, max_bytes=64 * 1024, max_depth=14, max_txs=64)
    except DecodeError:
        return
    for part in parts:
        try:
            value = decode_json(part, max_bytes=64 * 1024, max_depth=12)
            admit_transaction(
                value,
                registry=REGISTRY,
                state=STATE,
                chain_id=CHAIN_ID,
                now_ms=NOW_MS,
                is_known=lambda _hash: False,
            )
        except (DecodeError, LedgerError):
            pass


def main() -> None:
    corpus = Path(tempfile.mkdtemp(prefix="amchain-fuzz-corpus-"))
    for index, seed in enumerate(seeds()):
        (corpus / f"seed-{index}").write_bytes(seed)
        (corpus / f"batch-{index}").write_bytes(b'{"txs":[' + seed + b"]}")
    args = [sys.argv[0], *sys.argv[1:]]
    if not any(not a.startswith("-") for a in sys.argv[1:]):
        args.append(str(corpus))
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
