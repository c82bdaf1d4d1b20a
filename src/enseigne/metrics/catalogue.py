"""Every KPI of the contract (KPIS.md), declared once.

A KPI's formula is a pure Ibis expression over named measures; the measures (sums and
counts of one fact table, see ``measures.py``) are what one pass over that table computes.
The formula's parameter names are the measures it needs, so nothing is declared twice.
Labels, ``docs/kpis.md`` and the dashboard's tooltips are generated from this catalogue.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

UNITS = ("eur", "count", "ratio", "pct", "points", "days", "eur_m2")


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator as a float, NULL when the denominator is 0.

    Sums stay exact (DECIMAL, integers) and only the final division is in float, so both
    engines divide the same two numbers and agree to the last bit.
    """
    return numerator.cast("float64") / denominator.cast("float64").nullif(0)


@dataclass(frozen=True)
class Kpi:
    id: str
    label_fr: str
    label_en: str
    unit: str
    better: str | None
    definition_fr: str
    definition_en: str
    formula: Callable[..., ir.Value] = field(repr=False)
    additive: bool = False  # a sum over days and stores (targets are pro-rated by days)

    @property
    def needs(self) -> tuple[str, ...]:
        """The measures the formula reads, by its parameter names."""
        return tuple(inspect.signature(self.formula).parameters)

    def label(self, lang: str = "fr") -> str:
        return self.label_en if lang == "en" else self.label_fr

    def definition(self, lang: str = "fr") -> str:
        return self.definition_en if lang == "en" else self.definition_fr

    def expression(self, measures: ir.Table) -> ir.Value:
        return self.formula(*(measures[name] for name in self.needs))

    @property
    def change_kind(self) -> str:
        """How a change is read: rates move in points, NPS in NPS points, the rest in %."""
        return {"pct": "points", "points": "number"}.get(self.unit, "percent")

    def change(self, value: float | None, reference: float | None) -> float | None:
        """value against reference (N-1 or target), in the KPI's change kind."""
        if value is None or reference is None:
            return None
        if self.change_kind != "percent":
            return value - reference
        return None if reference == 0 else value / reference - 1

    def verdict(self, change: float | None) -> str | None:
        """"good", "bad" or None (no change, or a KPI without a better direction)."""
        if change is None or change == 0 or self.better is None:
            return None
        return "good" if (change > 0) == (self.better == "up") else "bad"


def _count(value: ir.Value) -> ir.IntegerValue:
    return ibis.coalesce(value, 0).cast("int64")


def _zero(value: ir.NumericValue) -> ir.FloatingValue:
    """A sum over no rows is 0 (a store open without a sale made 0 €), as a float."""
    return ibis.coalesce(value.cast("float64"), 0.0)


CATALOGUE: tuple[Kpi, ...] = (
    Kpi(
        "revenue", "Chiffre d'affaires TTC", "Revenue (incl. VAT)", "eur", "up",
        "Somme des montants des lignes de la période, retours déduits (CA net).",
        "Sum of line amounts in the period, returns included (net revenue).",
        lambda revenue: _zero(revenue), additive=True,
    ),
    Kpi(
        "revenue_ht", "Chiffre d'affaires HT", "Revenue (excl. VAT)", "eur", "up",
        "Somme de montant / (1 + taux de TVA) sur les lignes de la période.",
        "Sum of amount / (1 + VAT rate) over the period's lines.",
        lambda revenue_ht: _zero(revenue_ht), additive=True,
    ),
    Kpi(
        "tickets", "Nombre de tickets", "Tickets", "count", "up",
        "Nombre de tickets de vente distincts (total positif).",
        "Number of distinct sales tickets (positive total).",
        lambda sales_tickets: _count(sales_tickets), additive=True,
    ),
    Kpi(
        "avg_basket", "Panier moyen", "Average basket", "eur", "up",
        "CA TTC / nombre de tickets de vente.",
        "Revenue / sales tickets.",
        lambda revenue, sales_tickets: ratio(revenue, sales_tickets),
    ),
    Kpi(
        "units", "Articles vendus", "Units sold", "count", "up",
        "Somme des quantités, retours déduits.",
        "Sum of quantities, net of returns.",
        lambda units: _zero(units), additive=True,
    ),
    Kpi(
        "upt", "Indice de vente (articles par ticket)", "Units per ticket", "ratio", "up",
        "Articles vendus / nombre de tickets de vente.",
        "Units sold / sales tickets.",
        lambda units, sales_tickets: ratio(units, sales_tickets),
    ),
    Kpi(
        "avg_unit_price", "Prix moyen article", "Average unit price", "eur", "up",
        "CA TTC / articles vendus.",
        "Revenue / units sold.",
        lambda revenue, units: ratio(revenue, units),
    ),
    Kpi(
        "revenue_per_m2", "CA au m²", "Revenue per m²", "eur_m2", "up",
        "CA / surface du magasin ; réseau et régions : somme des CA / somme des surfaces des "
        "magasins ouverts au moins un jour de la période (le web, sans surface, n'y entre pas).",
        "Revenue / store surface; network and regions: sum of revenue / sum of surfaces of the "
        "stores open on at least one day of the period (the web, without surface, is left out).",
        lambda surface_revenue, surface_m2: ratio(surface_revenue, surface_m2),
    ),
    Kpi(
        "footfall", "Fréquentation", "Footfall", "count", "up",
        "Somme des visiteurs comptés.",
        "Sum of visitors counted.",
        lambda visitors: visitors, additive=True,  # None where nothing was counted
    ),
    Kpi(
        "conversion_rate", "Taux de transformation", "Conversion rate", "pct", "up",
        "Tickets de vente / fréquentation, sur les jours-magasins qui ont un comptage.",
        "Sales tickets / footfall, over the store-days that have a footfall count.",
        lambda counted_tickets, visitors: ratio(counted_tickets, visitors),
    ),
    Kpi(
        "identified_rate", "Taux d'identification", "Identification rate", "pct", "up",
        "Tickets de vente rattachés à un client / tickets de vente.",
        "Sales tickets with a customer / sales tickets.",
        lambda identified_tickets, sales_tickets: ratio(identified_tickets, sales_tickets),
    ),
    Kpi(
        "return_rate", "Taux de retour", "Return rate", "pct", "down",
        "- somme des montants de lignes négatifs / somme des montants de lignes positifs.",
        "- sum of negative line amounts / sum of positive line amounts.",
        lambda returned_amount, sold_amount: ratio(-returned_amount, sold_amount),
    ),
    Kpi(
        "discount_rate", "Taux de remise", "Discount rate", "pct", "down",
        "Somme des remises / (somme des montants + somme des remises).",
        "Sum of discounts / (sum of amounts + sum of discounts).",
        lambda discount, revenue: ratio(discount, revenue + discount),
    ),
    Kpi(
        "active_customers", "Clients actifs", "Active customers", "count", "up",
        "Clients distincts ayant un ticket de vente sur les 365 jours glissants.",
        "Distinct customers with a sales ticket in the trailing 365 days.",
        lambda active: _count(active),
    ),
    Kpi(
        "new_customers", "Clients recrutés", "New customers", "count", "up",
        "Clients dont le premier ticket de vente de toute l'enseigne tombe dans la période ; "
        "rattachés au magasin de ce ticket.",
        "Customers whose first sales ticket in the whole chain falls in the period; they "
        "belong to that ticket's store.",
        lambda recruited: _count(recruited), additive=True,
    ),
    Kpi(
        "purchase_frequency", "Fréquence d'achat", "Purchase frequency", "ratio", "up",
        "Tickets de vente des clients identifiés sur 365 jours glissants / clients actifs.",
        "Sales tickets of identified customers in the trailing 365 days / active customers.",
        lambda active_tickets, active: ratio(active_tickets, active),
    ),
    Kpi(
        "repeat_rate", "Taux de réachat", "Repeat rate", "pct", "up",
        "Parmi les clients ayant un ticket de vente dans la période, part de ceux qui ont au "
        "moins 2 tickets de vente sur 365 jours glissants.",
        "Among customers with a sales ticket in the period, share with at least 2 sales "
        "tickets in the trailing 365 days.",
        lambda repeaters, buyers: ratio(repeaters, buyers),
    ),
    Kpi(
        "retention_rate", "Taux de rétention", "Retention rate", "pct", "up",
        "Clients actifs sur les 365 jours précédant le début de la période qui ont aussi "
        "acheté dans la période / ces clients.",
        "Customers active in the 365 days before the period's start who also bought in the "
        "period / those customers.",
        lambda retained, previously_active: ratio(retained, previously_active),
    ),
    Kpi(
        "dormant_customers", "Clients inactifs", "Dormant customers", "count", "down",
        "Clients dont le dernier ticket de vente date de 365 à 1095 jours avant la fin de la "
        "période.",
        "Customers whose last sales ticket is 365 to 1095 days before the period's end.",
        lambda dormant: _count(dormant),
    ),
    Kpi(
        "optin_email_rate", "Joignabilité e-mail", "E-mail reachability", "pct", "up",
        "Clients actifs avec un e-mail valide et un consentement e-mail en vigueur (opt-in) / "
        "clients actifs.",
        "Active customers with a valid e-mail and a current e-mail opt-in / active customers.",
        lambda email_reachable, active: ratio(email_reachable, active),
    ),
    Kpi(
        "optin_sms_rate", "Joignabilité SMS", "SMS reachability", "pct", "up",
        "Clients actifs avec un numéro mobile valide et un consentement SMS en vigueur / "
        "clients actifs.",
        "Active customers with a valid mobile number and a current SMS opt-in / active "
        "customers.",
        lambda sms_reachable, active: ratio(sms_reachable, active),
    ),
    Kpi(
        "contact_capture_rate", "Taux de collecte", "Contact capture rate", "pct", "up",
        "Clients recrutés dans la période avec un e-mail ou un mobile valide / clients recrutés.",
        "New customers recruited in the period with a valid e-mail or mobile / new customers.",
        lambda recruited_with_contact, recruited: ratio(recruited_with_contact, recruited),
    ),
    Kpi(
        "csat", "Satisfaction", "Satisfaction (CSAT)", "pct", "up",
        "Réponses avec une note CSAT ≥ 4 (sur 1 à 5) / réponses avec une note CSAT.",
        "Survey answers with CSAT ≥ 4 (on 1-5) / answers with a CSAT.",
        lambda satisfied, csat_answers: ratio(satisfied, csat_answers),
    ),
    Kpi(
        "nps", "NPS", "NPS", "points", "up",
        "% de promoteurs (9-10) - % de détracteurs (0-6) parmi les réponses NPS ; "
        "de -100 à +100.",
        "% promoters (9-10) - % detractors (0-6) over NPS answers; -100 to +100.",
        lambda promoters, detractors, nps_answers: 100
        * ratio(promoters - detractors, nps_answers),
    ),
    Kpi(
        "complaints", "Réclamations", "Complaints", "count", "down",
        "Réclamations ouvertes dans la période.",
        "Complaints opened in the period.",
        lambda complaints_opened: _count(complaints_opened), additive=True,
    ),
    Kpi(
        "complaint_resolution_days", "Délai de résolution", "Resolution time", "days", "down",
        "Nombre moyen de jours entre ouverture et résolution, réclamations résolues dans la "
        "période.",
        "Mean days from opened to resolved, complaints resolved in the period.",
        lambda resolution_seconds, complaints_resolved: ratio(
            resolution_seconds, complaints_resolved * 86_400
        ),
    ),
    Kpi(
        "web_share", "Part du web", "Web share", "pct", None,
        "CA des canaux web et app / CA.",
        "Revenue of the web and app channels / revenue.",
        lambda web_revenue, revenue: ratio(web_revenue, revenue),
    ),
    Kpi(
        "omnichannel_customers", "Clients omnicanaux", "Omnichannel customers", "pct", "up",
        "Clients actifs ayant des tickets de vente en magasin et sur le web ou l'app (365 jours "
        "glissants) / clients actifs.",
        "Active customers with sales tickets in both store and web/app channels (trailing 365 "
        "days) / active customers.",
        lambda omnichannel, active: ratio(omnichannel, active),
    ),
)

KPIS: dict[str, Kpi] = {k.id: k for k in CATALOGUE}


class UnknownKpiError(ValueError):
    """A KPI id that is not in the catalogue."""


def resolve(ids: list[str] | tuple[str, ...] | None) -> list[Kpi]:
    """The catalogue entries for ``ids`` (all of them when None), in catalogue order."""
    if not ids:
        return list(CATALOGUE)
    unknown = [i for i in ids if i not in KPIS]
    if unknown:
        raise UnknownKpiError(
            f"indicateur inconnu : {', '.join(unknown)} (voir docs/kpis.md pour la liste)"
        )
    wanted = set(ids)
    return [k for k in CATALOGUE if k.id in wanted]
