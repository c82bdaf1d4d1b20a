"""Periods and their N-1: parse_period, n1_period, Period, and KPIs over calendar edges.

Expected dates are worked out by hand: ISO weeks start on Monday and week 1 holds the year's
first Thursday, so 2026 (starting on a Thursday) has 53 weeks and 2025 has 52.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from chains import build_chain
from enseigne.db import connect
from enseigne.metrics import Period, compute_kpis, duckdb_backend, n1_period, parse_period


def span(period: Period) -> tuple[date, date]:
    return period.start, period.end


@pytest.mark.parametrize(("text", "start", "end", "kind"), [
    ("2026-11-03", date(2026, 11, 3), date(2026, 11, 3), "day"),
    ("2026-W47", date(2026, 11, 16), date(2026, 11, 22), "week"),
    ("2026-W01", date(2025, 12, 29), date(2026, 1, 4), "week"),  # starts in the year before
    ("2026-W53", date(2026, 12, 28), date(2027, 1, 3), "week"),  # ends in the year after
    ("2027-W01", date(2027, 1, 4), date(2027, 1, 10), "week"),
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30), "month"),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29), "month"),  # leap year
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "quarter"),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "quarter"),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), "year"),
])
def test_parse_period(text, start, end, kind):
    period = parse_period(text)
    assert (period.start, period.end, period.kind) == (start, end, kind)
    assert period.days == (end - start).days + 1


@pytest.mark.parametrize(("start_month", "start", "end"), [
    (1, date(2026, 1, 1), date(2026, 12, 31)),
    (4, date(2026, 4, 1), date(2027, 3, 31)),  # named by the calendar year it starts in
    (10, date(2026, 10, 1), date(2027, 9, 30)),
])
def test_fiscal_year_starts_on_the_configured_month(start_month, start, end):
    assert span(parse_period("FY2026", fiscal_start_month=start_month)) == (start, end)


@pytest.mark.parametrize("text", ["2025-W53", "2026-W54", "2026-W00", "2026-13", "2026-Q5",
                                  "2026-02-30", "novembre"])
def test_impossible_periods_are_refused(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_period_counts_its_days_and_defaults_to_custom():
    period = Period(date(2026, 2, 10), date(2026, 3, 5))
    assert (period.kind, period.days) == ("custom", 24)  # 19 days of February + 5 of March
    assert parse_period("2028").days == 366
    assert isinstance(period.label, str)
    assert period.label


@pytest.mark.parametrize(("text", "weekday", "calendar"), [
    # weekday: 364 days earlier, the same weekdays
    ("2026-11-03", (date(2025, 11, 4), date(2025, 11, 4)),
     (date(2025, 11, 3), date(2025, 11, 3))),
    ("2026-11", (date(2025, 11, 2), date(2025, 12, 1)),
     (date(2025, 11, 1), date(2025, 11, 30))),
    ("2026-Q4", (date(2025, 10, 2), date(2026, 1, 1)),
     (date(2025, 10, 1), date(2025, 12, 31))),
    ("2026", (date(2025, 1, 2), date(2026, 1, 1)), (date(2025, 1, 1), date(2025, 12, 31))),
    # weeks: ISO week N of the year before (2025-W47 = 17-23 Nov 2025)
    ("2026-W47", (date(2025, 11, 17), date(2025, 11, 23)),
     (date(2025, 11, 16), date(2025, 11, 22))),
])
def test_n1_weekday_and_calendar(text, weekday, calendar):
    period = parse_period(text)
    assert span(n1_period(period)) == weekday
    assert span(n1_period(period, mode="weekday")) == weekday
    assert span(n1_period(period, mode="calendar")) == calendar
    assert n1_period(period).start.weekday() == period.start.weekday()


def test_n1_of_a_custom_range():
    period = Period(date(2026, 2, 10), date(2026, 3, 5))
    assert span(n1_period(period)) == (date(2025, 2, 11), date(2025, 3, 6))  # - 364 days
    assert span(n1_period(period, mode="calendar")) == (date(2025, 2, 10), date(2025, 3, 5))


@pytest.mark.parametrize(("text", "start", "end"), [
    # 2025 has no week 53: 2026-W53 compares with 2025-W52, not with 364 days earlier
    # (which would be 2025-12-29..2026-01-04, i.e. 2026-W01 itself)
    ("2026-W53", date(2025, 12, 22), date(2025, 12, 28)),
    # the week after a 53-week year: week 1 of the year before, not 2026-W02
    ("2027-W01", date(2025, 12, 29), date(2026, 1, 4)),
    ("2026-W01", date(2024, 12, 30), date(2025, 1, 5)),
    ("2021-W01", date(2019, 12, 30), date(2020, 1, 5)),  # after 2020, another 53-week year
])
def test_n1_of_a_week_is_the_same_iso_week_number(text, start, end):
    assert span(n1_period(parse_period(text))) == (start, end)


# --- KPIs over the calendar's edges, through the real import -------------------------------


def network(path: Path, period: Period, kpis: list[str] | None = None, **options) -> dict:
    con = connect(path)
    try:
        rows = compute_kpis(duckdb_backend(con), kpis=kpis, grain="network", period=period,
                            **options)
    finally:
        con.close()
    return {row["kpi"]: row for row in rows}


TICKETS = "ticket_id;line_no;sold_at;store_code;customer_ref;sku;quantity;amount;vat_rate\n"
WEEKS = {
    "stores": "store_code;name;region;surface_m2\nS1;Lyon;Rhône;100\nS3;Paris;Paris;150\n",
    "tickets": TICKETS + (
        "W1;1;2025-12-24 10:00:00;S1;;A;1;60,00;20\n"  # 2025-W52
        "W2;1;2025-12-29 10:00:00;S1;;B;1;21,10;5,5\n"  # 2026-W01
        "W3;1;2026-01-03 10:00:00;S3;;C;1;36,00;20\n"  # 2026-W01
        "W4;1;2026-01-06 10:00:00;S3;;C;2;72,00;20\n"  # 2026-W02
        "W5;1;2026-12-29 10:00:00;S1;;A;2;120,00;20\n"  # 2026-W53
        "W6;1;2027-01-03 23:30:00;S3;;D;1;10,55;5,5\n"  # 2026-W53, its last evening
        "W7;1;2027-01-05 10:00:00;S1;;C;1;36,00;20\n"  # 2027-W01
    ),
}


def test_week_53_is_compared_with_week_52(tmp_path):
    db = tmp_path / "weeks.duckdb"
    build_chain(db, WEEKS)
    w53 = network(db, parse_period("2026-W53"), ["revenue", "tickets"], compare=("n-1",))
    assert (w53["revenue"]["value"], w53["tickets"]["value"]) == (
        pytest.approx(130.55, rel=1e-12), 2)  # W5 120 + W6 10.55
    assert (w53["revenue"]["n1"], w53["tickets"]["n1"]) == (
        pytest.approx(60.0, rel=1e-12), 1)  # W1, 2025-W52
    w01 = network(db, parse_period("2027-W01"), ["revenue"], compare=("n-1",))
    assert w01["revenue"]["value"] == pytest.approx(36.0, rel=1e-12)  # W7
    assert w01["revenue"]["n1"] == pytest.approx(57.10, rel=1e-12)  # 2026-W01: W2 21.10 + W3 36


END = date(2026, 11, 30)
EDGES = {
    "stores": "store_code;name;region;surface_m2\nS1;Lyon;Rhône;100\n",
    "customers": "customer_ref;email\nB1;b1@exemple.fr\nB2;\nB3;\nB4;\nB5;\n"
                 "B6;b6@exemple.fr\nB7;\n",
    "consents": (
        "customer_ref;channel;status;collected_at\n"
        "B6;email;opt_in;2026-11-30 14:00:00\n"  # during the period's last day: counts
        "B1;email;opt_in;2026-12-01 00:00:00\n"  # the day after: not yet
    ),
    "tickets": TICKETS + "".join(
        f"{ticket};1;{sold_at};S1;{customer};A;1;12,00;20\n"
        for ticket, sold_at, customer in (
            ("K1", "2025-12-01 08:00:00", "B1"),  # 364 days before the end: active
            ("K2", "2025-11-30 23:59:00", "B2"),  # 365 days: not active, dormant
            ("K3", "2023-12-01 12:00:00", "B3"),  # 1095 days: dormant
            ("K4", "2023-11-30 12:00:00", "B4"),  # 1096 days: lost
            ("K5", "2025-11-29 12:00:00", "B5"),  # 366 days before the start: no cohort
            ("K5B", "2026-11-30 09:00:00", "B5"),
            ("K6", "2026-11-29 23:59:00", "B6"),  # the day before the start: cohort
            ("K6B", "2026-11-30 00:00:00", "B6"),
            ("K7", "2026-11-30 23:59:00", "B7"),  # the period's last minute: a new customer
        )
    ),
}


def test_trailing_windows_count_whole_calendar_days(tmp_path):
    assert (END - date(2025, 12, 1), END - date(2023, 12, 1)) == (timedelta(364),
                                                                   timedelta(1095))
    db = tmp_path / "edges.duckdb"
    build_chain(db, EDGES)
    rows = network(db, Period(END, END, "day"), compare=())
    expected = {
        "revenue": 36.0,  # K5B + K6B + K7
        "tickets": 3,
        "active_customers": 4,  # B1 B5 B6 B7 (2025-12-01..2026-11-30)
        "dormant_customers": 2,  # B2 (365 days) B3 (1095 days)
        "new_customers": 1,  # B7
        "retention_rate": 1 / 3,  # cohort (2025-11-30..2026-11-29) B1 B2 B6: B6 came back
        "repeat_rate": 1 / 3,  # buyers B5 B6 B7: B6 twice in the trailing 365 days
        "optin_email_rate": 1 / 4,  # B6 of the 4 active
    }
    got = {kpi: rows[kpi]["value"] for kpi in expected}
    assert got == {kpi: pytest.approx(want, rel=1e-12) for kpi, want in expected.items()}
