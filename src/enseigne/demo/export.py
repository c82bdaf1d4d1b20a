"""export_csv: the database as French POS exports (cp1252, ';', decimal comma, dd/mm/yyyy).

DuckDB writes UTF-8 only, so each file is written by COPY and then transcoded in chunks.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from enseigne.db.connect import quote_literal

CHUNK_CHARS = 1 << 20

_DATE = "strftime({}, '%d/%m/%Y')"
_TS = "strftime({}, '%d/%m/%Y %H:%M:%S')"
_NUM = "replace(CAST({} AS VARCHAR), '.', ',')"
# a number without useless trailing zeros: 1.000 -> 1, 5.50 -> 5,5 (quantities, VAT percent)
_TRIM = ("replace(CASE WHEN CAST({0} AS VARCHAR) LIKE '%.%' THEN "
         "rtrim(rtrim(CAST({0} AS VARCHAR), '0'), '.') ELSE CAST({0} AS VARCHAR) END, '.', ',')")


def _col(expr: str, header: str) -> str:
    return f'{expr} AS "{header}"'


EXPORTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "magasins.csv": ("stores ORDER BY store_code", [
        ("store_code", "Code magasin"), ("name", "Nom"), ("region", "Région"),
        ("city", "Ville"), ("postal_code", "Code postal"),
        (_NUM.format("surface_m2"), "Surface (m²)"),
        (_DATE.format("opened_on"), "Date d'ouverture"),
        (_DATE.format("closed_on"), "Date de fermeture"),
        (_NUM.format("latitude"), "Latitude"), (_NUM.format("longitude"), "Longitude"),
    ]),
    "vendeurs.csv": ("sellers ORDER BY seller_code", [
        ("seller_code", "Code vendeur"), ("store_code", "Code magasin"), ("name", "Nom"),
    ]),
    "articles.csv": ("products ORDER BY sku", [
        ("sku", "Code article"), ("label", "Libellé"), ("category", "Famille"),
        ("subcategory", "Sous-famille"), ("brand", "Marque"),
        (_NUM.format("unit_price"), "Prix de vente TTC"),
    ]),
    "clients.csv": ("customers ORDER BY customer_ref", [
        ("customer_ref", "N° client"), ("loyalty_card", "N° carte"), ("first_name", "Prénom"),
        ("last_name", "Nom"), ("email", "E-mail"), ("phone", "Téléphone"),
        (_DATE.format("birth_date"), "Date de naissance"), ("gender", "Civilité"),
        ("postal_code", "Code postal"), ("city", "Ville"), ("country", "Pays"),
        (_TS.format("created_at"), "Date de création"),
        ("store_code", "Magasin de recrutement"), ("channel", "Canal"),
        ("seller_code", "Vendeur"),
    ]),
    "consentements.csv": ("consents ORDER BY collected_at, customer_ref, channel", [
        ("customer_ref", "N° client"), ("channel", "Canal"), ("status", "Statut"),
        (_TS.format("collected_at"), "Date de collecte"), ("source", "Source"),
        ("store_code", "Code magasin"),
    ]),
    "tickets.csv": ("ticket_lines l JOIN tickets t USING (ticket_id) "
                    "LEFT JOIN products p USING (sku)", [
        ("l.ticket_id", "N° ticket"), ("l.line_no", "N° ligne"),
        (_TS.format("t.sold_at"), "Date"), ("t.store_code", "Code magasin"),
        ("t.channel", "Canal"), ("t.seller_code", "Code vendeur"),
        ("t.customer_ref", "N° client"), ("l.sku", "Code article"), ("p.label", "Libellé"),
        ("p.category", "Famille"), (_TRIM.format("l.quantity"), "Qté"),
        (_NUM.format("l.unit_price"), "PU TTC"), (_NUM.format("l.discount"), "Remise"),
        (_NUM.format("l.amount"), "Montant TTC"),
        (_TRIM.format("(l.vat_rate * 100)"), "Taux TVA"),
    ]),
    "frequentation.csv": ("footfall ORDER BY date, store_code, hour", [
        ("store_code", "Code magasin"), (_DATE.format("date"), "Date"), ("hour", "Heure"),
        ("visitors", "Entrées"),
    ]),
    "objectifs.csv": ("targets ORDER BY scope, kpi, period_start", [
        ("scope", "Périmètre"), ("kpi", "Indicateur"), (_DATE.format("period_start"), "Début"),
        (_DATE.format("period_end"), "Fin"), (_TRIM.format("value"), "Objectif"),
    ]),
    "enquetes.csv": ("survey_responses ORDER BY answered_at, response_id", [
        ("response_id", "N° réponse"), (_TS.format("answered_at"), "Date de réponse"),
        ("store_code", "Code magasin"), ("customer_ref", "N° client"),
        ("ticket_id", "N° ticket"), ("nps", "Note NPS"), ("csat", "Note satisfaction"),
        ("comment", "Commentaire"), ("channel", "Canal"),
    ]),
    "reclamations.csv": ("feedback ORDER BY opened_at, feedback_id", [
        ("feedback_id", "N° réclamation"), (_TS.format("opened_at"), "Date d'ouverture"),
        ("kind", "Type"), ("store_code", "Code magasin"), ("customer_ref", "N° client"),
        ("channel", "Canal"), ("text", "Texte"), (_TS.format("resolved_at"), "Date de résolution"),
    ]),
}


def _transcode(src: Path, dst: Path) -> None:
    """UTF-8 -> cp1252 in bounded memory; a character cp1252 lacks becomes '?'."""
    with src.open(encoding="utf-8", newline="") as fin, \
            dst.open("w", encoding="cp1252", errors="replace", newline="") as fout:
        while chunk := fin.read(CHUNK_CHARS):
            fout.write(chunk)


def export_csv(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Write one cp1252 ``;``-separated file per kind into ``out_dir``; return their paths.

    Ticket lines are written in ticket order (the lines of a ticket are consecutive).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, (source, columns) in EXPORTS.items():
        select = ", ".join(_col(expr, header) for expr, header in columns)
        if filename == "tickets.csv":
            source += " ORDER BY t.sold_at, l.ticket_id, l.line_no"
        tmp = out_dir / f".{filename}.utf8"
        con.execute(f"COPY (SELECT {select} FROM {source}) TO {quote_literal(str(tmp))} "
                    "(FORMAT csv, HEADER, DELIMITER ';', QUOTE '\"', NULLSTR '')")
        target = out_dir / filename
        _transcode(tmp, target)
        tmp.unlink()
        written.append(target)
    return written
