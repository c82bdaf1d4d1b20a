"""A minimal XLSX writer: sheets of text and numbers with number formats, nothing else.

Spreadsheet readers want figures they can compute with, shown as they read them: 0.125
displayed as 12,5 %, 1234.5 as 1 234,50 €. DuckDB's excel extension writes numbers without
a format (a rate would show as 0.125) and openpyxl is not a runtime dependency, so the few
XML parts of an Office Open XML workbook are written here: inline strings (no shared
string table), one number format per column, a bold header row and frozen panes.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

Value = str | int | float | None

# Characters XML 1.0 forbids: they would make the whole file unreadable.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_FIRST_CUSTOM_FORMAT = 164  # ids below are Excel's built-in formats


@dataclass(frozen=True)
class Column:
    header: str
    number_format: str = "General"
    width: float = 12.0


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Value]]
    freeze_rows: int = 1
    freeze_columns: int = 0
    bold_rows: frozenset[int] = field(default_factory=frozenset)  # 0-based data rows


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file's bytes."""
    formats = sorted({c.number_format for s in sheets for c in s.columns} - {"General"})
    format_ids = {code: _FIRST_CUSTOM_FORMAT + i for i, code in enumerate(formats)}
    # Cell styles: 0 plain, 1 bold header, then per format a plain and a bold one.
    styles = {("General", False): 0, ("General", True): 1}
    for i, code in enumerate(formats):
        styles[(code, False)] = 2 + 2 * i
        styles[(code, True)] = 3 + 2 * i
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _content_types(len(sheets)))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _workbook_xml(sheets))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        archive.writestr("xl/styles.xml", _styles_xml(formats, format_ids))
        for number, sheet in enumerate(sheets, start=1):
            archive.writestr(f"xl/worksheets/sheet{number}.xml", _sheet_xml(sheet, styles))
    return buffer.getvalue()


def _text(value: str) -> str:
    return escape(_ILLEGAL.sub("", value), {'"': "&quot;"})


def _cell(ref: str, value: Value, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'


def _sheet_xml(sheet: Sheet, styles: dict[tuple[str, bool], int]) -> str:
    letters = [column_letter(i) for i in range(len(sheet.columns))]
    header = "".join(
        _cell(f"{letters[i]}1", c.header, styles[("General", True)])
        for i, c in enumerate(sheet.columns)
    )
    rows = [f'<row r="1">{header}</row>']
    for r, values in enumerate(sheet.rows):
        bold = r in sheet.bold_rows
        cells = "".join(
            _cell(f"{letters[i]}{r + 2}", value, styles[(sheet.columns[i].number_format, bold)])
            for i, value in enumerate(values)
        )
        rows.append(f'<row r="{r + 2}">{cells}</row>')
    widths = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{c.width}" customWidth="1"/>'
        for i, c in enumerate(sheet.columns)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f"<sheetViews>{_pane(sheet)}</sheetViews>"
        f"<cols>{widths}</cols><sheetData>{''.join(rows)}</sheetData></worksheet>"
    )


def _pane(sheet: Sheet) -> str:
    x, y = sheet.freeze_columns, sheet.freeze_rows
    if not x and not y:
        return '<sheetView workbookViewId="0"/>'
    active = {(True, True): "bottomRight", (True, False): "topRight"}.get(
        (bool(x), bool(y)), "bottomLeft"
    )
    split = (f' xSplit="{x}"' if x else "") + (f' ySplit="{y}"' if y else "")
    top_left = f"{column_letter(x)}{y + 1}"
    return (
        f'<sheetView workbookViewId="0"><pane{split} topLeftCell="{top_left}" '
        f'activePane="{active}" state="frozen"/>'
        f'<selection pane="{active}" activeCell="{top_left}" sqref="{top_left}"/></sheetView>'
    )


def _styles_xml(formats: list[str], format_ids: dict[str, int]) -> str:
    numfmts = "".join(
        f'<numFmt numFmtId="{format_ids[code]}" formatCode="{_text(code)}"/>' for code in formats
    )
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>']
    for code in formats:
        for font, apply_font in ((0, ""), (1, ' applyFont="1"')):
            xfs.append(
                f'<xf numFmtId="{format_ids[code]}" fontId="{font}" fillId="0" borderId="0" '
                f'xfId="0" applyNumberFormat="1"{apply_font}/>'
            )
    numfmts = f'<numFmts count="{len(formats)}">{numfmts}</numFmts>' if formats else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_MAIN_NS}">{numfmts}'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def _workbook_xml(sheets: Sequence[Sheet]) -> str:
    entries = "".join(
        f'<sheet name="{_text(_sheet_name(s.name))}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>{entries}</sheets></workbook>'
    )


def _sheet_name(name: str) -> str:
    return _SHEET_NAME.sub(" ", name)[:31] or "Sheet"


def _workbook_rels(count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" '
        f'Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{_PKG_REL_NS}">{sheets}'
        f'<Relationship Id="rId{count + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )


def _content_types(count: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_TYPE}"/>'
        for i in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{sheets}</Types>"
    )


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
