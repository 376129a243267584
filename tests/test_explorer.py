"""The explorer's server side over HTTP (pages, PDF, languages) and the listing endpoints it
reads (``GET /v1/blocks``, ``GET /v1/txs``), against a real node."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from amchain.explorer import views
from amchain.explorer.i18n import EN, ZH, pick_lang
from amchain.modules.vehicles import VehiclesCode
from tests.support import RunningNode

VIN = "WVWZZZ1KZ6W000001"  # check digit fixed below
PROBLEM = "application/problem+json"


def with_check_digit(vin: str) -> str:
    from amchain.modules.vehicles import compute_vin_check_digit

    return vin[:8] + compute_vin_check_digit(vin) + vin[9:]


@pytest.fixture(scope="module")
def vin(node: RunningNode) -> str:
    """A vehicle with readings 10,000 → 20,000 km, a refused reading of 15,000, an accident
    with a claim, sold to a person (2 owners)."""
    vin = with_check_digit(VIN)
    oem, registry, dealer, insurer = (node.key(n) for n in ("oem", "registry", "dealer", "insurer"))

    def send(signers, module, message, args, expect=200):
        response = node.post(node.tx(signers, module, message, args))
        assert response.status_code == expect, response.text
        return response.json()

    send([oem], "vehicles", "register_vehicle",
         {"vin": vin, "make": "Volkswagen", "model": "Golf", "model_year": 2006})  # fmt: skip
    from amchain.crypto import KeyPair

    person = KeyPair.generate()
    did = send([node.key("dealer"), person], "identity", "create_did",
               {"public_key": person.public_key.hex()})  # fmt: skip
    buyer = did["receipt"]["events"][0]["attributes"]["did"]
    for event in (
        {"type": "sold", "buyer": buyer, "odometer_km": 10},
        {"type": "odometer", "odometer_km": 10_000},
        {"type": "accident", "occurred_at_ms": 1, "severity": "minor", "odometer_km": 12_000},
        {"type": "odometer", "odometer_km": 20_000},
    ):
        signer = {"sold": dealer, "accident": insurer}.get(event["type"], registry)
        send([signer], "vehicles", "record_event", {"vin": vin, "event": event})
    send([insurer], "vehicles", "record_event", {"vin": vin, "event": {
        "type": "insurance_claim", "claim_ref_hash": "ab" * 32, "amount_minor": 123_456,
        "currency": "EUR", "status": "paid", "accident_seq": 3}})  # fmt: skip
    refused = send([registry], "vehicles", "record_event",
                   {"vin": vin, "event": {"type": "odometer", "odometer_km": 15_000}},
                   expect=422)  # fmt: skip
    assert refused["code"] == int(VehiclesCode.ODOMETER_ROLLBACK)
    return vin


# -- strings and views ---------------------------------------------------------------------


def test_every_ui_string_exists_in_english_and_chinese() -> None:
    assert set(EN) == set(ZH)
    for key in EN:
        assert sorted(re.findall(r"{(\w+)}", EN[key])) == sorted(re.findall(r"{(\w+)}", ZH[key])), (
            key
        )


def test_language_comes_from_query_then_cookie_then_browser() -> None:
    assert pick_lang("zh", "en", "en-GB") == "zh"
    assert pick_lang(None, "zh", "en-GB") == "zh"
    assert pick_lang("xx", None, "zh-CN,zh;q=0.9") == "zh"
    assert pick_lang(None, None, "fr-FR,en;q=0.5") == "en"
    assert pick_lang(None, None, None) == "en"


def test_summary_reads_owners_accidents_and_odometer(node: RunningNode, vin: str) -> None:
    history = node.get(f"/v1/vehicles/{vin}/history").json()
    en = views.summary_text(history, views.translator("en"))
    assert en.startswith("2 owners · 1 accident · odometer rollback attempt refused on ")
    assert "(20,000 → 15,000 km)" in en
    zh = views.summary_text(history, views.translator("zh"))
    assert zh.startswith("2 位车主 · 1 次事故 · ")
    clean = {**history, "flags": {**history["flags"], "refused_odometer_rollbacks": []}}
    assert views.summary_text(clean, views.translator("en")).endswith("odometer consistent")


def test_odometer_chart_marks_the_refused_attempt_below_the_last_reading(
    node: RunningNode, vin: str
) -> None:
    history = node.get(f"/v1/vehicles/{vin}/history").json()
    chart = views.odometer_chart(history)
    assert chart is not None
    readings = [e["odometer_km"] for e in history["events"] if e["odometer_km"] is not None]
    assert len(chart.line) == len(readings)
    (mark,) = chart.marks
    highest = min(p.y for p in chart.line)  # SVG y grows downwards
    assert mark.y > highest
    (top, bottom) = chart.mark_links[0]
    assert top.y == pytest.approx(highest) and bottom is mark


def test_timeline_places_the_refusal_after_the_entries_before_it(
    node: RunningNode, vin: str
) -> None:
    history = node.get(f"/v1/vehicles/{vin}/history").json()
    items = views.timeline(history, views.translator("en"), {})
    assert [i.kind for i in items].count("refused") == 1
    assert items[-1].kind == "refused"  # the last thing that happened to this vehicle
    assert [i.type for i in items if i.kind == "event"] == [e["type"] for e in history["events"]]
    (accident,) = views.accidents(history)
    assert accident.claims[0]["amount_minor"] == 123_456


# -- listing endpoints ---------------------------------------------------------------------


def test_blocks_list_pages_newest_first(node: RunningNode, vin: str) -> None:
    first = node.get("/v1/blocks", limit=3).json()
    heights = [b["height"] for b in first["blocks"]]
    assert heights == sorted(heights, reverse=True) and heights[0] == first["head"]
    assert all(set(b) == {"height", "hash", "time_ms", "tx_count"} for b in first["blocks"])
    second = node.get("/v1/blocks", limit=3, before=first["next_before"]).json()
    assert second["blocks"][0]["height"] == heights[-1] - 1
    assert node.get("/v1/blocks", before=0).json()["blocks"] == []
    last = node.get("/v1/blocks", limit=500).json()
    assert last["blocks"][-1]["height"] == 0 and last["next_before"] is None


def test_txs_list_by_vin_did_height_and_recent_refusals(node: RunningNode, vin: str) -> None:
    by_vin = node.get("/v1/txs", vin=vin.lower()).json()["txs"]
    assert [t["ok"] for t in by_vin].count(False) == 1
    assert all(t["args"]["vin"] == vin for t in by_vin)
    failed = node.get("/v1/txs", vin=vin, failed_only="true").json()["txs"]
    assert [(t["codespace"], t["code"]) for t in failed] == [("vehicles", 7)]
    block = node.get("/v1/txs", height=failed[0]["height"]).json()["txs"]
    assert failed[0]["hash"] in [t["hash"] for t in block]
    recent = node.get("/v1/txs", failed_only="true", limit=5).json()["txs"]
    assert recent[0]["hash"] == failed[0]["hash"]
    owner = node.get(f"/v1/vehicles/{vin}").json()["owner"]
    naming_owner = node.get("/v1/txs", did=owner).json()["txs"]
    assert [(t["module"], t["message"]) for t in naming_owner] == [
        ("identity", "create_did"),
        ("vehicles", "record_event"),
    ]


def test_txs_list_filters_combine(node: RunningNode, vin: str) -> None:
    by_vin = node.get("/v1/txs", vin=vin).json()["txs"]
    height = by_vin[-1]["height"]
    both = node.get("/v1/txs", height=height, vin=vin).json()
    assert [t["hash"] for t in both["txs"]] == [t["hash"] for t in by_vin if t["height"] == height]
    assert both["filter"] == {"height": height, "vin": vin}
    assert node.get("/v1/txs", height=height, vin="1HGCM82633A000000").json()["txs"] == []
    signer = by_vin[0]["signers"][0]
    mine = node.get("/v1/txs", vin=vin, signer=signer, module="vehicles").json()["txs"]
    assert mine and all(signer in t["signers"] and t["module"] == "vehicles" for t in mine)
    assert node.get("/v1/txs", did="", vin=vin).json()["filter"] == {"vin": vin}
    recent = node.get("/v1/txs", module="identity").json()["txs"]
    assert recent and {t["module"] for t in recent} == {"identity"}


# -- pages over HTTP -----------------------------------------------------------------------


def test_api_paths_stay_problem_documents_next_to_the_pages(node: RunningNode) -> None:
    response = node.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    page = node.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not any(p.startswith("/vehicles/") for p in node.get("/openapi.json").json()["paths"])


def test_pages_load_only_local_assets(node: RunningNode, vin: str) -> None:
    for path in ("/", "/blocks", "/orgs", f"/vehicles/{vin}"):
        html = node.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", url) or url.startswith(node.url), (path, url)
    css = node.get("/assets/explorer.css")
    assert css.status_code == 200 and "@media print" in css.text
    assert "@import" not in css.text and "url(http" not in css.text
    assert node.get("/assets/explorer.js").text.count("EventSource") >= 1


def test_unknown_vehicle_page_is_a_404_page(node: RunningNode) -> None:
    response = node.get("/vehicles/1HGCM82633A000000")
    assert response.status_code == 404
    assert "No vehicle with VIN 1HGCM82633A000000" in response.text


def test_language_choice_is_kept_in_a_cookie(node: RunningNode, vin: str) -> None:
    with httpx.Client(base_url=node.url) as client:
        zh = client.get(f"/vehicles/{vin}", params={"lang": "zh"})
        assert '<html lang="zh-Hans">' in zh.text and "车辆历史报告" in zh.text
        again = client.get("/")
        assert "网络概览" in again.text
        assert "Network overview" in client.get("/", params={"lang": "en"}).text


def test_search_redirects_to_what_it_finds(node: RunningNode, vin: str) -> None:
    tx_hash = node.get("/v1/txs", vin=vin).json()["txs"][0]["hash"]
    cases = {
        vin.lower(): f"/vehicles/{vin}",
        f"did:amc:vin:{vin}": f"/dids/did:amc:vin:{vin}",
        tx_hash.upper(): f"/txs/{tx_hash}",
        "0": "/blocks/0",
    }
    for query, target in cases.items():
        response = httpx.get(f"{node.url}/search", params={"q": query})
        assert response.status_code == 303, query
        assert response.headers["location"] == target
    assert httpx.get(f"{node.url}/search", params={"q": "999999999"}).status_code == 404


def test_pdf_report_is_a_valid_pdf_in_both_languages(node: RunningNode, vin: str) -> None:
    for lang, title in (("en", "Vehicle history report"), ("zh", "车辆历史报告")):
        response = node.get(f"/vehicles/{vin}/report.pdf", lang=lang)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        reader = PdfReader(io.BytesIO(response.content))
        text = "\n".join(p.extract_text() for p in reader.pages)
        assert title in text and vin in text
        assert f"/v1/vehicles/{vin}/history?proof=true" in text.replace("\n", "")
        assert "amchain verify FILE" in text


def test_vehicle_page_links_a_proof_bundle_that_amchain_verify_accepts(
    node: RunningNode, vin: str, tmp_path: Path
) -> None:
    html = node.get(f"/vehicles/{vin}").text
    link = f"{node.url}/v1/vehicles/{vin}/history?proof=true"
    assert f'href="{link}"' in html
    assert "verify with: amchain verify FILE" in html
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(httpx.get(link, timeout=30).content)
    result = subprocess.run(
        [sys.executable, "-m", "amchain.cli", "verify", str(bundle), "--data-dir",
         str(node.data_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_has_a_page_with_its_messages_queries_events_and_transactions(
    node: RunningNode, vin: str
) -> None:
    index = node.get("/modules")
    assert index.status_code == 200
    for name in ("consortium", "identity", "vehicles", "credentials"):
        assert f'href="/modules/{name}"' in index.text
    page = node.get("/modules/vehicles").text
    assert 'id="message-record_event"' in page and "event.work_items" in page
    assert 'id="query-history"' in page and "vehicles.ownership_changed" in page
    assert f'href="/vehicles/{vin}"' in page  # its latest transactions
    answered = node.get("/modules/vehicles/queries/history", vin=vin).text
    assert 'id="answer-history"' in answered and "odometer rollback attempt refused" in answered
    refused = node.get("/modules/credentials/queries/status", list="x", index="zz").text
    assert "index is an integer" in refused
    assert node.get("/modules/nothing").status_code == 404
    assert node.get("/modules/vehicles/queries/nothing").status_code == 404
    assert "查询" in node.get("/modules/vehicles", lang="zh").text
