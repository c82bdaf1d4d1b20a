"""Numbers, money, percentages and dates as a French (or English) reader expects them.

Pure functions over Babel. French output keeps Babel's spaces as they are: a narrow
no-break space (U+202F) between thousands and a no-break space (U+00A0) before ``€`` and
``%``, so a figure never wraps across two lines. ``None`` (a KPI without a denominator)
shows as an em dash everywhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache

from babel import Locale
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_skeleton
from babel.numbers import NumberPattern, parse_pattern

LOCALES = {"fr": "fr_FR", "en": "en_US"}
DEFAULT_LANG = "fr"
MISSING = "—"
NBSP = "\u00a0"

Number = int | float | Decimal

# Short unit words put after a number; the currency and percent signs come from the locale.
_UNIT_WORDS = {
    "fr": {"points": "pts", "days": "j", "eur_m2": "€/m²"},
    "en": {"points": "pts", "days": "d", "eur_m2": "€/m²"},
}


@cache
def locale_for(lang: str) -> Locale:
    return Locale.parse(LOCALES.get(lang, LOCALES[DEFAULT_LANG]))


@cache
def _pattern(lang: str, kind: str, digits: int, signed: bool) -> NumberPattern:
    """The locale's own pattern for ``kind`` with exactly ``digits`` decimals."""
    loc = locale_for(lang)
    source = {
        "decimal": loc.decimal_formats[None],
        "percent": loc.percent_formats[None],
        "currency": loc.currency_formats["standard"],
    }[kind]
    pattern = parse_pattern(source.pattern)
    pattern.frac_prec = (digits, digits)
    if signed:
        plus = loc.number_symbols["latn"]["plusSign"]
        pattern.prefix = (plus + pattern.prefix[0], pattern.prefix[1])
    return pattern


def _apply(value: Number, lang: str, kind: str, digits: int, signed: bool = False) -> str:
    pattern = _pattern(lang, kind, digits, signed and value > 0)
    # Half up, as a reader (or a spreadsheet) rounds: 2,345 -> 2,35, not banker's 2,34.
    with localcontext(rounding=ROUND_HALF_UP):
        return pattern.apply(
            value, locale_for(lang), currency="EUR" if kind == "currency" else None
        )


def money(value: Number | None, lang: str = DEFAULT_LANG, digits: int = 2) -> str:
    """``1 234,56 €`` (fr), ``€1,234.56`` (en)."""
    if value is None:
        return MISSING
    return _apply(value, lang, "currency", digits)


def number(value: Number | None, lang: str = DEFAULT_LANG, digits: int | None = None) -> str:
    """Grouped digits; ``digits`` decimals (default: none for integers, 1 otherwise)."""
    if value is None:
        return MISSING
    if digits is None:
        digits = 0 if isinstance(value, int) else 1
    return _apply(value, lang, "decimal", digits)


def percent(fraction: Number | None, lang: str = DEFAULT_LANG, digits: int = 1) -> str:
    """A fraction as a percentage: 0.25 -> ``25,0 %`` (fr), ``25.0%`` (en)."""
    if fraction is None:
        return MISSING
    return _apply(fraction, lang, "percent", digits)


def date(value: dt.date | dt.datetime | None, lang: str = DEFAULT_LANG) -> str:
    """``23/11/2026`` (fr), ``11/23/2026`` (en): four-digit years."""
    if value is None:
        return MISSING
    if isinstance(value, dt.datetime):
        value = value.date()
    return format_skeleton("yMd", value, locale=locale_for(lang))


def datetime(value: dt.datetime | None, lang: str = DEFAULT_LANG) -> str:
    """``23/11/2026 14:05``."""
    if value is None:
        return MISSING
    return f"{date(value, lang)} {_babel_datetime(value, 'HH:mm', locale=locale_for(lang))}"


def delta(
    value: Number | None, lang: str = DEFAULT_LANG, kind: str = "percent", digits: int = 1
) -> str:
    """A change with its sign: ``+12,5 %``, ``-3,0 pts``, ``+1 234,00 €``; zero has none.

    ``kind``: ``percent`` (a relative change given as a fraction), ``points`` (a difference
    of two rates, in percentage points, given as a fraction of 1), ``money`` or ``number``.
    """
    if value is None:
        return MISSING
    if kind == "percent":
        return _apply(value, lang, "percent", digits, signed=True)
    if kind == "points":
        points = _apply(value * 100, lang, "decimal", digits, signed=True)
        return f"{points}{NBSP}{_UNIT_WORDS[_lang(lang)]['points']}"
    if kind == "money":
        return _apply(value, lang, "currency", digits, signed=True)
    if kind == "number":
        return _apply(value, lang, "decimal", digits, signed=True)
    raise ValueError(f"unknown delta kind {kind!r}")


def _lang(lang: str) -> str:
    return lang if lang in LOCALES else DEFAULT_LANG


def kpi_value(value: Number | None, unit: str, lang: str = DEFAULT_LANG) -> str:
    """A KPI value in its catalogue unit (eur, count, ratio, pct, points, days, eur_m2)."""
    if value is None:
        return MISSING
    words = _UNIT_WORDS[_lang(lang)]
    if unit == "eur":
        return money(value, lang)
    if unit == "count":
        return number(round(value), lang, 0)
    if unit == "ratio":
        return number(value, lang, 2)
    if unit == "pct":
        return percent(value, lang)
    if unit == "points":
        return number(value, lang, 1)
    if unit == "days":
        return f"{number(value, lang, 1)}{NBSP}{words['days']}"
    if unit == "eur_m2":
        return f"{number(value, lang, 0)}{NBSP}{words['eur_m2']}"
    raise ValueError(f"unknown KPI unit {unit!r}")
