"""``amchain backup`` and ``amchain restore``: a consistent copy of a (running) node's data,
and a restore that re-executes every block before it calls the chain good."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from amchain.cli._common import DataDirOpt, console, err_console
from amchain.cli._common import data_dir as resolve_data_dir

__all__ = ["backup", "restore"]


def backup(
    target: Annotated[Path, typer.Argument(help="New or empty directory for the backup.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Copy the node's chain, genesis and keys into TARGET (safe while the node runs)."""
    from amchain.node.backup import BackupError, backup_data_dir

    source = resolve_data_dir(data_dir)
    try:
        manifest = backup_data_dir(source, target)
    except (BackupError, OSError) as exc:
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(
        f"backed up {manifest.chain_id} at height {manifest.height} "
        f"(block {manifest.block_hash[:16]}…, state root {manifest.state_root[:16]}…) "
        f"to {target}",
        markup=False,
        soft_wrap=True,
    )


def restore(
    backup_dir: Annotated[Path, typer.Argument(help="A directory made by `amchain backup`.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Rebuild a data dir from a backup, re-executing and checking every block."""
    from amchain.node.backup import BackupError, restore_data_dir

    target = resolve_data_dir(data_dir)
    with Progress(
        TextColumn("re-executing blocks"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("replay", total=None)
        try:
            manifest = restore_data_dir(
                backup_dir,
                target,
                progress=lambda done, of: bar.update(task, completed=done, total=of),
            )
        except (BackupError, OSError) as exc:
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
    console.print(
        f"restored {manifest.chain_id} to {target}: {manifest.height} blocks re-executed, "
        f"every state root and receipts root matches (head {manifest.block_hash[:16]}…)",
        markup=False,
        soft_wrap=True,
    )
