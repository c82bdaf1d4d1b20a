"""The KPI catalogue is the single declaration: docs, contract and engine follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from enseigne.metrics import CATALOGUE, KPIS, UnknownKpiError, resolve
from enseigne.metrics.compute import FAMILY_OF
from enseigne.metrics.docs import render

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "KPIS.md"


def test_docs_page_is_generated_from_the_catalogue() -> None:
    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert page == render(), "docs/kpis.md is stale: run python -m enseigne.metrics.docs"


def test_every_kpi_is_documented_with_both_languages() -> None:
    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    for kpi in CATALOGUE:
        assert f"`{kpi.id}`" in page
        assert kpi.label_fr and kpi.label_en and kpi.definition_fr and kpi.definition_en


@pytest.mark.skipif(not CONTRACT.exists(), reason="the KPI contract is not next to the repo")
def test_catalogue_covers_the_contract_exactly() -> None:
    rows = re.findall(r"^\| ([a-z0-9_]+) \| ([^|]+) \|", CONTRACT.read_text(), re.MULTILINE)
    contract = {kpi_id: label.strip() for kpi_id, label in rows if kpi_id != "id"}
    assert list(contract) == list(KPIS)
    for kpi_id, label in contract.items():
        assert KPIS[kpi_id].label_fr == label


def test_every_measure_a_formula_needs_has_a_family() -> None:
    for kpi in CATALOGUE:
        assert set(kpi.needs) <= set(FAMILY_OF), kpi.id


def test_unknown_kpi_is_named() -> None:
    with pytest.raises(UnknownKpiError, match="bogus"):
        resolve(["revenue", "bogus"])


@pytest.mark.parametrize(
    ("kpi_id", "value", "reference", "change", "verdict"),
    [
        ("revenue", 110.0, 100.0, pytest.approx(0.1), "good"),
        ("return_rate", 0.05, 0.04, pytest.approx(0.01), "bad"),  # rates move in points
        ("nps", 20.0, 35.0, -15.0, "bad"),
        ("complaints", 3, 5, pytest.approx(-0.4), "good"),
        ("web_share", 0.3, 0.2, pytest.approx(0.1), None),
        ("revenue", 10.0, 0.0, None, None),
    ],
)
def test_change_and_verdict_follow_the_better_direction(
    kpi_id: str, value: float, reference: float, change: object, verdict: str | None
) -> None:
    kpi = KPIS[kpi_id]
    assert kpi.change(value, reference) == change
    assert kpi.verdict(kpi.change(value, reference)) == verdict
