"""Amounts parsed by the CSV reader itself: the same results as the SQL casts, whatever the
file holds (a value only the SQL casts read, or a number to refuse, sends the whole file
back through the text path)."""

from __future__ import annotations

from decimal import Decimal

from enseigne.ingest import import_file

TICKETS = "ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n"


def test_plain_french_amounts_load_exactly(stores, write_csv):
    body = "T1;1;03/01/2025 10:15;S01;P1;2;12,50\nT1;2;03/01/2025 10:15;S01;P2;-1;-3,99\n"
    summary = import_file_of(stores, write_csv("t.csv", TICKETS + body))
    assert (summary.rows_loaded, summary.rejected) == (2, 0)
    assert stores.execute("SELECT quantity, amount FROM ticket_lines ORDER BY line_no")\
        .fetchall() == [(Decimal("2"), Decimal("12.50")), (Decimal("-1"), Decimal("-3.99"))]


def test_an_amount_with_an_exponent_is_refused_with_its_line(stores, write_csv):
    body = "T1;1;03/01/2025;S01;P1;1;9,99\nT2;1;03/01/2025;S01;P1;1;1,23E+05\n"
    summary = import_file_of(stores, write_csv("t.csv", TICKETS + body))
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    assert stores.execute('SELECT line, "column", value, reason FROM quarantine').fetchall() \
        == [(3, "amount", "1,23E+05", "not an amount")]


def test_one_padded_amount_among_plain_ones_is_read_as_written(stores, write_csv):
    lines = [f"T{i};1;03/01/2025;S01;P1;1;{i},50\n" for i in range(1, 50)]
    lines.insert(20, "T99;1;03/01/2025;S01;P1; 1 ;1 234,50 €\n")
    summary = import_file_of(stores, write_csv("t.csv", TICKETS + "".join(lines)))
    assert (summary.rows_loaded, summary.rejected) == (50, 0)
    assert stores.execute("SELECT quantity, amount FROM ticket_lines WHERE ticket_id = 'T99'")\
        .fetchone() == (Decimal("1"), Decimal("1234.50"))


def test_a_blank_amount_is_a_missing_value_and_a_bad_one_is_not_a_number(stores, write_csv):
    body = ("T1;1;03/01/2025;S01;P1;1;\nT2;1;03/01/2025;S01;P1;1;douze\n"
            "T3;1;03/01/2025;S01;P1;1;4,20\n")
    summary = import_file_of(stores, write_csv("t.csv", TICKETS + body))
    assert (summary.rows_loaded, summary.rejected) == (1, 2)
    assert stores.execute(
        'SELECT line, "column", value, reason FROM quarantine ORDER BY line'
    ).fetchall() == [(2, "amount", None, "required value missing"),
                     (3, "amount", "douze", "not an amount")]


def import_file_of(con, path):
    return import_file(con, "tickets", path)
