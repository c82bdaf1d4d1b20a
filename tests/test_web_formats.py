"""Locale formats: the exact strings a French (or English) reader sees, Babel's spaces kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseigne.web import formats
from enseigne.web.i18n import CatalogueError, _check_complete, _merge, catalogue, translate

NNBSP = "\u202f"  # narrow no-break space: Babel's French thousands separator
NBSP = "\u00a0"  # no-break space: before € and % in French


@pytest.mark.parametrize(("value", "lang", "expected"), [
    (1234.56, "fr", f"1{NNBSP}234,56{NBSP}€"),
    (Decimal("1234.56"), "fr", f"1{NNBSP}234,56{NBSP}€"),
    (Decimal("-1234.5"), "fr", f"-1{NNBSP}234,50{NBSP}€"),
    (0, "fr", f"0,00{NBSP}€"),
    (1234567.891, "fr", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
    (1234.56, "en", "€1,234.56"),
    (None, "fr", "—"),
])
def test_money(value, lang, expected):
    assert formats.money(value, lang) == expected


def test_number_and_percent():
    assert formats.number(1234567, "fr") == f"1{NNBSP}234{NNBSP}567"
    assert formats.number(1234.567, "fr") == f"1{NNBSP}234,6"
    assert formats.number(2.5, "fr", 2) == "2,50"
    assert formats.number(1234567, "en") == "1,234,567"
    assert formats.percent(0.25, "fr") == f"25,0{NBSP}%"
    assert formats.percent(0.12345, "fr", 2) == f"12,35{NBSP}%"
    assert formats.percent(0.25, "en") == "25.0%"
    assert formats.percent(None, "en") == "—"


def test_dates():
    day = dt.date(2026, 11, 23)
    assert formats.date(day, "fr") == "23/11/2026"
    assert formats.date(day, "en") == "11/23/2026"
    assert formats.date(dt.datetime(2026, 1, 5, 9, 7), "fr") == "05/01/2026"
    assert formats.datetime(dt.datetime(2026, 1, 5, 9, 7), "fr") == "05/01/2026 09:07"
    assert formats.date(None) == "—"


def test_delta_carries_its_sign():
    assert formats.delta(0.125, "fr") == f"+12,5{NBSP}%"
    assert formats.delta(-0.03, "fr") == f"-3,0{NBSP}%"
    assert formats.delta(0, "fr") == f"0,0{NBSP}%"
    assert formats.delta(0.021, "fr", kind="points") == f"+2,1{NBSP}pts"
    assert formats.delta(1234, "fr", kind="money") == f"+1{NNBSP}234,00{NBSP}€"
    assert formats.delta(-12, "fr", kind="number", digits=0) == "-12"
    assert formats.delta(0.125, "en") == "+12.5%"
    assert formats.delta(1234, "en", kind="money") == "+€1,234.00"
    assert formats.delta(None) == "—"
    with pytest.raises(ValueError, match="unknown delta kind"):
        formats.delta(1, "fr", kind="bogus")


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (Decimal("45.5"), "eur", f"45,50{NBSP}€"),
    (1234, "count", f"1{NNBSP}234"),
    (2.345, "ratio", "2,35"),
    (0.314, "pct", f"31,4{NBSP}%"),
    (42.0, "points", "42,0"),
    (3.25, "days", f"3,3{NBSP}j"),
    (2543.2, "eur_m2", f"2{NNBSP}543{NBSP}€/m²"),
    (None, "eur", "—"),
])
def test_kpi_values_in_french(value, unit, expected):
    assert formats.kpi_value(value, unit, "fr") == expected


def test_unknown_language_falls_back_to_french_and_unknown_unit_fails():
    assert formats.money(1, "de") == f"1,00{NBSP}€"
    with pytest.raises(ValueError, match="unknown KPI unit"):
        formats.kpi_value(1, "furlongs")


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))
def test_french_money_reads_back_as_the_amount(amount):
    shown = formats.money(amount, "fr")
    assert shown.endswith(f"{NBSP}€")
    digits = shown.removesuffix(f"{NBSP}€").replace(NNBSP, "").replace(",", ".")
    assert Decimal(digits) == amount


def test_catalogues_have_every_key_in_both_languages():
    texts = catalogue()
    assert set(texts["fr"]) == set(texts["en"])
    assert translate("nav.dashboard", "fr") == "Tableau de bord réseau"
    assert translate("nav.dashboard", "en") == "Network dashboard"
    assert translate("dashboard.store_count", "fr", count=3) == "Magasins dans votre périmètre : 3"
    with pytest.raises(KeyError):
        translate("no.such.key", "fr")


def test_catalogue_merge_refuses_duplicates_and_gaps():
    merged = {"fr": {"a": "A"}, "en": {"a": "A"}}
    with pytest.raises(CatalogueError, match="already defined"):
        _merge(merged, {"fr": {"a": "B"}}, "other.json")
    with pytest.raises(CatalogueError, match="without a en text"):
        _check_complete({"fr": {"a": "A", "b": "B"}, "en": {"a": "A"}})
