"""The CLI commands every module gets from its spec (``amchain modules``, ``amchain tx MODULE
MESSAGE``, ``amchain query MODULE QUERY``) and the shared options every command accepts,
against a real node over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from amchain.bench import free_port
from amchain.cli import app
from amchain.cli._generic import install_hinted_commands
from amchain.runtime import INSTALLED_MODULES
from tests.support import RunningNode, start_node

VIN = "1HGCM82633A004352"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with start_node(tmp_path_factory.mktemp("generic")) as node:
        yield node


def run(node: RunningNode, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--node", node.url, "--data-dir", str(node.data_dir), *args],
        env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    return result.exit_code, result.stdout, result.stderr


def test_any_modules_message_and_query_from_the_command_line(
    running: RunningNode, tmp_path: Path
) -> None:
    code, out, err = run(
        running, "tx", "vehicles", "register_vehicle", "--field", f"vin={VIN}",
        "--field", "make=Honda", "--field", "model=Accord", "--field", "model_year=2003",
        "--as", "oem", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["status"] == "committed"
    args = tmp_path / "event.json"
    args.write_text(json.dumps({"vin": VIN, "event": {"type": "odometer", "odometer_km": 10}}))
    code, out, err = run(
        running, "tx", "vehicles", "record_event", "--args-file", str(args),
        "--field", "event.odometer_km=2_500", "--as", "registry", "--json",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(running, "query", "vehicles", "history", VIN, "--json")
    assert code == 0, err
    history = json.loads(out)
    assert history["event_count"] == 2
    assert history["events"][1]["odometer_km"] == 2_500
    code, out, _ = run(running, "query", "vehicles", "history", f"vin={VIN}", "--proof", "--json")
    assert code == 0 and json.loads(out)["kind"] == "vehicle-history"
    code, out, _ = run(running, "query", "consortium", "organisation", "oem", "--json")
    assert code == 0 and json.loads(out)["did"] == "did:amc:org:oem"


def test_refusals_of_the_generic_commands_say_what_to_fix(running: RunningNode) -> None:
    code, _, err = run(
        running, "tx", "vehicles", "register_vehicle", "--field", "vin=X", "--as", "oem"
    )
    assert code == 2 and "needs make, model, model_year" in err
    code, _, err = run(
        running, "tx", "vehicles", "register_vehicle", "--field", f"vin={VIN}",
        "--field", "make=A", "--field", "model=B", "--field", "model_year=soon", "--as", "oem",
    )  # fmt: skip
    assert code == 2 and "model_year is an integer" in err
    code, _, err = run(running, "query", "vehicles", "history", "vim=1")
    assert code == 2 and "no field vim" in err
    code, _, err = run(running, "query", "vehicles", "vehicle", "1HGCM82633A000000")
    assert code == 1 and "error api/404" in err


def test_help_lists_every_field_with_its_type_and_meaning(running: RunningNode) -> None:
    code, out, _ = run(running, "tx", "vehicles", "register_vehicle", "--help")
    assert code == 0
    assert "model_year" in out and "int" in out and "model year" in out
    assert "owner?" in out and "Signed by an OEM key" in out
    code, out, _ = run(running, "tx", "vehicles", "record_event", "--help")
    assert "event.work_items" in out and "list of text" in out and "type=serviced" in out
    code, out, _ = run(running, "query", "credentials", "status", "--help")
    assert "list" in out and "index" in out and "--proof adds a proof bundle" in out


def test_modules_come_from_the_node_or_this_release(running: RunningNode) -> None:
    code, out, _ = run(running, "modules", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["source"] == f"node {running.url}"
    assert [m["name"] for m in listed["modules"]] == list(INSTALLED_MODULES)
    code, out, _ = run(running, "modules", "vehicles")
    assert code == 0 and "register_vehicle" in out and "vehicles.registered" in out
    closed = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["--node", closed, "modules", "--json"])
    assert result.exit_code == 0 and "not reachable" in result.stderr
    assert json.loads(result.stdout)["source"] == "this release"


def test_a_shared_option_that_does_not_apply_is_noted_in_one_line(running: RunningNode) -> None:
    result = CliRunner().invoke(
        app, ["keys", "list", "--node", running.url, "--data-dir", str(running.data_dir)]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "note: --node does not apply to `amchain keys list`: it does not talk to a node"
    ]
    result = CliRunner().invoke(app, ["status", "--node", running.url, "--data-dir", "/tmp"])
    assert result.exit_code == 0
    assert "--data-dir does not apply to `amchain status`" in result.stderr
    assert "No such option" not in result.stderr


def test_a_modules_cli_hint_names_its_own_command(running: RunningNode) -> None:
    code, out, _ = run(running, "vehicle", "register", "--help")
    assert code == 0
    assert "VIN" in out and "--year" in out and "model year" in out
    assert "amchain tx vehicles register_vehicle" in out
    code, out, err = run(
        running, "vehicle", "register", VIN[:-1] + "9", "--make", "Honda", "--model", "Jazz",
        "--year", "2004", "--as", "oem", "--json",
    )  # fmt: skip
    assert code == 1 and "check digit" in (out + err)  # refused by the chain: exit 1


def test_a_hint_for_a_group_the_cli_lacks_makes_the_group() -> None:
    fresh = typer.Typer()
    install_hinted_commands(fresh, {})
    result = CliRunner().invoke(fresh, ["vehicle", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "register" in result.stdout and "event" in result.stdout and "show" in result.stdout
