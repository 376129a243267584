"""The OpenAPI document is the API: schemathesis (``--checks all``) against a real node.

A node with vehicles, DIDs and a credential on chain is fuzzed from its own
``/openapi.json``: no 5xx, every status, content type, header and body as documented,
schema-valid requests accepted and invalid ones refused. ``tests/schemathesis.toml`` says,
per operation, what a schema cannot say (a signature that verifies). Known VINs, DIDs and
ids are offered half of the time so the fuzzer reaches past the 404s.

``AMCHAIN_SCHEMATHESIS_SEED`` runs another seed; ``AMCHAIN_SCHEMATHESIS_EXAMPLES`` more cases
per operation (a longer campaign than ``make test`` affords).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from amchain.modules.vehicles.validation import compute_vin_check_digit
from amchain.sdk import Client, Signer
from amchain.vc import BIRTH_CERTIFICATE
from tests.support import RunningNode, start_node

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = os.environ.get("AMCHAIN_SCHEMATHESIS_SEED", "20261207")
EXAMPLES = os.environ.get("AMCHAIN_SCHEMATHESIS_EXAMPLES", "25")


def _vin(serial: int) -> str:
    draft = f"WVWZZZ1KZ{serial:08d}"
    return draft[:8] + compute_vin_check_digit(draft) + draft[9:]


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningNode, Path]]:
    """A node with data the fuzzer can find, and the schemathesis configuration naming it."""
    with start_node(tmp_path_factory.mktemp("conformance")) as node:
        oem = Signer.for_org(node.key("oem"), "oem")
        registry = Signer.for_org(node.key("registry"), "registry")
        dealer = Signer.for_org(node.key("dealer"), "dealer")
        person = Signer.generate()
        vins = [_vin(serial) for serial in (1, 2)]
        with Client(node.url) as client:
            client.identity.create_did(dealer, person)
            for vin in vins:
                client.vehicles.register(oem, vin=vin, make="VW", model="ID.3", model_year=2026)
                client.vehicles.record_event(registry, vin, {"type": "odometer", "odometer_km": 10})
            credential, _ = client.credentials.issue(oem, BIRTH_CERTIFICATE, vin=vins[0])
        status = credential["credentialStatus"][0]
        config = tmp_path_factory.mktemp("schemathesis") / "schemathesis.toml"
        config.write_text(
            CONFIG.read_text()
            + f"""
[dictionaries.vins]
values = {_toml_list(vins)}
[dictionaries.dids]
values = {_toml_list([person.did, "did:amc:org:oem", f"did:amc:vin:{vins[0]}"])}
[dictionaries.orgs]
values = ["oem", "registry"]
[dictionaries.keys]
values = {_toml_list([oem.public_key_hex])}
[dictionaries.credentials]
values = {_toml_list([credential["id"]])}
[dictionaries.lists]
values = {_toml_list([status["statusListCredential"]])}

[parameters]
vin = {{ dictionary = "vins", probability = 0.5 }}
did = {{ dictionary = "dids", probability = 0.5 }}
org = {{ dictionary = "orgs", probability = 0.5 }}
public_key = {{ dictionary = "keys", probability = 0.5 }}
credential_id = {{ dictionary = "credentials", probability = 0.5 }}
url = {{ dictionary = "lists", probability = 0.5 }}
"query.list" = {{ dictionary = "lists", probability = 0.5 }}
"""
        )
        yield node, config


def test_schemathesis_finds_no_failure_with_every_check(seeded: tuple[RunningNode, Path]) -> None:
    node, config = seeded
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "--no-color",
            "--config-file",
            str(config),
            "run",
            f"{node.url}/openapi.json",
            "--checks",
            "all",
            "--workers",
            "2",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert " passed" in summary and "failure" not in summary.split("SUMMARY")[-1], summary
