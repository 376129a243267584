"""What the pages show, computed from the API's JSON: summaries, timelines, chart geometry.

Pure functions (no I/O), shared by the HTML pages and the PDF report.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from amchain.explorer.i18n import has_string, translate
from amchain.sdk import QueryInfo, resolve_schema, without_null

Tr = Callable[..., str]

HASH_FIELDS_SUFFIX = "_hash"
DETAIL_FIELDS = (
    "buyer", "new_owner", "region", "work_items", "parts_replaced", "severity",
    "airbags_deployed", "amount_minor", "status", "source", "campaign", "passed",
    "accident_seq", "recall_campaign", "make", "model", "plant", "manufacturer",
)  # fmt: skip


def translator(lang: str) -> Tr:
    def tr(key: str, /, **values: Any) -> str:
        return translate(lang, key, **values)

    return tr


def labeller(lang: str) -> Callable[[str, Any], str]:
    """``label("pool", "mining")``: the UI string ``pool.mining`` if there is one, else the
    value itself (a pool or rule named by another chain's genesis)."""

    def label(prefix: str, value: Any) -> str:
        key = f"{prefix}.{value}"
        return translate(lang, key) if has_string(key) else str(value)

    return label


def fmt_time(ms: Any) -> str:
    if not isinstance(ms, int):
        return "—"
    when = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def fmt_date(ms: Any) -> str:
    if not isinstance(ms, int):
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


def fmt_km(km: Any) -> str:
    return f"{km:,}" if isinstance(km, int) else "—"


def short(text: str | None, keep: int = 10) -> str:
    if not text:
        return ""
    return text if len(text) <= keep + 2 else f"{text[:keep]}…"


def fmt_amount(minor: int, currency: str) -> str:
    return f"{minor // 100:,}.{minor % 100:02d} {currency}"


def fmt_units(minor: Any, decimals: int = 0) -> str:
    """Minor units as a decimal amount: ``2500000, 6`` → ``2.50`` (trailing zeros dropped,
    two decimals kept)."""
    if not isinstance(minor, int):
        return "—"
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals) if decimals else (abs(minor), 0)
    if not decimals:
        return f"{sign}{whole:,}"
    digits = f"{fraction:0{decimals}d}".rstrip("0")
    digits = digits.ljust(min(2, decimals), "0")
    return f"{sign}{whole:,}.{digits}"


@dataclass(frozen=True)
class PieceRow:
    """A voucher piece in the tree, in depth-first order."""

    piece: Mapping[str, Any]
    depth: int


def voucher_tree(pieces: Sequence[Mapping[str, Any]]) -> list[PieceRow]:
    """The pieces of a voucher depth first from the original (``parent`` links), children
    in the order they were made."""
    children: dict[int | None, list[Mapping[str, Any]]] = {}
    for piece in sorted(pieces, key=lambda p: int(p["no"])):
        children.setdefault(piece.get("parent"), []).append(piece)
    rows: list[PieceRow] = []
    stack = [(piece, 0) for piece in reversed(children.get(None, []))]
    while stack:
        piece, depth = stack.pop()
        rows.append(PieceRow(piece, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(piece["no"], [])))
    return rows


# -- vehicle report ------------------------------------------------------------------------


def vehicle_summary(history: Mapping[str, Any], tr: Tr) -> list[tuple[str, str]]:
    """The headline facts, as ``(text, tone)`` with tone ``ok``, ``warn`` or ``bad``."""
    flags = history["flags"]
    owners = int(flags.get("owners_count", 0))
    accidents = int(flags.get("accidents", {}).get("count", 0))
    rollbacks = flags.get("refused_odometer_rollbacks", [])
    parts: list[tuple[str, str]] = [
        (tr("summary.owner") if owners == 1 else tr("summary.owners", n=owners), "ok")
    ]
    if accidents == 0:
        parts.append((tr("summary.no_accidents"), "ok"))
    elif accidents == 1:
        parts.append((tr("summary.accident"), "warn"))
    else:
        parts.append((tr("summary.accidents", n=accidents), "warn"))
    if rollbacks:
        last = rollbacks[-1]
        if len(rollbacks) == 1:
            text = tr(
                "summary.rollback",
                date=fmt_date(last.get("time_ms")),
                last=fmt_km(last.get("last_km")),
                attempted=fmt_km(last.get("attempted_km")),
            )
        else:
            text = tr("summary.rollbacks", n=len(rollbacks), date=fmt_date(last.get("time_ms")))
        parts.append((text, "bad"))
    else:
        parts.append((tr("summary.odometer_ok"), "ok"))
    if flags.get("stolen"):
        parts.append((tr("summary.stolen"), "bad"))
    if flags.get("open_recalls"):
        parts.append((tr("summary.recalls", n=len(flags["open_recalls"])), "warn"))
    if flags.get("scrapped"):
        parts.append((tr("summary.scrapped"), "warn"))
    for lien in flags.get("liens") or []:
        parts.append((tr("summary.lien", holder=lien.get("holder", "?")), "warn"))
    return parts


def summary_text(history: Mapping[str, Any], tr: Tr) -> str:
    return " · ".join(text for text, _tone in vehicle_summary(history, tr))


@dataclass
class Detail:
    label: str
    value: str
    link: str | None = None


@dataclass
class TimelineItem:
    kind: str  # "event" or "refused"
    type: str
    label: str
    time_ms: int | None
    height: int | None
    tx_hash: str
    seq: int | None = None
    odometer_km: int | None = None
    by: str = ""
    by_link: str | None = None
    details: list[Detail] = field(default_factory=list)


def _detail_value(name: str, value: Any, fields: Mapping[str, Any], tr: Tr) -> Detail:
    label = tr(f"field.{name}")
    if isinstance(value, bool):
        return Detail(label, tr("yes") if value else tr("no"))
    if isinstance(value, list):
        return Detail(label, ", ".join(str(v) for v in value) or "—")
    if name == "amount_minor" and isinstance(value, int):
        return Detail(label, fmt_amount(value, str(fields.get("currency", ""))))
    if isinstance(value, str) and value.startswith("did:"):
        return Detail(label, value, f"/dids/{value}")
    return Detail(label, str(value))


def _who(recorded_by: str, org_names: Mapping[str, str]) -> tuple[str, str | None]:
    if recorded_by.startswith("did:"):
        return recorded_by, f"/dids/{recorded_by}"
    name = org_names.get(recorded_by)
    return (f"{name} ({recorded_by})" if name and name != recorded_by else recorded_by), (
        f"/orgs#org-{recorded_by}"
    )


def timeline(
    history: Mapping[str, Any], tr: Tr, org_names: Mapping[str, str]
) -> list[TimelineItem]:
    """Every history entry in order, with refused rollback attempts placed where they happened."""
    items: list[TimelineItem] = []
    for entry in history["events"]:
        fields = entry.get("fields", {})
        details = [
            _detail_value(name, fields[name], fields, tr)
            for name in DETAIL_FIELDS
            if name in fields and fields[name] is not None and fields[name] != []
        ]
        by, by_link = _who(str(entry.get("recorded_by", "")), org_names)
        items.append(
            TimelineItem(
                kind="event",
                type=entry["type"],
                label=tr(f"event.{entry['type']}"),
                time_ms=entry.get("time_ms"),
                height=entry.get("height"),
                tx_hash=entry.get("tx_hash", ""),
                seq=entry.get("seq"),
                odometer_km=entry.get("odometer_km"),
                by=by,
                by_link=by_link,
                details=details,
            )
        )
    for attempt in history["flags"].get("refused_odometer_rollbacks", []):
        tried = attempt.get("tried_by") or [{}]
        who = tried[0].get("org") or tried[0].get("did") or short(tried[0].get("public_key"))
        by, by_link = _who(str(who or ""), org_names)
        refused = TimelineItem(
            kind="refused",
            type="rollback_refused",
            label=tr("event.rollback_refused"),
            time_ms=attempt.get("time_ms"),
            height=attempt.get("height"),
            tx_hash=attempt.get("tx_hash", ""),
            odometer_km=attempt.get("attempted_km"),
            by=by,
            by_link=by_link,
            details=[
                Detail(
                    tr("col.details"),
                    tr(
                        "vehicle.rollback_item",
                        attempted=fmt_km(attempt.get("attempted_km")),
                        last=fmt_km(attempt.get("last_km")),
                    ),
                )
            ],
        )
        # After the last entry committed at or before the attempt's height.
        position = len(items)
        for index, item in enumerate(items):
            if item.kind == "event" and (item.height or 0) > (refused.height or 0):
                position = index
                break
        items.insert(position, refused)
    return items


@dataclass
class AccidentRow:
    seq: int
    time_ms: int | None
    severity: str
    airbags: bool
    odometer_km: int | None
    claims: list[dict[str, Any]]
    repairs: list[dict[str, Any]]


def accidents(history: Mapping[str, Any]) -> list[AccidentRow]:
    """Each accident with the insurance claims and repairs that name it."""
    rows: dict[int, AccidentRow] = {}
    for entry in history["events"]:
        fields = entry.get("fields", {})
        if entry["type"] == "accident":
            rows[entry["seq"]] = AccidentRow(
                seq=entry["seq"],
                time_ms=entry.get("time_ms"),
                severity=str(fields.get("severity", "")),
                airbags=bool(fields.get("airbags_deployed")),
                odometer_km=entry.get("odometer_km"),
                claims=[],
                repairs=[],
            )
        elif entry["type"] in ("insurance_claim", "repaired"):
            target = rows.get(fields.get("accident_seq", -1))
            if target is not None:
                kind = target.claims if entry["type"] == "insurance_claim" else target.repairs
                kind.append({**fields, "seq": entry["seq"], "time_ms": entry.get("time_ms")})
    return list(rows.values())


# -- charts ----------------------------------------------------------------------------------


def nice_step(span: float, ticks: int = 5) -> int:
    """A round step (1, 2 or 5 × 10^k) giving about ``ticks`` intervals over ``span``."""
    if span <= 0:
        return 1
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return max(1, int(mult * power))
    return max(1, int(10 * power))


@dataclass
class ChartPoint:
    x: float
    y: float
    label: str


@dataclass
class Chart:
    """Geometry of a chart in a ``width`` × ``height`` box (SVG user units, y down)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    line: list[ChartPoint] = field(default_factory=list)
    marks: list[ChartPoint] = field(default_factory=list)  # refused attempts
    mark_links: list[tuple[ChartPoint, ChartPoint]] = field(default_factory=list)
    bars: list[tuple[float, float, float, float, str]] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.line)


def odometer_chart(history: Mapping[str, Any], width: int = 720, height: int = 280) -> Chart | None:
    """Odometer readings over time, and refused rollback attempts as marks; None if no data."""
    readings = [
        (int(e["time_ms"]), int(e["odometer_km"]), e)
        for e in history["events"]
        if e.get("odometer_km") is not None and e.get("time_ms") is not None
    ]
    attempts = [
        a
        for a in history["flags"].get("refused_odometer_rollbacks", [])
        if a.get("time_ms") is not None and a.get("attempted_km") is not None
    ]
    if not readings and not attempts:
        return None
    times = [t for t, _, _ in readings] + [int(a["time_ms"]) for a in attempts]
    values = [km for _, km, _ in readings] + [int(a["attempted_km"]) for a in attempts]
    values += [int(a["last_km"]) for a in attempts if a.get("last_km") is not None]
    t0, t1 = min(times), max(times)
    if t1 == t0:
        t0, t1 = t0 - 1000, t1 + 1000
    step = nice_step(max(values) or 1)
    top_value = step * math.ceil((max(values) or 1) / step)
    chart = Chart(width, height, left=64, right=16, top=16, bottom=40, y_ticks=[], x_ticks=[])
    plot_w = width - chart.left - chart.right
    plot_h = height - chart.top - chart.bottom

    def x_of(t: int) -> float:
        return chart.left + (t - t0) / (t1 - t0) * plot_w

    def y_of(km: int) -> float:
        return chart.top + plot_h - km / top_value * plot_h

    chart.y_ticks = [(y_of(v), f"{v:,}") for v in range(0, top_value + 1, step)]
    spans_days = (t1 - t0) > 2 * 86_400_000
    fmt = fmt_date if spans_days else (lambda ms: fmt_time(ms)[11:19])
    chart.x_ticks = [(x_of(t), fmt(t)) for t in (t0, (t0 + t1) // 2, t1)]
    chart.line = [
        ChartPoint(x_of(t), y_of(km), f"#{e.get('seq')} {e['type']}: {km:,} km, {fmt_time(t)}")
        for t, km, e in readings
    ]
    for attempt in attempts:
        t = int(attempt["time_ms"])
        mark = ChartPoint(
            x_of(t),
            y_of(int(attempt["attempted_km"])),
            f"refused: {int(attempt['attempted_km']):,} km, {fmt_time(t)}",
        )
        chart.marks.append(mark)
        if attempt.get("last_km") is not None:
            chart.mark_links.append((ChartPoint(mark.x, y_of(int(attempt["last_km"])), ""), mark))
    return chart


@dataclass
class Rates:
    window_s: int
    blocks_per_s: float
    txs_per_s: float


def rates(blocks: Sequence[Mapping[str, Any]], now_ms: int, window_s: int = 60) -> Rates:
    """Blocks and transactions per second over the last ``window_s`` seconds."""
    since = now_ms - window_s * 1000
    recent = [b for b in blocks if int(b["time_ms"]) > since]
    return Rates(
        window_s,
        len(recent) / window_s,
        sum(int(b["tx_count"]) for b in recent) / window_s,
    )


def tx_rate_chart(
    blocks: Sequence[Mapping[str, Any]],
    now_ms: int,
    *,
    minutes: int = 5,
    bucket_s: int = 10,
    width: int = 720,
    height: int = 220,
    min_label: str = "min",
    now_label: str = "now",
) -> Chart:
    """Transactions per second in ``bucket_s`` buckets over the last ``minutes``, as bars."""
    count = minutes * 60 // bucket_s
    start = now_ms - count * bucket_s * 1000
    sums = [0] * count
    for block in blocks:
        t = int(block["time_ms"])
        if start <= t < now_ms + 1:
            index = min(count - 1, (t - start) // (bucket_s * 1000))
            sums[index] += int(block["tx_count"])
    per_s = [s / bucket_s for s in sums]
    peak = max(per_s) if any(per_s) else 1.0
    step = nice_step(peak) if peak >= 5 else 1
    top_value = max(step, step * math.ceil(peak / step))
    chart = Chart(width, height, left=48, right=12, top=12, bottom=32, y_ticks=[], x_ticks=[])
    plot_w = width - chart.left - chart.right
    plot_h = height - chart.top - chart.bottom
    bar_w = plot_w / count
    for index, value in enumerate(per_s):
        bar_h = value / top_value * plot_h
        chart.bars.append(
            (
                chart.left + index * bar_w + 1,
                chart.top + plot_h - bar_h,
                max(bar_w - 2, 1),
                bar_h,
                f"{fmt_time(start + index * bucket_s * 1000)[11:19]}: {value:.1f} tx/s",
            )
        )
    chart.y_ticks = [
        (chart.top + plot_h - v / top_value * plot_h, f"{v:g}")
        for v in range(0, int(top_value) + 1, step)
    ]
    chart.x_ticks = [
        (chart.left, f"−{minutes} {min_label}"),
        (chart.left + plot_w / 2, f"−{minutes / 2:g} {min_label}"),
        (chart.left + plot_w, now_label),
    ]
    return chart


# -- module pages --------------------------------------------------------------------------


def query_params(query: QueryInfo, given: Mapping[str, str]) -> dict[str, Any]:
    """A query form's text values typed by the query's parameter schema (an integer field
    becomes an int; the node checks the rest).

    Raises:
        ValueError: a value that is not of its field's type.
    """
    fields = query.fields()
    params: dict[str, Any] = {}
    for name, text in given.items():
        schema = without_null(
            resolve_schema(fields.get(name, {}), query.params_schema), query.params_schema
        )
        kind = schema.get("type")
        if kind == "integer":
            try:
                params[name] = int(text)
            except ValueError:
                raise ValueError(f"{name} is an integer, not {text!r}") from None
        elif kind == "boolean":
            params[name] = text.lower() in ("1", "true", "yes", "on")
        else:
            params[name] = text
    return params
