"""The vehicles module: ISO 3779 VINs, registration, lifecycle events, odometer rollback,
ownership rules and the hash-chained history."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from amchain.codec import convert
from amchain.crypto import KeyPair
from amchain.ledger import MemoryState, Overlay
from amchain.modules import consortium, identity, vehicles
from amchain.modules.base import GenesisContext, KeyStanding, ModuleSpec, TxContext
from amchain.modules.vehicles import (
    EVENT_TYPES,
    ROLES_BY_EVENT,
    SPEC,
    HistoryEntry,
    VehiclesCode,
    VehiclesError,
    compute_history_entry_hash,
    compute_vin_check_digit,
    get_history,
    get_vehicle,
    summarize_history,
    validate_vin,
    verify_history_chain,
)

VIN = "1HGCM82633A004352"
VIN_2 = "1M8GDM9AXKP042788"
EU_VIN = "WVWZZZ1JZXW000001"  # Europe: position 9 is free, no check digit
DOC = "ab" * 32  # a document's sha256, as the vault would give it
DOC_2 = "cd" * 32
T0 = 1_700_000_000_000

ORG_ROLES: dict[str, list[str]] = {
    "oem1": ["oem"],
    "oem2": ["oem"],
    "dealer1": ["dealer"],
    "garage1": ["service_center"],
    "insurer1": ["insurer"],
    "registry1": ["registry"],
    "regulator1": ["regulator"],
}


def _l_vin() -> str:
    # LSVAU2180N2183294 as given has the wrong check digit; compute the right one.
    body = "LSVAU2180N2183294"
    digit = compute_vin_check_digit(body)
    return body[:8] + digit + body[9:]


L_VIN = _l_vin()


class Chain:
    """Just enough of a runtime to call handlers: consortium genesis, standings, overlays."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.height = 0
        self.time_ms = T0
        self.keys = {org: KeyPair.generate() for org in ORG_ROLES}
        genesis = consortium.ConsortiumGenesis(
            organisations=[
                consortium.GenesisOrganisation(
                    id=org,
                    name=org.upper(),
                    roles=roles,
                    admin_keys=[self.keys[org].public_key.hex()],
                )
                for org, roles in ORG_ROLES.items()
            ]
        )
        assert consortium.SPEC.genesis is not None
        consortium.SPEC.genesis.init(
            GenesisContext(chain_id="test", genesis_time_ms=T0, state=self.state), genesis
        )

    def standing(self, public_key: bytes) -> KeyStanding | None:
        for spec in (consortium.SPEC, identity.SPEC):
            assert spec.resolve_key is not None
            found = spec.resolve_key(self.state, public_key)
            if found is not None:
                return found
        return None

    def submit(
        self, spec: ModuleSpec, message: str, args: dict[str, Any], *signers: KeyPair
    ) -> TxContext:
        """Run one message; commit on success (a failure leaves state untouched)."""
        self.height += 1
        self.time_ms += 60_000
        msg = spec.messages[message]
        typed = convert(args, msg.args_type)
        standings = tuple(self.standing(k.public_key) for k in signers)
        roles = msg.roles(typed)
        if roles:  # what the runtime checks before the handler
            assert any(s is not None and any(r in s.roles for r in roles) for s in standings), (
                f"no signer holds one of {roles}"
            )
        overlay = Overlay(self.state)
        ctx = TxContext(
            chain_id="test",
            height=self.height,
            time_ms=self.time_ms,
            tx_hash=f"{self.height:064x}",
            signers=tuple(k.public_key for k in signers),
            standings=standings,
            state=overlay,
        )
        msg.handler(ctx, typed)
        overlay.flush_into(self.state)
        return ctx

    def org(self, org: str) -> KeyPair:
        return self.keys[org]

    def create_person(self) -> tuple[KeyPair, str]:
        key = KeyPair.generate()
        ctx = self.submit(
            identity.SPEC,
            "create_did",
            {"public_key": key.public_key.hex()},
            self.org("registry1"),
            key,
        )
        did = next(e.attributes["did"] for e in ctx.events if e.type == "identity.did_created")
        return key, str(did)

    def register(self, vin: str = VIN, **extra: Any) -> TxContext:
        args = {"vin": vin, "make": "Honda", "model": "Accord", "model_year": 2003, **extra}
        return self.submit(SPEC, "register_vehicle", args, self.org("oem1"))

    def record(self, event: dict[str, Any], *signers: KeyPair, vin: str = VIN) -> TxContext:
        return self.submit(SPEC, "record_event", {"vin": vin, "event": event}, *signers)

    def vehicle(self, vin: str = VIN) -> vehicles.VehicleRecord:
        record = get_vehicle(self.state, vin)
        assert record is not None
        return record


@pytest.fixture
def chain() -> Chain:
    return Chain()


@pytest.fixture
def sold(chain: Chain) -> tuple[Chain, KeyPair, str]:
    """A registered vehicle sold to a person (alice); returns her key and DID."""
    chain.register()
    alice_key, alice = chain.create_person()
    chain.record({"type": "sold", "buyer": alice, "odometer_km": 12}, chain.org("dealer1"))
    return chain, alice_key, alice


def _refused(code: VehiclesCode, call: Any, *args: Any) -> VehiclesError:
    with pytest.raises(VehiclesError) as info:
        call(*args)
    assert info.value.code == code, info.value.message
    assert info.value.codespace == "vehicles"
    return info.value


# --- VIN validation --------------------------------------------------------------------------


@pytest.mark.parametrize("vin", [VIN, VIN_2, L_VIN, EU_VIN])
def test_valid_vins_are_accepted(vin: str) -> None:
    validate_vin(vin)


def test_given_chinese_reference_vin_has_a_wrong_check_digit() -> None:
    error = _refused(VehiclesCode.INVALID_VIN, validate_vin, "LSVAU2180N2183294")
    assert error.details["reason"] == "check_digit"
    assert L_VIN == "LSVAU218XN2183294"


@pytest.mark.parametrize("vin", ["", "1HGCM82633A00435", "1HGCM82633A0043521"])
def test_vin_of_wrong_length_is_refused(vin: str) -> None:
    assert _refused(VehiclesCode.INVALID_VIN, validate_vin, vin).details["reason"] == "length"


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_vin_with_i_o_or_q_is_refused(letter: str) -> None:
    vin = "WVWZZZ1JZXW00000" + letter
    error = _refused(VehiclesCode.INVALID_VIN, validate_vin, vin)
    assert error.details["reason"] == "forbidden_letter"
    assert error.details["position"] == 17


@pytest.mark.parametrize("vin", ["1hgcm82633a004352", "WVWZZZ1JZXW00000-"])
def test_vin_with_lowercase_or_symbols_is_refused(vin: str) -> None:
    error = _refused(VehiclesCode.INVALID_VIN, validate_vin, vin)
    assert error.details["reason"] == "invalid_character"


@pytest.mark.parametrize("vin", ["1HGCM82643A004352", "LSVAU2181N2183294"])
def test_bad_check_digit_is_refused_in_north_america_and_china(vin: str) -> None:
    error = _refused(VehiclesCode.INVALID_VIN, validate_vin, vin)
    assert error.details["reason"] == "check_digit"


def test_european_vin_is_not_held_to_a_check_digit() -> None:
    validate_vin("WVWZZZ1JZXW000001")
    validate_vin("WVWZZZ1J9XW000001")


# --- registration ----------------------------------------------------------------------------


def test_register_vehicle_creates_record_did_and_produced_entry(chain: Chain) -> None:
    ctx = chain.register(plant="ma", battery_id="bat-0001")
    record = chain.vehicle()
    assert record.did == identity.vehicle_did(VIN)
    assert identity.did_exists(chain.state, record.did)
    assert record.manufacturer == "oem1"
    assert record.owner == consortium.org_did("oem1")
    assert record.owners == [record.owner]
    assert (record.status, record.event_count, record.last_odometer_seq) == ("active", 1, -1)
    assert (record.plant, record.battery_id) == ("ma", "bat-0001")
    [entry] = get_history(chain.state, VIN)
    assert (entry.seq, entry.type, entry.recorded_by) == (0, "produced", "oem1")
    assert entry.prev_hash == "00" * 32 and record.history_head == entry.entry_hash
    assert [e.type for e in ctx.events] == ["vehicles.registered", "vehicles.event_recorded"]
    assert ctx.events[0].attributes == {
        "vin": VIN,
        "did": record.did,
        "manufacturer": "oem1",
        "owner": record.owner,
    }


def test_register_vehicle_with_owner_and_vehicle_key(chain: Chain) -> None:
    _, alice = chain.create_person()
    obu = KeyPair.generate()
    chain.register(owner=alice, vehicle_key=obu.public_key.hex())
    assert chain.vehicle().owner == alice
    assert SPEC.messages["register_vehicle"].index(
        convert(
            {"vin": VIN, "make": "a", "model": "b", "model_year": 2000, "owner": alice},
            vehicles.RegisterVehicleArgs,
        )
    ) == [("vehicle", VIN), ("did", alice)]


def test_duplicate_vin_is_refused(chain: Chain) -> None:
    chain.register()
    _refused(VehiclesCode.DUPLICATE_VIN, chain.register)


def test_register_requires_an_oem_signer(chain: Chain) -> None:
    args = {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003}
    with pytest.raises(AssertionError):  # the runtime's role check
        chain.submit(SPEC, "register_vehicle", args, chain.org("dealer1"))
    # The handler does not trust the runtime alone:
    typed = convert(args, vehicles.RegisterVehicleArgs)
    ctx = TxContext(
        chain_id="test",
        height=1,
        time_ms=T0,
        tx_hash="00" * 32,
        signers=(chain.org("dealer1").public_key,),
        standings=(chain.standing(chain.org("dealer1").public_key),),
        state=Overlay(chain.state),
    )
    _refused(
        VehiclesCode.MANUFACTURER_REQUIRED, SPEC.messages["register_vehicle"].handler, ctx, typed
    )


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"vin": "1HGCM82633A00435"}, VehiclesCode.INVALID_VIN),
        ({"model_year": 1885}, VehiclesCode.INVALID_FIELD),
        ({"model_year": 2101}, VehiclesCode.INVALID_FIELD),
        ({"make": ""}, VehiclesCode.INVALID_FIELD),
        ({"model": "x" * 65}, VehiclesCode.INVALID_FIELD),
        ({"vehicle_key": "00" * 32}, VehiclesCode.INVALID_VEHICLE_KEY),
        ({"vehicle_key": "zz"}, VehiclesCode.INVALID_VEHICLE_KEY),
        ({"owner": "alice"}, VehiclesCode.INVALID_FIELD),
        ({"owner": "did:amc:person:nobody"}, VehiclesCode.UNKNOWN_OWNER),
    ],
)
def test_register_vehicle_refuses_bad_arguments(
    chain: Chain, extra: dict[str, Any], code: VehiclesCode
) -> None:
    args = {"vin": VIN, "make": "Honda", "model": "Accord", "model_year": 2003, **extra}
    _refused(code, chain.submit, SPEC, "register_vehicle", args, chain.org("oem1"))
    assert get_vehicle(chain.state, VIN) is None


# --- every event type ------------------------------------------------------------------------


def test_full_lifecycle_records_every_event_type(chain: Chain) -> None:
    chain.register()
    alice_key, alice = chain.create_person()
    bob_key, bob = chain.create_person()
    reg, dealer, garage = chain.org("registry1"), chain.org("dealer1"), chain.org("garage1")
    insurer, oem, regulator = chain.org("insurer1"), chain.org("oem1"), chain.org("regulator1")

    ctx = chain.record(
        {"type": "sold", "buyer": alice, "odometer_km": 5, "contract_hash": DOC}, dealer
    )
    assert [e.type for e in ctx.events] == ["vehicles.event_recorded", "vehicles.ownership_changed"]
    assert ctx.events[1].attributes == {
        "vin": VIN,
        "previous_owner": consortium.org_did("oem1"),
        "new_owner": alice,
        "owners_count": 2,
    }
    chain.record(
        {
            "type": "registered",
            "region": "DE",
            "registration_hash": DOC,
            "plate_hash": DOC_2,
            "odometer_km": 6,
        },
        reg,
    )
    chain.record(
        {
            "type": "inspected",
            "passed": True,
            "odometer_km": 15_000,
            "report_hash": DOC,
            "next_due_time_ms": T0 + 10**10,
        },
        garage,
    )
    chain.record(
        {"type": "serviced", "odometer_km": 20_000, "work_items": ["oil", "filter"]}, garage
    )
    ctx = chain.record(
        {
            "type": "accident",
            "occurred_at_ms": T0,
            "severity": "moderate",
            "airbags_deployed": True,
            "odometer_km": 21_000,
        },
        insurer,
    )
    accident_seq = ctx.events[0].attributes["seq"]
    assert accident_seq == 5
    chain.record(
        {
            "type": "insurance_claim",
            "claim_ref_hash": DOC,
            "amount_minor": 250_000,
            "currency": "EUR",
            "accident_seq": accident_seq,
            "status": "paid",
        },
        insurer,
    )
    chain.record(
        {
            "type": "repaired",
            "odometer_km": 21_050,
            "parts_replaced": ["bumper"],
            "accident_seq": accident_seq,
        },
        garage,
    )
    ctx = chain.record(
        {
            "type": "recall_notice",
            "campaign": "R-2024-01",
            "description_hash": DOC,
            "severity": "high",
        },
        oem,
    )
    assert ctx.events[-1].type == "vehicles.flagged"
    assert chain.vehicle().open_recalls == ["R-2024-01"]
    chain.record({"type": "odometer", "odometer_km": 30_000, "source": "telematics"}, regulator)
    chain.record({"type": "stolen", "report_hash": DOC}, reg)
    assert chain.vehicle().status == "stolen"
    chain.record({"type": "recovered", "report_hash": DOC_2, "odometer_km": 30_500}, reg)
    assert chain.vehicle().status == "active"
    ctx = chain.record(
        {"type": "ownership_transferred", "new_owner": bob, "odometer_km": 31_000},
        alice_key,
        bob_key,
    )
    assert ctx.events[0].attributes["recorded_by"] == alice
    chain.record({"type": "scrapped", "certificate_hash": DOC, "odometer_km": 31_000}, reg)

    record = chain.vehicle()
    entries = get_history(chain.state, VIN)
    assert [e.type for e in entries] == [
        "produced",
        "sold",
        "registered",
        "inspected",
        "serviced",
        "accident",
        "insurance_claim",
        "repaired",
        "recall_notice",
        "odometer",
        "stolen",
        "recovered",
        "ownership_transferred",
        "scrapped",
    ]
    assert {e.type for e in entries[1:]} == set(EVENT_TYPES)
    assert [e.recorded_by for e in entries][:6] == [
        "oem1",
        "dealer1",
        "registry1",
        "garage1",
        "garage1",
        "insurer1",
    ]
    assert entries[2].fields == {
        "region": "DE",
        "registration_hash": DOC,
        "plate_hash": DOC_2,
        "odometer_km": 6,
    }
    assert record.status == "scrapped"
    assert record.owners == [consortium.org_did("oem1"), alice, bob]
    assert (record.last_odometer_km, record.last_odometer_seq) == (31_000, 13)
    assert record.accidents == 1
    assert record.event_count == len(entries) == 14

    summary = summarize_history(record, entries)
    assert summary["owners_count"] == 3
    assert summary["accidents"] == {"count": 1, "seqs": [5]}
    assert summary["scrapped"] is True and summary["stolen"] is False
    assert summary["open_recalls"] == ["R-2024-01"]
    assert summary["odometer_consistent"] is True
    assert summary["last_odometer_km"] == 31_000
    assert summary["complete"] is True
    msgspec.json.encode(summary)  # plain JSON


@pytest.mark.parametrize(
    ("event", "roles"),
    [
        ({"type": "sold", "buyer": "did:amc:x:1"}, ("dealer", "oem")),
        ({"type": "registered", "region": "CN", "registration_hash": DOC}, ("registry",)),
        ({"type": "inspected", "passed": False, "odometer_km": 1}, ("service_center", "dealer")),
        ({"type": "serviced", "odometer_km": 1, "work_items": ["a"]}, ("service_center", "dealer")),
        ({"type": "repaired", "odometer_km": 1}, ("service_center", "dealer")),
        ({"type": "accident", "occurred_at_ms": 1, "severity": "minor"}, ("insurer",)),
        (
            {
                "type": "insurance_claim",
                "claim_ref_hash": DOC,
                "amount_minor": 0,
                "currency": "CNY",
                "status": "opened",
            },
            ("insurer",),
        ),
        ({"type": "odometer", "odometer_km": 1}, ("registry", "regulator")),
        ({"type": "stolen", "report_hash": DOC}, ("registry", "regulator")),
        ({"type": "recovered", "report_hash": DOC}, ("registry", "regulator")),
        (
            {"type": "recall_notice", "campaign": "c", "description_hash": DOC, "severity": "low"},
            ("oem",),
        ),
        ({"type": "ownership_transferred", "new_owner": "did:amc:x:1"}, ()),
        ({"type": "scrapped", "certificate_hash": DOC}, ("registry", "regulator")),
    ],
)
def test_roles_follow_the_event_type(event: dict[str, Any], roles: tuple[str, ...]) -> None:
    msg = SPEC.messages["record_event"]
    args = convert({"vin": VIN, "event": event}, msg.args_type)
    assert msg.roles(args) == roles == ROLES_BY_EVENT[event["type"]]


def test_event_types_and_roles_are_listed_in_order() -> None:
    assert tuple(ROLES_BY_EVENT) == EVENT_TYPES
    assert EVENT_TYPES[0] == "sold" and EVENT_TYPES[-1] == "scrapped"


def test_unknown_event_type_and_unknown_fields_are_refused_by_the_decoder() -> None:
    from amchain.codec import DecodeError

    msg = SPEC.messages["record_event"]
    with pytest.raises(DecodeError):
        convert({"vin": VIN, "event": {"type": "teleported"}}, msg.args_type)
    with pytest.raises(DecodeError):
        convert(
            {"vin": VIN, "event": {"type": "stolen", "report_hash": DOC, "plate": "B-X"}},
            msg.args_type,
        )
    with pytest.raises(DecodeError):
        convert({"vin": VIN, "event": {"type": "odometer", "odometer_km": "5"}}, msg.args_type)


def test_index_names_vehicle_and_new_owner() -> None:
    msg = SPEC.messages["record_event"]
    args = convert(
        {"vin": VIN, "event": {"type": "ownership_transferred", "new_owner": "did:amc:x:1"}},
        msg.args_type,
    )
    assert msg.index(args) == [("vehicle", VIN), ("did", "did:amc:x:1")]
    args = convert({"vin": VIN, "event": {"type": "stolen", "report_hash": DOC}}, msg.args_type)
    assert msg.index(args) == [("vehicle", VIN)]


# --- common checks ---------------------------------------------------------------------------


def test_unknown_vehicle_is_refused(chain: Chain) -> None:
    _refused(
        VehiclesCode.UNKNOWN_VEHICLE,
        chain.record,
        {"type": "stolen", "report_hash": DOC},
        chain.org("registry1"),
    )


def test_odometer_rollback_is_refused_with_details(
    sold: tuple[Chain, KeyPair, str],
) -> None:
    chain, _, _ = sold
    chain.record({"type": "odometer", "odometer_km": 50_000}, chain.org("registry1"))
    before = chain.state.items()
    error = _refused(
        VehiclesCode.ODOMETER_ROLLBACK,
        chain.record,
        {"type": "serviced", "odometer_km": 20_000, "work_items": ["oil"]},
        chain.org("garage1"),
    )
    assert error.details == {
        "vin": VIN,
        "attempted_km": 20_000,
        "last_km": 50_000,
        "last_seq": 2,
    }
    assert msgspec.json.decode(msgspec.json.encode(error.details)) == error.details
    assert chain.state.items() == before


@pytest.mark.parametrize(
    "event",
    [
        {"type": "inspected", "passed": True, "odometer_km": 99},
        {"type": "accident", "occurred_at_ms": T0, "severity": "minor", "odometer_km": 99},
        {"type": "recovered", "report_hash": DOC, "odometer_km": 99},
        {"type": "scrapped", "certificate_hash": DOC, "odometer_km": 99},
        {"type": "sold", "buyer": "did:amc:x:1", "odometer_km": 99},
    ],
)
def test_every_event_carrying_an_odometer_is_checked_for_rollback(
    sold: tuple[Chain, KeyPair, str], event: dict[str, Any]
) -> None:
    chain, _, _ = sold
    chain.record({"type": "odometer", "odometer_km": 100}, chain.org("registry1"))
    signer = {"inspected": "garage1", "accident": "insurer1", "sold": "dealer1"}.get(
        event["type"], "registry1"
    )
    error = _refused(VehiclesCode.ODOMETER_ROLLBACK, chain.record, event, chain.org(signer))
    assert error.details["attempted_km"] == 99


def test_equal_odometer_reading_is_accepted(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, _, _ = sold
    chain.record({"type": "odometer", "odometer_km": 500}, chain.org("registry1"))
    chain.record({"type": "inspected", "passed": True, "odometer_km": 500}, chain.org("garage1"))
    record = chain.vehicle()
    assert (record.last_odometer_km, record.last_odometer_seq) == (500, 3)


@pytest.mark.parametrize("km", [-1, 2_000_001])
def test_odometer_out_of_range_is_refused(sold: tuple[Chain, KeyPair, str], km: int) -> None:
    chain, _, _ = sold
    _refused(
        VehiclesCode.INVALID_ODOMETER,
        chain.record,
        {"type": "odometer", "odometer_km": km},
        chain.org("registry1"),
    )


def test_event_after_scrapping_is_refused(chain: Chain) -> None:
    chain.register()
    chain.record({"type": "scrapped", "certificate_hash": DOC}, chain.org("registry1"))
    _refused(
        VehiclesCode.VEHICLE_SCRAPPED,
        chain.record,
        {"type": "odometer", "odometer_km": 1},
        chain.org("registry1"),
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": "stolen", "report_hash": "AB" * 32},
        {"type": "stolen", "report_hash": "ab" * 31},
        {"type": "registered", "region": "de", "registration_hash": DOC},
        {"type": "registered", "region": "DEU", "registration_hash": DOC},
        {
            "type": "insurance_claim",
            "claim_ref_hash": DOC,
            "amount_minor": -1,
            "currency": "EUR",
            "status": "opened",
        },
        {
            "type": "insurance_claim",
            "claim_ref_hash": DOC,
            "amount_minor": 1,
            "currency": "eur",
            "status": "opened",
        },
        {"type": "serviced", "odometer_km": 1, "work_items": []},
        {"type": "serviced", "odometer_km": 1, "work_items": ["x" * 65]},
        {"type": "accident", "occurred_at_ms": T0 * 2, "severity": "minor"},
        {"type": "recall_notice", "campaign": "", "description_hash": DOC, "severity": "low"},
    ],
)
def test_malformed_event_values_are_refused(chain: Chain, event: dict[str, Any]) -> None:
    chain.register()
    signer = {
        "stolen": "registry1",
        "registered": "registry1",
        "insurance_claim": "insurer1",
        "serviced": "garage1",
        "accident": "insurer1",
        "recall_notice": "oem1",
    }[event["type"]]
    _refused(VehiclesCode.INVALID_FIELD, chain.record, event, chain.org(signer))


# --- theft -----------------------------------------------------------------------------------


def test_stolen_twice_and_recovered_when_not_stolen_are_refused(chain: Chain) -> None:
    chain.register()
    reg = chain.org("registry1")
    _refused(VehiclesCode.NOT_STOLEN, chain.record, {"type": "recovered", "report_hash": DOC}, reg)
    ctx = chain.record({"type": "stolen", "report_hash": DOC}, reg)
    assert ctx.events[-1].attributes["flag"] == "stolen"
    _refused(VehiclesCode.ALREADY_STOLEN, chain.record, {"type": "stolen", "report_hash": DOC}, reg)


def test_stolen_vehicle_cannot_be_transferred(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, alice_key, _ = sold
    bob_key, bob = chain.create_person()
    chain.record({"type": "stolen", "report_hash": DOC}, chain.org("regulator1"))
    _refused(
        VehiclesCode.VEHICLE_STOLEN,
        chain.record,
        {"type": "ownership_transferred", "new_owner": bob},
        alice_key,
        bob_key,
    )


# --- ownership -------------------------------------------------------------------------------


def test_transfer_without_buyer_signature_is_refused(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, alice_key, _ = sold
    _, bob = chain.create_person()
    _refused(
        VehiclesCode.BUYER_SIGNATURE_MISSING,
        chain.record,
        {"type": "ownership_transferred", "new_owner": bob},
        alice_key,
    )


def test_transfer_without_owner_signature_is_refused(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, _, _ = sold
    bob_key, bob = chain.create_person()
    mallory_key, _ = chain.create_person()
    _refused(
        VehiclesCode.NOT_OWNER_SIGNATURE,
        chain.record,
        {"type": "ownership_transferred", "new_owner": bob},
        mallory_key,
        bob_key,
    )
    # a consortium org cannot transfer a person's car either
    _refused(
        VehiclesCode.NOT_OWNER_SIGNATURE,
        chain.record,
        {"type": "ownership_transferred", "new_owner": bob},
        chain.org("dealer1"),
        bob_key,
    )


def test_transfer_to_same_or_unknown_owner_is_refused(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, alice_key, alice = sold
    _refused(
        VehiclesCode.SAME_OWNER,
        chain.record,
        {"type": "ownership_transferred", "new_owner": alice},
        alice_key,
    )
    _refused(
        VehiclesCode.UNKNOWN_OWNER,
        chain.record,
        {"type": "ownership_transferred", "new_owner": "did:amc:person:ghost"},
        alice_key,
    )


def test_sale_is_only_out_of_trade_stock(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, _, _ = sold
    _, bob = chain.create_person()
    _refused(
        VehiclesCode.NOT_TRADE_STOCK,
        chain.record,
        {"type": "sold", "buyer": bob},
        chain.org("dealer1"),
    )


def test_sale_to_unknown_buyer_is_refused(chain: Chain) -> None:
    chain.register()
    _refused(
        VehiclesCode.UNKNOWN_OWNER,
        chain.record,
        {"type": "sold", "buyer": "did:amc:person:ghost"},
        chain.org("dealer1"),
    )


def test_owners_list_after_sale_and_transfer(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, alice_key, alice = sold
    bob_key, bob = chain.create_person()
    carol_key, carol = chain.create_person()
    chain.record({"type": "ownership_transferred", "new_owner": bob}, alice_key, bob_key)
    ctx = chain.record({"type": "ownership_transferred", "new_owner": carol}, bob_key, carol_key)
    assert ctx.events[1].attributes["owners_count"] == 4
    record = chain.vehicle()
    assert record.owners == [consortium.org_did("oem1"), alice, bob, carol]
    assert record.owner == carol
    summary = summarize_history(record, get_history(chain.state, VIN))
    assert (summary["owners_count"], summary["owners"]) == (4, record.owners)


# --- recalls and accidents -------------------------------------------------------------------


def test_recall_is_opened_by_its_manufacturer_and_closed_by_repair(chain: Chain) -> None:
    chain.register()
    notice = {
        "type": "recall_notice",
        "campaign": "R-1",
        "description_hash": DOC,
        "severity": "medium",
    }
    _refused(VehiclesCode.NOT_MANUFACTURER, chain.record, notice, chain.org("oem2"))
    chain.record(notice, chain.org("oem1"))
    _refused(VehiclesCode.RECALL_ALREADY_OPEN, chain.record, notice, chain.org("oem1"))
    assert chain.vehicle().open_recalls == ["R-1"]
    _refused(
        VehiclesCode.RECALL_NOT_OPEN,
        chain.record,
        {"type": "repaired", "odometer_km": 10, "recall_campaign": "R-9"},
        chain.org("garage1"),
    )
    ctx = chain.record(
        {"type": "repaired", "odometer_km": 10, "recall_campaign": "R-1"}, chain.org("garage1")
    )
    assert chain.vehicle().open_recalls == []
    assert ctx.events[-1].attributes == {
        "vin": VIN,
        "seq": 2,
        "flag": "recall_closed",
        "campaign": "R-1",
    }


def test_repair_or_claim_must_point_at_an_accident(chain: Chain) -> None:
    chain.register()
    _refused(
        VehiclesCode.UNKNOWN_ACCIDENT,
        chain.record,
        {"type": "repaired", "odometer_km": 1, "accident_seq": 0},
        chain.org("garage1"),
    )
    _refused(
        VehiclesCode.UNKNOWN_ACCIDENT,
        chain.record,
        {
            "type": "insurance_claim",
            "claim_ref_hash": DOC,
            "amount_minor": 1,
            "currency": "EUR",
            "status": "opened",
            "accident_seq": 7,
        },
        chain.org("insurer1"),
    )


# --- hash chain ------------------------------------------------------------------------------


@pytest.fixture
def history(sold: tuple[Chain, KeyPair, str]) -> tuple[vehicles.VehicleRecord, list[HistoryEntry]]:
    chain, _, _ = sold
    chain.record({"type": "odometer", "odometer_km": 100}, chain.org("registry1"))
    chain.record(
        {"type": "serviced", "odometer_km": 200, "work_items": ["oil"]}, chain.org("garage1")
    )
    return chain.vehicle(), get_history(chain.state, VIN)


def test_history_hash_chain_verifies(
    history: tuple[vehicles.VehicleRecord, list[HistoryEntry]],
) -> None:
    record, entries = history
    assert verify_history_chain(entries, record.history_head, record.event_count)
    for entry in entries:
        assert compute_history_entry_hash(entry) == entry.entry_hash
        plain = msgspec.to_builtins(entry)
        del plain["entry_hash"]
        assert compute_history_entry_hash(plain) == entry.entry_hash
    assert entries[1].prev_hash == entries[0].entry_hash
    assert verify_history_chain([], "00" * 32, 0)


def test_history_chain_breaks_when_an_entry_is_altered(
    history: tuple[vehicles.VehicleRecord, list[HistoryEntry]],
) -> None:
    record, entries = history
    altered = list(entries)
    altered[2] = msgspec.structs.replace(entries[2], odometer_km=1)
    assert not verify_history_chain(altered, record.history_head, record.event_count)
    # re-hashing the altered entry does not help: the next entry's prev_hash no longer fits
    altered[2] = msgspec.structs.replace(
        altered[2], entry_hash=compute_history_entry_hash(altered[2])
    )
    assert not verify_history_chain(altered, record.history_head, record.event_count)


def test_history_chain_breaks_when_an_entry_is_removed_or_reordered(
    history: tuple[vehicles.VehicleRecord, list[HistoryEntry]],
) -> None:
    record, entries = history
    head, count = record.history_head, record.event_count
    assert not verify_history_chain(entries[:-1], head, count)
    assert not verify_history_chain(entries[:-1], head, count - 1)
    # a truncated history is a valid chain of its own: only the record's head exposes it
    assert verify_history_chain(entries[:-1], entries[-2].entry_hash, count - 1)
    assert not verify_history_chain(entries[:1] + entries[2:], head, count - 1)
    reordered = [entries[0], entries[2], entries[1], *entries[3:]]
    assert not verify_history_chain(reordered, head, count)


def test_get_history_pages(sold: tuple[Chain, KeyPair, str]) -> None:
    chain, _, _ = sold
    for km in (100, 200, 300):
        chain.record({"type": "odometer", "odometer_km": km}, chain.org("registry1"))
    entries = get_history(chain.state, VIN)
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]
    assert get_history(chain.state, VIN, start_seq=1, limit=2) == entries[1:3]
    assert get_history(chain.state, VIN, start_seq=4, limit=10) == entries[4:]
    assert get_history(chain.state, VIN, start_seq=9) == []
    assert get_history(chain.state, VIN_2) == []


def test_queries_tolerate_garbage_vins(chain: Chain) -> None:
    assert get_vehicle(chain.state, "not a vin") is None
    assert get_history(chain.state, "") == []


def test_entry_hash_is_sha256_of_domain_and_canonical_json(
    history: tuple[vehicles.VehicleRecord, list[HistoryEntry]],
) -> None:
    import hashlib

    from amchain.codec import encode_canonical

    _, entries = history
    plain = msgspec.to_builtins(entries[1])
    del plain["entry_hash"]
    digest = hashlib.sha256(b"amchain/vehicle-history/v1\x00" + encode_canonical(plain))
    assert digest.hexdigest() == entries[1].entry_hash
