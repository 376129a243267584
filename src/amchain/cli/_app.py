"""The ``amchain`` command: node, keys, DIDs, vehicles, any module's messages and queries,
benchmarks.

Every command takes the global options where they mean something; one that does not use
``--node``, ``--data-dir`` or ``--json`` accepts it anyway and says in one line that it does
not apply (:func:`agree_on_shared_options`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from amchain.cli._backup import backup, restore
from amchain.cli._bench import bench
from amchain.cli._cluster import cluster_app, node_app
from amchain.cli._common import (
    DataDirOpt,
    JsonOpt,
    NodeOpt,
    Settings,
    client,
    console,
    err_console,
    handle_errors,
    print_json,
    set_settings,
    want_json,
)
from amchain.cli._credentials import access_app, unlock, vc_app
from amchain.cli._generic import install_hinted_commands, modules_command, query_app, tx_app
from amchain.cli._keys import did_app, keys_app
from amchain.cli._tx import tx_show
from amchain.cli._vehicles import vehicle_app
from amchain.node import DEFAULT_PORT

__all__ = ["app", "main"]

app = typer.Typer(
    name="amchain",
    help="AutoMobile Chain: a consortium ledger for vehicle identity, life history and supply "
    "chains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(backup)
app.command()(restore)
app.add_typer(keys_app, name="keys")
app.add_typer(did_app, name="did")
app.add_typer(vehicle_app, name="vehicle")
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")
app.add_typer(node_app, name="node")
app.add_typer(cluster_app, name="cluster")
app.add_typer(vc_app, name="vc")
app.add_typer(access_app, name="access")
app.command("modules")(modules_command)
tx_app.command("show")(tx_show)
vehicle_app.command("unlock")(handle_errors(unlock))
app.command("bench")(bench)
install_hinted_commands(
    app, {"vehicle": vehicle_app, "did": did_app, "vc": vc_app, "access": access_app}
)


@app.callback()
def _global(
    node: NodeOpt = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """AutoMobile Chain command line. Start a chain with `amchain up`."""
    set_settings(Settings(node=node, data_dir=data_dir, json=json_))


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- up ---------------------------------------------------------------------------------------


@app.command()
def up(
    data_dir: DataDirOpt = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="API port.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    public_name: Annotated[
        list[str] | None,
        typer.Option(
            "--public-name",
            help="A host name the API answers to besides the local ones (repeatable); requests "
            "naming any other host are refused.",
        ),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Simulate vehicle traffic.")] = False,
    demo_vehicles: Annotated[
        int, typer.Option("--demo-vehicles", min=1, max=10_000, help="Vehicles the demo makes.")
    ] = 12,
    demo_modules: Annotated[
        str | None,
        typer.Option(
            "--demo-modules",
            help="Comma-separated modules whose demo traffic runs after the vehicles "
            "(default: every module that declares some; 'none' for vehicles only).",
        ),
    ] = None,
    admission_processes: Annotated[
        int | None,
        typer.Option(
            "--admission-processes",
            min=0,
            help="Worker processes that parse and check transactions (default: one per core; "
            "0: threads in the node process).",
        ),
    ] = None,
    genesis_time: Annotated[
        datetime | None,
        typer.Option(
            "--genesis-time",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="A new chain's genesis time, UTC (default: now). In the past, time-based "
            "rules are already due: e.g. 2022-01-01 puts the chain past AMCT's 3-year lock.",
        ),
    ] = None,
) -> None:
    """Run a single-node development chain with the REST API (and optional demo traffic)."""
    from amchain.cli._up import run_up

    run_up(
        data_dir=data_dir,
        host=host,
        port=port,
        public_names=tuple(public_name or ()),
        demo=demo,
        demo_vehicles=demo_vehicles,
        demo_modules=demo_modules,
        admission_processes=admission_processes,
        genesis_time_ms=(
            None
            if genesis_time is None
            else int(genesis_time.replace(tzinfo=UTC).timestamp() * 1000)
        ),
    )


# -- status -----------------------------------------------------------------------------------


@app.command()
@handle_errors
def status(node: NodeOpt = None, json_: JsonOpt = False) -> None:
    """Show the chain head and the node."""
    with client(node) as c:
        st = c.status()
    if want_json(json_):
        print_json(st.raw)
        return
    table = Table(show_header=False, box=None)
    table.add_row("chain id", st.chain_id)
    table.add_row("height", str(st.height))
    table.add_row("latest block", f"{st.latest_block_hash}  ({_time(st.latest_block_time_ms)})")
    table.add_row("state root", st.state_root)
    table.add_row("pending txs", str(st.pending_txs))
    table.add_row("ordering", st.ordering)
    table.add_row("node key", st.node_key)
    table.add_row("modules", ", ".join(st.modules))
    table.add_row("version", st.version)
    table.add_row("api", c.base_url)
    console.print(Panel(table, title="AutoMobile Chain", expand=False))


# -- verify -----------------------------------------------------------------------------------


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="Proof bundle (JSON) to check.")],
    peer_key: Annotated[
        list[str] | None,
        typer.Option("--peer-key", help="Trusted peer public key (hex); repeatable."),
    ] = None,
    peers_file: Annotated[
        Path | None,
        typer.Option(
            "--peers-file", help="File of trusted peer keys (JSON list/object or one per line)."
        ),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option("--quorum", min=1, help="Signatures required (default: a majority)."),
    ] = None,
    chain_id: Annotated[
        str | None, typer.Option("--chain-id", help="Accept only this chain's records.")
    ] = None,
    data_dir: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check a saved proof bundle offline: exit 0 if it verifies, 1 with the reason if not.

    With no --peer-key/--peers-file, the local node's key (from the data dir) is trusted.
    """
    from amchain.cli._common import data_dir as resolve_data_dir
    from amchain.cli._verify import run_verify

    run_verify(
        file=file,
        peer_keys=peer_key or [],
        peers_file=peers_file,
        quorum=quorum,
        chain_id=chain_id,
        data_dir=resolve_data_dir(data_dir),
        as_json=want_json(json_),
    )


# -- options every command accepts ------------------------------------------------------------

# (parameter name, option, why a command without it does not need it)
_SHARED: tuple[tuple[str, str, str], ...] = (
    ("node", "--node", "it does not talk to a node"),
    ("data_dir", "--data-dir", "it reads nothing from the data dir (no keys, no chain)"),
    ("json_", "--json", "it prints no JSON"),
)


def _tolerant(callback: Callable[..., Any], path: str) -> Callable[..., Any]:
    """``callback`` with the shared options it lacks accepted (hidden): given one, it says
    in one line that it does not apply, then runs as usual."""
    signature = inspect.signature(callback, eval_str=True)
    missing = [s for s in _SHARED if s[0] not in signature.parameters]
    if not missing:
        return callback

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        for name, option, why in missing:
            if kwargs.pop(name, None) not in (None, False):
                err_console.print(
                    f"note: {option} does not apply to `amchain {path}`: {why}", markup=False
                )
        return callback(*args, **kwargs)

    extra = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                False if name == "json_" else None, option, hidden=True, show_default=False
            ),
            annotation=bool if name == "json_" else str | None,
        )
        for name, option, _ in missing
    ]
    parameters = list(signature.parameters.values())
    variadic = [p for p in parameters if p.kind == inspect.Parameter.VAR_KEYWORD]
    plain = [p for p in parameters if p.kind != inspect.Parameter.VAR_KEYWORD]
    widened = signature.replace(parameters=plain + extra + variadic)
    run.__signature__ = widened  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in widened.parameters.values()}
    return run


def agree_on_shared_options(typer_app: typer.Typer, prefix: str = "") -> None:
    """Give every command of ``typer_app`` (and its sub-apps) the shared options it lacks."""
    for info in typer_app.registered_commands:
        if info.callback is not None:
            name = info.name or info.callback.__name__.replace("_", "-")
            info.callback = _tolerant(info.callback, f"{prefix}{name}")
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            agree_on_shared_options(group.typer_instance, f"{prefix}{group.name} ")


agree_on_shared_options(app)


def main() -> None:
    """Entry point of the ``amchain`` console script."""
    app()
