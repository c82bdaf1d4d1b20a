"""The store page's figures against hand computations on a tiny crafted chain.

The data goes the real way (canonical CSV files through ``import_file``). N = ISO week
2026-W45 (Mon 2 to Sun 8 November 2026); its N-1 is 2025-W45 (3 to 9 November 2025), 364 days
earlier. Store S1 counts its visitors on two days of each week:

- N-1: 3 Nov 30 visitors (two hourly counts 10 + 20), 4 Nov 10 -> 40 visitors; four sales
  tickets of 2 units at 50 € on those days -> 400 €, 4 tickets, 8 units; 5 Nov (no count):
  100 €. Conversion 4/40 = 0,1, UPT 2, average price 50 €.
- N: 2 Nov 40, 3 Nov 20 -> 60 visitors; five sales tickets, 16 units for 640 €, and a return
  of 1 unit for -40 € -> 600 €, 5 tickets, 15 units; 5 Nov (no count): 60 €. Conversion
  5/60, UPT 3, average price 40 €.

S2 sells and counts on the same days (999 €, 500 visitors): nothing of it may leak into S1.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Iterator

import pytest

from chains import build_chain
from enseigne.db import connect
from enseigne.metrics import Period, compute_kpis, duckdb_backend, n1_period
from enseigne.metrics.store_view import (
    CARD_KPIS,
    TREND_KPIS,
    kpi_cards,
    kpi_trend,
    latest_verbatims,
    lmdi,
    log_mean,
    revenue_tree,
    satisfaction,
    sellers_table,
    store_overview,
    trend_buckets,
)

W45 = Period(dt.date(2026, 11, 2), dt.date(2026, 11, 8), "week")
HEADER = (
    "ticket_id;line_no;sold_at;store_code;channel;seller_code;customer_ref;sku;quantity;"
    "unit_price;discount;amount;vat_rate\n"
)
CHAIN = {
    "stores": (
        "store_code;name;region;city;surface_m2;opened_on\n"
        "S1;Lyon Part-Dieu;Auvergne-Rhône-Alpes;Lyon;100;2015-03-01\n"
        "S2;Paris Rivoli;Île-de-France;Paris;150;2016-03-01\n"
    ),
    "sellers": "seller_code;store_code;name\nV11;S1;Alice M.\nV12;S1;Basile D.\n"
               "V13;S1;Chloé R.\nV21;S2;Denis L.\n",
    "customers": (
        "customer_ref;first_name;last_name;email;phone;created_at;store_code;channel\n"
        "C1;Anne;Secret;anne.secret@exemple.fr;06 12 34 56 78;2026-11-02 10:00:00;S1;store\n"
        "C2;Bruno;Caché;;;2026-11-02 11:00:00;S1;store\n"
        "C3;Chloé;Discrète;chloe@exemple.fr;;2025-11-03 10:00:00;S1;store\n"
        "C4;David;Ailleurs;david@exemple.fr;;2025-11-03 10:00:00;S2;store\n"
    ),
    "tickets": HEADER + (
        # N-1, S1: counted days 3 and 4 Nov 2025, then 5 Nov without a count
        "P1;1;2025-11-03 10:00:00;S1;store;V11;C3;A;2;50,00;0;100,00;20\n"
        "P2;1;2025-11-03 11:00:00;S1;store;V11;;A;2;50,00;0;100,00;20\n"
        "P3;1;2025-11-04 10:00:00;S1;store;V12;;A;2;50,00;0;100,00;20\n"
        "P4;1;2025-11-04 11:00:00;S1;store;V12;C3;A;2;50,00;0;100,00;20\n"
        "P5;1;2025-11-05 10:00:00;S1;store;V11;;B;1;100,00;0;100,00;20\n"
        # N, S1: counted days 2 and 3 Nov 2026 (N6 a return), then 5 Nov without a count
        "N1;1;2026-11-02 10:00:00;S1;store;V11;C1;C;4;40,00;0;160,00;20\n"
        "N2;1;2026-11-02 11:00:00;S1;store;V11;C2;C;3;40,00;0;120,00;20\n"
        "N3;1;2026-11-02 12:00:00;S1;store;V12;;C;3;40,00;0;120,00;20\n"
        "N4;1;2026-11-03 10:00:00;S1;store;V12;C3;C;3;40,00;0;120,00;20\n"
        "N5;1;2026-11-03 11:00:00;S1;store;V11;;C;3;40,00;0;120,00;20\n"
        "N6;1;2026-11-03 12:00:00;S1;store;V12;C3;C;-1;40,00;0;-40,00;20\n"
        "N7;1;2026-11-05 10:00:00;S1;store;V12;;B;1;60,00;0;60,00;20\n"
        # S2 on the same days
        "Q1;1;2025-11-03 10:00:00;S2;store;V21;C4;D;1;999,00;0;999,00;20\n"
        "Q2;1;2026-11-02 10:00:00;S2;store;V21;C4;D;1;999,00;0;999,00;20\n"
        # 2026-W05 and 2026-W06: the ISO N-1 of 2027-W05 is 2026-W05 (2026 has 53 weeks),
        # not the week 364 days earlier
        "W5;1;2026-01-28 10:00:00;S1;store;V11;;A;1;70,00;0;70,00;20\n"
        "W6;1;2026-02-03 10:00:00;S1;store;V11;;A;1;30,00;0;30,00;20\n"
    ),
    "footfall": (
        "store_code;date;hour;visitors\n"
        "S1;2025-11-03;10;10\nS1;2025-11-03;11;20\nS1;2025-11-04;;10\n"
        "S1;2026-11-02;;40\nS1;2026-11-03;;20\n"
        "S2;2025-11-03;;500\nS2;2026-11-02;;500\n"
    ),
    "targets": "scope;kpi;period_start;period_end;value\nS1;revenue;2026-11-01;2026-11-30;3000\n",
    "surveys": (
        "response_id;answered_at;store_code;customer_ref;ticket_id;nps;csat;comment;channel\n"
        "R1;2026-11-02 18:00:00;S1;C1;N1;10;5;Accueil chaleureux;store\n"
        "R2;2026-11-03 18:00:00;;C3;N4;9;4;Rayon bien rangé;store\n"  # S1 through its ticket
        "R3;2026-11-04 18:00:00;S1;;;7;3;;store\n"
        "R4;2026-11-05 18:00:00;S1;;;3;1;Attente trop longue en caisse;store\n"
        "R5;2026-11-05 19:00:00;S2;C4;Q2;0;1;Autre magasin;store\n"
        "R6;2026-11-20 18:00:00;S1;;;10;5;Après la semaine;store\n"
        "R7;2025-11-04 18:00:00;S1;;;10;5;;store\n"
        "R8;2025-11-04 19:00:00;S1;;;5;2;;store\n"
    ),
    "feedback": (
        "feedback_id;opened_at;kind;store_code;customer_ref;channel;text;resolved_at\n"
        "F1;2026-11-03 09:00:00;complaint;S1;C1;store;Article abîmé;2026-11-04 09:00:00\n"
        "F2;2026-11-06 09:00:00;complaint;S1;C3;store;Retour refusé;2026-11-20 09:00:00\n"
        "F3;2026-11-07 09:00:00;suggestion;S1;;store;Plus de caisses le samedi;\n"
        "F4;2026-11-05 09:00:00;complaint;S2;C4;store;Autre magasin;\n"
    ),
}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    built = build_chain(tmp_path_factory.mktemp("chain") / "chain.duckdb", CHAIN)
    copy = tmp_path_factory.mktemp("view") / "chain.duckdb"
    shutil.copy(built, copy)
    con = connect(copy)
    yield duckdb_backend(con)
    con.close()


# --- revenue tree -------------------------------------------------------------------------


def test_log_mean_and_lmdi_by_hand():
    assert log_mean(2.0, 2.0) == 2.0
    assert log_mean(math.e, 1.0) == pytest.approx(math.e - 1)  # (e - 1) / (1 - 0)
    shares = lmdi([2.0, 3.0], [4.0, 3.0])  # 6 -> 12: all of it from the first factor
    assert shares == pytest.approx([6.0, 0.0])
    assert lmdi([1.0, 0.0], [1.0, 2.0]) is None  # no logarithm of 0
    assert lmdi([1.0, -1.0], [1.0, 2.0]) is None


def test_revenue_tree_matches_the_hand_lmdi(backend):
    tree = revenue_tree(backend, "S1", W45)
    assert tree["n1_period"]["start"] == dt.date(2025, 11, 3)
    assert tree["basis"] == "counted_days"
    assert tree["counted_days"] == {"value": 2, "n1": 2}
    assert tree["decomposable"] is True
    assert tree["revenue"] == {"value": 600.0, "n1": 400.0, "change": 200.0}
    factors = {f["factor"]: f for f in tree["factors"]}
    assert list(factors) == ["footfall", "conversion_rate", "upt", "avg_unit_price"]
    # value, N-1, relative change; their product is the revenue of the counted days
    assert (factors["footfall"]["n1"], factors["footfall"]["value"]) == (40, 60)
    assert factors["conversion_rate"]["n1"] == pytest.approx(0.1)
    assert factors["conversion_rate"]["value"] == pytest.approx(5 / 60)
    assert (factors["upt"]["n1"], factors["upt"]["value"]) == (2.0, 3.0)
    assert (factors["avg_unit_price"]["n1"], factors["avg_unit_price"]["value"]) == (50.0, 40.0)
    assert factors["footfall"]["change"] == pytest.approx(0.5)
    assert factors["conversion_rate"]["change"] == pytest.approx(-1 / 6)
    assert factors["avg_unit_price"]["change"] == pytest.approx(-0.2)
    # LMDI by hand: L(600, 400) = 200 / ln 1.5 = 493.26; each factor L x ln(x1 / x0)
    weight = 200 / math.log(1.5)
    expected = {
        "footfall": 200.0,  # ln 1.5: the whole change of revenue
        "conversion_rate": weight * math.log(5 / 6),  # -89.932
        "upt": 200.0,  # ln 1.5
        "avg_unit_price": weight * math.log(0.8),  # -110.068
    }
    for name, contribution in expected.items():
        assert factors[name]["contribution"] == pytest.approx(contribution, rel=1e-12), name
    assert factors["conversion_rate"]["contribution"] == pytest.approx(-89.9321, abs=1e-4)
    assert sum(f["contribution"] for f in tree["factors"]) == pytest.approx(200.0, rel=1e-12)
    # Days without a count: 60 € in N (N7), 100 € in N-1 (P5)
    assert tree["residual"] == {"value": 60.0, "n1": 100.0, "change": -40.0}
    assert tree["total"] == {"value": 660.0, "n1": 500.0, "change": 160.0}


def test_revenue_tree_contributions_and_residual_add_up_to_the_kpi_change(backend):
    tree = revenue_tree(backend, "S1", W45)
    rows = compute_kpis(backend, ["revenue"], "store", W45, compare=("n-1",), stores=["S1"])
    revenue = rows[0]
    explained = sum(f["contribution"] for f in tree["factors"]) + tree["residual"]["change"]
    assert explained == pytest.approx(revenue["value"] - revenue["n1"], rel=1e-12)


def test_a_store_without_footfall_has_no_tree_but_a_residual(backend):
    tree = revenue_tree(backend, "S1", Period(dt.date(2026, 1, 26), dt.date(2026, 2, 1)))
    assert tree["decomposable"] is False
    assert all(f["contribution"] is None for f in tree["factors"])
    assert tree["residual"] == {"value": 70.0, "n1": 0.0, "change": 70.0}  # W5


# --- trend --------------------------------------------------------------------------------


def test_day_trend_points_and_their_n1_364_days_earlier(backend):
    trend = kpi_trend(backend, "S1", ["revenue", "tickets", "footfall", "conversion_rate",
                                      "avg_basket"], W45.start, W45.end, "day")
    assert [b["start"] for b in trend["buckets"]][:3] == ["2026-11-02", "2026-11-03",
                                                            "2026-11-04"]
    assert [b["n1_start"] for b in trend["buckets"]][:3] == ["2025-11-03", "2025-11-04",
                                                               "2025-11-05"]
    series = trend["series"]
    assert series["revenue"]["value"] == [400.0, 200.0, 0.0, 60.0, 0.0, 0.0, 0.0]
    assert series["revenue"]["n1"] == [200.0, 200.0, 100.0, 0.0, 0.0, 0.0, 0.0]
    assert series["tickets"]["value"] == [3, 2, 0, 1, 0, 0, 0]  # N6 is a return
    assert series["footfall"]["value"] == [40, 20, 0, 0, 0, 0, 0]
    assert series["footfall"]["n1"] == [30, 10, 0, 0, 0, 0, 0]  # two hourly counts on 3 Nov
    assert series["conversion_rate"]["value"][:3] == [3 / 40, 2 / 20, None]  # no count: none
    assert series["conversion_rate"]["n1"][:3] == [2 / 30, 2 / 10, None]
    assert series["avg_basket"]["value"][:3] == [pytest.approx(400 / 3), 100.0, None]


def test_week_trend_points_equal_compute_kpis_for_the_same_weeks(backend):
    start, end = dt.date(2026, 10, 26), dt.date(2026, 11, 15)
    trend = kpi_trend(backend, "S1", None, start, end, "week")
    assert [b["label"] for b in trend["buckets"]] == ["2026-W44", "2026-W45", "2026-W46"]
    for index, bucket in enumerate(trend["buckets"]):
        week = Period(dt.date.fromisoformat(bucket["start"]),
                      dt.date.fromisoformat(bucket["end"]), "week")
        rows = compute_kpis(backend, list(TREND_KPIS), "store", week, compare=("n-1",),
                            stores=["S1"])
        for row in rows:
            point = trend["series"][row["kpi"]]
            for side, want in (("value", row["value"]), ("n1", row["n1"])):
                got = point[side][index]
                if want is None:  # compute_kpis has no row where the store had nothing
                    assert got in (None, 0), (bucket["label"], row["kpi"], side)
                else:
                    assert got == pytest.approx(want, rel=1e-12), (bucket["label"], row["kpi"])
    assert trend["series"]["revenue"]["value"][1] == 660.0
    assert trend["series"]["revenue"]["n1"][1] == 500.0


def test_a_week_is_compared_with_the_same_iso_week_of_last_year(backend):
    # 2027-W05 starts on 1 Feb 2027; 2026 has 53 weeks, so its N-1 is 2026-W05 (26 Jan -
    # 1 Feb 2026, ticket W5: 70 €), not the week 364 days earlier (2026-W06, ticket W6: 30 €).
    week = kpi_trend(backend, "S1", ["revenue"], dt.date(2027, 2, 1), dt.date(2027, 2, 7),
                     "week")
    assert week["buckets"] == [{"label": "2027-W05", "start": "2027-02-01",
                                "end": "2027-02-07", "n1_start": "2026-01-26",
                                "n1_end": "2026-02-01"}]
    assert week["series"]["revenue"] == {"value": [0.0], "n1": [70.0]}
    day = kpi_trend(backend, "S1", ["revenue"], dt.date(2027, 2, 2), dt.date(2027, 2, 2))
    assert day["series"]["revenue"] == {"value": [0.0], "n1": [30.0]}  # 364 days: W6


def test_month_buckets_are_cut_to_the_range_and_compared_with_the_same_days():
    buckets = trend_buckets(dt.date(2026, 10, 15), dt.date(2026, 11, 8), "month")
    assert [(b.label, b.current.start, b.current.end, b.previous.start, b.previous.end)
            for b in buckets] == [
        ("2026-10", dt.date(2026, 10, 15), dt.date(2026, 10, 31),
         dt.date(2025, 10, 16), dt.date(2025, 11, 1)),
        ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 8),
         dt.date(2025, 11, 2), dt.date(2025, 11, 9)),
    ]
    week53 = trend_buckets(dt.date(2026, 12, 28), dt.date(2027, 1, 3), "week")[0]
    assert week53.label == "2026-W53"
    # 2025 has no week 53: its week 52 stands in, as n1_period says
    assert (week53.previous.start, week53.previous.end) == (dt.date(2025, 12, 22),
                                                           dt.date(2025, 12, 28))
    assert week53.previous.start == n1_period(Period(dt.date(2026, 12, 28),
                                                     dt.date(2027, 1, 3), "week")).start


def test_month_trend_sums_the_cut_months(backend):
    trend = kpi_trend(backend, "S1", ["revenue", "units"], dt.date(2026, 10, 15),
                      dt.date(2026, 11, 8), "month")
    assert trend["series"]["revenue"] == {"value": [0.0, 660.0], "n1": [0.0, 500.0]}
    assert trend["series"]["units"] == {"value": [0.0, 16.0], "n1": [0.0, 9.0]}


def test_trend_refuses_what_it_cannot_draw(backend):
    with pytest.raises(ValueError, match="nps"):
        kpi_trend(backend, "S1", ["nps"], W45.start, W45.end)
    with pytest.raises(ValueError, match="pas inconnu"):
        kpi_trend(backend, "S1", ["revenue"], W45.start, W45.end, "hour")


# --- cards, sellers, satisfaction, verbatims ----------------------------------------------


def test_kpi_cards_carry_n1_and_target(backend):
    cards = kpi_cards(backend, "S1", W45)
    assert [c["kpi"] for c in cards] == list(CARD_KPIS)
    by_kpi = {c["kpi"]: c for c in cards}
    revenue = by_kpi["revenue"]
    assert (revenue["value"], revenue["n1"]) == (660.0, 500.0)
    assert revenue["change"] == pytest.approx(0.32)
    assert revenue["change_verdict"] == "good"
    assert revenue["target"] == pytest.approx(3000 * 7 / 30)  # the month's target, pro-rated
    assert revenue["achievement"] == pytest.approx(660 / 700)
    assert revenue["target_verdict"] == "bad"
    assert (by_kpi["tickets"]["value"], by_kpi["tickets"]["n1"]) == (6, 5)
    assert by_kpi["nps"]["value"] == pytest.approx(25.0)  # (2 - 1) / 4 promoters/detractors
    assert by_kpi["nps"]["change"] == pytest.approx(25.0)  # N-1: 1 promoter, 1 detractor
    assert all(c["rank"] is None and c["rank_region"] is None for c in cards)


def test_sellers_table_ranks_the_data_collection(backend):
    rows = sellers_table(backend, "S1", W45)
    assert [(r["seller_code"], r["name"]) for r in rows] == [
        ("V11", "Alice M."), ("V12", "Basile D.")  # V13 sold nothing: not listed
    ]
    v11, v12 = (r["kpis"] for r in rows)
    # V11: N1 (C1, new with contact), N2 (C2, new without), N5 (anonymous)
    assert (v11["tickets"]["value"], v11["revenue"]["value"]) == (3, 400.0)
    assert v11["identified_rate"]["value"] == pytest.approx(2 / 3)
    assert v11["new_customers"]["value"] == 2
    assert v11["contact_capture_rate"]["value"] == pytest.approx(0.5)
    assert v11["avg_basket"]["value"] == pytest.approx(400 / 3)
    assert v11["identified_rate"]["rank"] == 1
    # N-1: P1 (C3, recruited then, with an e-mail), P2, P5
    assert v11["identified_rate"]["n1"] == pytest.approx(1 / 3)
    assert v11["identified_rate"]["change"] == pytest.approx(1 / 3)  # in points (fraction)
    assert (v11["new_customers"]["n1"], v11["contact_capture_rate"]["n1"]) == (1, 1.0)
    # V12: N3 (anonymous), N4 (C3), N6 (a return: not a sales ticket), N7 (anonymous)
    assert (v12["tickets"]["value"], v12["revenue"]["value"]) == (3, 260.0)
    assert v12["identified_rate"]["value"] == pytest.approx(1 / 3)
    assert v12["new_customers"]["value"] == 0
    assert v12["contact_capture_rate"]["value"] is None
    assert v12["identified_rate"]["n1"] == pytest.approx(1 / 2)  # P3, P4
    assert v12["identified_rate"]["change_verdict"] == "bad"


def test_satisfaction_counts_the_nps_answers(backend):
    block = satisfaction(backend, "S1", W45)
    # R1 10/5, R2 9/4 (S1 through ticket N4), R3 7/3, R4 3/1; R5 is S2's, R6 after N
    assert block["nps_answers"] == 4
    assert block["nps_distribution"] == {"promoters": 2, "passives": 1, "detractors": 1}
    assert (block["csat_answers"], block["satisfied"]) == (4, 2)
    assert block["kpis"]["csat"]["value"] == pytest.approx(0.5)
    assert block["kpis"]["nps"]["value"] == pytest.approx(25.0)
    assert block["kpis"]["nps"]["n1"] == pytest.approx(0.0)  # R7 10, R8 5
    assert block["kpis"]["csat"]["n1"] == pytest.approx(0.5)


def test_latest_verbatims_show_words_not_people(backend):
    verbatims = latest_verbatims(backend, "S1", until=W45.end)
    assert [v["comment"] for v in verbatims["surveys"]] == [
        "Attente trop longue en caisse", "Rayon bien rangé", "Accueil chaleureux"
    ]  # R3 has no comment, R5 is S2's, R6 comes after the 8th
    assert (verbatims["surveys"][0]["nps"], verbatims["surveys"][0]["csat"]) == (3, 1)
    assert [(f["text"], f["kind"], f["status"]) for f in verbatims["feedback"]] == [
        ("Plus de caisses le samedi", "suggestion", None),
        ("Retour refusé", "complaint", "open"),  # resolved on the 20th, after the page's end
        ("Article abîmé", "complaint", "resolved"),
    ]
    text = json.dumps(verbatims, default=str)
    for secret in ("Anne", "Secret", "anne.secret", "C1", "C3", "customer"):
        assert secret not in text
    latest = latest_verbatims(backend, "S1", limit=2)
    assert [v["comment"] for v in latest["surveys"]] == [
        "Après la semaine", "Attente trop longue en caisse"
    ]
    assert latest["feedback"][1]["status"] == "resolved"  # no end: resolved on the 20th


def test_store_overview_is_json_ready(backend):
    overview = store_overview(backend, "S1", W45, step="week")
    assert overview["trend"]["step"] == "week"
    assert len(overview["trend"]["buckets"]) == 26
    assert overview["trend"]["buckets"][-1]["label"] == "2026-W45"
    assert overview["satisfaction"]["kpis"]["nps"]["value"] == pytest.approx(25.0)
    assert overview["kpis"]["conversion_rate"]["unit"] == "pct"
    json.dumps(overview, default=str)


# --- the same figures on Spark ------------------------------------------------------------


@pytest.mark.spark
def test_spark_gives_the_same_trend_tree_and_verbatims(spark, backend, tmp_path):
    from enseigne.lake import export_lake
    from enseigne.metrics.backends import spark_backend
    from enseigne.metrics.store_view import bucket_figures, trend_buckets

    export_lake(backend.con, tmp_path / "lake")
    lake = spark_backend(tmp_path / "lake")
    buckets = trend_buckets(dt.date(2026, 10, 26), dt.date(2026, 11, 15), "week")
    assert bucket_figures(lake, "S1", buckets) == bucket_figures(backend, "S1", buckets)
    assert revenue_tree(lake, "S1", W45) == revenue_tree(backend, "S1", W45)
    assert latest_verbatims(lake, "S1", until=W45.end) == latest_verbatims(
        backend, "S1", until=W45.end)
    assert satisfaction(lake, "S1", W45) == satisfaction(backend, "S1", W45)
