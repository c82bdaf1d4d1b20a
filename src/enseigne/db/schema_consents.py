"""``consent_spans``: the consent ledger as the spans of time during which each customer's
opt-in on a channel was in force, derived from ``consents`` and kept with it (the import,
the live API and a merge make a customer's spans again; an erasure re-keys them with the
ledger).

The reach KPIs ask whether an opt-in was in force at a period's end for every customer
active in the year before it. From the ledger that is the latest choice per customer, a
grouping of every event (9.9 million into 4 million customers at 100 million ticket lines:
2.2 s of CPU); from the spans it is a range test on each row, and the active customers
are joined once per channel with the customers whose opt-in was in force (the reach of a
month at 100 million lines, alone: 6.1 s -> 3.8 s; the dashboard query at 10 million lines
1.23-1.30 s -> 0.99 s, at 100 million unchanged, as its second probe of the active customers
costs what the grouping saved).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from enseigne.db.schema_customers import redraw

CONSENT_SPANS_DDL = (
    "CREATE TABLE consent_spans (customer_ref VARCHAR NOT NULL, channel VARCHAR NOT NULL, "
    "opted_from TIMESTAMP NOT NULL, opted_to TIMESTAMP)"
)

# Per customer and channel, one choice per instant: on a tie the opt-out, the careful
# reading. A span opens at an opt-in that follows no opt-in in force (a confirmation does
# not open another) and closes at the next opt-out (opted_to: NULL while in force). An
# opt-in is in force at t when opted_from <= t < opted_to.
SPANS = """
SELECT customer_ref, channel, opted_from, opted_to FROM (
    SELECT customer_ref, channel, opt_in, collected_at AS opted_from,
           lead(collected_at) OVER (PARTITION BY customer_ref, channel ORDER BY collected_at)
               AS opted_to
    FROM (
        SELECT *, lag(opt_in, 1, false) OVER (
            PARTITION BY customer_ref, channel ORDER BY collected_at) AS was_in
        FROM (SELECT customer_ref, channel, collected_at, bool_and(status = 'opt_in') AS opt_in
              FROM consents WHERE true{mine} GROUP BY customer_ref, channel, collected_at)
    ) WHERE opt_in <> was_in
) WHERE opt_in
"""


def link_consents(
    con: duckdb.DuckDBPyConnection, customers: str | None = None, params: Sequence = ()
) -> None:
    """Make the ``consent_spans`` rows of ``customers`` (a subquery yielding customer refs,
    with its ``params``; None: every customer) again from their whole ledger: a choice
    collected before the ones stored changes the spans after it too."""
    redraw(con, "consent_spans", SPANS, "customer_ref", customers, params)


def create_consent_spans(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 9: the spans of every stored consent."""
    con.execute(CONSENT_SPANS_DDL)
    link_consents(con)
