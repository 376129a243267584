"""The project's own import contract type (``tools/import_contracts.py``) catches what it
promises to: another package's private submodule imported directly."""

from __future__ import annotations

import grimp

from tools.import_contracts import PrivateSubmodulesContract


def _graph(imports: list[tuple[str, str]]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for module in (
        "app",
        "app.mods",
        "app.mods.cars",
        "app.mods.cars.keeper",
        "app.mods.cars.types",
        "app.mods.cars.handlers",
        "app.mods.cars.handlers.sale",
        "app.mods.parts",
        "app.mods.parts.handlers",
        "app.api",
    ):
        graph.add_module(module)
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=7, line_contents="")
    return graph


def _check(imports: list[tuple[str, str]]) -> list[dict[str, object]]:
    contract = PrivateSubmodulesContract(
        name="private parts",
        session_options={},
        contract_options={"parent": "app.mods", "private": ["keeper", "handlers", "queries"]},
    )
    result = contract.check(_graph(imports), verbose=False)
    violations: list[dict[str, object]] = result.metadata["violations"]
    assert result.kept == (not violations)
    return violations


def test_a_module_may_use_its_own_private_parts_and_others_public_ones() -> None:
    assert (
        _check(
            [
                ("app.mods.cars.handlers", "app.mods.cars.keeper"),
                ("app.mods.cars.handlers.sale", "app.mods.cars.keeper"),
                ("app.mods.parts.handlers", "app.mods.cars"),
                ("app.mods.parts.handlers", "app.mods.cars.types"),
                ("app.api", "app.mods.cars"),
            ]
        )
        == []
    )


def test_reaching_into_another_modules_keeper_or_handlers_is_a_violation() -> None:
    violations = _check(
        [
            ("app.mods.parts.handlers", "app.mods.cars.keeper"),
            ("app.api", "app.mods.cars.handlers.sale"),
        ]
    )
    assert [(v["importer"], v["imported"], v["lines"]) for v in violations] == [
        ("app.mods.parts.handlers", "app.mods.cars.keeper", [7]),
        ("app.api", "app.mods.cars.handlers.sale", [7]),
    ]
