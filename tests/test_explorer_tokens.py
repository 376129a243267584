"""The explorer's pages for a denomination, an account and a voucher tree, over HTTP against
a real node, in English and Chinese."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from amchain.explorer import views
from tests.support import RunningNode, start_node

OEM, SUPPLIER, FINANCIER = "did:amc:org:oem", "did:amc:org:supplier", "did:amc:org:financier"
FLEET = "did:amc:org:fleet"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """CNY-e minted to the OEM and the financier; voucher V-tree of 3,000.00 CNY-e issued to
    the supplier, split in three (piece 3 split again), piece 2 discounted to the financier."""
    with start_node(tmp_path_factory.mktemp("explorer-tokens")) as node:

        def send(signer: str, module: str, message: str, args: dict[str, Any], *co: str) -> None:
            keys = [node.key(signer), *(node.key(c) for c in co)]
            response = node.post(node.tx(keys, module, message, args))
            assert response.status_code == 200, response.text

        for to in (OEM, FINANCIER):
            send("financier", "tokens", "mint",
                 {"denom": "CNY-e", "to": to, "amount_minor": 500_000})  # fmt: skip
        send("oem", "finance", "issue_voucher", {
            "voucher_id": "V-tree", "supplier": SUPPLIER, "denom": "CNY-e",
            "face_minor": 300_000, "maturity_ms": time.time_ns() // 1_000_000 + 86_400_000,
            "payable_ref_hash": "ab" * 32})  # fmt: skip

        def parts(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
            return [{"to": to, "amount_minor": amount} for to, amount in pairs]

        send("supplier", "finance", "split_piece", {"voucher_id": "V-tree", "piece_no": 0,
             "parts": parts((SUPPLIER, 100_000), (SUPPLIER, 50_000), (FLEET, 150_000)),
        })  # fmt: skip
        send("fleet", "finance", "split_piece", {"voucher_id": "V-tree", "piece_no": 3,
             "parts": parts((FLEET, 100_000), (OEM, 50_000))})  # fmt: skip
        send("supplier", "finance", "discount_piece", {"voucher_id": "V-tree", "piece_no": 2,
             "financier": FINANCIER, "price_minor": 49_000}, "financier")  # fmt: skip
        yield node


def test_units_keep_two_decimals_and_drop_the_rest_of_the_zeros() -> None:
    assert views.fmt_units(2_500_000, 6) == "2.50"
    assert views.fmt_units(300_000_000_000_000, 6) == "300,000,000.00"
    assert views.fmt_units(1_234_567, 6) == "1.234567"
    assert views.fmt_units(5, 0) == "5"
    assert views.fmt_units(None, 2) == "—"


def test_voucher_tree_is_depth_first_from_the_original() -> None:
    pieces = [
        {"no": 0, "parent": None}, {"no": 1, "parent": 0}, {"no": 2, "parent": 0},
        {"no": 3, "parent": 1}, {"no": 4, "parent": 1},
    ]  # fmt: skip
    rows = views.voucher_tree(pieces)
    assert [(r.piece["no"], r.depth) for r in rows] == [(0, 0), (1, 1), (3, 2), (4, 2), (2, 1)]


def test_voucher_page_shows_the_tree_and_what_was_discounted(chain: RunningNode) -> None:
    page = chain.get("/vouchers/V-tree")
    assert page.status_code == 200
    html = page.text
    order = [int(n) for n in re.findall(r'<tr id="piece-(\d+)" data-depth', html)]
    assert order == [0, 1, 2, 3, 4, 5]
    depths = dict(re.findall(r'<tr id="piece-(\d+)" data-depth="(\d+)"', html))
    assert depths == {"0": "0", "1": "1", "2": "1", "3": "1", "4": "2", "5": "2"}
    assert "3,000.00 CNY-e" in html  # face value, and still held in pieces
    assert "to a financier for 490.00 CNY-e" in html
    assert f'href="/accounts/{FLEET}"' in html
    zh = chain.get("/vouchers/V-tree", lang="zh").text
    assert "电子凭证" in zh and "已拆分" in zh and "已向金融机构贴现" in zh
    missing = chain.get("/vouchers/V-none")
    assert missing.status_code == 404 and "There is no voucher “V-none”" in missing.text


def test_denomination_page_lists_holders_and_its_transactions(chain: RunningNode) -> None:
    html = chain.get("/tokens/CNY-e").text
    assert "e-CNY settlement token" in html
    assert f'href="/accounts/{FINANCIER}"' in html and f'href="/accounts/{OEM}"' in html
    assert "tokens.mint" in html  # its latest transactions
    page = chain.get("/tokens/AMCT").text
    assert "AMCT pools" in page and "Mining (rewards)" in page and "300,000,000.00" in page
    assert chain.get("/tokens/NOPE").status_code == 404
    assert "币种" in chain.get("/tokens", lang="zh").text


def test_holders_page_through_with_next_after(chain: RunningNode) -> None:
    first = chain.get("/v1/tokens/denominations/CNY-e/holders", limit=1).json()
    assert len(first["holders"]) == 1 and first["next_after"] == first["holders"][0]["account"]
    rest = chain.get(
        "/v1/tokens/denominations/CNY-e/holders", after=first["next_after"], limit=500
    ).json()
    accounts = [h["account"] for h in first["holders"] + rest["holders"]]
    assert accounts == sorted(accounts) and {OEM, FINANCIER} <= set(accounts)
    assert rest["next_after"] is None
    assert chain.get("/v1/tokens/denominations/NOPE/holders").status_code == 404


def test_account_page_shows_balances_and_links_its_did(chain: RunningNode) -> None:
    html = chain.get(f"/accounts/{OEM}").text
    assert "5,000.00" in html  # the CNY-e minted to it
    assert f'href="/dids/{OEM}"' in html and 'href="/tokens/CNY-e"' in html
    assert f'href="/accounts/{OEM}"' in chain.get(f"/dids/{OEM}").text
    assert chain.get("/accounts/not-a-did").status_code == 404


def test_search_finds_a_denomination_and_a_voucher(chain: RunningNode) -> None:
    for query, target in (("CNY-e", "/tokens/CNY-e"), ("V-tree", "/vouchers/V-tree")):
        response = chain.get("/search", q=query)
        assert response.status_code == 303 and response.headers["location"] == target, query
