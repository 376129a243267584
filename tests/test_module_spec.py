"""The module spec as the runtime uses it: events declared, genesis from the specs, the
end-of-block hook (atomic, with receipts in the receipts root), and the checks a spec gets
when it is built."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from pathlib import Path
from typing import Any

import msgspec
import pytest

from amchain.crypto import KeyPair
from amchain.ledger import (
    BlockHeader,
    MemoryState,
    TxError,
    compute_merkle_root,
    encode_receipts,
    make_block_header,
)
from amchain.modules import consortium
from amchain.modules.base import (
    BlockContext,
    EventAttributes,
    GenesisMember,
    GenesisSpec,
    MessageSpec,
    ModuleError,
    ModuleSpec,
    NoParams,
    QuerySpec,
    TxContext,
)
from amchain.runtime import (
    INSTALLED_MODULES,
    ExecutionHalted,
    Genesis,
    ModuleRegistry,
    apply_genesis,
    default_registry,
    execute_block,
    hook_receipt_id,
    installed_specs,
    make_genesis,
)

# --- a module with a clock: counts blocks, announces every second one, refuses one --------------


class Tick(EventAttributes, frozen=True, kw_only=True):
    """Every second block."""

    event_type = "ticker.tick"
    count: int


class NoteArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    text: str


class TickerError(ModuleError):
    codespace = "ticker"


def _note(ctx: TxContext, args: NoteArgs) -> None:
    ctx.state.set("ticker/note", msgspec.json.encode(args.text))


def _end_block(ctx: BlockContext) -> None:
    count = int(ctx.state.get("ticker/count") or b"0") + 1
    ctx.state.set("ticker/count", str(count).encode())
    if ctx.height == 4:
        raise TickerError(1, "refused at height 4: this block's count is dropped")
    if ctx.height == 5:
        raise RuntimeError("a bug")
    if count % 2 == 0:
        ctx.emit(Tick(count=count))


TICKER = ModuleSpec(
    name="ticker",
    codespace="ticker",
    messages={
        "note": MessageSpec(name="note", args_type=NoteArgs, handler=_note, summary="A note")
    },
    events=(Tick,),
    end_block=_end_block,
)


def _header(height: int, txs: list[Any] | None = None) -> BlockHeader:
    return make_block_header(
        chain_id="test",
        height=height,
        prev_hash="00" * 32,
        time_ms=1_000 * height,
        txs=txs or [],
        proposer=b"\x00" * 32,
    )


def test_the_end_of_block_hook_runs_every_block_atomically_with_its_own_receipts() -> None:
    registry = ModuleRegistry([TICKER])
    state = MemoryState()
    seen: list[tuple[int, list[Any]]] = []
    for height in (1, 2, 3, 4, 6):
        result = execute_block(registry, state, _header(height), [])
        for key, value in result.write_set:
            assert value is not None
            state.set(key, value)
        seen.append((height, result.hook_receipts))
        assert result.receipts_root == compute_merkle_root(encode_receipts(result.hook_receipts))
    by_height = dict(seen)
    assert by_height[1] == [] and by_height[3] == []  # an odd count: no event, no receipt
    (tick,) = by_height[2]
    assert tick.tx_hash == hook_receipt_id("ticker") and tick.ok
    assert [(e.type, e.attributes) for e in tick.events] == [("ticker.tick", {"count": 2})]
    (refused,) = by_height[4]
    assert (refused.ok, refused.codespace, refused.code) == (False, "ticker", 1)
    # height 4 changed nothing: the count is one per block that succeeded
    assert state.get("ticker/count") == b"4"
    assert by_height[6][0].events[0].attributes == {"count": 4}


def test_a_hook_that_crashes_halts_the_block_instead_of_writing_a_receipt() -> None:
    # A crash (a bug, MemoryError, RecursionError) may differ between peers: no receipt of it
    # may reach a block, so the block is not made at all.
    with pytest.raises(ExecutionHalted) as halted:
        execute_block(ModuleRegistry([TICKER]), MemoryState(), _header(5), [])
    assert (halted.value.tx_hash, halted.value.module) == (None, "ticker")


def test_a_node_commits_hook_receipts_and_a_light_client_checks_a_tx_proof_with_them(
    tmp_path: Path,
) -> None:
    import httpx

    from amchain.api import create_app
    from amchain.node import Keystore, Node, NodeConfig
    from amchain.sdk import AsyncClient, Signer
    from amchain.sdk.light import LightClient

    registry = ModuleRegistry([*installed_specs(), TICKER])
    config = NodeConfig(data_dir=tmp_path / "chain", max_block_wait_ms=5)
    node = Node.open(config, registry=registry)
    dealer = Signer.for_org(Keystore(tmp_path / "chain").get("dealer").key, "dealer")

    async def scenario() -> None:
        await node.start()
        try:
            app = create_app(node)
            async with (
                AsyncClient("http://localhost", transport=httpx.ASGITransport(app=app)) as client,
                httpx.AsyncClient(
                    base_url="http://localhost", transport=httpx.ASGITransport(app=app)
                ) as http,
            ):
                results = [
                    await client.identity.create_did(dealer, Signer.generate()) for _ in range(4)
                ]
                hooked = [r for r in results if node.store.block_hook_receipts(r.height or 0)]
                assert hooked, "every second block carries a tick"
                block = await client.get_block(hooked[0].height or 0)
                assert block["hook_receipts"][0]["events"][0]["type"] == "ticker.tick"
                # a transaction in a block with a hook receipt: its proof still verifies
                answer = await http.get(f"/v1/txs/{hooked[0].hash}", params={"proof": "true"})
                proof = answer.json()["proof"]
                assert proof["inclusion"]["receipt_count"] == 2
                light = LightClient(trusted_peers=[node.node_key.public_key.hex()], quorum=1)
                assert light.verify_bundle(proof).kind == "tx"
        finally:
            await node.stop()

    asyncio.run(scenario())


# --- what every installed module declares --------------------------------------------------------


def _event_structs_defined_in(package: str) -> set[type[EventAttributes]]:
    found: set[type[EventAttributes]] = set()
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, EventAttributes)
                and value is not EventAttributes
                and value.__module__.startswith(package)
            ):
                found.add(value)
    return found


@pytest.mark.parametrize("name", INSTALLED_MODULES)
def test_a_module_declares_every_event_struct_it_defines(name: str) -> None:
    spec = importlib.import_module(f"amchain.modules.{name}").SPEC
    assert set(spec.events) == _event_structs_defined_in(f"amchain.modules.{name}")
    assert len(spec.event_types()) == len(spec.events)


def test_the_registry_is_the_installed_list_in_order() -> None:
    assert [m.name for m in default_registry().modules] == list(INSTALLED_MODULES)


def test_genesis_comes_from_each_modules_default_for_the_members() -> None:
    key = KeyPair.generate().public_key.hex()
    members = [GenesisMember(id="oem", name="OEM", roles=("oem",), admin_keys=(key,))]
    registry = default_registry()
    genesis = make_genesis(registry, chain_id="c", genesis_time_ms=1, members=members)
    assert set(genesis.modules) == {m.name for m in registry.modules if m.genesis is not None}
    state = MemoryState()
    apply_genesis(registry, state, genesis)
    assert consortium.get_organisation(state, "oem") is not None
    # a module without a genesis section takes none (an empty one, as older files hold, is fine)
    apply_genesis(registry, MemoryState(), Genesis("c", 1, {**genesis.modules, "vehicles": {}}))
    with pytest.raises(TxError, match="takes no genesis section"):
        apply_genesis(
            registry, MemoryState(), Genesis("c", 1, {**genesis.modules, "vehicles": {"x": 1}})
        )
    with pytest.raises(TxError, match="no section for module 'consortium'"):
        apply_genesis(registry, MemoryState(), Genesis("c", 1, {}))


def _query(path: str, params: type[Any] = NoParams) -> QuerySpec[Any, Any]:
    return QuerySpec(
        name="q",
        params_type=params,
        result_type=dict,
        handler=lambda c, p: {},
        summary="",
        path=path,
    )


def test_a_spec_that_contradicts_itself_is_refused_when_it_is_built() -> None:
    with pytest.raises(ValueError, match="names 'vin'"):
        ModuleSpec(name="m", codespace="m", messages={}, queries={"q": _query("/m/{vin}")})
    with pytest.raises(ValueError, match="must start with /"):
        ModuleSpec(name="m", codespace="m", messages={}, queries={"q": _query("m/q")})
    with pytest.raises(ValueError, match="filed as"):
        ModuleSpec(name="m", codespace="m", messages={}, queries={"other": _query("/m/q")})
    with pytest.raises(ValueError, match=r"not ticker2\.<what_happened>"):
        ModuleSpec(name="ticker2", codespace="t2", messages={}, events=(Tick,))
    with pytest.raises(ValueError, match="share the codespace"):
        ModuleRegistry([TICKER, ModuleSpec(name="other", codespace="ticker", messages={})])
    with pytest.raises(ValueError, match="registered twice"):
        ModuleRegistry([TICKER, TICKER])


def test_genesis_spec_of_consortium_builds_one_organisation_per_member() -> None:
    spec = consortium.SPEC.genesis
    assert isinstance(spec, GenesisSpec)
    key = KeyPair.generate().public_key.hex()
    section = spec.dev_default(
        [GenesisMember(id="a", name="A", roles=("oem", "supplier"), admin_keys=(key,))]
    )
    assert [(o.id, o.roles, o.admin_keys) for o in section.organisations] == [
        ("a", ["oem", "supplier"], [key])
    ]


def _crash(ctx: TxContext, args: NoteArgs) -> None:
    if args.text == "crash":
        raise MemoryError("this machine ran out of memory")
    ctx.state.set("crasher/note", msgspec.json.encode(args.text))


CRASHER = ModuleSpec(
    name="crasher",
    codespace="crasher",
    messages={
        "note": MessageSpec(name="note", args_type=NoteArgs, handler=_crash, summary="A note")
    },
)


def test_a_transaction_that_crashes_the_handler_is_left_out_of_the_block(tmp_path: Path) -> None:
    # MemoryError on one machine is not a refusal every peer would make: no receipt of it is
    # written; the solo node cuts the block again without the transaction.
    from amchain.ledger import TxCode
    from amchain.node import Keystore, Node, NodeConfig
    from tests.support import sign_tx

    registry = ModuleRegistry([*installed_specs(), CRASHER])
    node = Node.open(NodeConfig(data_dir=tmp_path / "chain"), registry=registry)
    try:
        oem = Keystore(tmp_path / "chain").get("oem").key
        crash = sign_tx(node.chain_id, [oem], "crasher", "note", {"text": "crash"})
        fine = sign_tx(node.chain_id, [oem], "crasher", "note", {"text": "fine"})
        block, dropped = node.writer.produce([crash, fine], now_ms=node.head.time_ms + 1)
        assert [tx.hash for tx in block.txs] == [fine.hash]
        assert [r.ok for r in block.receipts] == [True]
        assert dropped[crash.hash].code == TxCode.INTERNAL
        assert node.store.get_tx(crash.hash) is None
    finally:
        node.close()
