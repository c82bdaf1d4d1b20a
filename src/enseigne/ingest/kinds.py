"""What each import kind holds: its canonical columns, their types and rules, its natural key.

Declared once; validation, loading and the docs read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal[
    "text", "code", "int", "decimal", "money", "quantity", "rate", "float",
    "date", "timestamp", "email", "phone", "enum",
]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    default: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    dimension: bool = False  # upserted (with updated_at) rather than appended
    updatable: bool = False  # a re-sent row replaces the stored one (a complaint now resolved)
    # Stored rows as the file shows them, when the table alone does not (ticket lines keep
    # their receipt's shared columns in ``tickets``).
    view: str | None = None
    header: tuple[str, tuple[str, ...]] | None = None  # (table, key) of those shared columns
    # Rules across columns: (column blamed, SQL condition that must hold, reason if not).
    row_rules: tuple[tuple[str, str, str], ...] = ()
    references: dict[str, str] = field(default_factory=dict)  # column -> referenced kind

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


CHANNELS = ("store", "web", "app")
CONSENT_CHANNELS = ("email", "sms", "push", "postal", "phone")
CONSENT_STATUSES = ("opt_in", "opt_out", "soft_opt_in")
FEEDBACK_KINDS = ("complaint", "comment", "suggestion")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "stores", "stores",
            (
                Column("store_code", "code", required=True), Column("name", required=True),
                Column("region"), Column("city"), Column("postal_code", "code"),
                Column("surface_m2", "decimal", low=0), Column("opened_on", "date"),
                Column("closed_on", "date"), Column("latitude", "float", low=-90, high=90),
                Column("longitude", "float", low=-180, high=180),
            ),
            key=("store_code",), dimension=True,
            row_rules=(("closed_on", "closed_on >= opened_on", "closed before it opened"),),
        ),
        Kind(
            "sellers", "sellers",
            (
                Column("seller_code", "code", required=True),
                Column("store_code", "code", required=True), Column("name"),
            ),
            key=("seller_code",), dimension=True, references={"store_code": "stores"},
        ),
        Kind(
            "products", "products",
            (
                Column("sku", "code", required=True), Column("label"), Column("category"),
                Column("subcategory"), Column("brand"), Column("unit_price", "money", low=0),
            ),
            key=("sku",), dimension=True,
        ),
        Kind(
            "customers", "customers",
            (
                Column("customer_ref", "code", required=True), Column("loyalty_card", "code"),
                Column("first_name"), Column("last_name"), Column("email", "email"),
                Column("phone", "phone"), Column("birth_date", "date"), Column("gender"),
                Column("postal_code", "code"), Column("city"), Column("country"),
                Column("created_at", "timestamp"), Column("store_code", "code"),
                Column("channel", "enum", choices=CHANNELS), Column("seller_code", "code"),
            ),
            key=("customer_ref",), dimension=True,
            references={"store_code": "stores", "seller_code": "sellers"},
        ),
        Kind(
            "consents", "consents",
            (
                Column("customer_ref", "code", required=True),
                Column("channel", "enum", required=True, choices=CONSENT_CHANNELS),
                Column("status", "enum", required=True, choices=CONSENT_STATUSES),
                Column("collected_at", "timestamp", required=True), Column("source"),
                Column("store_code", "code"), Column("seller_code", "code"),
                Column("wording_version"),
            ),
            key=("customer_ref", "channel", "collected_at"),
            # The CNIL soft opt-in covers e-mail to existing customers only.
            row_rules=(("status", "status <> 'soft_opt_in' OR channel = 'email'",
                        "soft opt-in is for e-mail only"),),
            references={
                "customer_ref": "customers", "store_code": "stores", "seller_code": "sellers",
            },
        ),
        Kind(
            "tickets", "ticket_lines",
            (
                Column("ticket_id", "code", required=True),
                Column("line_no", "int", required=True, low=0),
                Column("sold_at", "timestamp", required=True),
                Column("store_code", "code", required=True),
                Column("channel", "enum", choices=CHANNELS, default="store"),
                Column("seller_code", "code"), Column("customer_ref", "code"),
                Column("sku", "code", required=True), Column("product_label"),
                Column("category"), Column("quantity", "quantity", required=True),
                Column("unit_price", "money"), Column("discount", "money"),
                Column("amount", "money", required=True), Column("vat_rate", "rate"),
            ),
            key=("ticket_id", "line_no"), view="sales_lines",
            header=("tickets", ("ticket_id",)),
            references={
                "store_code": "stores", "customer_ref": "customers", "sku": "products",
                "seller_code": "sellers",
            },
        ),
        Kind(
            "footfall", "footfall",
            (
                Column("store_code", "code", required=True),
                Column("date", "date", required=True), Column("hour", "int", low=0, high=23),
                Column("visitors", "int", required=True, low=0),
            ),
            key=("store_code", "date", "hour"), references={"store_code": "stores"},
        ),
        Kind(
            "targets", "targets",
            (
                Column("scope", "code", required=True), Column("kpi", "code", required=True),
                Column("period_start", "date", required=True),
                Column("period_end", "date", required=True),
                Column("value", "float", required=True),
            ),
            key=("scope", "kpi", "period_start", "period_end"), updatable=True,
            row_rules=(
                ("period_end", "period_end >= period_start", "period ends before it starts"),
            ),
        ),
        Kind(
            "surveys", "survey_responses",
            (
                Column("response_id", "code", required=True),
                Column("answered_at", "timestamp", required=True),
                Column("store_code", "code"), Column("customer_ref", "code"),
                Column("ticket_id", "code"), Column("nps", "int", low=0, high=10),
                Column("csat", "int", low=1, high=5), Column("comment"),
                Column("channel", "enum", choices=CHANNELS),
            ),
            key=("response_id",),
            references={"store_code": "stores", "customer_ref": "customers"},
        ),
        Kind(
            "feedback", "feedback",
            (
                Column("feedback_id", "code", required=True),
                Column("opened_at", "timestamp", required=True),
                Column("kind", "enum", required=True, choices=FEEDBACK_KINDS),
                Column("store_code", "code"), Column("customer_ref", "code"),
                Column("channel", "enum", choices=CHANNELS), Column("text"),
                Column("resolved_at", "timestamp"),
            ),
            key=("feedback_id",), updatable=True,
            row_rules=(
                ("resolved_at", "resolved_at >= opened_at", "resolved before it was opened"),
            ),
            references={"store_code": "stores", "customer_ref": "customers"},
        ),
    )
}
