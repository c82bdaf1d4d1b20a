"""Property tests of the validators: each example writes one small file of many generated rows."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enseigne.ingest import import_file

PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
TICKETS = "ticket_id;line_no;sold_at;store_code;sku;quantity;unit_price;amount\n"
SEPARATORS = ["", " ", ".", "\u202f", "\u00a0"]


def reset(con: duckdb.DuckDBPyConnection) -> None:
    """Examples share the test's database file: start each from the stores alone."""
    for table in ("ticket_lines", "tickets", "products", "customers", "quarantine",
                  "import_log"):
        con.execute(f"DELETE FROM {table}")


def group(digits: str, separator: str) -> str:
    """'1234567' -> '1 234 567' with the given thousands separator."""
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


@st.composite
def french_amounts(draw: st.DrawFn) -> tuple[Decimal, str]:
    cents = draw(st.integers(min_value=-10**11, max_value=10**11))
    value = Decimal(cents) / 100
    units, rest = divmod(abs(cents), 100)
    text = group(str(units), draw(st.sampled_from(SEPARATORS)))
    decimals = draw(st.sampled_from([2, 1, 0][: 3 if rest == 0 else 2 if rest % 10 == 0 else 1]))
    if decimals == 0:
        text = str(units)  # a lone "1.234" is ambiguous: exports write whole amounts plainly
    else:
        text += "," + f"{rest:02d}"[:decimals]
    text = ("-" if cents < 0 else "") + text
    text += draw(st.sampled_from(["", " €", "€", "\u00a0€"]))
    return value, text


@PROPERTY_SETTINGS
@given(amounts=st.lists(french_amounts(), min_size=1, max_size=40))
def test_french_amounts_are_stored_exactly(stores, tmp_path: Path, amounts):
    reset(stores)
    body = "".join(f"T{i};1;03/01/2025;S01;P1;1;;{text}\n" for i, (_, text) in enumerate(amounts))
    path = tmp_path / "amounts.csv"
    path.write_text(TICKETS + body, encoding="utf-8")
    summary = import_file(stores, "tickets", path)
    assert summary.rejected == 0, stores.execute("SELECT value, reason FROM quarantine").fetchall()
    stored = dict(stores.execute("SELECT ticket_id, amount FROM ticket_lines").fetchall())
    assert stored == {f"T{i}": value for i, (value, _) in enumerate(amounts)}


MOBILE_FORMATS = [
    lambda d: "0" + " ".join([d[0]] + [d[i:i + 2] for i in range(1, 9, 2)]),  # 06 12 34 56 78
    lambda d: "+33 " + " ".join([d[0]] + [d[i:i + 2] for i in range(1, 9, 2)]),
    lambda d: "0033" + d,
    lambda d: "0" + ".".join([d[0]] + [d[i:i + 2] for i in range(1, 9, 2)]),
    lambda d: "0" + d,
    lambda d: "+33" + d,
    lambda d: "0" + "-".join([d[0]] + [d[i:i + 2] for i in range(1, 9, 2)]),
    lambda d: "+33 (0)" + d,
]
mobiles = st.tuples(st.sampled_from("67"), st.text("0123456789", min_size=8, max_size=8))


@PROPERTY_SETTINGS
@given(numbers=st.lists(
    st.tuples(mobiles, st.integers(0, len(MOBILE_FORMATS) - 1)), min_size=1, max_size=40))
def test_french_mobiles_normalise_to_one_e164(stores, tmp_path: Path, numbers):
    reset(stores)
    rows = [(f"C{i}", MOBILE_FORMATS[f](a + b)) for i, ((a, b), f) in enumerate(numbers)]
    path = tmp_path / "customers.csv"
    path.write_text("customer_ref;phone\n" + "".join(f"{r};{p}\n" for r, p in rows), "utf-8")
    summary = import_file(stores, "customers", path)
    assert summary.rejected == 0
    stored = dict(stores.execute("SELECT customer_ref, phone FROM customers").fetchall())
    assert stored == {f"C{i}": "+33" + a + b for i, ((a, b), _) in enumerate(numbers)}


def looks_numeric(text: str) -> bool:
    cleaned = re.sub(r"[\s\u00a0\u202f€%]", "", text).replace(",", ".")
    try:
        float(cleaned)
    except ValueError:
        return False
    return True


garbage = st.text(
    alphabet=st.sampled_from("abcdefxyzEéèçàœ€%-+.,/ 0123456789"), min_size=1, max_size=12
).filter(lambda s: s.strip() and re.search(r"[a-zA-Zéèçàœ]", s) and not looks_numeric(s))


@PROPERTY_SETTINGS
@given(values=st.lists(st.tuples(garbage, st.sampled_from(["quantity", "unit_price", "amount"])),
                       min_size=1, max_size=40))
def test_text_in_numeric_columns_is_always_rejected(stores, tmp_path: Path, values):
    reset(stores)
    lines = []
    for i, (text, column) in enumerate(values):
        row = {"quantity": "1", "unit_price": "2,50", "amount": "2,50", column: text}
        lines.append(f"T{i};1;03/01/2025;S01;P1;{row['quantity']};{row['unit_price']};"
                     f"{row['amount']}\n")
    lines.append("OK;1;03/01/2025;S01;P1;1;2,50;2,50\n")  # one good row is still loaded
    path = tmp_path / "garbage.csv"
    path.write_text(TICKETS + "".join(lines), encoding="utf-8")
    summary = import_file(stores, "tickets", path)
    assert (summary.rows_loaded, summary.rejected) == (1, len(values))
    assert stores.execute("SELECT ticket_id FROM ticket_lines").fetchall() == [("OK",)]
    quarantined = stores.execute(
        'SELECT line, "column", value FROM quarantine ORDER BY line').fetchall()
    assert quarantined == [(i + 2, column, text.strip() or None)
                           for i, (text, column) in enumerate(values)]


@pytest.mark.parametrize(("digits", "separator", "grouped"), [
    ("1234567", " ", "1 234 567"), ("123", ".", "123"), ("1000", ".", "1.000")])
def test_group_helper(digits, separator, grouped):
    assert group(digits, separator) == grouped
