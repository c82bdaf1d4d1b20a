"""The dashboard table as a spreadsheet: XLSX (numbers with formats) and CSV.

One row per scope, in the page's order: the network (or the user's stores), then each
region's stores followed by the region's subtotal, then the web. For each KPI: value, N-1,
change, target, achievement and rank. Headers are in the reader's language.

Values are numbers. In XLSX a rate stays a fraction under a percent format (0.125 shows as
12,5 %), so it computes like any spreadsheet percentage. CSV has no formats: rates are
written in percent (12,5) under a "(%)" header, with ``;`` and a decimal comma in French
(what French Excel opens), ``,`` and a point in English, UTF-8 with a BOM so that Excel
reads the accents right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from enseigne.web import xlsx
from enseigne.web.formats import date as format_date
from enseigne.web.i18n import translate

# Per kind of value: (XLSX format fr, XLSX format en, CSV decimals, CSV multiplier).
FORMATS: dict[str, tuple[str, str, int, int]] = {
    "text": ("General", "General", 0, 1),
    "eur": ('#,##0.00\\ "€"', '"€"#,##0.00', 2, 1),
    "eur_m2": ('#,##0\\ "€/m²"', '#,##0\\ "€/m²"', 2, 1),
    "count": ("#,##0", "#,##0", 2, 1),  # counts are integers, pro-rated targets are not
    "rank": ("0", "0", 0, 1),
    "ratio": ("0.00", "0.00", 4, 1),
    "days": ("0.0", "0.0", 2, 1),
    "number": ("0.0", "0.0", 2, 1),
    "fraction": ("0.0%", "0.0%", 2, 100),
    "fraction_change": ("+0.0%;-0.0%;0.0%", "+0.0%;-0.0%;0.0%", 2, 100),
    "points_change": ('+0.0" pts";-0.0" pts";0.0" pts"', '+0.0" pts";-0.0" pts";0.0" pts"', 2, 1),
    "number_change": ("+0.0;-0.0;0.0", "+0.0;-0.0;0.0", 2, 1),
}
VALUE_KIND = {"eur": "eur", "eur_m2": "eur_m2", "count": "count", "ratio": "ratio",
              "pct": "fraction", "points": "number", "days": "days"}
CHANGE_KIND = {"percent": "fraction_change", "points": "points_change", "number": "number_change"}
UNIT_WORD = {"eur": "€", "eur_m2": "€/m²", "fraction": "%", "fraction_change": "%",
             "points_change": "pts"}
SEPARATORS = {"fr": (";", ","), "en": (",", ".")}


@dataclass(frozen=True)
class ExportColumn:
    header: str
    kind: str
    width: float = 14.0


def _unit(kind: str, lang: str) -> str:
    word = UNIT_WORD.get(kind) or ({"fr": "j", "en": "d"}[lang] if kind == "days" else "")
    return f" ({word})" if word else ""


def columns(context: dict[str, Any], lang: str) -> list[ExportColumn]:
    t = lambda key, **values: translate(key, lang, **values)  # noqa: E731
    found = [ExportColumn(t("dashboard.export.level"), "text", 14),
             ExportColumn(t("dashboard.export.code"), "text", 10),
             ExportColumn(t("dashboard.export.name"), "text", 30),
             ExportColumn(t("dashboard.export.region"), "text", 24)]
    for column in context["columns"]:
        label, value_kind = column["label"], VALUE_KIND[column["unit"]]
        change_kind = CHANGE_KIND[column["change_kind"]]
        found += [
            ExportColumn(t("dashboard.export.value", label=label, unit=_unit(value_kind, lang)),
                         value_kind),
            ExportColumn(t("dashboard.export.n1", label=label, unit=_unit(value_kind, lang)),
                         value_kind),
            ExportColumn(t("dashboard.export.change", label=label,
                           unit=_unit(change_kind, lang)), change_kind),
            ExportColumn(t("dashboard.export.target", label=label,
                           unit=_unit(value_kind, lang)), value_kind),
            ExportColumn(t("dashboard.export.achievement", label=label), "fraction"),
            ExportColumn(t("dashboard.export.rank", label=label), "rank", 8),
        ]
    return found


def scope_rows(context: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(level, row) in the page's order."""
    yield "network", context["network"]
    by_code = {row["scope"]: row for row in context["stores"]}
    for region in context["regions"]:
        for code in region["stores"]:
            yield "store", by_code.pop(code)
        yield "region", region
    for row in by_code.values():
        yield "store", row


def rows(context: dict[str, Any], lang: str) -> tuple[list[list[Any]], set[int]]:
    """The table's values, and which rows are totals (shown in bold)."""
    levels = {
        "network": context["scope"]["label"],
        "region": translate("dashboard.export.level_region", lang),
        "store": translate("dashboard.export.level_store", lang),
    }
    table: list[list[Any]] = []
    totals = set()
    for level, row in scope_rows(context):
        if level != "store":
            totals.add(len(table))
        code = row["scope"] if level != "network" else None
        region = {"store": row.get("region"), "region": row["name"]}.get(level)
        values: list[Any] = [levels[level], code, row.get("label", row["name"]), region]
        for column in context["columns"]:
            values += _cells(row["kpis"].get(column["id"]), column["change_kind"])
        table.append(values)
    return table, totals


def _cells(cell: dict[str, Any] | None, change_kind: str) -> list[Any]:
    if cell is None:
        return [None] * 6
    change = cell["change"]
    if change is not None and change_kind == "points":
        change = change * 100  # a difference of two rates, in percentage points
    return [cell["value"], cell["n1"], change, cell["target"], cell["achievement"], cell["rank"]]


def csv_bytes(context: dict[str, Any], lang: str) -> bytes:
    separator, decimal = SEPARATORS[lang if lang in SEPARATORS else "fr"]
    header = columns(context, lang)
    table, _ = rows(context, lang)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([c.header for c in header])
    for values in table:
        writer.writerow([_csv_value(v, c.kind, decimal) for v, c in zip(values, header,
                                                                         strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Any, kind: str, decimal: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    _, _, digits, multiplier = FORMATS[kind]
    if isinstance(value, int) and multiplier == 1:
        return str(value)
    return f"{value * multiplier:.{digits}f}".replace(".", decimal)


def xlsx_bytes(context: dict[str, Any], lang: str) -> bytes:
    fmt = 0 if lang == "fr" else 1
    header = columns(context, lang)
    table, totals = rows(context, lang)
    main = xlsx.Sheet(
        name=translate("dashboard.export.sheet", lang),
        columns=[xlsx.Column(c.header, FORMATS[c.kind][fmt], c.width) for c in header],
        rows=table, freeze_rows=1, freeze_columns=3, bold_rows=frozenset(totals),
    )
    return xlsx.workbook([main, _parameters(context, lang)])


def _parameters(context: dict[str, Any], lang: str) -> xlsx.Sheet:
    """What the figures are about: period, comparison, scope."""
    t = lambda key, **values: translate(key, lang, **values)  # noqa: E731
    period, n1 = context["period"], context["n1_period"]
    facts = [
        (t("dashboard.export.period"), context["period_title"]),
        (t("dashboard.export.from"), format_date(period["start"], lang)),
        (t("dashboard.export.to"), format_date(period["end"], lang)),
        (t("dashboard.export.n1_from"), format_date(n1["start"], lang)),
        (t("dashboard.export.n1_to"), format_date(n1["end"], lang)),
        (t("dashboard.export.scope"), context["scope"]["label"]),
        (t("dashboard.export.stores"), context["scope"]["store_count"]),
        (t("dashboard.lfl"), t("dashboard.export.yes" if context["like_for_like"]
                               else "dashboard.export.no")),
    ]
    return xlsx.Sheet(
        name=t("dashboard.export.parameters"),
        columns=[xlsx.Column(t("dashboard.export.parameter"), width=32),
                 xlsx.Column(t("dashboard.export.setting"), width=32)],
        rows=[list(fact) for fact in facts],
    )


def filename(context: dict[str, Any], lang: str, extension: str) -> str:
    label = context["picker"]["values"].get(context["picker"]["kind"], context["period"]["label"])
    safe = "".join(c if c.isalnum() or c == "-" else "_" for c in label)
    return f"{translate('dashboard.export.filename', lang)}-{safe}.{extension}"
