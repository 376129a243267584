"""An import-linter contract type of this project: a module's private parts stay its own.

``private_submodules``: every package directly under ``parent`` (each system contract under
``amchain.modules``) keeps its ``private`` submodules (keeper, handlers, queries) to itself.
Code outside the package, another module or an outer layer, never imports them directly:
it goes through the package's public interface (its ``__init__``), or through the parts that
are meant to be shared (``types``, ``keys``, …). Because the packages are found in the
import graph, a new module is covered without editing the configuration.
"""

from __future__ import annotations

import contextlib
from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


class PrivateSubmodulesContract(Contract):
    """Configuration: ``parent`` (a package) and ``private`` (submodule names)."""

    type_name = "private_submodules"

    parent = fields.StringField()
    private = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        violations: list[dict[str, Any]] = []
        parent = str(self.parent)
        for package in sorted(graph.find_children(parent)):
            for name in self.private:  # type: ignore[attr-defined]
                target = f"{package}.{name}"
                if target not in graph.modules:
                    continue
                guarded = {target}
                with contextlib.suppress(ValueError):  # a module, not a package
                    guarded |= graph.find_descendants(target)
                for module in sorted(guarded):
                    for importer in sorted(graph.find_modules_that_directly_import(module)):
                        if importer == package or importer.startswith(package + "."):
                            continue
                        lines = [
                            d["line_number"]
                            for d in graph.get_import_details(importer=importer, imported=module)
                        ]
                        violations.append(
                            {
                                "importer": importer,
                                "imported": module,
                                "package": package,
                                "lines": lines,
                            }
                        )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in violation["lines"])
            output.print_error(
                f"{violation['importer']} imports {violation['imported']} ({lines}): "
                f"reach {violation['package']} through its public interface instead",
                bold=False,
            )
            output.new_line()
