"""The finance module on a real node, as a person at the command line uses it: the
``amchain voucher …`` and ``amchain loan show`` commands its spec names, over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from amchain.cli import app
from tests.support import RunningNode, start_node

SUPPLIER, FINANCIER = "did:amc:org:supplier", "did:amc:org:financier"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with start_node(tmp_path_factory.mktemp("finance")) as node:
        yield node


def cli(node: RunningNode, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["--node", node.url, "--data-dir", str(node.data_dir), *args],
        env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    return result.exit_code, result.stdout + result.stderr


def ok(node: RunningNode, *args: str) -> str:
    code, out = cli(node, *args)
    assert code == 0, out
    return out


def test_a_voucher_from_the_command_line(running: RunningNode) -> None:
    ok(running, "tx", "tokens", "mint", "-f", "denom=CNY-e", "-f", "to=did:amc:org:oem",
       "-f", "amount_minor=5000000", "--as", "financier")  # fmt: skip
    ok(running, "tx", "tokens", "mint", "-f", "denom=CNY-e", "-f", f"to={FINANCIER}",
       "-f", "amount_minor=5000000", "--as", "financier")  # fmt: skip
    maturity = time.time_ns() // 1_000_000 + 4_000
    ok(running, "voucher", "issue", "V-cli", SUPPLIER, "3000000", "--denom", "CNY-e",
       "--maturity-ms", str(maturity), "--payable-ref-hash", "ab" * 32, "--as", "oem")  # fmt: skip
    parts = json.dumps([{"to": SUPPLIER, "amount_minor": 1_000_000},
                        {"to": "did:amc:org:fleet", "amount_minor": 2_000_000}])  # fmt: skip
    ok(running, "voucher", "split", "V-cli", "0", "--field", f"parts={parts}", "--as", "supplier")
    code, out = cli(running, "voucher", "discount", "V-cli", "1", FINANCIER, "990000",
                    "--as", "supplier")  # fmt: skip
    assert code == 1 and "finance/21" in out  # the financier must co-sign
    ok(running, "voucher", "discount", "V-cli", "1", FINANCIER, "990000", "--as", "supplier",
       "--cosigner", "financier")  # fmt: skip
    code, out = cli(running, "voucher", "redeem", "V-cli", "--as", "oem")
    assert code == 1 and "finance/16" in out  # not mature yet
    time.sleep(max(0.0, maturity / 1000 - time.time()) + 0.2)
    ok(running, "voucher", "redeem", "V-cli", "--as", "oem")
    view = json.loads(ok(running, "voucher", "show", "V-cli", "--json"))
    assert view["voucher"]["status"] == "redeemed"
    assert [(p["holder"], p["status"]) for p in view["pieces"]] == [
        (SUPPLIER, "split"), (FINANCIER, "redeemed"), ("did:amc:org:fleet", "redeemed"),
    ]  # fmt: skip


def test_loan_show_says_what_is_missing(running: RunningNode) -> None:
    code, out = cli(running, "loan", "show", "L-none")
    assert code == 1 and "there is no loan 'L-none'" in out
