"""Every kind imports; XLSX, Parquet and JSON-lines files load what the same CSV loads;
mapping profiles, custom and shipped."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from enseigne.db import connect, migrate
from enseigne.ingest import KINDS, MappingError, import_file, load_mapping, shipped_profiles

CANONICAL = {
    "stores": ("store_code;name;city;surface_m2;opened_on;latitude;longitude\n"
               "S03;Nantes Centre;Nantes;640,5;02/05/2019;47,2184;-1,5536\n", "stores",
               "SELECT surface_m2, opened_on, latitude FROM stores WHERE store_code = 'S03'",
               (Decimal("640.50"), dt.date(2019, 5, 2), 47.2184)),
    "sellers": ("seller_code;store_code;name\nV1;S01;Inès\n", "sellers",
                "SELECT store_code, name, incomplete FROM sellers", ("S01", "Inès", False)),
    "products": ("sku;label;category;subcategory;brand;unit_price\n"
                 "P1;Thé vert;Épicerie;Thés;Maison;12,90\n", "products",
                 "SELECT label, brand, unit_price FROM products",
                 ("Thé vert", "Maison", Decimal("12.90"))),
    "customers": ("customer_ref;loyalty_card;first_name;last_name;email;phone;birth_date;"
                  "gender;postal_code;city;country;created_at;store_code;channel;seller_code\n"
                  "C1;990001;Jeanne;Dupont;j.dupont@exemple.fr;06 12 34 56 78;14/07/1985;F;"
                  "69003;Lyon;FR;03/01/2025 10:00;S01;magasin;\n", "customers",
                  "SELECT birth_date, phone, channel, postal_code FROM customers",
                  (dt.date(1985, 7, 14), "+33612345678", "store", "69003")),
    "consents": ("customer_ref;channel;status;collected_at;source;store_code\n"
                 "C1;email;opt_in;03/01/2025 10:00;caisse;S01\n", "consents",
                 "SELECT status, collected_at, source FROM consents",
                 ("opt_in", dt.datetime(2025, 1, 3, 10), "caisse")),
    "tickets": ("ticket_id;line_no;sold_at;store_code;channel;seller_code;customer_ref;sku;"
                "product_label;category;quantity;unit_price;discount;amount;vat_rate\n"
                "T1;1;03/01/2025 10:15;S01;store;;;P1;Thé;Épicerie;2;6,45;0,50;12,40;20\n",
                "ticket_lines", "SELECT quantity, unit_price, discount, amount, vat_rate "
                "FROM ticket_lines",
                (Decimal("2"), Decimal("6.45"), Decimal("0.50"), Decimal("12.40"),
                 Decimal("0.2"))),
    "footfall": ("store_code;date;hour;visitors\nS01;03/01/2025;10;57\n", "footfall",
                 "SELECT date, hour, visitors FROM footfall", (dt.date(2025, 1, 3), 10, 57)),
    "targets": ("scope;kpi;period_start;period_end;value\n"
                "S01;revenue;01/01/2025;31/01/2025;125000,5\n", "targets",
                "SELECT kpi, period_end, value FROM targets",
                ("revenue", dt.date(2025, 1, 31), Decimal("125000.5"))),
    "surveys": ("response_id;answered_at;store_code;customer_ref;ticket_id;nps;csat;comment;"
                "channel\nR1;04/01/2025 09:00;S01;;T1;9;5;Très bon accueil;store\n",
                "survey_responses", "SELECT nps, csat, comment FROM survey_responses",
                (9, 5, "Très bon accueil")),
    "feedback": ("feedback_id;opened_at;kind;store_code;customer_ref;channel;text;resolved_at\n"
                 "F1;04/01/2025 09:00;suggestion;S01;;web;Ouvrir le dimanche;\n", "feedback",
                 "SELECT kind, channel, text, resolved_at FROM feedback",
                 ("suggestion", "web", "Ouvrir le dimanche", None)),
}


def test_every_kind_is_covered():
    assert set(CANONICAL) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(CANONICAL))
def test_every_kind_imports_a_canonical_file(stores, write_csv, kind):
    text, table, sql, expected = CANONICAL[kind]
    before = stores.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    summary = import_file(stores, kind, write_csv(f"{kind}.csv", text))
    assert (summary.rows_read, summary.rows_loaded, summary.rejected) == (1, 1, 0)
    assert stores.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == before + 1
    assert stores.execute(sql).fetchone() == expected


# --- other file formats ----------------------------------------------------------------------

ROWS = [
    {"ticket_id": "T1", "line_no": 1, "sold_at": dt.datetime(2025, 1, 3, 10, 15),
     "store_code": "S01", "sku": "P1", "product_label": "Thé vert", "quantity": 2,
     "amount": 12.4},
    {"ticket_id": "T1", "line_no": 2, "sold_at": dt.datetime(2025, 1, 3, 10, 15),
     "store_code": "S01", "sku": "P2", "product_label": "Bœuf 5€", "quantity": 1,
     "amount": 1234.5},
    {"ticket_id": "T2", "line_no": 1, "sold_at": dt.datetime(2025, 1, 4, 18, 0),
     "store_code": "S02", "sku": "P1", "product_label": "Thé vert", "quantity": -1,
     "amount": -6.2},
]
COLUMNS = list(ROWS[0])


def write_rows(path: Path) -> Path:
    """The same three ticket lines in the format the suffix names."""
    if path.suffix == ".csv":
        lines = [";".join(COLUMNS)]
        for row in ROWS:
            values = {**row, "sold_at": row["sold_at"].strftime("%d/%m/%Y %H:%M"),
                      "amount": f"{row['amount']:.2f}".replace(".", ",")}
            lines.append(";".join(str(values[c]) for c in COLUMNS))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(COLUMNS)
        for row in ROWS:
            sheet.append([row[c] for c in COLUMNS])  # typed cells: numbers and datetimes
        book.save(path)
    elif path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    else:
        path.write_text("\n".join(json.dumps({**r, "sold_at": r["sold_at"].isoformat()},
                                             ensure_ascii=False) for r in ROWS) + "\n",
                        encoding="utf-8")
    return path


def loaded_rows(db: Path, path: Path) -> tuple[list[tuple], list[tuple]]:
    con = connect(db)
    try:
        migrate(con)
        import_file(con, "stores", write_stores(db.parent / "stores.csv"))
        summary = import_file(con, "tickets", path)
        assert (summary.rows_loaded, summary.rejected) == (3, 0)
        lines = con.execute(
            "SELECT ticket_id, line_no, sold_at, store_code, channel, sku, quantity, amount "
            "FROM sales_lines ORDER BY 1, 2").fetchall()
        labels = con.execute("SELECT sku, label FROM products ORDER BY 1").fetchall()
        return lines, labels
    finally:
        con.close()


def write_stores(path: Path) -> Path:
    path.write_text("store_code;name\nS01;Lyon\nS02;Paris\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".jsonl"])
def test_other_formats_load_the_same_rows_as_csv(tmp_path, suffix):
    expected = loaded_rows(tmp_path / "csv.duckdb", write_rows(tmp_path / "lines.csv"))
    assert expected[0][1][-1] == Decimal("1234.50")
    assert expected[1] == [("P1", "Thé vert"), ("P2", "Bœuf 5€")]
    got = loaded_rows(tmp_path / "other.duckdb", write_rows(tmp_path / f"lines{suffix}"))
    assert got == expected


def test_xlsx_bad_cell_is_quarantined_with_its_row(stores, tmp_path):
    path = tmp_path / "lines.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ticket_id", "line_no", "sold_at", "store_code", "sku", "quantity", "amount"])
    sheet.append(["T1", 1, dt.datetime(2025, 1, 3), "S01", "P1", 1, 2.5])
    sheet.append(["T2", 1, dt.datetime(2025, 1, 3), "S01", "P1", "beaucoup", 2.5])
    book.save(path)
    summary = import_file(stores, "tickets", path)
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    assert stores.execute('SELECT line, "column" FROM quarantine').fetchall() == [
        (3, "quantity")]


def test_unreadable_parquet_is_unusable(con, tmp_path):
    from enseigne.ingest import UnusableFileError

    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UnusableFileError):
        import_file(con, "tickets", path)


# --- mapping profiles ------------------------------------------------------------------------


def test_custom_profile_sets_source_options_renames_and_constants(stores, tmp_path):
    profile = tmp_path / "caisse.toml"
    profile.write_text(
        '[source]\nencoding = "latin-1"\ndelimiter = "|"\ndecimal = ","\n'
        'datetime_format = "%Y%m%d %H%M"\n\n'
        '[columns]\nticket_id = "Ticket"\nline_no = "Ligne"\nsold_at = "Horodatage"\n'
        'sku = "Réf"\nquantity = "Qté"\namount = "Total"\nproduct_label = "Désignation"\n\n'
        '[constants]\nstore_code = "S02"\nchannel = "web"\n',
        encoding="utf-8",
    )
    data = ("Ticket|Ligne|Horodatage|Réf|Désignation|Qté|Total\n"
            "W1|1|20250103 1015|P1|Café moulu|2|1.234,50\n"
            "W1|2|20250103 1015|P2|Thé|1|3,10\n")
    path = tmp_path / "caisse.txt"
    path.write_bytes(data.encode("latin-1"))
    mapping = load_mapping(profile)
    summary = import_file(stores, "tickets", path, mapping=mapping)
    assert (summary.rows_loaded, summary.rejected) == (2, 0)
    assert stores.execute(
        "SELECT ticket_id, line_no, sold_at, store_code, channel, amount FROM sales_lines "
        "ORDER BY 2").fetchall() == [
        ("W1", 1, dt.datetime(2025, 1, 3, 10, 15), "S02", "web", Decimal("1234.50")),
        ("W1", 2, dt.datetime(2025, 1, 3, 10, 15), "S02", "web", Decimal("3.10"))]
    assert stores.execute("SELECT label FROM products ORDER BY sku").fetchall() == [
        ("Café moulu",), ("Thé",)]


def test_profile_missing_a_renamed_column_names_the_file_header(stores, tmp_path):
    from enseigne.ingest import UnusableFileError

    profile = tmp_path / "p.toml"
    profile.write_text('[columns]\namount = "Montant TTC"\n', encoding="utf-8")
    path = tmp_path / "t.csv"
    path.write_text("ticket_id;line_no;sold_at;store_code;sku;quantity;amount\n", "utf-8")
    with pytest.raises(UnusableFileError, match="Montant TTC"):
        import_file(stores, "tickets", path, mapping=load_mapping(profile))


@pytest.mark.parametrize(
    "toml", ['[source]\ncolour = "red"\n', '[sauce]\nx = "y"\n', "not = [valid toml"]
)
def test_bad_profiles_are_refused(tmp_path, toml):
    profile = tmp_path / "bad.toml"
    profile.write_text(toml, encoding="utf-8")
    with pytest.raises(MappingError):
        load_mapping(profile)


def test_unknown_profile_name_lists_the_shipped_ones():
    with pytest.raises(MappingError, match="pos-fr-tickets"):
        load_mapping("no-such-profile")


POS_FR = (
    "N° ticket;N° ligne;Date;Code magasin;Canal;Code vendeur;N° client;Code article;Libellé;"
    "Famille;Qté;PU TTC;Remise;Montant TTC;Taux TVA\n"
    "000123;1;03/01/2025 10:15:42;S01;Magasin;V07;C0042;3017620422003;Bœuf bourguignon;"
    "Boucherie;1;24,90;;24,90;5,5\n"
    "000123;2;03/01/2025 10:15:42;S01;Magasin;V07;C0042;3228857000852;Crème fraîche 5€ off;"
    "Crèmerie;2;1,95;0,40;3,50;5,5\n"
    "000124;1;03/01/2025 11:02:05;S02;Internet;;;3017620422003;Bœuf bourguignon;Boucherie;"
    "-1;24,90;;-24,90;5,5\n"
)


def test_shipped_pos_fr_tickets_profile(stores, tmp_path):
    assert "pos-fr-tickets" in shipped_profiles()
    path = tmp_path / "export_caisse.csv"
    path.write_bytes(POS_FR.encode("cp1252"))
    summary = import_file(stores, "tickets", path, mapping=load_mapping("pos-fr-tickets"))
    assert (summary.rows_loaded, summary.rejected) == (3, 0)
    assert stores.execute(
        "SELECT ticket_id, line_no, sold_at, store_code, channel, seller_code, customer_ref, "
        "sku, quantity, unit_price, discount, amount, vat_rate FROM sales_lines ORDER BY 1, 2"
    ).fetchall() == [
        ("000123", 1, dt.datetime(2025, 1, 3, 10, 15, 42), "S01", "store", "V07", "C0042",
         "3017620422003", Decimal("1"), Decimal("24.90"), None, Decimal("24.90"),
         Decimal("0.055")),
        ("000123", 2, dt.datetime(2025, 1, 3, 10, 15, 42), "S01", "store", "V07", "C0042",
         "3228857000852", Decimal("2"), Decimal("1.95"), Decimal("0.40"), Decimal("3.50"),
         Decimal("0.055")),
        ("000124", 1, dt.datetime(2025, 1, 3, 11, 2, 5), "S02", "web", None, None,
         "3017620422003", Decimal("-1"), Decimal("24.90"), None, Decimal("-24.90"),
         Decimal("0.055")),
    ]
    assert stores.execute("SELECT label, category FROM products ORDER BY sku").fetchall() == [
        ("Bœuf bourguignon", "Boucherie"), ("Crème fraîche 5€ off", "Crèmerie")]
    assert stores.execute("SELECT ticket_id, amount, is_return FROM tickets ORDER BY 1")\
        .fetchall() == [("000123", Decimal("28.40"), False), ("000124", Decimal("-24.90"), True)]


@pytest.mark.parametrize("name", ["pos-fr-tickets", "pos-fr-customers", "pos-fr-stores"])
def test_shipped_profiles_name_only_canonical_columns(name):
    mapping = load_mapping(name)
    kind = KINDS[name.removeprefix("pos-fr-")]
    assert set(mapping.columns) <= set(kind.names)
    assert mapping.encoding == "cp1252"
