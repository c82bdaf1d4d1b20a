"""The consent ledger read through the gate: the choice in force per channel, its history."""

from __future__ import annotations

import datetime as dt

import pytest

from enseigne.ingest import import_file
from enseigne.privacy import audit
from enseigne.privacy.consent import consent_history, current_consents
from enseigne.privacy.gate import AccessDenied, Reader, cli_reader

CUSTOMERS = (
    "customer_ref;first_name;last_name;email;created_at;store_code\n"
    "C1;Jeanne;Dupont;j.dupont@exemple.fr;03/01/2024 10:00;S01\n"
    "C2;Paul;Martin;p.martin@exemple.fr;05/01/2024 10:00;S02\n"
)
LEDGER = (
    "customer_ref;channel;status;collected_at;source;store_code\n"
    "C1;email;soft_opt_in;03/01/2024 10:00;caisse;S01\n"
    "C1;sms;opt_in;03/01/2024 10:00;caisse;S01\n"
    "C1;email;opt_in;10/02/2024 18:30;site;\n"
    "C1;sms;opt_out;01/06/2025 09:00;lien stop;\n"
    "C2;email;opt_out;05/01/2024 10:00;caisse;S02\n"
)
ADMIN = cli_reader("dora")


@pytest.fixture
def ledger(stores, write_csv):
    import_file(stores, "customers", write_csv("customers.csv", CUSTOMERS))
    summary = import_file(stores, "consents", write_csv("consents.csv", LEDGER))
    assert summary.rows_loaded == 5
    return stores


def statuses(consents: dict[str, dict]) -> dict[str, str]:
    return {channel: row["status"] for channel, row in consents.items()}


def test_the_latest_choice_per_channel_is_in_force(ledger):
    now = current_consents(ledger, ADMIN, "C1")
    assert statuses(now) == {"email": "opt_in", "sms": "opt_out"}
    assert now["email"]["source"] == "site"
    assert now["sms"]["collected_at"] == dt.datetime(2025, 6, 1, 9)


def test_as_of_reads_the_ledger_as_it_stood(ledger):
    assert statuses(current_consents(ledger, ADMIN, "C1", dt.date(2024, 1, 3))) == {
        "email": "soft_opt_in", "sms": "opt_in"}
    # A day counts whole; a moment is inclusive.
    assert statuses(current_consents(ledger, ADMIN, "C1", dt.date(2025, 6, 1)))["sms"] == "opt_out"
    at = dt.datetime(2024, 2, 10, 18, 30)
    assert statuses(current_consents(ledger, ADMIN, "C1", at))["email"] == "opt_in"
    assert statuses(current_consents(ledger, ADMIN, "C1", at - dt.timedelta(seconds=1)))[
        "email"] == "soft_opt_in"
    assert current_consents(ledger, ADMIN, "C1", dt.date(2023, 12, 31)) == {}


def test_on_a_tie_the_opt_out_wins(ledger):
    # Two sources reporting the same moment (the import keys on it, a live API may not).
    ledger.execute(
        "INSERT INTO consents (customer_ref, channel, status, collected_at, source) VALUES "
        "('C2', 'sms', 'opt_in', TIMESTAMP '2025-03-01 12:00', 'caisse'), "
        "('C2', 'sms', 'opt_out', TIMESTAMP '2025-03-01 12:00', 'site'), "
        "('C2', 'sms', 'opt_in', TIMESTAMP '2025-03-01 12:00', 'appli')"
    )
    assert current_consents(ledger, ADMIN, "C2")["sms"]["status"] == "opt_out"


def test_history_lists_every_event_newest_first(ledger):
    rows = consent_history(ledger, ADMIN, "C1")
    assert [(r["channel"], r["status"]) for r in rows] == [
        ("sms", "opt_out"), ("email", "opt_in"), ("email", "soft_opt_in"), ("sms", "opt_in")]
    assert set(rows[0]) == {"channel", "status", "collected_at", "source", "store_code",
                            "seller_code", "wording_version", "recorded_at"}
    assert rows[2]["store_code"] == "S01"


def test_reads_are_logged_and_scoped(ledger):
    current_consents(ledger, ADMIN, "C1")
    consent_history(ledger, ADMIN, "C1")
    logged = audit.entries(ledger, customer_ref="C1")
    assert [(e["action"], e["actor"], e["detail"]) for e in logged] == [
        ("read", "dora", "consent history"), ("read", "dora", "consents")]
    lyon = Reader("sam", "store", ("S01",), "web 127.0.0.1")
    assert statuses(current_consents(ledger, lyon, "C1"))["email"] == "opt_in"
    refusals = [("sam", "store", ("S01",), "C2"), ("nora", "network", None, "C1"),
                ("ada", "admin", None, "C404")]
    for name, role, scope, ref in refusals:
        with pytest.raises(AccessDenied):
            consent_history(ledger, Reader(name, role, scope, "web 127.0.0.1"), ref)
    assert audit.entries(ledger, customer_ref="C2") == []


def test_soft_opt_in_is_an_email_status_only(stores, write_csv):
    import_file(stores, "customers", write_csv("customers.csv", CUSTOMERS))
    summary = import_file(stores, "consents", write_csv("soft.csv", (
        "customer_ref;channel;status;collected_at\n"
        "C1;email;soft opt-in;03/01/2024 10:00\n"
        "C1;sms;soft_opt_in;03/01/2024 10:00\n"
    )))
    assert (summary.rows_loaded, summary.rejected) == (1, 1)
    reason = stores.execute("SELECT line, \"column\", reason FROM quarantine").fetchall()
    assert reason == [(3, "status", "soft opt-in is for e-mail only")]
    assert statuses(current_consents(stores, ADMIN, "C1")) == {"email": "soft_opt_in"}


def test_the_history_says_which_seller_collected_on_which_wording(ledger, write_csv):
    more = (
        "customer_ref;channel;status;collected_at;source;store_code;seller_code;wording_version\n"
        "C2;email;opt_in;02/03/2025 11:00;caisse;S02;V-NEW;CGU-2025-01\n"
    )
    summary = import_file(ledger, "consents", write_csv("more.csv", more))
    assert (summary.rows_loaded, summary.stubs) == (1, {"sellers": 1})
    latest = consent_history(ledger, ADMIN, "C2")[0]
    assert (latest["store_code"], latest["seller_code"], latest["wording_version"]) == (
        "S02", "V-NEW", "CGU-2025-01")
    # A seller first seen on a consent is known afterwards, in the store where they collected.
    assert ledger.execute("SELECT store_code, incomplete FROM sellers WHERE seller_code = "
                          "'V-NEW'").fetchone() == ("S02", True)
