"""``amchain up --demo``: simulated vehicle traffic against the node's own API.

Acting as the keystore's organisations (oem, dealer, service_center, insurer, registry), it
produces vehicles with valid VINs (their on-board keys kept in the keystore as
``vehicle-<VIN>``, their birth certificates issued as credentials), sells them to people
(DIDs sponsored by the dealer), registers, services and repairs them, reports accidents and
claims, transfers some between people (both sign), opens one recall, and makes exactly one
odometer rollback attempt, which the chain refuses and keeps on record. Then every module
that declares demo traffic (``ModuleSpec.demo``) runs its steps, signed by the keys the demo
holds. Then a slow trickle of readings continues until the server stops, so an explorer sees
blocks arrive. Refusals never stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from amchain.crypto import KeyPair
from amchain.modules.base import ROLES, DemoStep, DemoWorld, ModuleSpec
from amchain.modules.vehicles.validation import compute_vin_check_digit
from amchain.node import Keystore, KeystoreError
from amchain.runtime import default_registry
from amchain.sdk import AmchainError, ApiError, AsyncClient, Signer, TransportError

ORGS = ("oem", "dealer", "service_center", "insurer", "registry")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
YEAR_CODES = {2018: "J", 2019: "K", 2020: "L", 2021: "M", 2022: "N", 2023: "P", 2024: "R",
              2025: "S"}  # fmt: skip
CATALOGUE = (
    # WMI, make, model, registration region
    ("1HG", "Honda", "Accord", "US"),
    ("LSV", "Volkswagen", "Lavida", "CN"),
    ("WVW", "Volkswagen", "Golf", "DE"),
    ("5YJ", "Tesla", "Model 3", "US"),
    ("LFV", "Volkswagen", "Sagitar", "CN"),
    ("WBA", "BMW", "320i", "DE"),
)
WORK_ITEMS = (["oil", "oil_filter"], ["brake_pads"], ["tyres", "alignment"],
              ["oil", "air_filter", "cabin_filter"], ["coolant"], ["battery_check"])  # fmt: skip
SEVERITIES = ("minor", "moderate", "severe")
ROLLBACK_CODE = 7  # vehicles/ODOMETER_ROLLBACK
MAX_STEP_WAIT_S = 300  # a module demo step waits at most this long for its time


def random_hash() -> str:
    return secrets.token_hex(32)


def make_vin(wmi: str, model_year: int) -> str:
    """A VIN with a fresh random serial and a valid ISO 3779 check digit."""
    vds = "".join(secrets.choice(VIN_CHARS) for _ in range(5))
    plant = secrets.choice("ABCDEFGHJKLMNPRSTUVWXYZ")
    serial = f"{secrets.randbelow(1_000_000):06d}"
    draft = f"{wmi}{vds}0{YEAR_CODES.get(model_year, 'R')}{plant}{serial}"
    return draft[:8] + compute_vin_check_digit(draft) + draft[9:]


@dataclass
class DemoVehicle:
    vin: str
    owner: Signer
    car: Signer
    odometer_km: int = 0


@dataclass
class ModuleDemoOutcome:
    committed: int = 0
    refused_as_expected: int = 0
    faults: int = 0


class Demo:
    def __init__(self, client: AsyncClient, keystore: Keystore, console: Console) -> None:
        self.client = client
        self.keystore = keystore
        self.console = console
        self.orgs = {}
        for org in ORGS + tuple(role for role in ROLES if role not in ORGS):
            if org in ORGS or org in keystore.names():
                stored = keystore.get(org)
                self.orgs[org] = Signer.for_org(stored.key, stored.org or org, name=org)
        self.vehicles: list[DemoVehicle] = []
        self.people: list[Signer] = []
        self.refused_rollbacks = 0

    def _new_person_name(self) -> str:
        names = set(self.keystore.names())
        n = 1
        while f"demo-owner-{n}" in names:
            n += 1
        return f"demo-owner-{n}"

    async def new_person(self) -> Signer:
        """A person's key, in the keystore as ``demo-owner-<n>``, with a DID on chain."""
        signer = Signer(KeyPair.generate())
        await self.client.identity.create_did(self.orgs["dealer"], signer)
        # Re-read the keystore (CLI commands may have added keys meanwhile) and name the key
        # only now: no await between choosing a free name and taking it.
        with contextlib.suppress(KeystoreError, OSError):  # a convenience for CLI users
            self.keystore = Keystore(self.keystore.path.parent)
            signer.name = self._new_person_name()
            self.keystore.add(signer.name, signer.key, did=signer.did)
        self.people.append(signer)
        return signer

    async def event(self, signers: Signer | list[Signer], vin: str, event: dict[str, Any]) -> None:
        await self.client.vehicles.record_event(signers, vin, event)

    async def produce_vehicle(self, index: int) -> DemoVehicle:
        wmi, make, model, region = CATALOGUE[index % len(CATALOGUE)]
        model_year = 2020 + secrets.randbelow(6)
        car_key = KeyPair.generate()  # the on-board unit's key
        for _attempt in range(5):
            vin = make_vin(wmi, model_year)
            try:
                await self.client.vehicles.register(
                    self.orgs["oem"],
                    vin=vin,
                    make=make,
                    model=model,
                    model_year=model_year,
                    plant=f"{wmi}-plant",
                    vehicle_key=car_key.public_key,
                )
                break
            except ApiError as exc:
                if exc.codespace == "vehicles" and exc.code == 2:  # duplicate VIN: new serial
                    continue
                raise
        with contextlib.suppress(KeystoreError, OSError):  # `amchain vehicle unlock` uses it
            Keystore(self.keystore.path.parent).add(f"vehicle-{vin}", car_key)
        await self.birth_certificate(vin)
        owner = await self.new_person()
        car = DemoVehicle(
            vin=vin,
            owner=owner,
            car=Signer(car_key, did=f"did:amc:vin:{vin}"),
            odometer_km=5 + secrets.randbelow(40),
        )
        await self.event(
            self.orgs["dealer"],
            vin,
            {
                "type": "sold",
                "buyer": owner.did,
                "odometer_km": car.odometer_km,
                "contract_hash": random_hash(),
            },
        )
        car.odometer_km += 3
        await self.event(
            self.orgs["registry"],
            vin,
            {
                "type": "registered",
                "region": region,
                "registration_hash": random_hash(),
                "plate_hash": random_hash(),
                "odometer_km": car.odometer_km,
            },
        )
        for _ in range(1 + secrets.randbelow(3)):
            car.odometer_km += 8_000 + secrets.randbelow(7_000)
            await self.event(
                self.orgs["service_center"],
                vin,
                {
                    "type": "serviced",
                    "odometer_km": car.odometer_km,
                    "work_items": secrets.choice(WORK_ITEMS),
                    "report_hash": random_hash(),
                },
            )
        if index % 3 == 1:
            car.odometer_km += 1_000 + secrets.randbelow(4_000)
            await self.event(
                self.orgs["insurer"],
                vin,
                {
                    "type": "accident",
                    "occurred_at_ms": time.time_ns() // 1_000_000 - 86_400_000,
                    "severity": secrets.choice(SEVERITIES),
                    "airbags_deployed": index % 2 == 0,
                    "report_hash": random_hash(),
                    "odometer_km": car.odometer_km,
                },
            )
            record = await self.client.get_vehicle(vin)
            accident_seq = int(record["event_count"]) - 1
            await self.event(
                self.orgs["insurer"],
                vin,
                {
                    "type": "insurance_claim",
                    "claim_ref_hash": random_hash(),
                    "amount_minor": 50_000 + secrets.randbelow(500_000),
                    "currency": "EUR",
                    "status": "paid",
                    "accident_seq": accident_seq,
                },
            )
            car.odometer_km += 20
            await self.event(
                self.orgs["service_center"],
                vin,
                {
                    "type": "repaired",
                    "odometer_km": car.odometer_km,
                    "parts_replaced": ["bumper", "headlamp"],
                    "accident_seq": accident_seq,
                },
            )
        if index % 4 == 2:
            buyer = await self.new_person()
            car.odometer_km += 500 + secrets.randbelow(3_000)
            await self.client.vehicles.transfer(
                car.owner, buyer, vin=vin, odometer_km=car.odometer_km, contract_hash=random_hash()
            )
            car.owner = buyer
        car.odometer_km += 100 + secrets.randbelow(2_000)
        await self.event(
            self.orgs["registry"],
            vin,
            {
                "type": "odometer",
                "odometer_km": car.odometer_km,
                "source": "registry",
            },
        )
        return car

    async def birth_certificate(self, vin: str) -> None:
        """The OEM issues the vehicle's birth certificate (a VC anchored on chain) and hands
        it over as a file: ``<data dir>/credentials/<VIN>-birth-certificate.json``."""
        credential, _ = await self.client.credentials.issue(
            self.orgs["oem"], "VehicleBirthCertificate", vin=vin
        )
        with contextlib.suppress(OSError):
            folder = self.keystore.path.parent / "credentials"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{vin}-birth-certificate.json").write_text(
                json.dumps(credential, indent=2) + "\n"
            )

    async def recall(self) -> None:
        car = self.vehicles[0]
        await self.event(
            self.orgs["oem"],
            car.vin,
            {
                "type": "recall_notice",
                "campaign": f"RC-{time.gmtime().tm_year}-{secrets.randbelow(1000):03d}",
                "description_hash": random_hash(),
                "severity": "medium",
            },
        )

    async def rollback_attempt(self, printer: Console) -> None:
        """Exactly one odometer rollback attempt; the chain must refuse it."""
        car = self.vehicles[-1]
        attempted = max(0, car.odometer_km - 5_000 - secrets.randbelow(5_000))
        try:
            await self.event(
                self.orgs["registry"],
                car.vin,
                {
                    "type": "odometer",
                    "odometer_km": attempted,
                    "source": "manual",
                },
            )
        except ApiError as exc:
            if exc.codespace == "vehicles" and exc.code == ROLLBACK_CODE:
                self.refused_rollbacks += 1
                printer.print(
                    f"[green]✔ refused as expected[/]: odometer rollback on {car.vin} "
                    f"({car.odometer_km:,} → {attempted:,} km) — "
                    f"{exc.codespace}/{exc.code}, kept on record at height {exc.height}"
                )
                return
            raise
        printer.print(f"[bold red]✘ odometer rollback on {car.vin} was NOT refused[/]")

    async def burst(self, count: int, should_stop: Callable[[], bool]) -> None:
        gate = asyncio.Semaphore(4)
        progress = Progress(
            TextColumn("[bold blue]demo traffic"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        with progress:
            task = progress.add_task("vehicles", total=count + 2)

            async def one(index: int) -> None:
                async with gate:
                    if should_stop():
                        return
                    try:
                        self.vehicles.append(await self.produce_vehicle(index))
                    except AmchainError as exc:
                        progress.console.print(f"[yellow]demo: vehicle {index} stopped: {exc}")
                    progress.advance(task)

            await asyncio.gather(*(one(i) for i in range(count)))
            if not self.vehicles or should_stop():
                return
            progress.update(task, description="recall notice")
            try:
                await self.recall()
            except AmchainError as exc:
                progress.console.print(f"[yellow]demo: recall refused: {exc}")
            progress.advance(task)
            progress.update(task, description="odometer rollback attempt")
            try:
                await self.rollback_attempt(progress.console)
            except AmchainError as exc:
                progress.console.print(f"[yellow]demo: rollback attempt failed oddly: {exc}")
            progress.advance(task)
            progress.update(task, description="done")

    def world(self, time_ms: int) -> tuple[DemoWorld, dict[str, Signer]]:
        """What the modules' demos may use, and the signer of every DID in it."""
        signers = {signer.did: signer for signer in self.orgs.values()}
        signers.update({person.did: person for person in self.people})
        signers.update({car.car.did: car.car for car in self.vehicles})
        world = DemoWorld(
            orgs={role: signer.did for role, signer in self.orgs.items()},
            people=tuple(person.did for person in self.people),
            vehicles={car.vin: car.owner.did for car in self.vehicles},
            time_ms=time_ms,
            odometer_km={car.vin: car.odometer_km for car in self.vehicles},
        )
        return world, signers

    async def module_demos(
        self, should_stop: Callable[[], bool], only: tuple[str, ...] | None = None
    ) -> None:
        """Each module's declared demo traffic (``ModuleSpec.demo``), in registry order
        (``only``: just these modules)."""
        for spec in default_registry().modules:
            if spec.demo is None or should_stop():
                continue
            if only is not None and spec.name not in only:
                continue
            status = await self.client.status()
            world, signers = self.world(status.latest_block_time_ms)
            outcome = ModuleDemoOutcome()
            for step in spec.demo(world):
                if should_stop():
                    return
                await self.module_step(spec, step, signers, outcome)
            self.console.print(
                f"[bold]demo:[/] {spec.name}: {outcome.committed} transactions committed, "
                f"{outcome.refused_as_expected} refused as expected"
                + (f", [red]{outcome.faults} unexpected[/]" if outcome.faults else "")
            )

    async def module_step(
        self,
        spec: ModuleSpec,
        step: DemoStep,
        signers: dict[str, Signer],
        outcome: ModuleDemoOutcome,
    ) -> None:
        module = step.module or spec.name
        what = step.note or f"{module}.{step.message}"
        if step.not_before_ms is not None:
            wait_s = step.not_before_ms / 1000 - time.time()
            if wait_s > MAX_STEP_WAIT_S:
                outcome.faults += 1
                self.console.print(f"[yellow]demo: {what}: due too far ahead, skipped[/]")
                return
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        missing = [did for did in step.signers if did not in signers]
        if missing:
            outcome.faults += 1
            self.console.print(f"[red]demo: {what}: no key for {', '.join(missing)}[/]")
            return
        try:
            await self.client.tx(
                module, step.message, dict(step.args), signers=[signers[d] for d in step.signers]
            )
        except ApiError as exc:
            if step.refused_with == (exc.codespace, exc.code):
                outcome.refused_as_expected += 1
                self.console.print(f"[green]✔ refused as expected[/]: {what} — {exc}")
                return
            outcome.faults += 1
            self.console.print(f"[yellow]demo: {what} refused: {exc}[/]")
            return
        except AmchainError as exc:
            outcome.faults += 1
            self.console.print(f"[yellow]demo: {what} failed: {exc}[/]")
            return
        if step.refused_with is not None:
            outcome.faults += 1
            self.console.print(f"[bold red]✘ {what} was NOT refused[/]")
            return
        outcome.committed += 1

    async def trickle(self, should_stop: Callable[[], bool], interval_s: float = 2.0) -> None:
        """One reading or service every ~2 s until the server stops."""
        tick = 0
        while not should_stop():
            await asyncio.sleep(interval_s)
            if should_stop() or not self.vehicles:
                continue
            car = secrets.choice(self.vehicles)
            car.odometer_km += 50 + secrets.randbelow(900)
            tick += 1
            if tick % 3 == 0:
                signer, event = (
                    self.orgs["service_center"],
                    {
                        "type": "serviced",
                        "odometer_km": car.odometer_km,
                        "work_items": secrets.choice(WORK_ITEMS),
                    },
                )
            else:
                signer, event = (
                    self.orgs["registry"],
                    {
                        "type": "odometer",
                        "odometer_km": car.odometer_km,
                        "source": "telematics",
                    },
                )
            try:
                await self.client.vehicles.record_event(signer, car.vin, event, wait=None)
            except TransportError:
                if should_stop():
                    return
            except AmchainError as exc:
                self.console.print(f"[dim]demo: {car.vin} {event['type']} refused: {exc}[/]")


async def run_demo(
    *,
    base_url: str,
    data_dir: Path,
    vehicles: int,
    console: Console,
    modules: tuple[str, ...] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Run the demo until ``should_stop()``; never raises (the server must keep running)."""
    try:
        async with AsyncClient(base_url, timeout=30.0) as client:
            demo = Demo(client, Keystore(data_dir), console)
            await client.status()
            await demo.burst(vehicles, should_stop)
            await demo.module_demos(should_stop, modules)
            if not should_stop():
                console.print(
                    f"[bold]demo:[/] {len(demo.vehicles)} vehicles on chain, "
                    f"{demo.refused_rollbacks} rollback refused; e.g. "
                    f"`amchain vehicle history {demo.vehicles[-1].vin if demo.vehicles else ''} "
                    f"--node {base_url}`. A slow trickle of readings follows."
                )
            await demo.trickle(should_stop)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        console.print(f"[red]demo stopped: {type(exc).__name__}: {exc}[/]")
