"""The explorer in a real browser: Debian's Chromium driven by Playwright against a real node
with demo traffic (vehicles sold, serviced, crashed, transferred, one recall and one refused
odometer rollback, made by ``amchain.cli.demo``).

Screenshots of the main pages go to a temporary directory, or to ``docs/screenshots/`` when
``AMCHAIN_SCREENSHOTS=1`` (``make screenshots``).
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pypdf import PdfReader
from rich.console import Console

from amchain.cli.demo import Demo
from amchain.node import Keystore
from amchain.sdk import AsyncClient
from tests.support import RunningNode, start_node

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_VEHICLES = 6
PHONE = {"width": 390, "height": 844}


@dataclass
class DemoChain:
    node: RunningNode
    rollback_vin: str  # the vehicle whose odometer rollback was refused
    clean_vin: str  # a vehicle without one


async def _demo_traffic(node: RunningNode) -> Demo:
    async with AsyncClient(node.url, timeout=60.0) as client:
        demo = Demo(client, Keystore(node.data_dir), Console(file=io.StringIO()))
        await demo.burst(DEMO_VEHICLES, should_stop=lambda: False)
        return demo


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoChain]:
    with start_node(tmp_path_factory.mktemp("explorer-node")) as node:
        # In a thread of its own: Playwright's sync API may already run a loop in this one.
        with ThreadPoolExecutor(1) as pool:
            demo = pool.submit(asyncio.run, _demo_traffic(node)).result()
        assert demo.refused_rollbacks == 1
        yield DemoChain(node, demo.vehicles[-1].vin, demo.vehicles[0].vin)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", accept_downloads=True
    )
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("AMCHAIN_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")


def test_overview_shows_height_rates_organisations_and_single_node(
    chain: DemoChain, page: Page, shots: Path
) -> None:
    head = chain.node.get("/v1/status").json()["height"]
    page.goto(chain.node.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Network overview")
    height = int(page.locator("[data-live-height]").inner_text())
    assert height >= head > 0
    expect(page.locator("#peers-title + p")).to_contain_text("Single node")
    expect(page.locator("ul.orgs")).to_contain_text("Demo oem")
    expect(page.locator("svg.chart rect.bar").first).to_be_attached()
    expect(page.locator("#refusals-title ~ div table")).to_contain_text(chain.rollback_vin)
    expect(page.locator("#live-status")).to_have_class("live on")
    page.screenshot(path=str(shots / "overview.png"), full_page=True)


def test_overview_follows_new_blocks_live(chain: DemoChain, page: Page) -> None:
    page.goto(chain.node.url + "/")
    expect(page.locator("#live-status")).to_have_class("live on")
    before = int(page.locator("[data-live-height]").inner_text())
    tx = chain.node.tx(
        [chain.node.key("registry")],
        "vehicles",
        "record_event",
        {"vin": chain.clean_vin, "event": {"type": "odometer", "odometer_km": 1_900_000}},
    )
    assert chain.node.post(tx).status_code == 200
    expect(page.locator("[data-live-height]")).not_to_have_text(str(before), timeout=15_000)
    assert int(page.locator("[data-live-height]").inner_text()) > before


def test_searching_a_vin_reaches_the_vehicle_page(chain: DemoChain, page: Page) -> None:
    page.goto(chain.node.url + "/")
    page.get_by_label("Search by VIN, DID, transaction hash or block height").fill(
        chain.rollback_vin.lower()
    )
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/vehicles/{chain.rollback_vin}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(chain.rollback_vin)


def test_timeline_lists_every_event_in_order(chain: DemoChain, page: Page, shots: Path) -> None:
    history = chain.node.get(f"/v1/vehicles/{chain.rollback_vin}/history").json()
    page.goto(f"{chain.node.url}/vehicles/{chain.rollback_vin}")
    items = page.locator("[data-testid=timeline] > li.event")
    expect(items).to_have_count(history["event_count"])
    assert items.evaluate_all("els => els.map(e => e.dataset.type)") == [
        e["type"] for e in history["events"]
    ]
    expect(page.locator("[data-testid=owners]")).to_have_text(str(history["flags"]["owners_count"]))
    page.screenshot(path=str(shots / "vehicle.png"), full_page=True)


def test_refused_rollback_is_flagged_in_summary_flags_timeline_and_chart(
    chain: DemoChain, page: Page
) -> None:
    page.goto(f"{chain.node.url}/vehicles/{chain.rollback_vin}")
    expect(page.locator("[data-testid=summary]")).to_contain_text(
        "odometer rollback attempt refused on"
    )
    expect(page.locator("[data-testid=rollback-flag]")).to_contain_text(
        "Odometer rollback attempt refused"
    )
    expect(page.locator("[data-testid=timeline] > li.refused")).to_have_count(1)
    expect(page.locator("[data-testid=rollback-mark]")).to_have_count(1)
    expect(page.locator("[data-testid=proof-link]")).to_have_text(
        f"{chain.node.url}/v1/vehicles/{chain.rollback_vin}/history?proof=true"
    )
    expect(page.get_by_text("verify with: amchain verify FILE")).to_be_visible()


def test_vehicle_without_rollback_reads_odometer_consistent(chain: DemoChain, page: Page) -> None:
    page.goto(f"{chain.node.url}/vehicles/{chain.clean_vin}")
    expect(page.locator("[data-testid=summary]")).to_contain_text("odometer consistent")
    expect(page.locator("[data-testid=timeline] > li.refused")).to_have_count(0)


def test_pdf_report_downloads_as_a_valid_pdf(chain: DemoChain, page: Page) -> None:
    page.goto(f"{chain.node.url}/vehicles/{chain.rollback_vin}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"amchain-{chain.rollback_vin}-history.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert chain.rollback_vin in text
    assert "Vehicle history report" in text
    assert "amchain verify FILE" in text
    assert len(reader.pages[0].images) == 1  # the QR code


def test_chinese_ui_is_switchable_and_remembered(chain: DemoChain, page: Page, shots: Path) -> None:
    page.goto(f"{chain.node.url}/vehicles/{chain.rollback_vin}")
    page.get_by_role("link", name="切换到中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator(".eyebrow")).to_have_text("车辆历史报告")
    expect(page.locator("[data-testid=rollback-flag]")).to_contain_text("里程回拨尝试已被拒绝")
    page.screenshot(path=str(shots / "vehicle-zh.png"), full_page=True)
    page.goto(chain.node.url + "/")  # the cookie keeps the choice
    expect(page.get_by_role("heading", level=1)).to_have_text("网络概览")
    response = page.request.get(f"{chain.node.url}/vehicles/{chain.rollback_vin}/report.pdf")
    reader = PdfReader(io.BytesIO(response.body()))
    assert "车辆历史报告" in reader.pages[0].extract_text()


def test_pages_fit_a_phone_screen(browser: Browser, chain: DemoChain, shots: Path) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        for path in ("/", f"/vehicles/{chain.rollback_vin}", "/blocks", "/orgs"):
            phone.goto(chain.node.url + path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways ({width}px)"
        phone.goto(f"{chain.node.url}/vehicles/{chain.rollback_vin}")
        phone.screenshot(path=str(shots / "vehicle-phone.png"), full_page=True)
    finally:
        context.close()


def test_pages_have_landmarks_labels_and_text_alternatives(chain: DemoChain, page: Page) -> None:
    for path in ("/", f"/vehicles/{chain.rollback_vin}", "/blocks", "/orgs"):
        page.goto(chain.node.url + path)
        assert page.locator("html").get_attribute("lang") in ("en", "zh-Hans")
        expect(page.get_by_role("banner")).to_have_count(1)
        expect(page.get_by_role("main")).to_have_count(1)
        expect(page.get_by_role("contentinfo")).to_have_count(1)
        expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
        expect(page.get_by_role("search")).to_have_count(1)
        unlabeled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                 .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                              && !e.getAttribute('aria-label')).length"""
        )
        assert unlabeled == 0, path
        unnamed_images = page.evaluate(
            """() => [...document.querySelectorAll('svg[role=img], img')]
                 .filter(e => !(e.getAttribute('aria-labelledby') || e.getAttribute('aria-label')
                                || e.hasAttribute('alt') || e.querySelector('title'))).length"""
        )
        assert unnamed_images == 0, path


def test_block_transaction_did_and_organisation_pages(
    chain: DemoChain, page: Page, shots: Path
) -> None:
    refused = httpx.get(
        f"{chain.node.url}/v1/txs", params={"vin": chain.rollback_vin, "failed_only": "true"}
    ).json()["txs"][0]
    page.goto(f"{chain.node.url}/txs/{refused['hash']}")
    expect(page.locator(".notice.bad")).to_contain_text("vehicles/7")
    page.screenshot(path=str(shots / "transaction-refused.png"), full_page=True)
    page.get_by_role("link", name=str(refused["height"]), exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Block {refused['height']}")
    expect(page.locator("#txs ~ div table")).to_contain_text(refused["hash"][:10])
    page.screenshot(path=str(shots / "block.png"), full_page=True)
    page.goto(f"{chain.node.url}/dids/did:amc:vin:{chain.rollback_vin}")
    expect(page.locator("pre.json").first).to_contain_text(f"did:amc:vin:{chain.rollback_vin}")
    page.goto(chain.node.url + "/orgs")
    expect(page.locator("#org-insurer")).to_contain_text("insurer")
    page.screenshot(path=str(shots / "organisations.png"), full_page=True)


def test_search_for_unknown_things_says_so(chain: DemoChain, page: Page) -> None:
    response = page.goto(chain.node.url + "/search?q=1HGCM82633A000000")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("Nothing on this chain matches")


def test_a_module_page_answers_its_query_form(chain: DemoChain, page: Page, shots: Path) -> None:
    page.goto(f"{chain.node.url}/modules")
    page.get_by_role("link", name="Vehicles").click()
    page.wait_for_url("**/modules/vehicles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vehicles")
    page.locator("#message-record_event summary").click()
    expect(page.locator("#message-record_event table")).to_contain_text("event.odometer_km")
    form = page.locator("#query-history")
    form.get_by_label("vin").fill(chain.rollback_vin)
    form.get_by_role("button", name="Ask").click()
    page.wait_for_url("**/modules/vehicles/queries/history?*")
    expect(page.locator("#answer-history + pre")).to_contain_text(chain.rollback_vin)
    expect(page.locator("#recent ~ div table").first).to_be_attached()
    page.screenshot(path=str(shots / "module.png"), full_page=True)
