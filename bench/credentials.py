"""Credentials and car access figures (issue 5).

1. Issuing a credential: draft a VehicleBirthCertificate and sign it (eddsa-jcs-2022).
2. Verifying it: proof against the issuer's DID document, issuer binding, validity window,
   JSON Schema, revocation and suspension bits (document and bits in memory, as a verifier
   that has them cached).
3. The car's offline decision: a real node serves a proven snapshot once; then the
   on-board agent decides on presentations with no network (two Ed25519 verifications,
   snapshot look-ups, status bits, scope, window, use count), timed per decision.
4. State touched by revoking one credential in a status list holding 100,000 credentials:
   every key and value the ``set_status`` handler reads or writes is counted.

    .venv/bin/python bench/credentials.py [--ops 2000] [--decisions 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amchain.crypto import KeyPair, encode_multikey
from amchain.ledger import MemoryState, Overlay
from amchain.modules import credentials
from amchain.modules.base import KeyStanding, KeyStatus, TxContext
from amchain.modules.credentials import keeper
from amchain.modules.credentials.types import StatusListRecord
from amchain.vc import (
    CHUNK_BITS,
    birth_certificate,
    create_proof,
    format_datetime,
    list_url,
    status_entry,
    verify_credential,
    write_bit,
)

VIN = "1HGCM82633A004352"


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"median {statistics.median(samples):.3f} ms, p99 {p99:.3f} ms (n={len(samples)})"


# --- 1 and 2: issue and verify ----------------------------------------------------------------


def issue_and_verify(ops: int) -> tuple[list[float], list[float]]:
    key = KeyPair.generate()
    issuer = "did:amc:org:oem"
    method = f"{issuer}#{encode_multikey(key.public_key)}"
    document = {
        "id": issuer,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": issuer,
                "publicKeyMultibase": encode_multikey(key.public_key),
            }
        ],
        "assertionMethod": [method],
    }
    now = time.time_ns() // 1_000_000

    def issue() -> dict[str, Any]:
        draft = birth_certificate(
            credential_id=f"urn:uuid:{uuid.uuid4()}",
            issuer=issuer,
            vin=VIN,
            make="Honda",
            model="Accord",
            model_year=2003,
            plant="Marysville",
            valid_from=format_datetime(now),
            status=[
                status_entry(list_url(issuer, "revocation"), 4242, "revocation"),
                status_entry(list_url(issuer, "suspension"), 4242, "suspension"),
            ],
        )
        return create_proof(draft, key, verification_method=method)

    issued = issue()

    def verify() -> None:
        report = verify_credential(
            issued, load=lambda did: document, read_status=lambda url, i: False, now_ms=now
        )
        assert report.verified, report.to_json()

    for _ in range(50):  # warm caches (schema validators)
        verify()
    return timed(issue, ops), timed(verify, ops)


# --- 3: the car's offline decision --------------------------------------------------------------


def car_decisions(n: int) -> list[float]:
    from amchain.sdk import Client, Signer
    from amchain.sdk.credentials import sign_presentation_as
    from amchain.sdk.vehicle_agent import VehicleAgent
    from tests.support import start_node

    with (
        tempfile.TemporaryDirectory() as tmp,
        start_node(Path(tmp)) as node,
        Client(node.url) as client,
    ):
        oem = Signer.for_org(node.key("oem"), "oem")
        dealer = Signer.for_org(node.key("dealer"), "dealer")
        car_key = KeyPair.generate()
        client.vehicles.register(
            oem,
            vin=VIN,
            make="Honda",
            model="Accord",
            model_year=2003,
            vehicle_key=car_key.public_key,
        )
        owner, courier = Signer(KeyPair.generate()), Signer(KeyPair.generate())
        for person in (owner, courier):
            client.identity.create_did(dealer, person)
        client.vehicles.record_event(dealer, VIN, {"type": "sold", "buyer": owner.did})
        grant, _ = client.credentials.grant_access(
            owner, vin=VIN, grantee=courier.did, scopes=["trunk", "unlock"], hours=2
        )
        agent = VehicleAgent(VIN, car_key, trusted_peer_keys=[client.status().node_key])
        agent.refresh(client)
    # the node is gone: everything below is offline
    samples = []
    for _ in range(n):
        challenge = agent.challenge("trunk")
        vp = sign_presentation_as(
            courier, [grant], challenge=challenge.nonce, domain=challenge.domain
        )
        start = time.perf_counter()
        decision = agent.decide(vp)
        samples.append((time.perf_counter() - start) * 1000)
        assert decision.allowed, decision
    return samples


# --- 4: state touched by one revocation -------------------------------------------------------


class CountingState:
    """A state that counts the bytes of every key and value read or written."""

    def __init__(self, base: MemoryState) -> None:
        self.base = base
        self.read: dict[str, int] = {}
        self.written: dict[str, int] = {}

    def get(self, key: str) -> bytes | None:
        value = self.base.get(key)
        self.read[key] = len(key) + (0 if value is None else len(value))
        return value

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        for key, value in self.base.iter_prefix(prefix):
            self.read[key] = len(key) + len(value)
            yield key, value

    def set(self, key: str, value: bytes) -> None:
        self.written[key] = len(key) + len(value)
        self.base.set(key, value)

    def delete(self, key: str) -> None:
        self.written[key] = len(key)
        self.base.delete(key)


def revocation_touch(population: int) -> dict[str, int]:
    from amchain.modules import consortium

    state = MemoryState()
    key = KeyPair.generate()
    assert consortium.SPEC.init_genesis is not None
    consortium.SPEC.init_genesis(
        state,
        consortium.ConsortiumGenesis(
            organisations=[
                consortium.GenesisOrganisation(
                    id="oem", name="OEM", roles=["oem"], admin_keys=[key.public_key.hex()]
                )
            ]
        ),
    )
    issuer, name = "did:amc:org:oem", "revocation"
    keeper.write_status_list(
        state,
        StatusListRecord(
            issuer=issuer, name=name, purpose="revocation", size=131_072, created_height=1
        ),
    )
    # 100,000 issued credentials, one in ten already revoked, spread over the whole list
    chunks: dict[int, bytes] = {}
    for i in range(population):
        index = (i * 7919) % 131_072
        keeper.write_slot(state, issuer, name, index, f"urn:uuid:{i:032x}")
        if i % 10 == 0:
            chunk, offset = divmod(index, CHUNK_BITS)
            chunks[chunk] = write_bit(chunks.get(chunk, bytes(256)), offset, True)
    for chunk, data in chunks.items():
        keeper.write_chunk(state, issuer, name, chunk, data)
    target = next((i * 7919) % 131_072 for i in range(1, population) if i % 10)
    counting = CountingState(state)
    standing = KeyStanding(status=KeyStatus.ACTIVE, org="oem", roles=("oem",))
    ctx = TxContext(
        chain_id="bench",
        height=2,
        time_ms=0,
        tx_hash="00" * 32,
        signers=(key.public_key,),
        standings=(standing,),
        state=Overlay(counting),
    )
    credentials.SPEC.messages["set_status"].handler(
        ctx, credentials.SetStatusArgs(status_list=list_url(issuer, name), index=target, value=True)
    )
    overlay = ctx.state
    assert isinstance(overlay, Overlay)
    written = {k: len(k) + len(v or b"") for k, v in overlay.write_set()}
    module_reads = {k: n for k, n in counting.read.items() if k.startswith("credentials/")}
    touched = dict(module_reads)
    for k, n in written.items():
        touched[k] = max(touched.get(k, 0), n)
    return {
        "population": population,
        "list_bits": 131_072,
        "keys_written": len(written),
        "bytes_written": sum(written.values()),
        "credentials_bytes_read": sum(module_reads.values()),
        "credentials_bytes_touched": sum(touched.values()),
        "authorisation_bytes_read": sum(
            n for k, n in counting.read.items() if not k.startswith("credentials/")
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--population", type=int, default=100_000)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    issue, verify = issue_and_verify(args.ops)
    print(f"issue (draft + eddsa-jcs-2022 sign):        {summary(issue)}")
    print(f"verify (proof, issuer, window, schema, status): {summary(verify)}")
    print(f"car offline decision:                       {summary(car_decisions(args.decisions))}")
    touch = revocation_touch(args.population)
    print(
        "revoke one credential in a list of "
        f"{touch['population']:,} credentials ({touch['list_bits']:,} bits):"
    )
    for key, value in touch.items():
        print(f"  {key:28s} {value:,}")


if __name__ == "__main__":
    main()
