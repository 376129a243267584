"""How many lines outside ``modules/`` exist only to give the four first modules
(consortium, identity, vehicles, credentials) their API, SDK, CLI and genesis.

Usage: ``python -m tools.adapter_lines [SRC]`` (default ``src``; pass a ``src`` extracted
from an older revision, e.g. ``git archive dd53531 src | tar x -C /tmp/old``). The code that
counts is listed below per revision layout: whole files, or definitions (functions,
classes, methods, route functions nested in ``create_app``) found by name with ``ast``,
decorators included. Generic code derived from the specs (the query routes, the OpenAPI
document, the SDK's catalog and generic ``tx``/``query``, the CLI's generic commands) is not
counted: it serves any module.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Before the module spec drove the outer layers (main at dd53531).
BEFORE: dict[str, dict[str, list[str]]] = {
    "api": {
        "api/credentials.py": ["*"],
        "api/views.py": ["_who", "refused_rollbacks", "history_summary_line", "organisations_json"],
        "api/proofs.py": ["vehicle_history_at", "did_bundle"],
        "api/app.py": [
            "create_app.get_did",
            "create_app.list_orgs",
            "create_app._vehicle_or_404",
            "create_app.get_vehicle",
            "create_app.get_history",
        ],
    },
    "sdk": {
        "sdk/_helpers.py": ["*"],
        "sdk/_credentials.py": ["*"],
        "sdk/_client.py": [
            "Client.resolve_did",
            "Client.organisations",
            "Client.get_vehicle",
            "Client.get_history",
        ],
        "sdk/_async_client.py": [
            "AsyncClient.resolve_did",
            "AsyncClient.organisations",
            "AsyncClient.get_vehicle",
            "AsyncClient.get_history",
        ],
    },
    "cli": {
        "cli/_credentials.py": ["*"],
        "cli/_events.py": ["*"],
        "cli/_app.py": [
            "_next_person_name",
            "did_create",
            "did_resolve",
            "vehicle_register",
            "vehicle_event",
            "vehicle_transfer",
            "vehicle_show",
            "vehicle_history",
            "_short",
        ],
    },
    "node": {"node/devnet.py": ["create_dev_chain"]},
}

# With the module spec (this revision).
AFTER: dict[str, dict[str, list[str]]] = {
    "api": {},
    "sdk": {
        "sdk/_credential_steps.py": ["*"],
        "sdk/_helper_steps.py": ["*"],
        "sdk/_steps.py": ["resolve_did", "organisations", "get_vehicle", "get_history"],
        "sdk/_client.py": [
            "Client.resolve_did",
            "Client.organisations",
            "Client.get_vehicle",
            "Client.get_history",
            "Vehicles",
            "Identity",
            "Consortium",
            "Credentials",
        ],
        "sdk/_async_client.py": [
            "AsyncClient.resolve_did",
            "AsyncClient.organisations",
            "AsyncClient.get_vehicle",
            "AsyncClient.get_history",
            "AsyncVehicles",
            "AsyncIdentity",
            "AsyncConsortium",
            "AsyncCredentials",
        ],
    },
    "cli": {
        "cli/_credentials.py": ["*"],
        "cli/_vehicles.py": ["*"],
        "cli/_keys.py": ["_next_person_name", "did_create", "did_resolve"],
    },
    "node": {"node/devnet.py": ["create_dev_chain"]},
}


def _span(node: ast.AST) -> int:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])  # type: ignore[attr-defined]
    return int(node.end_lineno) - first + 1  # type: ignore[attr-defined]


def _find(tree: ast.AST, dotted: str) -> ast.AST | None:
    scope: list[ast.stmt] = tree.body  # type: ignore[attr-defined]
    found: ast.AST | None = None
    for part in dotted.split("."):
        found = next(
            (
                n
                for n in scope
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n.name == part
            ),
            None,
        )
        if found is None:
            return None
        scope = found.body  # type: ignore[attr-defined]
    return found


def count(src: Path, layout: dict[str, dict[str, list[str]]]) -> dict[str, int]:
    """Lines per layer; a listed definition that is missing is an error."""
    totals: dict[str, int] = {}
    for layer, files in layout.items():
        total = 0
        for relative, names in files.items():
            path = src / "amchain" / relative
            text = path.read_text()
            if names == ["*"]:
                total += len(text.splitlines())
                continue
            tree = ast.parse(text)
            for name in names:
                node = _find(tree, name)
                if node is None:
                    raise SystemExit(f"{relative}: no definition {name}")
                total += _span(node)
        totals[layer] = total
    return totals


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    layout = AFTER if (src / "amchain" / "api" / "modules.py").exists() else BEFORE
    totals = count(src, layout)
    for layer, lines in totals.items():
        print(f"{layer:<5} {lines:6d}")
    print(f"{'all':<5} {sum(totals.values()):6d}")


if __name__ == "__main__":
    main()
