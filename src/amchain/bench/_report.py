"""A benchmark's report: figures with units and notes, the machine it ran on, JSON and a table."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured value: ``name`` in ``unit``, with a short note on what it counts."""

    name: str
    value: float | int | str | None
    unit: str = ""
    note: str = ""

    def text(self) -> str:
        if self.value is None:
            return "n/a"
        if isinstance(self.value, float):
            return f"{self.value:,.2f}" if abs(self.value) < 100 else f"{self.value:,.0f}"
        if isinstance(self.value, int):
            return f"{self.value:,}"
        return self.value


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, load at the start, Python, platform."""
    load = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "load_avg_1_5_15": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@dataclass
class Report:
    """What one workload measured."""

    workload: str
    params: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ok: bool = True
    machine: dict[str, Any] = field(default_factory=machine)
    started_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime())
    )

    def add(self, name: str, value: Any, unit: str = "", note: str = "") -> None:
        self.figures.append(Figure(name, value, unit, note))

    def get(self, name: str) -> Any:
        for figure in self.figures:
            if figure.name == name:
                return figure.value
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "ok": self.ok,
            "started_at": self.started_at,
            "machine": {**self.machine, "load_avg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "params": self.params,
            "figures": {
                f.name: {"value": f.value, "unit": f.unit, "note": f.note} for f in self.figures
            },
            "tables": self.tables,
            "notes": self.notes,
        }

    def write(self, directory: Path) -> Path:
        """Write the JSON to ``directory/<workload>-<time>.json`` and ``<workload>-latest.json``."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        text = json.dumps(self.to_json(), indent=2)
        path = directory / f"{self.workload}-{stamp}.json"
        path.write_text(text + "\n")
        (directory / f"{self.workload}-latest.json").write_text(text + "\n")
        return path

    def render(self, console: Console) -> None:
        """Print the figures (and any sub-tables) as rich tables."""
        m = self.machine
        title = (
            f"amchain bench {self.workload}  ·  {m['cores']} cores  ·  "
            f"load {m['load_avg_1_5_15'][0]:.2f} at start"
        )
        table = Table(title=title, title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("unit")
        table.add_column("what it counts", overflow="fold")
        for f in self.figures:
            table.add_row(f.name, f.text(), f.unit, f.note)
        console.print(table)
        for name, rows in self.tables.items():
            if not rows:
                continue
            sub = Table(title=name, title_justify="left")
            columns = list(rows[0])
            for column in columns:
                sub.add_column(column, justify="right")
            for row in rows:
                sub.add_row(*(Figure("", row.get(c)).text() for c in columns))
            console.print(sub)
        for note in self.notes:
            console.print(f"[dim]note:[/] {note}", soft_wrap=True)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` percentile (0..100) by nearest rank, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))  # 1-based
    return ordered[max(0, min(len(ordered), rank) - 1)]
