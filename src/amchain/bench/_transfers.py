"""Signed token transfers for the benchmarks (``ingest --mix tokens``, ``vs-ganache``).

Persons are the lifecycle workload's person DIDs (:func:`amchain.bench._lifecycle.person_key`),
funded in a settlement token by its issuer (the ``financier`` mints) before a measured run.
A transfer moves one minor unit from a person to the next one of the same client, signed by
the payer alone: a value transfer, as Ganache's ``eth_sendTransaction`` is.
"""

from __future__ import annotations

from collections.abc import Iterator

from amchain.crypto import KeyPair
from amchain.ledger import Transaction
from amchain.sdk import Client, build_tx, did_for_key
from amchain.sdk._builder import DEFAULT_EXPIRES_IN_MS

DENOM = "CNY-e"
FUNDING_MINOR = 10**12
"""What each person is minted before the run (a run moves far less)."""


def fund_persons(
    url: str, chain_id: str, issuer: KeyPair, persons: list[KeyPair], *, denom: str = DENOM
) -> None:
    """Mint ``FUNDING_MINOR`` of ``denom`` to each person (committed before it returns).

    Raises:
        RuntimeError: a mint was refused (e.g. ``issuer`` does not issue ``denom``).
    """
    txs = [
        build_tx(
            chain_id=chain_id,
            signers=[issuer],
            module="tokens",
            message="mint",
            args={
                "denom": denom,
                "to": did_for_key(person.public_key),
                "amount_minor": FUNDING_MINOR,
            },
        )
        for person in persons
    ]
    with Client(url, timeout=120) as client:
        for i in range(0, len(txs), 500):
            results = client.submit(txs[i : i + 500], wait="commit", timeout_ms=60_000)
            bad = [r for r in results if not r.ok]
            if bad:
                raise RuntimeError(f"funding the benchmark's accounts failed: {bad[0]}")


def transfer_txs(
    chain_id: str,
    persons: list[KeyPair],
    count: int,
    *,
    denom: str = DENOM,
    expires_in_ms: int = DEFAULT_EXPIRES_IN_MS,
) -> Iterator[tuple[str, Transaction]]:
    """Yield ``("transfer", signed tx)`` ``count`` times: person ``n % len`` pays one minor
    unit to person ``(n + 1) % len``."""
    dids = [did_for_key(person.public_key) for person in persons]
    for number in range(count):
        payer = number % len(persons)
        yield (
            "transfer",
            build_tx(
                chain_id=chain_id,
                signers=[persons[payer]],
                module="tokens",
                message="transfer",
                args={"denom": denom, "to": dids[(payer + 1) % len(persons)], "amount_minor": 1},
                expires_in_ms=expires_in_ms,
            ),
        )
