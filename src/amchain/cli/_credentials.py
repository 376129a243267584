"""``amchain vc …``, ``amchain access …`` and ``amchain vehicle unlock``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from amchain.cli._common import (
    DataDirOpt,
    JsonOpt,
    NodeOpt,
    client,
    console,
    data_dir,
    err_console,
    handle_errors,
    node_url,
    open_keystore,
    print_json,
    print_submit,
    signer_named,
    usage_error,
    want_json,
)
from amchain.sdk import Signer
from amchain.sdk.credentials import sign_presentation_as, verify
from amchain.vc import (
    ACCESS_SCOPES,
    BIRTH_CERTIFICATE,
    INSURANCE_COVERAGE,
    VEHICLE_REGISTRATION,
    VerificationReport,
)

vc_app = typer.Typer(
    help="Verifiable credentials (W3C VC 2.0, eddsa-jcs-2022).", no_args_is_help=True
)
access_app = typer.Typer(
    help="Delegated vehicle access (owner → friend, courier, workshop).", no_args_is_help=True
)

AsOpt = Annotated[str, typer.Option("--as", help="Keystore name of the signing key.")]
KINDS = {
    "birth-certificate": BIRTH_CERTIFICATE,
    "registration": VEHICLE_REGISTRATION,
    "insurance": INSURANCE_COVERAGE,
}


def _save(directory: Path, name: str, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _file_name(credential_id: str, prefix: str) -> str:
    return f"{prefix}-{credential_id.rsplit(':', 1)[-1][:8]}.json"


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        usage_error(f"cannot read a credential from {path}: {exc}", "FILE")
    if not isinstance(data, dict):
        usage_error(f"{path} does not hold a JSON object", "FILE")
    return data


def _did_of(keystore: Any, text: str) -> str:
    if text.startswith("did:"):
        return text
    signer = signer_named(keystore, text, "--to")
    return signer.did


# -- vc ---------------------------------------------------------------------------------------


@vc_app.command("issue")
@handle_errors
def vc_issue(
    kind: Annotated[
        str, typer.Argument(metavar="TYPE", help="birth-certificate, registration or insurance.")
    ],
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN (the credential's subject).")],
    as_: AsOpt,
    region: Annotated[
        str | None, typer.Option("--region", help="registration: ISO 3166 alpha-2 region.")
    ] = None,
    registration_hash: Annotated[str | None, typer.Option("--registration-hash")] = None,
    plate_hash: Annotated[str | None, typer.Option("--plate-hash")] = None,
    policy_hash: Annotated[str | None, typer.Option("--policy-hash")] = None,
    coverage: Annotated[list[str] | None, typer.Option("--coverage")] = None,
    valid_until: Annotated[
        str | None,
        typer.Option("--valid-until", help="End of validity, e.g. 2027-01-31T00:00:00Z."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the credential here.")] = None,
    node: NodeOpt = None,
    data_dir_: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Issue a vehicle credential: drafted from the chain, signed here, anchored on chain."""
    if kind not in KINDS:
        usage_error(f"TYPE must be one of {', '.join(KINDS)}", "TYPE")
    signer = signer_named(open_keystore(data_dir_), as_)
    fields: dict[str, Any] = {}
    if kind == "registration":
        if not region or not registration_hash:
            usage_error("a registration needs --region and --registration-hash", "--region")
        fields = {
            "region": region,
            "registration_hash": registration_hash,
            "plate_hash": plate_hash,
            "valid_until": valid_until,
        }
    elif kind == "insurance":
        if not policy_hash or not valid_until:
            usage_error("insurance needs --policy-hash and --valid-until", "--policy-hash")
        fields = {
            "policy_hash": policy_hash,
            "coverage": coverage or ["liability"],
            "valid_until": valid_until,
        }
    fields = {k: v for k, v in fields.items() if v is not None}
    with client(node) as c:
        credential, result = c.credentials.issue(signer, KINDS[kind], vin=vin.upper(), **fields)
    path = out or data_dir(data_dir_) / "credentials" / _file_name(credential["id"], vin.upper())
    if out is not None:
        out.write_text(json.dumps(credential, indent=2) + "\n")
    else:
        _save(path.parent, path.name, credential)
    if want_json(json_):
        print_json({"credential": credential, "file": str(path), "tx": result.raw})
        return
    print_submit(result, as_json=False)
    console.print(f"{KINDS[kind]} [bold]{credential['id']}[/] → {path}")


def _print_report(report: VerificationReport, offline: bool) -> None:
    table = Table("check", "result", "detail", title=", ".join(report.types[1:]) or "credential")
    for check in report.checks:
        mark = {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "[yellow]not checked[/]"}
        table.add_row(check.name, mark[check.ok], check.detail)
    console.print(table)
    console.print(f"issuer   {report.issuer}", markup=False)
    console.print(f"subject  {report.subject}", markup=False)
    if report.verified:
        console.print("[bold green]✔ verified[/]" + (" (offline)" if offline else ""))
        if report.unchecked:
            console.print(
                "[yellow]  some checks could not be made: "
                + ", ".join(c.name for c in report.unchecked)
                + "[/]"
            )
    else:
        failure = report.failure
        reason = failure.reason if failure else "proof"
        console.print(
            f"[bold red]✘ not verified[/]: {reason} — "
            f"{failure.detail if failure else 'no proof verified'}"
        )


@vc_app.command("verify")
@handle_errors
def vc_verify(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A credential (JSON).")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Use no network: did:key only, status not checked.")
    ] = False,
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Verify a credential: proof, issuer, validity window, schema and status."""
    credential = _load_json(file)
    if offline:
        report = verify(credential)
    else:
        with client(node) as c:
            report = c.credentials.verify(credential)
    if want_json(json_):
        print_json({**report.to_json(), "offline": offline})
    else:
        _print_report(report, offline)
    if not report.verified:
        raise typer.Exit(1)


def _credential_arg(text: str) -> dict[str, Any] | str:
    path = Path(text)
    return _load_json(path) if path.exists() else text


def _status_command(action: str, metavar: str, what: str, doc: str) -> Any:
    """``vc revoke|suspend|resume`` and ``access revoke|suspend|resume``: one status bit of
    a credential (a grant is a credential) set through ``client.credentials``."""

    @handle_errors
    def run(
        target: str,
        as_: AsOpt,
        node: NodeOpt = None,
        data_dir_: DataDirOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        signer = signer_named(open_keystore(data_dir_), as_)
        credential = _credential_arg(target)
        with client(node) as c:
            result = getattr(c.credentials, action)(signer, credential)
        print_submit(result, as_json=want_json(json_))

    # set here, not in the signature: string annotations cannot see this call's variables
    run.__annotations__["target"] = Annotated[str, typer.Argument(metavar=metavar, help=what)]
    run.__doc__ = doc
    return run


# -- access -----------------------------------------------------------------------------------


@access_app.command("grant")
@handle_errors
def access_grant_cmd(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    to: Annotated[str, typer.Option("--to", help="Grantee: a DID or a keystore name.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"Repeatable: {', '.join(ACCESS_SCOPES)}.")
    ],
    as_: Annotated[str, typer.Option("--as", help="Keystore name of the owner's key.")],
    hours: Annotated[
        float, typer.Option("--hours", min=0.01, max=8784, help="How long the grant lasts.")
    ] = 2.0,
    max_uses: Annotated[int | None, typer.Option("--max-uses", min=1)] = None,
    node: NodeOpt = None,
    data_dir_: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The owner grants access to the vehicle for a while (signed by the owner, on chain)."""
    bad = [s for s in scope if s not in ACCESS_SCOPES]
    if bad:
        usage_error(f"unknown scope {bad[0]!r}; scopes are {', '.join(ACCESS_SCOPES)}", "--scope")
    keystore = open_keystore(data_dir_)
    owner = signer_named(keystore, as_)
    grantee = _did_of(keystore, to)
    with client(node) as c:
        grant, result = c.credentials.grant_access(
            owner,
            vin=vin.upper(),
            grantee=grantee,
            scopes=scope,
            hours=hours,
            max_uses=max_uses,
        )
    # hand the grant to the grantee's wallet (on this machine: the data dir)
    path = _save(data_dir(data_dir_) / "grants", _file_name(grant["id"], vin.upper()), grant)
    if want_json(json_):
        print_json({"grant": grant, "file": str(path), "tx": result.raw})
        return
    print_submit(result, as_json=False)
    console.print(
        f"grant [bold]{grant['id']}[/]: {', '.join(sorted(scope))} for {grantee} "
        f"until {grant['validUntil']} → {path}"
    )


@access_app.command("list")
@handle_errors
def access_list(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    node: NodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A vehicle's grants with their standing, and its access log."""
    with client(node) as c:
        grants = c.credentials.grants(vin.upper())
        log = c.credentials.access_log(vin.upper())
    if want_json(json_):
        print_json({**grants, "access_log": log})
        return
    table = Table(
        "grant",
        "grantee",
        "scopes",
        "until",
        "uses",
        "standing",
        title=f"grants of {grants['vin']} (owner {grants['owner']}, epoch {grants['owner_epoch']})",
    )
    for g in grants["grants"]:
        uses = f"{g['uses']}" + (f"/{g['max_uses']}" if g.get("max_uses") else "")
        colour = "green" if g["standing"] == "active" else "red"
        table.add_row(
            g["id"],
            g["grantee"],
            ", ".join(g["scopes"]),
            _time(g["valid_until_ms"]),
            uses,
            f"[{colour}]{g['standing']}[/]",
        )
    console.print(table)
    if log["entries"]:
        logt = Table(
            "seq",
            "decided (UTC)",
            "action",
            "result",
            "grantee",
            "height",
            title=f"access log ({log['count']} entries, head {str(log['head'])[:16]}…)",
        )
        for e in log["entries"]:
            result = "[green]allowed[/]" if e["allowed"] else f"[red]denied: {e['reason']}[/]"
            logt.add_row(
                str(e["seq"]),
                _time(e["decided_at_ms"]),
                e["action"],
                result,
                e.get("grantee") or "-",
                str(e["height"]),
            )
        console.print(logt)


def _time(ms: int | None) -> str:
    from datetime import UTC, datetime

    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- vehicle unlock ---------------------------------------------------------------------------


def _pick_grant(directory: Path, vin: str, did: str, action: str) -> dict[str, Any] | None:
    """The grantee's grant for this car from its wallet: one covering the action if any,
    the newest first."""
    found: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            grant = json.loads(path.read_text())
        except ValueError:
            continue
        subject = grant.get("credentialSubject", {})
        if subject.get("vin") == vin and subject.get("id") == did:
            found.append(grant)
    found.sort(
        key=lambda g: (
            action in g["credentialSubject"].get("scopes", []),
            g.get("proof", {}).get("created", ""),
        ),
        reverse=True,
    )
    return found[0] if found else None


def unlock(
    vin: Annotated[str, typer.Argument(help="The vehicle's VIN.")],
    as_: Annotated[str, typer.Option("--as", help="Keystore name of the grantee's key.")],
    action: Annotated[
        str, typer.Option("--action", help="What to do: unlock, trunk, start, …")
    ] = "unlock",
    grant_file: Annotated[
        Path | None,
        typer.Option("--grant", help="The grant to present (default: from the wallet)."),
    ] = None,
    car_offline: Annotated[
        bool,
        typer.Option("--car-offline", help="The car has no connection: it decides on its cache."),
    ] = False,
    hours_later: Annotated[
        float,
        typer.Option(
            "--hours-later", min=0, help="Simulate this many hours passing on the car's clock."
        ),
    ] = 0.0,
    max_cache_age_hours: Annotated[
        float,
        typer.Option(
            "--max-cache-age-hours", min=0, help="The car denies on a cache older than this."
        ),
    ] = 24.0,
    node: NodeOpt = None,
    data_dir_: DataDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run the challenge–response exchange with a simulated car process (the grantee's side)."""
    vin = vin.upper()
    keystore = open_keystore(data_dir_)
    holder: Signer = signer_named(keystore, as_)
    directory = data_dir(data_dir_)
    grant = (
        _load_json(grant_file)
        if grant_file
        else _pick_grant(directory / "grants", vin, holder.did, action)
    )
    if grant is None:
        usage_error(
            f"{as_} holds no grant for {vin}; the owner runs `amchain access grant`", "--grant"
        )
    command = [
        sys.executable,
        "-m",
        "amchain.cli._car",
        "--vin",
        vin,
        "--data-dir",
        str(directory),
        "--node",
        node_url(node),
        "--clock-offset-ms",
        str(int(hours_later * 3_600_000)),
        "--max-age-ms",
        str(int(max_cache_age_hours * 3_600_000)),
    ] + (["--offline"] if car_offline else [])
    car = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert car.stdin is not None and car.stdout is not None
    transcript: list[dict[str, Any]] = []

    def exchange(message: dict[str, Any] | None) -> dict[str, Any]:
        assert car.stdin is not None and car.stdout is not None
        if message is not None:
            car.stdin.write(json.dumps(message) + "\n")
            car.stdin.flush()
        line = car.stdout.readline()
        if not line:
            raise RuntimeError("the car stopped answering")
        answer: dict[str, Any] = json.loads(line)
        transcript.append(answer)
        if answer.get("type") == "error":
            raise RuntimeError(f"car: {answer.get('message')}")
        return answer

    try:
        ready = exchange(None)
        challenge = exchange({"op": "challenge", "action": action})
        presentation = sign_presentation_as(
            holder, [grant], challenge=challenge["nonce"], domain=challenge["domain"]
        )
        decision = exchange({"op": "present", "presentation": presentation})
        closed = exchange({"op": "close"})
    except RuntimeError as exc:
        err_console.print(f"error: {exc}", markup=False)
        car.kill()
        car.wait()
        raise typer.Exit(1) from None
    car.wait(timeout=30)
    if want_json(json_):
        print_json({"ready": ready, "decision": decision, "closed": closed})
    else:
        age = ready.get("snapshot_age_ms")
        state = (
            "online, refreshed"
            if ready.get("refreshed")
            else "offline"
            if not ready.get("online")
            else "online, refresh failed"
        )
        console.print(
            f"car {vin}: {state}; snapshot height {ready.get('snapshot_height')}, "
            f"age {'-' if age is None else f'{age / 1000:.0f} s'}",
            markup=False,
        )
        if ready.get("note"):
            console.print(f"  {ready['note']}", markup=False)
        if decision["allowed"]:
            console.print(f"[bold green]✔ {action} allowed[/]")
        else:
            console.print(
                f"[bold red]✘ {action} denied[/]: {decision['reason']} — {decision['message']}"
            )
        if closed.get("logged"):
            console.print(f"  logged on chain by the car at height {closed.get('height')}")
        elif closed.get("pending"):
            console.print(
                f"  {closed['pending']} decision(s) kept in the car's log until it is online"
            )
    if not decision["allowed"]:
        raise typer.Exit(1)


_STATUS_COMMANDS = (
    (vc_app, "FILE|ID", "Credential file or id.", {
        "revoke": "Revoke a credential for good (sets its bit on the issuer's revocation list).",
        "suspend": "Suspend a credential (until resumed).",
        "resume": "Lift a suspension.",
    }),
    (access_app, "GRANT_ID", "The grant's id.", {
        "revoke": "Revoke a grant for good (the car denies it after its next refresh).",
        "suspend": "Suspend a grant until resumed.",
        "resume": "Lift a grant's suspension.",
    }),
)  # fmt: skip
for _group, _metavar, _what, _docs in _STATUS_COMMANDS:
    for _action, _doc in _docs.items():
        _group.command(_action)(_status_command(_action, _metavar, _what, _doc))
