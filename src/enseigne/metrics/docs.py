"""docs/kpis.md, generated from the catalogue: ``python -m enseigne.metrics.docs``."""

from __future__ import annotations

import sys
from pathlib import Path

from enseigne.metrics.catalogue import CATALOGUE

UNIT_WORDS = {
    "eur": "€", "count": "nombre", "ratio": "ratio", "pct": "%", "points": "points",
    "days": "jours", "eur_m2": "€/m²",
}
BETTER_WORDS = {"up": "↑ hausse", "down": "↓ baisse", None: "-"}

HEADER = """\
# Indicateurs (KPIs)

*Generated from the KPI catalogue (`src/enseigne/metrics/catalogue.py`) by
`python -m enseigne.metrics.docs`; a test fails when this page and the catalogue differ.*

Every KPI has an id, used by `enseigne kpi --kpis`, the API and the exports. Amounts are
tax-inclusive (TTC) unless the id ends in `_ht`. In JSON and CSV a `%` KPI is a fraction
(0.25 means 25 %); pages show 25,0 %. `nps` is in points (-100 to +100).

A **sales ticket** has a positive total, a **return ticket** a negative one; anonymous
tickets have no customer. A period is a set of calendar days [from, to]; "trailing 365 days"
ends on the period's last day.

| id | libellé | label | unité | mieux | définition |
|---|---|---|---|---|---|
"""

FOOTER = """
## Attribution, comparisons, periods

- **Attribution.** At store, region, seller and channel grain every customer KPI is computed
  on that scope's tickets only: a customer counts at every store where they have a sales
  ticket in the window, and "at least 2 sales tickets" means at that store. Network values
  count each customer once, so store values do not add up to the network value. A new
  customer is one whose first sales ticket in the whole chain falls in the period, and
  belongs to the store (seller, channel) of that ticket.
- **Open stores.** A store is open from `opened_on` (included) until `closed_on`, the first
  day it is closed. Stores without a surface (the web store) count in neither the revenue
  nor the surface of `revenue_per_m2`.
- **Footfall** is counted at the door of physical stores: at channel grain it belongs to the
  `store` channel; sellers have none. Conversion only uses store-days with a count.
- **Consent** in force is the latest ledger row per channel collected on or before the
  period's last day (on a tie, the opt-out); a soft opt-in (existing customers, e-mail) is
  not counted as an opt-in by the reachability KPIs. A valid mobile is an E.164 number starting
  `+336` or `+337`; a stored e-mail has passed the import's syntax check.
- **vs N-1** (`--compare n-1`): the same period 364 days earlier, so weekdays align; an ISO
  week compares with the same week number of the previous ISO year (week 52 when that year
  has no week 53). `--n1 calendar` takes the same calendar dates instead.
- **Like-for-like** (`--like-for-like`): only stores open on every day of both periods.
- **vs target** (`--compare target`): targets are imported per store, region or `network`,
  KPI and period. A target for a longer period is pro-rated by days for additive KPIs
  (revenue, tickets, units, footfall, new customers, complaints); a ratio's target holds on
  each of its days, so overlapping targets are averaged weighted by days. A region or the
  network without a target of its own gets the sum of its stores' targets (additive KPIs).
  Achievement = actual / target.
- **Rank**: 1 is the best in the KPI's better direction, among the scopes of the grain;
  `rank_region` ranks a store within its region. `web_share` has no better direction and
  no rank.
- **Periods**: day `2026-11-03`, ISO week `2026-W47` (Monday to Sunday), month `2026-11`,
  quarter `2026-Q4`, year `2026`, fiscal year `FY2026` (starts on the month set by
  `ENSEIGNE_FISCAL_START_MONTH` of 2026), or any range with `--from`/`--to`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\\\|")


def render() -> str:
    rows = [
        f"| `{k.id}` | {k.label_fr} | {k.label_en} | {UNIT_WORDS[k.unit]} | "
        f"{BETTER_WORDS[k.better]} | {_cell(k.definition_fr)} |"
        for k in CATALOGUE
    ]
    return HEADER + "\n".join(rows) + "\n" + FOOTER


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/kpis.md")
    target.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
