"""Survey and complaint measures (surveys and feedback tables)."""

from __future__ import annotations

from collections.abc import Iterable

import ibis.expr.types as ir

from enseigne.metrics.measures import (
    Frame,
    _aggregate,
    _filtered,
    _flag,
    _zero_if,
    scoped,
    shared,
)

SURVEY_MEASURES = {
    "csat_answers": lambda s: _flag(s.csat.notnull()).sum(),
    "satisfied": lambda s: _flag(s.csat >= 4).sum(),
    "nps_answers": lambda s: _flag(s.nps.notnull()).sum(),
    "promoters": lambda s: _flag(s.nps >= 9).sum(),
    "detractors": lambda s: _flag(s.nps <= 6).sum(),
}


@shared
def survey_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    """Answers in the period, attributed through their ticket when they name one."""
    s = frame.table("survey_responses")
    s = s.filter(frame.in_days(s.answered_at, "start", "end"))
    t = frame.table("tickets")
    # Only the receipts the answers name (a few thousand), not every ticket.
    t = t.semi_join(s.filter(s.ticket_id.notnull()).select("ticket_id"), "ticket_id")
    t = t.select("ticket_id", t_store="store_code", t_seller="seller_code", t_channel="channel")
    s = s.left_join(t, "ticket_id").drop("ticket_id_right")
    s = s.mutate(
        store_code=s.store_code.fill_null(s.t_store),
        channel=s.channel.fill_null(s.t_channel),
        seller_code=s.t_seller,
    )
    s = scoped(frame, _filtered(s, frame.in_stores(s.store_code)))
    return None if s is None else _aggregate(s, SURVEY_MEASURES, names)


@shared
def feedback_family(frame: Frame, names: Iterable[str]) -> ir.Table | None:
    f = frame.table("feedback")
    opened = frame.in_days(f.opened_at, "start", "end")
    resolved = f.resolved_at.notnull() & frame.in_days(f.resolved_at, "start", "end")
    f = _filtered(f, f.kind == "complaint", opened | resolved, frame.in_stores(f.store_code))
    f = f.mutate(opened=opened, resolved=resolved)
    f = scoped(frame, f, seller=None)
    if f is None:
        return None
    measures = {
        "complaints_opened": lambda r: _flag(r.opened).sum(),
        "complaints_resolved": lambda r: _flag(r.resolved).sum(),
        "resolution_seconds": lambda r: _zero_if(
            r.resolved, r.resolved_at.epoch_seconds() - r.opened_at.epoch_seconds()
        ).sum(),
    }
    return _aggregate(f, measures, names)
