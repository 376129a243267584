"""The issue's journey as a new user runs it: ``amchain up --demo``, then the CLI only —
grants, a simulated car in a child process, revocation, a stale cache, a transfer — and
``amchain vc issue|verify|revoke``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from amchain.bench import NodeProcess
from tests.test_cli import ok, run_cli, start_up  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


def _demo_car(up: NodeProcess, timeout_s: float = 90.0) -> tuple[str, str]:
    """A demo vehicle whose on-board key is in the keystore and whose owner is a demo person:
    returns (VIN, keystore name of the owner)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        keys = json.loads(ok(run_cli(up, "keys", "list", "--json")))["keys"]
        by_did = {k["did"]: k["name"] for k in keys if k["did"]}
        for key in keys:
            if not key["name"].startswith("vehicle-"):
                continue
            vin = key["name"][len("vehicle-") :]
            shown = run_cli(up, "vehicle", "show", vin, "--json")
            if shown.returncode != 0:
                continue
            owner = json.loads(shown.stdout)["owner"]
            if owner in by_did and by_did[owner].startswith("demo-owner-"):
                return vin, by_did[owner]
        time.sleep(1)
    pytest.fail(f"the demo made no vehicle with a person owner in time:\n{up.output()}")


def unlock(up: NodeProcess, vin: str, *extra: str) -> tuple[int, str]:
    result = run_cli(up, "vehicle", "unlock", vin, "--as", "courier", *extra)
    return result.returncode, result.stdout + result.stderr


def test_courier_journey_with_a_simulated_car(start_up) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # vehicles only: the finance and sharing demos would put a lien on the one car
    up: NodeProcess = start_up("--demo", "--demo-vehicles", "1", "--demo-modules", "none")
    vin, owner = _demo_car(up)
    # the OEM issued the car's birth certificate at registration; anyone can verify it
    certificate = up.data_dir / "credentials" / f"{vin}-birth-certificate.json"
    assert "✔ verified" in ok(run_cli(up, "vc", "verify", str(certificate)))
    ok(run_cli(up, "did", "create", "--as", "dealer", "--name", "courier"))

    # the owner grants the courier the trunk for two hours
    granted = json.loads(
        ok(
            run_cli(
                up,
                "access",
                "grant",
                vin,
                "--to",
                "courier",
                "--scope",
                "trunk",
                "--hours",
                "2",
                "--as",
                owner,
                "--json",
            )
        )
    )
    grant_id = granted["grant"]["id"]

    # the courier opens the trunk: allowed, and the car logs it on chain
    code, out = unlock(up, vin, "--action", "trunk")
    assert code == 0 and "trunk allowed" in out and "logged on chain" in out, out
    listed = json.loads(ok(run_cli(up, "access", "list", vin, "--json")))
    assert listed["grants"][0]["uses"] == 1
    entry = listed["access_log"]["entries"][-1]
    assert entry["allowed"] and entry["action"] == "trunk" and entry["grant_id"] == grant_id

    # ... may not start the car
    code, out = unlock(up, vin, "--action", "start")
    assert code == 1 and "start denied: scope" in out, out

    # the owner revokes; a car still offline decides on its older cache ...
    ok(run_cli(up, "access", "revoke", grant_id, "--as", owner))
    code, out = unlock(up, vin, "--action", "trunk", "--car-offline")
    assert code == 0 and "offline" in out, out
    # ... and once it has refreshed, the courier is denied
    code, out = unlock(up, vin, "--action", "trunk")
    assert code == 1 and "denied: revoked" in out, out

    # a car offline for longer than its cache limit denies
    ok(
        run_cli(
            up,
            "access",
            "grant",
            vin,
            "--to",
            "courier",
            "--scope",
            "unlock",
            "--hours",
            "48",
            "--as",
            owner,
        )
    )
    code, out = unlock(up, vin, "--action", "unlock")
    assert code == 0, out
    code, out = unlock(up, vin, "--action", "unlock", "--car-offline", "--hours-later", "25")
    assert code == 1 and "denied: stale" in out, out

    # after a transfer, the previous owner's grant is dead
    ok(run_cli(up, "did", "create", "--as", "dealer", "--name", "buyer"))
    ok(run_cli(up, "vehicle", "transfer", vin, "--as", owner, "--cosigner", "buyer"))
    code, out = unlock(up, vin, "--action", "unlock")
    assert code == 1 and "denied: owner" in out, out

    # every decision is on chain, in order, hash-chained
    listed = json.loads(ok(run_cli(up, "access", "list", vin, "--json")))
    log = listed["access_log"]
    assert [e["reason"] for e in log["entries"]] == [
        "ok",
        "scope",
        "ok",
        "revoked",
        "ok",
        "stale",
        "owner",
    ]
    assert "denied: owner" in ok(run_cli(up, "access", "list", vin))


def test_vc_issue_verify_revoke(start_up, vectors_dir: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    up: NodeProcess = start_up()
    vin = "1HGCM82633A004352"
    ok(
        run_cli(
            up,
            "vehicle",
            "register",
            vin,
            "--make",
            "Honda",
            "--model",
            "Accord",
            "--year",
            "2003",
            "--as",
            "oem",
            "--plant",
            "Marysville",
        )
    )
    out_file = up.data_dir / "birth.json"
    issued = json.loads(
        ok(
            run_cli(
                up,
                "vc",
                "issue",
                "birth-certificate",
                vin,
                "--as",
                "oem",
                "--out",
                str(out_file),
                "--json",
            )
        )
    )
    credential = json.loads(out_file.read_text())
    assert credential["id"] == issued["credential"]["id"]
    assert credential["credentialSubject"]["plant"] == "Marysville"

    report = json.loads(ok(run_cli(up, "vc", "verify", str(out_file), "--json")))
    assert report["verified"] and report["issuer"] == "did:amc:org:oem"
    assert "✔ verified" in ok(run_cli(up, "vc", "verify", str(out_file)))
    # offline, a did:amc issuer cannot be resolved: not verified, and it says why
    offline = run_cli(up, "vc", "verify", str(out_file), "--offline", "--json")
    assert offline.returncode == 1
    assert json.loads(offline.stdout)["reason"] == "unknown_method"

    ok(run_cli(up, "vc", "suspend", str(out_file), "--as", "oem"))
    suspended = run_cli(up, "vc", "verify", str(out_file), "--json")
    assert suspended.returncode == 1 and json.loads(suspended.stdout)["reason"] == "suspended"
    ok(run_cli(up, "vc", "resume", credential["id"], "--as", "oem"))
    ok(run_cli(up, "vc", "verify", str(out_file)))
    ok(run_cli(up, "vc", "revoke", str(out_file), "--as", "oem"))
    revoked = run_cli(up, "vc", "verify", str(out_file), "--json")
    assert revoked.returncode == 1 and json.loads(revoked.stdout)["reason"] == "revoked"
    assert "revoked" in run_cli(up, "vc", "verify", str(out_file)).stdout

    # the W3C example: its proof verifies offline, but its issuer is no DID it is bound to
    signed = vectors_dir / "vc-di-eddsa" / "eddsa-jcs-2022" / "signedJCS.json"
    vector = json.loads(run_cli(up, "vc", "verify", str(signed), "--offline", "--json").stdout)
    checks = {c["name"]: c["ok"] for c in vector["checks"]}
    assert checks["proof"] is True and checks["issuer"] is False
