"""``amchain up``: a single-node chain serving the REST API, with optional demo traffic."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import typer
import uvicorn
import uvloop
from rich.panel import Panel
from rich.table import Table

from amchain.api import create_app, server_config
from amchain.cli._common import console, err_console, tune_gc_for_a_long_running_node
from amchain.cli._common import data_dir as resolve_data_dir
from amchain.explorer import mount_explorer
from amchain.node import Keystore, Node, NodeConfig
from amchain.runtime import default_registry

EXIT_PORT_TAKEN = 4


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising the stop signal after a clean shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "is already in use (another `amchain up`?)"
            else:
                reason = f"cannot be used: {exc.strerror or exc}"
            err_console.print(
                f"error: port {port} on {host} {reason}; choose another with --port N",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_PORT_TAKEN) from None


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _banner(node: Node, directory: Path, url: str, demo: bool) -> Panel:
    keystore = Keystore(directory)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan")
    table.add_column(overflow="fold")
    table.add_row("chain id", node.chain_id)
    table.add_row("height", str(node.head.height))
    table.add_row("data dir", str(directory))
    table.add_row("explorer", f"{url}/")
    table.add_row("API", f"{url}/v1/status")
    table.add_row("docs", f"{url}/docs")
    table.add_row("keystore", ", ".join(keystore.names()))
    if demo:
        table.add_row("demo", "simulated vehicle traffic is starting…")
    opts = f"--node {url} --data-dir {directory}"
    examples = "\n".join(
        [
            f"amchain status --node {url}",
            f"amchain did create --as dealer --name alice {opts}",
            f"amchain vehicle register 1HGCM82633A004352 --make Honda --model Accord --year 2003 "
            f"--as oem {opts}",
            f"amchain vehicle event 1HGCM82633A004352 odometer --odometer-km 12000 --as registry "
            f"{opts}",
            f"amchain vehicle history 1HGCM82633A004352 --node {url}",
        ]
    )
    table.add_row("try", examples)
    table.add_row("stop", "Ctrl-C")
    return Panel(table, title="[bold]AutoMobile Chain is up[/]", border_style="green", expand=False)


async def _serve(
    node: Node,
    *,
    directory: Path,
    host: str,
    port: int,
    demo: bool,
    demo_vehicles: int,
    demo_modules: tuple[str, ...] | None,
) -> None:
    app = create_app(node, manage_node=True)
    mount_explorer(app)
    config = server_config(app, host=host, port=port, timeout_graceful_shutdown=5)
    server = _Server(config)
    url = f"http://{_url_host(host)}:{port}"
    serve_task = asyncio.create_task(server.serve())
    while not server.started and not serve_task.done():
        await asyncio.sleep(0.05)
    demo_task: asyncio.Task[None] | None = None
    if server.started:
        console.print(_banner(node, directory, url, demo))
        if demo:
            from amchain.cli.demo import run_demo

            demo_task = asyncio.create_task(
                run_demo(
                    base_url=url,
                    data_dir=directory,
                    vehicles=demo_vehicles,
                    modules=demo_modules,
                    console=console,
                    should_stop=lambda: server.should_exit,
                )
            )
    try:
        await serve_task
    finally:
        if demo_task is not None:
            demo_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await demo_task
    if not server.started:
        err_console.print(f"error: the API could not start on {host}:{port}", markup=False)
        raise typer.Exit(1)


def _demo_modules(option: str | None) -> tuple[str, ...] | None:
    """``--demo-modules`` as module names (None: all); exits 2 naming what exists."""
    if option is None:
        return None
    names = tuple(name.strip() for name in option.split(",") if name.strip())
    if names == ("none",):
        return ()
    with_demo = [spec.name for spec in default_registry().modules if spec.demo is not None]
    unknown = [name for name in names if name not in with_demo]
    if unknown or not names:
        err_console.print(
            f"error: --demo-modules: no demo traffic for {', '.join(unknown) or repr(option)}; "
            f"modules with a demo: {', '.join(with_demo)} (or 'none')",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    return names


def run_up(
    *,
    data_dir: Path | None,
    host: str,
    port: int,
    demo: bool,
    demo_vehicles: int,
    public_names: tuple[str, ...] = (),
    demo_modules: str | None = None,
    admission_processes: int | None = None,
    genesis_time_ms: int | None = None,
) -> None:
    directory = resolve_data_dir(data_dir)
    chosen_demos = _demo_modules(demo_modules)
    _check_port(host, port)
    processes = (os.cpu_count() or 1) if admission_processes is None else admission_processes
    config = NodeConfig(
        data_dir=directory,
        host=host,
        port=port,
        public_names=public_names,
        admission_processes=processes,
        genesis_time_ms=genesis_time_ms,
    )
    if genesis_time_ms is not None and config.genesis_path.exists():
        err_console.print(
            f"error: --genesis-time applies to a new chain only; {directory} already holds one "
            "(use another --data-dir)",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    if genesis_time_ms is not None and genesis_time_ms > time.time_ns() // 1_000_000:
        err_console.print(
            "error: --genesis-time must not be in the future", markup=False, soft_wrap=True
        )
        raise typer.Exit(2)
    try:
        node = Node.open(config)
    except Exception as exc:
        err_console.print(
            f"error: cannot open the chain in {directory}: {exc}", markup=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    tune_gc_for_a_long_running_node()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(
            _serve(
                node,
                directory=directory,
                host=host,
                port=port,
                demo=demo,
                demo_vehicles=demo_vehicles,
                demo_modules=chosen_demos,
            )
        )
    console.print("[dim]node stopped[/]")
