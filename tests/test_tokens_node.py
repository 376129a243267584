"""The tokens module on a real node over HTTP, with nothing written for it outside its
folder: the SDK's generic calls, the CLI commands its spec names, a balance proof that
``amchain verify`` checks, the pools after a genesis in the past, and the explorer's page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from amchain.cli import app
from amchain.modules.tokens import YEAR_MS
from amchain.sdk import ApiError, Client, Signer
from tests.support import RunningNode, start_node

AMCT = 1_000_000


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with start_node(tmp_path_factory.mktemp("tokens")) as node:
        yield node


def cli(node: RunningNode, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["--node", node.url, "--data-dir", str(node.data_dir), *args],
        env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    return result.exit_code, result.stdout + result.stderr


def org_signer(node: RunningNode, role: str) -> Signer:
    stored = node.keystore.get(role)
    return Signer.for_org(stored.key, stored.org or role, name=role)


def test_tokens_move_through_the_generic_sdk_and_a_balance_is_proven(
    running: RunningNode, tmp_path: Path
) -> None:
    financier, dealer = org_signer(running, "financier"), "did:amc:org:dealer"
    with Client(running.url) as client:
        before = client.query("tokens", "balance", denom="AMCT", account=dealer)["amount_minor"]
        result = client.tx(
            "tokens", "transfer", {"denom": "AMCT", "to": dealer, "amount_minor": 7 * AMCT},
            signers=[financier],
        )  # fmt: skip
        assert result.status == "committed"
        answer = client.query("tokens", "balance", denom="AMCT", account=dealer, proof=True)
        assert answer["amount_minor"] == before + 7 * AMCT
        with pytest.raises(ApiError) as refused:
            client.tx("tokens", "transfer",
                      {"denom": "AMCT", "to": dealer, "amount_minor": 10**15},
                      signers=[financier])  # fmt: skip
        assert (refused.value.codespace, refused.value.code) == ("tokens", 5)
        with pytest.raises(ApiError) as early:
            client.tx("tokens", "release_pool", {"pool": "technology"}, signers=[financier])
        assert (early.value.codespace, early.value.code) == ("tokens", 15)
    bundle = tmp_path / "balance.json"
    bundle.write_text(json.dumps(answer["proof"]))
    code, out = cli(running, "verify", str(bundle))
    assert code == 0, out
    answer["proof"]["entry"]["value"] = '"1"'  # a forged balance
    bundle.write_text(json.dumps(answer["proof"]))
    code, out = cli(running, "verify", str(bundle))
    assert code == 1 and "error proof/" in out


def test_the_token_commands_named_by_the_spec(running: RunningNode) -> None:
    code, out = cli(running, "token", "transfer", "AMCT", "did:amc:org:insurer", "2500000",
                    "--as", "financier", "--json")  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["status"] == "committed"
    code, out = cli(running, "token", "balance", "did:amc:org:insurer", "--json")
    assert (
        code == 0
        and {"denom": "AMCT", "amount_minor": 2_500_000, "decimals": 6}
        in (json.loads(out)["balances"])
    )
    code, out = cli(running, "token", "transfer", "AMCT", "did:amc:org:nobody", "1", "--as",
                    "financier")  # fmt: skip
    assert code == 1 and "tokens/7" in out
    code, out = cli(running, "token", "pools", "--json")
    pools = json.loads(out)
    assert code == 0 and pools["total_supply_minor"] == 300_000_000 * AMCT
    assert pools["circulating_minor"] + pools["held_by_pools_minor"] == pools["total_supply_minor"]


def test_query_parameters_outside_their_patterns_are_refused_with_400(
    running: RunningNode,
) -> None:
    for path in ("/v1/tokens/accounts/alice", "/v1/tokens/balances/1x/did:amc:org:oem",
                 "/v1/tokens/proposals/a%20b"):  # fmt: skip
        response = httpx.get(running.url + path)
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    response = httpx.get(running.url + "/v1/tokens/denominations/XYZ")
    assert response.status_code == 404


def test_the_explorer_has_a_page_for_tokens(running: RunningNode) -> None:
    page = httpx.get(running.url + "/modules/tokens")
    assert page.status_code == 200
    assert "transfer_from" in page.text and "tokens.pool_released" in page.text


def test_a_chain_whose_genesis_is_in_the_past_has_released_what_fell_due(tmp_path: Path) -> None:
    genesis = time.time_ns() // 1_000_000 - 4 * YEAR_MS
    with start_node(tmp_path, genesis_time_ms=genesis) as node, Client(node.url) as client:
        deadline = time.monotonic() + 20
        technology: dict[str, object] = {}
        while time.monotonic() < deadline:
            client.tx("tokens", "approve",
                      {"denom": "AMCT", "spender": "did:amc:org:dealer", "amount_minor": 0},
                      signers=[org_signer(node, "oem")])  # fmt: skip
            pools = {p["name"]: p for p in client.query("tokens", "pools")["pools"]}
            technology = pools["technology"]
            if technology["released_minor"]:
                break
        # 4 years after genesis: the releases at 3 and 4 years, 2 % of the supply each
        assert technology["released_minor"] == 12_000_000 * AMCT
        assert technology["next_release_at_ms"] == genesis + 5 * YEAR_MS
        assert pools["foundation"]["released_minor"] == 0
