"""Reading real-world files: encodings, line endings, compression, delimiters, number and
date spellings, and files too broken to import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from enseigne.ingest import UnusableFileError, import_file

PRODUCTS = "sku;label;category;unit_price\n"
TICKETS = "ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n"


def labels(con) -> dict[str, str]:
    return dict(con.execute("SELECT sku, label FROM products").fetchall())


# --- encodings ---------------------------------------------------------------------------


def test_utf8_accents_are_stored(con, write_csv):
    path = write_csv("p.csv", PRODUCTS + "A1;Crème brûlée;Épicerie;3,20\n")
    import_file(con, "products", path)
    assert con.execute("SELECT label, category FROM products").fetchall() == [
        ("Crème brûlée", "Épicerie")
    ]


def test_utf8_bom_does_not_hide_the_first_header(con, write_csv):
    # sku is the first and a required column: a BOM glued to it would make the file unusable
    path = write_csv("p.csv", PRODUCTS + "A1;Gâteau;Pâtisserie;3,20\n", bom=True)
    summary = import_file(con, "products", path)
    assert summary.rows_loaded == 1
    assert labels(con) == {"A1": "Gâteau"}


def test_latin1_file_is_decoded(con, write_csv):
    path = write_csv("p.csv", PRODUCTS + "A1;Café moulu;Épicerie;4,10\n", encoding="latin-1")
    import_file(con, "products", path)
    assert labels(con) == {"A1": "Café moulu"}
    assert con.execute("SELECT category FROM products").fetchone()[0] == "Épicerie"


def test_cp1252_euro_sign_and_oe_ligature_are_stored(con, write_csv):
    text = PRODUCTS + "A1;Bœuf bourguignon offre 5€;Traiteur;12,90\nA2;Œufs frais;Crèmerie;2,50\n"
    path = write_csv("p.csv", text, encoding="cp1252")
    import_file(con, "products", path)
    assert labels(con) == {"A1": "Bœuf bourguignon offre 5€", "A2": "Œufs frais"}


def test_cp1252_after_the_first_megabyte_falls_back_to_cp1252(con, write_csv):
    filler = "".join(f"F{i:06d};Article standard numero {i};Divers;1,00\n" for i in range(30_000))
    head = (PRODUCTS + filler).encode("ascii")
    assert len(head) > 1 << 20  # the sniffed sample is pure ASCII, i.e. valid UTF-8
    tail = "Z1;Crème brûlée 2€;Pâtisserie;3,50\n".encode("cp1252")
    path = write_csv("p.csv", "")
    path.write_bytes(head + tail)
    summary = import_file(con, "products", path)
    assert summary.rows_loaded == 30_001
    assert summary.rejected == 0
    assert con.execute("SELECT label, category FROM products WHERE sku = 'Z1'").fetchone() == (
        "Crème brûlée 2€", "Pâtisserie"
    )


def test_crlf_line_endings(con, write_csv):
    path = write_csv("p.csv", PRODUCTS + "A1;Thé vert;Épicerie;5,00\nA2;Miel;Épicerie;7,25\n",
                     newline="\r\n")
    summary = import_file(con, "products", path)
    assert summary.rows_loaded == 2
    # the last column must not keep a stray carriage return
    assert con.execute("SELECT sku, unit_price FROM products ORDER BY sku").fetchall() == [
        ("A1", Decimal("5.00")), ("A2", Decimal("7.25"))
    ]
    assert labels(con)["A2"] == "Miel"


def test_trailing_blank_lines_are_not_rows(con, write_csv):
    path = write_csv("p.csv", PRODUCTS + "A1;Thé;Épicerie;5,00\nA2;Miel;Épicerie;7,25\n\n\n\n")
    summary = import_file(con, "products", path)
    assert (summary.rows_loaded, summary.rejected) == (2, 0)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_gzip_compressed_csv(con, write_csv, encoding):
    text = PRODUCTS + "A1;Bœuf 5€;Boucherie;12,90\nA2;Pâté;Charcuterie;3,10\n"
    path = write_csv("p.csv", text, encoding=encoding, gz=True)
    assert path.name.endswith(".csv.gz")
    summary = import_file(con, "products", path)
    assert summary.rows_loaded == 2
    assert labels(con) == {"A1": "Bœuf 5€", "A2": "Pâté"}
    assert con.execute("SELECT unit_price FROM products WHERE sku = 'A1'").fetchone()[0] == (
        Decimal("12.90")
    )


# --- delimiters and numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "price"), [(";", "12,50"), (",", "12.50"), ("\t", "12,50"), ("\t", "12.50")]
)
def test_delimiter_is_sniffed(con, write_csv, delimiter, price):
    rows = [["sku", "label", "category", "unit_price"], ["A1", "Thé", "Épicerie", price],
            ["A2", "Miel", "Épicerie", "3"]]
    path = write_csv("p.csv", "".join(delimiter.join(r) + "\n" for r in rows))
    summary = import_file(con, "products", path)
    assert (summary.rows_loaded, summary.rejected) == (2, 0)
    assert con.execute("SELECT sku, label, category, unit_price FROM products ORDER BY sku")\
        .fetchall() == [("A1", "Thé", "Épicerie", Decimal("12.50")),
                        ("A2", "Miel", "Épicerie", Decimal("3"))]


@pytest.mark.parametrize(
    "amount",
    ["1234,50", "1 234,50", "1.234,50", "1\u202f234,50", "1\u00a0234,50", "1 234,50 €",
     "1234,50€", "€1234,50"],
)
def test_french_amount_spellings(stores, write_csv, amount):
    path = write_csv("t.csv", TICKETS + f"T1;1;03/01/2025 10:15;S01;P1;1;{amount}\n")
    summary = import_file(stores, "tickets", path)
    assert (summary.rows_loaded, summary.rejected) == (1, 0)
    assert stores.execute("SELECT amount FROM ticket_lines").fetchone()[0] == Decimal("1234.50")


def test_mixed_amount_spellings_in_one_file(stores, write_csv):
    amounts = ["12,50", "1 234,50", "1.234,50", "1\u202f234,50", "-3,99", "0,5", "7"]
    body = "".join(f"T{i};1;03/01/2025;S01;P1;1;{a}\n" for i, a in enumerate(amounts))
    summary = import_file(stores, "tickets", write_csv("t.csv", TICKETS + body))
    assert summary.rows_loaded == len(amounts)
    got = stores.execute("SELECT amount FROM ticket_lines ORDER BY ticket_id").fetchall()
    assert [r[0] for r in got] == [Decimal(x) for x in
                                   ["12.50", "1234.50", "1234.50", "1234.50", "-3.99", "0.5", "7"]]


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03/01/2025", dt.datetime(2025, 1, 3)),
        ("2025-01-03", dt.datetime(2025, 1, 3)),
        ("03/01/2025 10:15", dt.datetime(2025, 1, 3, 10, 15)),
        ("03/01/2025 10:15:30", dt.datetime(2025, 1, 3, 10, 15, 30)),
        ("2025-01-03T10:15:00", dt.datetime(2025, 1, 3, 10, 15)),
        ("2025-01-03 10:15:00", dt.datetime(2025, 1, 3, 10, 15)),
    ],
)
def test_timestamp_spellings(stores, write_csv, text, expected):
    path = write_csv("t.csv", TICKETS + f"T1;1;{text};S01;P1;1;9,99\n")
    summary = import_file(stores, "tickets", path)
    assert summary.rejected == 0
    assert stores.execute("SELECT sold_at FROM sales_lines").fetchone()[0] == expected


@pytest.mark.parametrize("text", ["03/01/2025", "2025-01-03", "03/01/2025 10:15"])
def test_date_spellings(stores, write_csv, text):
    path = write_csv("f.csv", f"store_code;date;hour;visitors\nS01;{text};10;42\n")
    assert import_file(stores, "footfall", path).rows_loaded == 1
    assert stores.execute("SELECT date FROM footfall").fetchone()[0] == dt.date(2025, 1, 3)


def test_impossible_date_is_rejected_with_line_and_column(stores, write_csv):
    body = "T1;1;03/01/2025;S01;P1;1;9,99\nT2;1;31/02/2025;S01;P1;1;9,99\n"
    summary = import_file(stores, "tickets", write_csv("t.csv", TICKETS + body))
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    assert stores.execute("SELECT line, \"column\", value, reason FROM quarantine").fetchall() \
        == [(3, "sold_at", "31/02/2025", "not a valid date and time")]
    assert stores.execute("SELECT ticket_id FROM ticket_lines").fetchall() == [("T1",)]


def test_text_in_numeric_column_is_rejected(stores, write_csv):
    body = "T1;1;03/01/2025;S01;P1;deux;9,99\nT2;1;03/01/2025;S01;P1;2;9,99\n"
    summary = import_file(stores, "tickets", write_csv("t.csv", TICKETS + body))
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    line, column, value, reason = stores.execute(
        "SELECT line, \"column\", value, reason FROM quarantine").fetchone()
    assert (line, column, value) == (2, "quantity", "deux")
    assert "quantity" in reason


# --- unusable and irregular files ----------------------------------------------------------


def test_missing_required_column_is_unusable_and_loads_nothing(stores, write_csv):
    path = write_csv("t.csv", "ticket_id;line_no;sold_at;store_code;sku;quantity\n"
                              "T1;1;03/01/2025;S01;P1;1\n")
    with pytest.raises(UnusableFileError, match="amount"):
        import_file(stores, "tickets", path)
    assert stores.execute("SELECT count(*) FROM ticket_lines").fetchone()[0] == 0
    assert stores.execute("SELECT count(*) FROM products").fetchone()[0] == 0
    assert stores.execute("SELECT count(*) FROM import_log WHERE kind = 'tickets'")\
        .fetchone()[0] == 0


def test_extra_columns_are_ignored(stores, write_csv):
    path = write_csv("t.csv", "caisse;ticket_id;line_no;sold_at;store_code;sku;quantity;"
                              "amount;commentaire\nC3;T1;1;03/01/2025;S01;P1;2;9,99;RAS\n")
    summary = import_file(stores, "tickets", path)
    assert (summary.rows_loaded, summary.rejected) == (1, 0)
    assert stores.execute("SELECT ticket_id, quantity, amount FROM ticket_lines").fetchone() == (
        "T1", Decimal("2"), Decimal("9.99"))


def test_line_with_too_many_fields_is_quarantined_with_its_line(stores, write_csv):
    body = ("T1;1;03/01/2025;S01;P1;1;9,99\n"
            "T2;1;03/01/2025;S01;P1;1;9,99;surplus;encore\n"
            "T3;1;03/01/2025;S01;P1;1;4,50\n")
    summary = import_file(stores, "tickets", write_csv("t.csv", TICKETS + body))
    assert (summary.rows_read, summary.rows_loaded, summary.rejected) == (3, 2, 1)
    assert stores.execute("SELECT ticket_id FROM ticket_lines ORDER BY 1").fetchall() == [
        ("T1",), ("T3",)]
    assert stores.execute("SELECT line FROM quarantine").fetchall() == [(3,)]


def test_bad_row_after_a_malformed_line_keeps_its_file_line(stores, write_csv, tmp_path):
    body = ("T1;1;03/01/2025;S01;P1;1;9,99\n"
            "T2;1;03/01/2025;S01;P1;1;9,99;surplus\n"
            "T3;1;03/01/2025;S01;P1;1;4,50\n"
            "T4;1;30/02/2025;S01;P1;1;4,50\n")
    rejects = tmp_path / "rejects.csv"
    import_file(stores, "tickets", write_csv("t.csv", TICKETS + body), rejects=rejects)
    assert stores.execute("SELECT line, \"column\" FROM quarantine ORDER BY line").fetchall()[1]\
        == (5, "sold_at")


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   \n"])
def test_empty_file_is_unusable(con, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(UnusableFileError):
        import_file(con, "tickets", path)


def test_header_only_file_loads_nothing(stores, write_csv):
    summary = import_file(stores, "tickets", write_csv("t.csv", TICKETS))
    assert (summary.rows_read, summary.rows_loaded, summary.rejected) == (0, 0, 0)


def test_missing_file_is_unusable(con, tmp_path):
    with pytest.raises(UnusableFileError, match="no such file"):
        import_file(con, "tickets", tmp_path / "absent.csv")
