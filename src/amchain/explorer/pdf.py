"""The vehicle history report as a PDF (fpdf2), with a QR code linking to the proof bundle.

Fonts come from the system (Debian packages), never from the network:

* Latin text: DejaVu Sans (``fonts-dejavu-core``); without it, the PDF core font Helvetica
  (text outside Latin-1 is then replaced by ``?``).
* Chinese: the first CJK font found among :data:`CJK_FONTS` (``fonts-wqy-microhei``, which
  ``scripts/system-deps.sh`` installs; ``fonts-noto-cjk``, ``fonts-wqy-zenhei``,
  ``fonts-arphic-uming``), for the whole report. Without one, a Chinese report is written
  in English and says so on its first page.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import TableCellFillMode
from fpdf.fonts import FontFace

from amchain.explorer import views

DEJAVU = "/usr/share/fonts/truetype/dejavu/"
LATIN_FONTS = ((DEJAVU + "DejaVuSans.ttf", DEJAVU + "DejaVuSans-Bold.ttf"),)
CJK_FONTS = (  # fonts with Latin letters and digits as well as CJK (not a fallback-only font)
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

INK = (17, 24, 39)
MUTED = (75, 85, 99)
BAD = (185, 28, 28)
WARN = (146, 64, 14)
OK = (21, 128, 61)
LINE = (37, 99, 235)
GRID = (209, 213, 219)
BAD_FILL = (254, 242, 242)
HEAD = FontFace(emphasis="BOLD", color=MUTED, fill_color=(255, 255, 255))
REFUSED_ROW = FontFace(color=BAD, fill_color=BAD_FILL)


@dataclass(frozen=True)
class Fonts:
    family: str
    unicode: bool
    cjk: bool


def find_cjk_font() -> Path | None:
    """The first CJK font installed on this system, or None."""
    for candidate in CJK_FONTS:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def _setup_fonts(pdf: FPDF, lang: str) -> Fonts:
    """Register the report's font family: the CJK font for Chinese, DejaVu Sans otherwise.

    (The CJK fonts cover Latin text too; one family per document avoids mixing fonts
    within a line.)
    """
    cjk_path = find_cjk_font() if lang == "zh" else None
    if cjk_path is not None:
        pdf.add_font("cjk", "", str(cjk_path))
        pdf.add_font("cjk", "B", str(cjk_path))  # no bold face: same glyphs
        return Fonts("cjk", unicode=True, cjk=True)
    for regular, bold in LATIN_FONTS:
        if Path(regular).is_file() and Path(bold).is_file():
            pdf.add_font("body", "", regular)
            pdf.add_font("body", "B", bold)
            return Fonts("body", unicode=True, cjk=False)
    return Fonts("Helvetica", unicode=False, cjk=False)


class _ReportPDF(FPDF):
    footer_text = ""
    page_label = "{page}"
    report_fonts: Fonts

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.report_fonts.family, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.footer_text, align="L")
        self.set_x(-40)
        self.cell(25, 5, self.page_label.format(page=self.page_no()), align="R")


def _qr_png(link: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def _clean(text: str, fonts: Fonts) -> str:
    if fonts.unicode:
        return text
    return text.replace("·", "-").replace("→", "->").encode("latin-1", "replace").decode("latin-1")


def _heading(pdf: _ReportPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(pdf.report_fonts.family, "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 7, _clean(text, pdf.report_fonts), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*GRID)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_font(pdf.report_fonts.family, "", 9)


def _chart(pdf: _ReportPDF, history: Mapping[str, Any]) -> bool:
    chart = views.odometer_chart(history, width=640, height=240)
    if chart is None:
        return False
    width_mm = pdf.w - pdf.l_margin - pdf.r_margin
    scale = width_mm / chart.width
    height_mm = chart.height * scale
    if pdf.get_y() + height_mm > pdf.h - 20:
        pdf.add_page()
    x0, y0 = pdf.l_margin, pdf.get_y()

    def at(x: float, y: float) -> tuple[float, float]:
        return x0 + x * scale, y0 + y * scale

    pdf.set_font(pdf.report_fonts.family, "", 6.5)
    pdf.set_text_color(*MUTED)
    pdf.set_draw_color(*GRID)
    pdf.set_line_width(0.2)
    for y, label in chart.y_ticks:
        ax, ay = at(chart.left, y)
        bx, _ = at(chart.width - chart.right, y)
        pdf.line(ax, ay, bx, ay)
        pdf.text(x0, ay + 1, label)
    for x, label in chart.x_ticks:
        tx, ty = at(x, chart.height - chart.bottom + 14)
        pdf.text(max(x0, tx - pdf.get_string_width(label) / 2), ty, label)
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.5)
    for a, b in zip(chart.line, chart.line[1:], strict=False):
        pdf.line(*at(a.x, a.y), *at(b.x, b.y))
    pdf.set_fill_color(*LINE)
    for point in chart.line:
        cx, cy = at(point.x, point.y)
        pdf.circle(cx, cy, 0.9, style="F")
    pdf.set_draw_color(*BAD)
    pdf.set_line_width(0.6)
    for top, mark in chart.mark_links:
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.line(*at(top.x, top.y), *at(mark.x, mark.y))
        pdf.set_dash_pattern()
    for mark in chart.marks:
        cx, cy = at(mark.x, mark.y)
        pdf.line(cx - 1.8, cy - 1.8, cx + 1.8, cy + 1.8)
        pdf.line(cx - 1.8, cy + 1.8, cx + 1.8, cy - 1.8)
    pdf.set_y(y0 + height_mm + 2)
    pdf.set_line_width(0.2)
    pdf.set_fill_color(255, 255, 255)
    return True


def render_report_pdf(
    history: Mapping[str, Any],
    *,
    lang: str,
    org_names: Mapping[str, str],
    proof_link: str,
    chain_id: str,
    as_of_time_ms: int | None,
) -> bytes:
    """The vehicle history report for ``history`` (``GET /v1/vehicles/{vin}/history``)."""
    pdf = _ReportPDF(format="A4")
    pdf.report_fonts = _setup_fonts(pdf, lang)
    fonts = pdf.report_fonts
    fallback_note = lang == "zh" and not fonts.cjk
    if fallback_note:
        lang = "en"
    tr = views.translator(lang)
    flags = history["flags"]
    vin = str(history["vin"])
    pdf.set_title(f"{tr('pdf.title')} {vin}")
    pdf.set_author("AutoMobile Chain")
    pdf.set_creator("amchain explorer")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.footer_text = _clean(
        f"{vin} · " + tr("pdf.generated", height=history.get("as_of_height"), chain=chain_id),
        fonts,
    )
    pdf.page_label = tr("pdf.page", page="{page}")
    pdf.add_page()

    def text(value: Any) -> str:
        return _clean(str(value), fonts)

    # Title block with the QR code on the right.
    qr_size = 34
    qr_x = pdf.w - pdf.r_margin - qr_size
    pdf.image(_qr_png(proof_link), x=qr_x, y=12, w=qr_size, h=qr_size)
    pdf.set_xy(qr_x - 6, 12 + qr_size)
    pdf.set_font(fonts.family, "", 6.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(qr_size + 12, 3, text(tr("pdf.scan")), align="C", new_x="LEFT", new_y="NEXT")
    pdf.multi_cell(qr_size + 12, 3, "amchain verify FILE", align="C")
    pdf.set_xy(pdf.l_margin, 15)
    text_w = qr_x - pdf.l_margin - 4
    pdf.set_font(fonts.family, "B", 18)
    pdf.set_text_color(*INK)
    pdf.multi_cell(text_w, 9, text(tr("pdf.title")), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font(fonts.family, "B", 13)
    pdf.multi_cell(
        text_w,
        7,
        text(f"{history['make']} {history['model']} {history['model_year']} · {vin}"),
        new_x="LMARGIN",
        new_y="NEXT",
        align="L",
    )
    pdf.set_font(fonts.family, "", 8.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        text_w,
        4.5,
        text(
            tr(
                "vehicle.as_of",
                height=history.get("as_of_height"),
                time=views.fmt_time(as_of_time_ms) + " UTC",
            )
        ),
        new_x="LMARGIN",
        new_y="NEXT",
        align="L",
    )
    if fallback_note:
        pdf.multi_cell(
            text_w, 4.5, tr("pdf.font_fallback"), new_x="LMARGIN", new_y="NEXT", align="L"
        )
    pdf.set_y(max(pdf.get_y() + 3, 12 + qr_size + 10))

    # Summary line.
    parts = views.vehicle_summary(history, tr)
    worst = (
        "bad"
        if any(t == "bad" for _, t in parts)
        else ("warn" if any(t == "warn" for _, t in parts) else "ok")
    )
    colour = {"bad": BAD, "warn": WARN, "ok": OK}[worst]
    pdf.set_draw_color(*colour)
    pdf.set_text_color(*colour)
    pdf.set_line_width(0.6)
    pdf.set_font(fonts.family, "B", 11)
    pdf.multi_cell(
        0, 7, text(views.summary_text(history, tr)), border=1, padding=2, align="L",
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.set_line_width(0.2)
    pdf.set_text_color(*INK)

    # Identity and flags.
    _heading(pdf, tr("vehicle.identity"))
    manufacturer = str(flags.get("manufacturer", ""))
    rows = [
        (tr("vehicle.vin"), vin),
        (tr("vehicle.make"), history["make"]),
        (tr("vehicle.model"), history["model"]),
        (tr("vehicle.year"), history["model_year"]),
        (tr("vehicle.did"), history["did"]),
        (tr("vehicle.manufacturer"), org_names.get(manufacturer, manufacturer)),
        (tr("vehicle.owners"), flags.get("owners_count")),
        (tr("vehicle.owner"), flags.get("owner")),
        (tr("vehicle.last_km"), f"{views.fmt_km(flags.get('last_odometer_km'))} km"),
        (tr("vehicle.events"), history.get("event_count")),
    ]
    flag_lines = [
        tr("flag.stolen") if flags.get("stolen") else tr("flag.not_stolen"),
        tr(
            "flag.recalls",
            n=len(flags.get("open_recalls", [])),
            campaigns=", ".join(flags.get("open_recalls", [])),
        )
        if flags.get("open_recalls")
        else tr("flag.no_recalls"),
        tr("flag.rollback") if flags.get("refused_odometer_rollbacks") else tr("flag.odometer_ok"),
    ]
    if flags.get("scrapped"):
        flag_lines.append(tr("flag.scrapped"))
    rows.append((tr("vehicle.flags"), " · ".join(flag_lines)))
    pdf.set_font(fonts.family, "", 9)
    with pdf.table(
        col_widths=(45, 135),
        first_row_as_headings=False,
        borders_layout="HORIZONTAL_LINES",
        line_height=5,
        text_align="LEFT",
        cell_fill_mode=TableCellFillMode.NONE,
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(text(label))
            row.cell(text(value))
    complete = flags.get("complete")
    pdf.ln(1)
    pdf.set_text_color(*(OK if complete else BAD))
    pdf.multi_cell(
        0,
        4.5,
        text(
            tr("vehicle.complete", count=history.get("event_count"))
            if complete
            else tr("vehicle.incomplete")
        ),
        new_x="LMARGIN",
        new_y="NEXT",
        align="L",
    )
    pdf.set_text_color(*INK)

    # Odometer chart.
    _heading(pdf, tr("vehicle.odometer"))
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        0, 4.5, text(tr("vehicle.odometer_desc")), new_x="LMARGIN", new_y="NEXT", align="L"
    )
    pdf.set_text_color(*INK)
    if not _chart(pdf, history):
        pdf.cell(0, 5, text(tr("vehicle.odometer_none")), new_x="LMARGIN", new_y="NEXT")

    # Timeline.
    _heading(pdf, tr("vehicle.timeline"))
    pdf.set_font(fonts.family, "", 8)
    items = views.timeline(history, tr, org_names)
    with pdf.table(
        col_widths=(8, 30, 32, 20, 38, 52),
        borders_layout="HORIZONTAL_LINES",
        line_height=4.2,
        cell_fill_mode=TableCellFillMode.NONE,
        headings_style=HEAD,
        text_align="LEFT",
    ) as table:
        head = table.row()
        for label in ("col.seq", "col.time", "col.event", "col.odometer", "col.by", "col.details"):
            head.cell(text(tr(label)))
        for item in items:
            refused = item.kind == "refused"
            row = table.row(style=REFUSED_ROW if refused else None)
            row.cell("" if item.seq is None else str(item.seq))
            row.cell(text(views.fmt_time(item.time_ms)))
            row.cell(text(("✕ " if refused and fonts.unicode else "") + item.label))
            row.cell(text("" if item.odometer_km is None else f"{item.odometer_km:,} km"))
            row.cell(text(item.by))
            row.cell(text("; ".join(f"{d.label}: {d.value}" for d in item.details)))

    # Accidents and claims.
    _heading(pdf, tr("vehicle.accidents"))
    rows_acc = views.accidents(history)
    if not rows_acc:
        pdf.cell(0, 5, text(tr("vehicle.no_accidents")), new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.set_font(fonts.family, "", 8)
        with pdf.table(
            col_widths=(10, 30, 30, 55, 55),
            borders_layout="HORIZONTAL_LINES",
            line_height=4.2,
            cell_fill_mode=TableCellFillMode.NONE,
            headings_style=HEAD,
            text_align="LEFT",
        ) as table:
            head = table.row()
            for label in ("col.seq", "col.date", "col.severity", "col.claim", "col.repair"):
                head.cell(text(tr(label)))
            for acc in rows_acc:
                row = table.row()
                row.cell(str(acc.seq))
                row.cell(views.fmt_date(acc.time_ms))
                row.cell(text(acc.severity))
                row.cell(
                    text(
                        "; ".join(
                            views.fmt_amount(int(c.get("amount_minor", 0)), c.get("currency", ""))
                            + f" ({c.get('status', '')})"
                            for c in acc.claims
                        )
                        or "—"
                    )
                )
                row.cell(
                    text("; ".join(", ".join(r.get("parts_replaced", [])) for r in acc.repairs))
                    or "—"
                )

    # Refused rollbacks.
    attempts = flags.get("refused_odometer_rollbacks", [])
    if attempts:
        _heading(pdf, tr("vehicle.rollbacks"))
        pdf.set_text_color(*BAD)
        for attempt in attempts:
            tried = attempt.get("tried_by") or [{}]
            who = tried[0].get("org") or tried[0].get("public_key", "")
            pdf.multi_cell(
                0,
                4.5,
                text(
                    f"{views.fmt_time(attempt.get('time_ms'))} UTC · "
                    + tr(
                        "vehicle.rollback_item",
                        attempted=views.fmt_km(attempt.get("attempted_km")),
                        last=views.fmt_km(attempt.get("last_km")),
                    )
                    + " · "
                    + tr("vehicle.rollback_by", who=org_names.get(who, who))
                    + f" · tx {attempt.get('tx_hash', '')[:16]}… @ {attempt.get('height')}"
                ),
                new_x="LMARGIN",
                new_y="NEXT",
                align="L",
            )
        pdf.set_text_color(*INK)

    # How to verify.
    _heading(pdf, tr("vehicle.verify"))
    pdf.multi_cell(
        0, 4.5, text(tr("vehicle.verify_text")), new_x="LMARGIN", new_y="NEXT", align="L"
    )
    pdf.set_text_color(*LINE)
    pdf.multi_cell(
        0, 4.5, text(proof_link), link=proof_link, new_x="LMARGIN", new_y="NEXT", align="L"
    )
    pdf.set_text_color(*INK)
    pdf.set_font(fonts.family, "B", 9)
    pdf.multi_cell(0, 5, text(tr("vehicle.verify_cmd")), new_x="LMARGIN", new_y="NEXT", align="L")
    return bytes(pdf.output())
