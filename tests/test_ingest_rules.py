"""Validation rules a user relies on: ranges, e-mails, French phone numbers, synonyms,
defaults and rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from enseigne.ingest import import_file

SURVEYS = "response_id;answered_at;store_code;nps;csat\n"
CUSTOMERS = "customer_ref;first_name;last_name;email;phone\n"
TICKETS = "ticket_id;line_no;sold_at;store_code;sku;quantity;amount"


def quarantined(con) -> list[tuple]:
    return con.execute(
        'SELECT line, "column", value, reason FROM quarantine ORDER BY line, "column"'
    ).fetchall()


def test_nps_and_csat_ranges(stores, write_csv):
    body = (
        "R1;03/01/2025 10:00;S01;0;1\n"
        "R2;03/01/2025 10:00;S01;10;5\n"
        "R3;03/01/2025 10:00;S01;11;3\n"
        "R4;03/01/2025 10:00;S01;-1;3\n"
        "R5;03/01/2025 10:00;S01;7;0\n"
        "R6;03/01/2025 10:00;S01;7;6\n"
        "R7;03/01/2025 10:00;S01;;\n"
    )
    summary = import_file(stores, "surveys", write_csv("s.csv", SURVEYS + body))
    assert (summary.rows_loaded, summary.rejected) == (3, 4)
    assert stores.execute("SELECT response_id, nps, csat FROM survey_responses ORDER BY 1")\
        .fetchall() == [("R1", 0, 1), ("R2", 10, 5), ("R7", None, None)]
    assert quarantined(stores) == [
        (4, "nps", "11", "out of range 0 to 10"),
        (5, "nps", "-1", "out of range 0 to 10"),
        (6, "csat", "0", "out of range 1 to 5"),
        (7, "csat", "6", "out of range 1 to 5"),
    ]


def test_emails_are_lowercased_and_invalid_ones_rejected(con, write_csv):
    body = (
        "C1;Jean;Dupont;Jean.DUPONT@Exemple.FR;\n"
        "C2;Anne;Martin; anne.martin@orange.fr ;\n"
        "C3;Luc;Petit;luc.petit@;\n"
        "C4;Léa;Roux;pas un mail;\n"
        "C5;Noé;Blanc;noe@exemple;\n"
        "C6;Zoé;Noir;;\n"
    )
    summary = import_file(con, "customers", write_csv("c.csv", CUSTOMERS + body))
    assert (summary.rows_loaded, summary.rejected) == (3, 3)
    assert con.execute("SELECT customer_ref, email FROM customers ORDER BY 1").fetchall() == [
        ("C1", "jean.dupont@exemple.fr"), ("C2", "anne.martin@orange.fr"), ("C6", None)]
    assert {(line, column) for line, column, _, _ in quarantined(con)} == {
        (4, "email"), (5, "email"), (6, "email")}
    assert {reason for *_, reason in quarantined(con)} == {"not a valid e-mail address"}


@pytest.mark.parametrize(
    "phone",
    ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "06.12.34.56.78", "0612345678",
     "+33 (0)6 12 34 56 78", "06-12-34-56-78", "33612345678"],
)
def test_french_phone_numbers_are_stored_in_e164(con, write_csv, phone):
    path = write_csv("c.csv", CUSTOMERS + f"C1;Jean;Dupont;;{phone}\n")
    summary = import_file(con, "customers", path)
    assert summary.rejected == 0
    assert con.execute("SELECT phone FROM customers").fetchone()[0] == "+33612345678"


@pytest.mark.parametrize("phone", ["06 12 34", "12345", "n/a", "06 12 34 56 78 90"])
def test_invalid_phone_numbers_are_rejected(con, write_csv, phone):
    summary = import_file(con, "customers", write_csv("c.csv", CUSTOMERS + f"C1;J;D;;{phone}\n"))
    assert (summary.rows_loaded, summary.rejected) == (0, 1)
    assert quarantined(con) == [(2, "phone", phone, "not a valid phone number")]


def test_consent_status_and_channel_synonyms(con, write_csv):
    body = (
        "customer_ref;channel;status;collected_at\n"
        "C1;email;oui;03/01/2025 10:00\n"
        "C2;E-mail;opt-in;03/01/2025 10:00\n"
        "C3;sms;Non;03/01/2025 10:00\n"
        "C4;SMS;OPT-OUT;03/01/2025 10:00\n"
        "C5;courrier;opt_in;03/01/2025 10:00\n"
        "C6;email;peut-être;03/01/2025 10:00\n"
    )
    summary = import_file(con, "consents", write_csv("k.csv", body))
    assert (summary.rows_loaded, summary.rejected) == (5, 1)
    assert con.execute("SELECT customer_ref, channel, status FROM consents ORDER BY 1")\
        .fetchall() == [
            ("C1", "email", "opt_in"), ("C2", "email", "opt_in"), ("C3", "sms", "opt_out"),
            ("C4", "sms", "opt_out"), ("C5", "postal", "opt_in")]
    [(line, column, value, reason)] = quarantined(con)
    assert (line, column, value) == (7, "status", "peut-être")
    assert "opt_in" in reason


def test_ticket_channel_defaults_to_store(stores, write_csv):
    without = write_csv("a.csv", TICKETS + "\nT1;1;03/01/2025;S01;P1;1;9,99\n")
    with_empty = write_csv("b.csv", TICKETS + ";channel\nT2;1;03/01/2025;S01;P1;1;9,99;\n"
                                             "T3;1;03/01/2025;S01;P1;1;9,99;Internet\n"
                                             "T4;1;03/01/2025;S01;P1;1;9,99;app\n")
    import_file(stores, "tickets", without)
    import_file(stores, "tickets", with_empty)
    assert stores.execute("SELECT ticket_id, channel FROM sales_lines ORDER BY 1").fetchall() \
        == [("T1", "store"), ("T2", "store"), ("T3", "web"), ("T4", "app")]
    assert stores.execute("SELECT ticket_id, channel FROM tickets ORDER BY 1").fetchall()[0] \
        == ("T1", "store")


def test_unknown_ticket_channel_is_rejected(stores, write_csv):
    path = write_csv("t.csv", TICKETS + ";channel\nT1;1;03/01/2025;S01;P1;1;9,99;fax\n")
    summary = import_file(stores, "tickets", path)
    assert summary.rejected == 1
    assert quarantined(stores)[0][1:3] == ("channel", "fax")


@pytest.mark.parametrize(
    ("rate", "stored"),
    [("20", "0.2"), ("20%", "0.2"), ("20 %", "0.2"), ("0,2", "0.2"), ("5,5", "0.055"),
     ("5.5", "0.055"), ("2,1", "0.021"), ("0", "0")],
)
def test_vat_rate_is_stored_as_a_fraction(stores, write_csv, rate, stored):
    path = write_csv("t.csv", TICKETS + f";vat_rate\nT1;1;03/01/2025;S01;P1;1;9,99;{rate}\n")
    summary = import_file(stores, "tickets", path)
    assert summary.rejected == 0
    assert stores.execute("SELECT vat_rate FROM ticket_lines").fetchone()[0] == Decimal(stored)


def test_required_value_missing_is_rejected(stores, write_csv):
    path = write_csv("t.csv", TICKETS + "\nT1;1;03/01/2025;S01;;1;9,99\n"
                                        "T2;1;03/01/2025;S01;P1;1;\n")
    summary = import_file(stores, "tickets", path)
    assert (summary.rows_loaded, summary.rejected) == (0, 2)
    assert [(line, col, reason) for line, col, _, reason in quarantined(stores)] == [
        (2, "sku", "required value missing"), (3, "amount", "required value missing")]


def test_negative_quantity_of_a_return_is_accepted_but_negative_price_is_not(con, write_csv):
    body = "sku;label;unit_price\nA1;Thé;-2,00\nA2;Miel;2,00\n"
    summary = import_file(con, "products", write_csv("p.csv", body))
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    assert quarantined(con)[0][1:] == ("unit_price", "-2,00", "must be at least 0")


def test_values_are_trimmed_and_blank_means_missing(con, write_csv):
    body = "customer_ref;first_name;last_name;city\n  C1 ; Jean ;\u00a0Dupont\u00a0;   \n"
    import_file(con, "customers", write_csv("c.csv", body))
    assert con.execute("SELECT customer_ref, first_name, last_name, city FROM customers")\
        .fetchone() == ("C1", "Jean", "Dupont", None)


@pytest.mark.parametrize(("kind", "body", "column", "reason"), [
    ("targets", "scope;kpi;period_start;period_end;value\n"
                "S01;revenue;01/02/2025;28/02/2025;1000\nS01;revenue;01/03/2025;28/02/2025;1\n",
     "period_end", "period ends before it starts"),
    ("feedback", "feedback_id;opened_at;kind;resolved_at\nF1;03/01/2025;complaint;05/01/2025\n"
                 "F2;03/01/2025;complaint;02/01/2025\n",
     "resolved_at", "resolved before it was opened"),
    ("stores", "store_code;name;opened_on;closed_on\nS08;Nantes;01/01/2020;\n"
               "S09;Brest;01/01/2020;31/12/2019\n",
     "closed_on", "closed before it opened"),
])
def test_dates_that_contradict_each_other_are_rejected(con, write_csv, kind, body, column,
                                                       reason):
    summary = import_file(con, kind, write_csv("f.csv", body))
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    assert con.execute('SELECT line, "column", reason FROM quarantine').fetchall() == [
        (3, column, reason)]
