"""``amchain node start --config FILE`` and ``amchain cluster up | down | status``."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
import uvloop
from rich.panel import Panel
from rich.table import Table

from amchain.cli._common import (
    console,
    err_console,
    print_json,
    tune_gc_for_a_long_running_node,
    want_json,
)

node_app = typer.Typer(help="Run a consortium peer.", no_args_is_help=True)
cluster_app = typer.Typer(
    help="A local consortium: etcd members and peers on 127.0.0.1.", no_args_is_help=True
)

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        file_okay=False,
        help="Cluster directory.",
        show_default="~/.amchain-cluster, or $AMCHAIN_DATA_DIR/cluster when set",
    ),
]


def cluster_dir(directory: Path | None) -> Path:
    if directory is not None:
        return directory.expanduser()
    env = os.environ.get("AMCHAIN_DATA_DIR")
    return Path(env).expanduser() / "cluster" if env else Path.home() / ".amchain-cluster"


# -- node start -------------------------------------------------------------------------------


@node_app.command("start")
def node_start(
    config: Annotated[
        Path, typer.Option("--config", exists=True, dir_okay=False, help="Peer TOML file.")
    ],
) -> None:
    """Run a consortium peer from its TOML configuration (etcd ordering)."""
    from amchain.api import create_app, server_config
    from amchain.node.cluster import ClusterNode
    from amchain.node.cluster_config import ClusterConfig, ClusterConfigError
    from amchain.node.lock import DataDirInUse

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        cluster = ClusterConfig.load(config)
        node = ClusterNode.open_cluster(cluster)
    except (ClusterConfigError, DataDirInUse, OSError, ValueError) as exc:
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    app = create_app(node, manage_node=True)
    server = uvicorn.Server(
        server_config(app, host=cluster.host, port=cluster.port, timeout_graceful_shutdown=3)
    )
    console.print(
        f"peer {cluster.name} ({cluster.org}) of {node.chain_id} at height {node.head.height}, "
        f"API {cluster.url}, etcd {', '.join(cluster.etcd_endpoints)}",
        markup=False,
    )
    tune_gc_for_a_long_running_node()
    # uvloop, as the embedded node (`amchain up`) uses: the peer's event loop carries the
    # API, forwarding, etcd calls and watches, and the executor hand-offs of every block.
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(server.serve())


# -- cluster ----------------------------------------------------------------------------------


@cluster_app.command("up")
def cluster_up(
    peers: Annotated[int, typer.Option("--peers", min=1, max=16, help="Peers (one per org).")] = 4,
    etcd: Annotated[int, typer.Option("--etcd", min=1, max=7, help="etcd members.")] = 3,
    directory: DirOpt = None,
) -> None:
    """Start a local consortium (creating it on first use) and print its endpoints."""
    from amchain.node.localnet import LocalCluster

    where = cluster_dir(directory)
    try:
        cluster = (
            LocalCluster.load(where)
            if (where / "cluster.json").exists()
            else LocalCluster.create(where, peers=peers, etcd=etcd)
        )
        cluster.start()
    except (OSError, RuntimeError, TimeoutError, ValueError) as exc:
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    table = Table(show_header=True, box=None)
    for column in ("name", "org", "endpoint", "pid"):
        table.add_column(column)
    for member in cluster.etcd:
        table.add_row(member.name, "-", member.client_url, str(member.pid))
    for peer in cluster.peers:
        table.add_row(peer.name, peer.org, peer.url, str(peer.pid))
    first = cluster.peers[0]
    orgs = ", ".join(p.org for p in cluster.peers)
    console.print(
        Panel(
            table,
            title=f"consortium {cluster.chain_id} is up",
            subtitle=f"{where}",
            border_style="green",
            expand=False,
        )
    )
    console.print(
        f"keys ({orgs}) are in {where / 'keystore.json'}; for example:\n"
        f"  amchain vehicle register 1HGCM82633A004352 --make Honda --model Accord --year 2003 "
        f"--as {cluster.peers[0].org} --data-dir {where} --node {first.url}\n"
        f"  amchain vehicle history 1HGCM82633A004352 --node {cluster.peers[-1].url}"
        f" --proof --out proof.json\n"
        f"  amchain verify proof.json --peers-file {where / 'peers.json'}\n"
        f"  amchain cluster status --dir {where}\n"
        f"  amchain cluster down --dir {where}",
        markup=False,
        soft_wrap=True,
    )


@cluster_app.command("down")
def cluster_down(
    directory: DirOpt = None,
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the cluster's data.")] = False,
) -> None:
    """Stop every peer and etcd member of the local consortium."""
    import shutil

    from amchain.node.localnet import LocalCluster

    where = cluster_dir(directory)
    try:
        cluster = LocalCluster.load(where)
    except FileNotFoundError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    cluster.stop()
    if purge:
        shutil.rmtree(where)
    console.print(f"consortium in {where} stopped" + (" and deleted" if purge else ""))


@cluster_app.command("status")
def cluster_status(
    directory: DirOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each peer's height, final height, state root and lag; each etcd member's state."""
    from amchain.node.localnet import LocalCluster, alive

    where = cluster_dir(directory)
    try:
        cluster = LocalCluster.load(where)
    except FileNotFoundError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    leader = cluster.etcd_leader()
    peers: list[dict[str, Any]] = []
    for peer in cluster.peers:
        status = cluster.peer_status(peer) or {}
        peers.append({"name": peer.name, "org": peer.org, "url": peer.url, **status})
    top = max((p.get("height", -1) for p in peers), default=-1)
    members = [
        {
            "name": m.name,
            "url": m.client_url,
            "running": alive(m.pid),
            "leader": leader is not None and leader.name == m.name,
        }
        for m in cluster.etcd
    ]
    if want_json(json_):
        print_json({"chain_id": cluster.chain_id, "peers": peers, "etcd": members})
        return
    table = Table(title=f"peers of {cluster.chain_id}")
    for column in ("peer", "org", "role", "height", "final", "lag", "state root", "state"):
        table.add_column(column)
    for p in peers:
        if "height" not in p:
            table.add_row(p["name"], p["org"], "-", "-", "-", "-", "-", "[red]unreachable[/]")
            continue
        state = "[red]halted[/]: " + str(p["halt_reason"]) if p.get("halted") else "[green]ok[/]"
        if not p.get("etcd_ok", True):
            state += " [yellow](etcd unreachable)[/]"
        table.add_row(
            p["name"],
            p["org"],
            p.get("role", "-"),
            str(p["height"]),
            str(p.get("final_height", "-")),
            str(top - p["height"]),
            p.get("state_root", "")[:16] + "…",
            state,
        )
    console.print(table)
    etcd_table = Table(title="etcd members")
    for column in ("member", "endpoint", "state"):
        etcd_table.add_column(column)
    for m in members:
        state = ("[green]leader[/]" if m["leader"] else "follower") if m["running"] else "[red]down"
        etcd_table.add_row(str(m["name"]), str(m["url"]), state)
    console.print(etcd_table)
