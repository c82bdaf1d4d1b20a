"""Every KPI of the contract against hand computations on a tiny crafted chain.

The data goes the real way (canonical CSV files through ``import_file``); expected numbers are
literals worked out by hand from KPIS.md, the arithmetic in comments. N = November 2026;
trailing 365 days = 2025-12-01..2026-11-30; the year before N = 2025-11-01..2026-10-31;
dormant = last sales ticket 2023-12-01..2025-11-30; N-1 (weekday) = 2025-11-02..2025-12-01.
Stores: S1 (ARA, 100 m²), S2 (ARA, 200 m², closed_on 2026-11-16), S3 (IDF, 150 m²), S4 (IDF,
closed 2025-06-01), WEB (no region, no surface). C01 buys at S1, S3 and online; C02 only
returns in N; C04 only a zero-total exchange; C05, C07, C09 are new (C07 recruited at S1 on
file but first bought at S3); C06 is dormant at S4 only; C13 left S3 for S2.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from chains import build_chain
from enseigne.db import connect
from enseigne.metrics import KPIS, Period, compute_kpis, duckdb_backend

ARA = "Auvergne-Rhône-Alpes"
IDF = "Île-de-France"
NOV = Period(date(2026, 11, 1), date(2026, 11, 30), "month")
# SKU prices divide exactly by 1 + VAT: A 60,00 and C 36,00 at 20 %; B 21,10 and D 10,55 at 5,5 %.
CHAIN = {
    "stores": (
        "store_code;name;region;city;surface_m2;opened_on;closed_on\n"
        f"S1;Lyon Part-Dieu;{ARA};Lyon;100;2015-03-01;\n"
        f"S2;Villeurbanne;{ARA};Villeurbanne;200;2018-09-15;2026-11-16\n"
        f"S3;Paris Rivoli;{IDF};Paris;150;2019-04-01;\n"
        f"S4;Versailles;{IDF};Versailles;120;2016-01-01;2025-06-01\n"
        "WEB;Site web;;;;2020-01-01;\n"
    ),
    "sellers": "seller_code;store_code;name\nV11;S1;Alice\nV12;S1;Basile\nV21;S2;Clara\n"
               "V31;S3;Denis\nV41;S4;Elsa\n",
    "customers": (
        "customer_ref;first_name;email;phone;created_at;store_code;channel\n"
        "C01;Anne;anne@exemple.fr;06 12 34 56 78;2026-06-10 10:00:00;S1;store\n"
        "C02;Bruno;bruno@exemple.fr;;2026-03-15 10:00:00;S1;store\n"
        "C03;Chloé;chloe@exemple.fr;01 45 67 89 01;2025-11-20 10:00:00;S1;store\n"
        "C04;David;;;2026-11-25 15:00:00;S1;store\n"
        "C05;Emma;emma@exemple.fr;07 12 34 56 78;2026-11-02 10:00:00;S2;store\n"
        "C06;Fabien;;06 98 76 54 32;2024-05-10 10:00:00;S4;store\n"
        "C07;Gaëlle;;01 23 45 67 89;2026-11-18 10:00:00;S1;store\n"
        "C08;Hugo;hugo@exemple.fr;;2026-09-01 10:00:00;S3;store\n"
        "C09;Inès;ines@exemple.fr;+32 470 12 34 56;2026-11-10 10:00:00;S3;store\n"
        "C10;Jules;jules@exemple.fr;;2023-01-10 10:00:00;S1;store\n"
        "C11;Karine;karine@exemple.fr;06 11 22 33 44;2026-11-10 10:00:00;S3;store\n"
        "C12;Louis;;;2023-06-01 10:00:00;S3;store\n"
        "C13;Manon;manon@exemple.fr;06 11 11 22 22;2026-02-10 10:00:00;S3;store\n"
        "C14;Nina;;;2025-10-01 10:00:00;S2;store\n"
    ),
    "consents": (
        "customer_ref;channel;status;collected_at;source;store_code\n"
        "C01;email;opt_in;2025-01-01 10:00:00;caisse;S1\n"
        "C01;sms;opt_in;2025-01-01 10:00:00;caisse;S1\n"
        "C02;email;opt_in;2024-05-01 10:00:00;caisse;S1\n"
        "C02;email;opt_out;2026-10-01 10:00:00;site;\n"  # revoked before N's end
        "C03;email;opt_out;2025-01-01 10:00:00;caisse;S1\n"
        "C03;email;opt_in;2026-11-20 10:00:00;site;\n"  # re-opted in during N
        "C03;sms;opt_in;2025-01-01 10:00:00;caisse;S1\n"  # but a landline
        "C05;email;opt_in;2026-11-02 10:00:00;caisse;S2\n"
        "C05;sms;opt_in;2026-11-02 10:00:00;caisse;S2\n"
        "C06;sms;opt_out;2024-05-10 10:00:00;caisse;S4\n"
        "C06;sms;opt_in;2026-12-10 10:00:00;site;\n"  # after N's end: still out for N
        "C08;push;opt_in;2026-09-01 10:00:00;appli;\n"  # push says nothing of e-mail
        "C09;email;opt_in;2026-11-15 21:00:00;appli;\n"
        "C09;sms;opt_in;2026-11-15 21:00:00;appli;\n"  # but a Belgian mobile
        "C11;email;opt_in;2026-11-10 10:00:00;caisse;S3\n"
        "C13;email;opt_in;2026-02-10 10:00:00.5;caisse;S3\n"  # a fraction of a second
    ),
    "tickets": (
        "ticket_id;line_no;sold_at;store_code;channel;seller_code;customer_ref;sku;quantity;"
        "unit_price;discount;amount;vat_rate\n"
        # period N
        "T101;1;2026-11-03 10:15:00;S1;store;V11;C01;A;2;60,00;0,00;120,00;20\n"
        "T101;2;2026-11-03 10:15:00;S1;store;V11;C01;B;1;21,10;0,00;21,10;5,5\n"
        "T102;1;2026-11-05 11:30:00;S1;store;V12;;A;1;60,00;12,00;48,00;20\n"
        "T103;1;2026-11-10 16:00:00;S1;store;V11;C02;A;-1;60,00;0,00;-60,00;20\n"
        "T104;1;2026-11-12 17:45:00;S1;store;V12;C03;C;3;36,00;0,00;108,00;20\n"
        "T104;2;2026-11-12 17:45:00;S1;store;V12;C03;B;-1;21,10;0,00;-21,10;5,5\n"
        "T105;1;2026-11-20 12:00:00;S1;store;V11;C01;B;2;21,10;0,00;42,20;5,5\n"
        "T106;1;2026-11-25 15:00:00;S1;store;V12;C04;A;1;60,00;0,00;60,00;20\n"
        "T106;2;2026-11-25 15:00:00;S1;store;V12;C04;A;-1;60,00;0,00;-60,00;20\n"
        "T201;1;2026-11-02 10:00:00;S2;store;V21;C05;A;1;60,00;0,00;60,00;20\n"
        "T202;1;2026-11-09 11:00:00;S2;store;V21;C06;C;5;36,00;0,00;180,00;20\n"
        "T203;1;2026-11-14 18:00:00;S2;store;V21;;D;1;10,55;0,00;10,55;5,5\n"
        "T204;1;2026-11-03 17:00:00;S2;store;V21;C13;D;3;10,55;0,00;31,65;5,5\n"
        "T301;1;2026-11-04 11:00:00;S3;store;V31;C01;A;1;60,00;0,00;60,00;20\n"
        "T302;1;2026-11-18 15:00:00;S3;store;V31;C07;C;2;36,00;0,00;72,00;20\n"
        "T303;1;2026-11-27 16:00:00;S3;store;V31;C08;A;2;60,00;24,00;96,00;20\n"
        "T304;1;2026-11-28 10:00:00;S3;store;V31;C08;D;-1;10,55;0,00;-10,55;5,5\n"
        "T401;1;2026-11-06 20:00:00;WEB;web;;C01;B;1;21,10;0,00;21,10;5,5\n"
        "T402;1;2026-11-15 21:00:00;WEB;app;;C09;A;1;60,00;0,00;60,00;20\n"
        "T403;1;2026-11-21 09:00:00;WEB;web;;C09;A;-1;60,00;0,00;-60,00;20\n"
        # history of the customers
        "H01;1;2026-06-10 10:00:00;S1;store;V11;C01;A;1;60,00;0,00;60,00;20\n"
        "H02;1;2026-03-15 10:00:00;S1;store;V12;C02;B;2;21,10;0,00;42,20;5,5\n"
        "H08;1;2026-09-01 10:00:00;S3;store;V31;C08;C;1;36,00;0,00;36,00;20\n"
        "H13;1;2026-02-10 10:00:00;S3;store;V31;C13;A;1;60,00;0,00;60,00;20\n"
        "H06A;1;2024-05-10 10:00:00;S4;store;V41;C06;A;1;60,00;0,00;60,00;20\n"
        "H06B;1;2025-03-01 10:00:00;S4;store;V41;C06;C;1;36,00;0,00;36,00;20\n"
        "H10A;1;2023-01-10 10:00:00;S1;store;V12;C10;A;1;60,00;0,00;60,00;20\n"
        "H10B;1;2024-06-15 10:00:00;S1;store;V12;C10;B;1;21,10;0,00;21,10;5,5\n"
        "H12;1;2023-06-01 10:00:00;S3;store;V31;C12;A;1;60,00;0,00;60,00;20\n"
        "H14;1;2025-10-01 10:00:00;S2;store;V21;C14;A;1;60,00;0,00;60,00;20\n"
        # N-1: T501 is in the calendar N-1 only, T503 in the weekday N-1 only
        "T501;1;2025-11-01 10:00:00;S1;store;V11;;A;1;60,00;0,00;60,00;20\n"
        "T502;1;2025-11-20 10:00:00;S1;store;V11;C03;A;2;60,00;0,00;120,00;20\n"
        "T503;1;2025-12-01 10:00:00;S1;store;V12;;B;1;21,10;0,00;21,10;5,5\n"
        "T504;1;2025-11-10 10:00:00;S2;store;V21;;C;1;36,00;0,00;36,00;20\n"
        "T505;1;2025-11-12 10:00:00;S3;store;V31;;A;1;60,00;0,00;60,00;20\n"
        "T506;1;2025-11-25 10:00:00;WEB;web;;;D;1;10,55;0,00;10,55;5,5\n"
    ),
    "footfall": (
        "store_code;date;hour;visitors\n"
        "S1;2026-10-31;;999\nS1;2026-11-03;;40\nS1;2026-11-05;10;12\nS1;2026-11-05;11;8\n"
        "S1;2026-11-11;;25\nS1;2026-11-12;;30\nS2;2026-11-02;;50\nS2;2026-11-14;;20\n"
        "S3;2026-11-04;;25\n"
    ),
    "targets": (
        "scope;kpi;period_start;period_end;value\n"
        "S1;revenue;2026-10-17;2026-11-15;600\n"
        "S1;revenue;2026-11-16;2026-12-15;900\n"
        "S1;revenue;2026-12-16;2026-12-31;10000\n"
        "S2;revenue;2026-11-01;2026-11-30;400\n"
        f"{ARA};revenue;2026-10-01;2026-12-31;2760\n"
        "network;revenue;2026-11-01;2026-11-30;1000\n"
        "S1;tickets;2026-11-01;2026-12-31;61\n"
        "S1;avg_basket;2026-10-01;2026-11-10;50\n"
        "S1;avg_basket;2026-11-11;2026-12-31;80\n"
        "S1;conversion_rate;2026-11-01;2026-11-30;0,05\n"
        "S1;footfall;2026-11-01;2026-12-31;610\n"
        "network;complaints;2026-11-01;2026-11-15;3\n"
        f"{IDF};units;2026-11-01;2026-11-30;8\n"
    ),
    "surveys": (
        "response_id;answered_at;store_code;customer_ref;ticket_id;nps;csat;channel\n"
        "R1;2026-11-03 12:00:00;S1;C01;T101;10;5;store\n"
        "R2;2026-11-06 12:00:00;S1;;T102;9;4;store\n"
        "R3;2026-11-13 12:00:00;S1;C03;T104;6;2;store\n"
        "R4;2026-11-03 12:00:00;S2;C05;T201;7;3;store\n"
        "R5;2026-11-19 12:00:00;S3;C07;T302;3;;store\n"
        "R6;2026-11-07 12:00:00;WEB;C01;T401;10;5;web\n"
        "R7;2026-11-21 12:00:00;S1;C01;T105;;4;store\n"
        "R8;2026-10-20 12:00:00;S1;;;0;1;store\n"
    ),
    "feedback": (
        "feedback_id;opened_at;kind;store_code;customer_ref;channel;text;resolved_at\n"
        "F1;2026-11-04 10:00:00;complaint;S1;C01;store;Attente en caisse;2026-11-07 10:00:00\n"
        "F2;2026-11-20 09:00:00;complaint;S1;C02;store;Retour refusé;\n"
        "F3;2026-10-25 14:00:00;complaint;S2;C06;store;Article abîmé;2026-11-05 14:00:00\n"
        "F4;2026-11-10 08:00:00;complaint;S3;C08;store;Taille erronée;2026-12-03 08:00:00\n"
        "F5;2026-11-11 10:00:00;comment;S3;;store;Belle vitrine;\n"
        "F6;2026-11-12 18:00:00;complaint;WEB;C09;web;Colis en retard;2026-11-13 18:00:00\n"
    ),
}

# Per store in N. Lines > 0: S1 120 + 21.10 + 48 + 108 + 42.20 + 60 = 399.30, lines < 0:
# S1 60 + 21.10 + 60 = 141.10; S3 + 72 + 96 = 228 vs 10.55; WEB 21.10 + 60 = 81.10 vs 60.
# Revenue: S1 399.30 - 141.10 = 258.20; S2 60 + 180 + 10.55 + 31.65 = 282.20;
# S3 228 - 10.55 = 217.45; WEB 81.10 - 60 = 21.10. HT: S1 100 + 20 + 40 - 50 + 90 - 20 + 40
# = 220; S2 50 + 150 + 10 + 30 = 240; S3 50 + 60 + 80 - 10 = 180; WEB 20 + 50 - 50 = 20.
# Sales tickets: S1 T101 T102 T104 T105 (T103 return, T106 zero); S2 4; S3 3; WEB T401 T402.
# Active (trailing 365): S1 C01 C02 C03; S2 C05 C06 C13; S3 C01 C07 C08 C13; WEB C01 C09;
# network C01 C02 C03 C05 C06 C07 C08 C09 C13 = 9 (not C04: zero ticket; C14: 2025-10-01).
# E-mail reachable (valid address + current opt-in): C01 C03 C05 C09 C13.
# SMS reachable (+336/+337 + current opt-in): C01 C05.
NETWORK = {
    "revenue": 778.95,  # 258.20 + 282.20 + 217.45 + 21.10
    "revenue_ht": 660.0,  # 220 + 240 + 180 + 20
    "tickets": 13,  # 4 + 4 + 3 + 2
    "avg_basket": 778.95 / 13, "upt": 22 / 13, "avg_unit_price": 778.95 / 22,
    "units": 22,  # S1 3 + 1 - 1 + 2 + 2 + 0, S2 1 + 5 + 1 + 3, S3 1 + 2 + 2 - 1, WEB 1 + 1 - 1
    "revenue_per_m2": 757.85 / 450,  # S1 + S2 + S3 over 100 + 200 + 150 (S4 closed, WEB no m²)
    "footfall": 210,  # S1 40 + 12 + 8 + 25 + 30, S2 50 + 20, S3 25 (not S1's 31 Oct)
    "conversion_rate": 6 / 210,  # sales on counted days: S1 T101 T102 T104, S2 T201 T203, S3 T301
    "identified_rate": 11 / 13,  # anonymous: T102, T203
    "return_rate": 211.65 / 990.60,  # (141.10 + 10.55 + 60) / (399.30 + 282.20 + 228 + 81.10)
    "discount_rate": 36 / 814.95,  # (12 + 24) / (778.95 + 36)
    "active_customers": 9,
    "new_customers": 3,  # C05 (T201), C07 (T302), C09 (T402); not C11 (no ticket)
    "purchase_frequency": 15 / 9,  # C01 5 (H01 T101 T105 T301 T401), C08 2, C13 2, 6 x 1
    "repeat_rate": 3 / 8,  # buyers C01 C03 C05 C06 C07 C08 C09 C13; >= 2: C01 C08 C13
    "retention_rate": 4 / 5,  # cohort C01 C02 C03 C08 C13; C02 only returned in N
    "dormant_customers": 2,  # C10 (2024-06-15, 898 days), C14 (2025-10-01, 425 days)
    "optin_email_rate": 5 / 9, "optin_sms_rate": 2 / 9,
    "contact_capture_rate": 2 / 3,  # C05 (e-mail, mobile), C09 (e-mail); C07 a landline only
    "csat": 4 / 6,  # R1 5, R2 4, R6 5, R7 4 of R1 R2 R3 R4 R6 R7 (R8 in October)
    "nps": 100 * (3 - 2) / 6,  # promoters R1 R2 R6, detractors R3 R5, of 6 answers
    "complaints": 4,  # F1 F2 F4 F6 (F3 opened in October, F5 a comment)
    "complaint_resolution_days": 5.0,  # resolved in N: F1 3, F3 11, F6 1 -> 15 / 3
    "web_share": 21.10 / 778.95,  # T401 21.10 + T402 60 - T403 60
    "omnichannel_customers": 1 / 9,  # C01 (store + web); C09 app only
}
REGIONS = {
    ARA: {
        "revenue": 540.40, "revenue_ht": 460.0, "tickets": 8,  # S1 + S2
        "avg_basket": 540.40 / 8, "units": 17, "upt": 17 / 8, "avg_unit_price": 540.40 / 17,
        "revenue_per_m2": 540.40 / 300,  # S2 counts: open on 1-15 Nov
        "footfall": 185, "conversion_rate": 5 / 185, "identified_rate": 6 / 8,
        "return_rate": 141.10 / 681.50, "discount_rate": 12 / 552.40,
        "active_customers": 6,  # C01 C02 C03 C05 C06 C13
        "new_customers": 1,  # C05
        "purchase_frequency": 8 / 6,  # C01 3 (H01 T101 T105) + C02 C03 C05 C06 C13 1 each
        "repeat_rate": 1 / 5,  # buyers C01 C03 C05 C06 C13; C13 has only T204 in ARA
        "retention_rate": 2 / 3,  # cohort C01 C02 C03
        "dormant_customers": 2,  # C10, C14
        "optin_email_rate": 4 / 6,  # C01 C03 C05 C13
        "optin_sms_rate": 2 / 6,  # C01 C05
        "contact_capture_rate": 1.0,  # C05
        "csat": 3 / 5, "nps": 100 * (2 - 1) / 4,  # R1 R2 R3 R4 (+ R7 csat)
        "complaints": 2, "complaint_resolution_days": 7.0,  # (3 + 11) / 2
        "web_share": 0.0, "omnichannel_customers": 0.0,  # ARA's tickets are all in store
    },
    IDF: {
        "revenue": 217.45, "revenue_ht": 180.0, "tickets": 3,  # S3 only: S4 sold nothing in N
        "avg_basket": 217.45 / 3, "units": 4, "upt": 4 / 3, "avg_unit_price": 217.45 / 4,
        "revenue_per_m2": 217.45 / 150,  # S4 closed before N: not in the denominator
        "footfall": 25, "conversion_rate": 1 / 25, "identified_rate": 1.0,
        "return_rate": 10.55 / 228, "discount_rate": 24 / 241.45,
        "active_customers": 4,  # C01 C07 C08 C13
        "new_customers": 1,  # C07
        "purchase_frequency": 5 / 4,  # C01 1, C07 1, C08 2, C13 1
        "repeat_rate": 1 / 3,  # buyers C01 C07 C08; C08 twice
        "retention_rate": 1 / 2,  # cohort C08 C13; C13 came back at S2, not in IDF
        "dormant_customers": 1,  # C06 (S4 2025-03-01, 639 days); C12 1278 days: lost
        "optin_email_rate": 2 / 4, "optin_sms_rate": 1 / 4,  # C01 C13 / C01
        "contact_capture_rate": 0.0,  # C07
        "csat": None, "nps": -100.0,  # R5 only, NPS 3
        "complaints": 1, "complaint_resolution_days": None,  # F4 resolved in December
        "web_share": 0.0, "omnichannel_customers": 0.0,
    },
}
STORES = {
    "S1": {
        "revenue": 258.20, "revenue_ht": 220.0, "tickets": 4, "avg_basket": 258.20 / 4,
        "units": 7, "upt": 7 / 4, "avg_unit_price": 258.20 / 7, "revenue_per_m2": 258.20 / 100,
        "footfall": 115, "conversion_rate": 3 / 115,  # T101 T102 T104 on counted days
        "identified_rate": 3 / 4, "return_rate": 141.10 / 399.30, "discount_rate": 12 / 270.20,
        "active_customers": 3, "new_customers": 0,
        "purchase_frequency": 5 / 3,  # C01 H01 T101 T105, C02 H02, C03 T104
        "repeat_rate": 1 / 2,  # buyers C01 C03
        "retention_rate": 2 / 3,  # cohort C01 (H01) C02 (H02) C03 (T502)
        "dormant_customers": 1,  # C10
        "optin_email_rate": 2 / 3, "optin_sms_rate": 1 / 3,
        "contact_capture_rate": None,  # no new customer
        "csat": 3 / 4, "nps": 100 * (2 - 1) / 3,  # csat R1 R2 R3 R7, nps R1 R2 R3
        "complaints": 2, "complaint_resolution_days": 3.0,
        "web_share": 0.0, "omnichannel_customers": 0.0,
    },
    "S2": {
        "revenue": 282.20, "revenue_ht": 240.0, "tickets": 4, "avg_basket": 282.20 / 4,
        "units": 10, "upt": 10 / 4, "avg_unit_price": 282.20 / 10,
        "revenue_per_m2": 282.20 / 200, "footfall": 70,
        "conversion_rate": 2 / 70,  # T201, T203 (no count on T202's and T204's days)
        "identified_rate": 3 / 4, "return_rate": 0.0, "discount_rate": 0.0,
        "active_customers": 3, "new_customers": 1, "purchase_frequency": 3 / 3,
        "repeat_rate": 0 / 3,  # C13 has 2 tickets in the chain but 1 at S2
        "retention_rate": None,  # nobody bought at S2 in 2025-11-01..2026-10-31
        "dormant_customers": 1,  # C14
        "optin_email_rate": 2 / 3, "optin_sms_rate": 1 / 3,  # C05 C13 / C05
        "contact_capture_rate": 1.0, "csat": 0.0, "nps": 0.0,  # R4: csat 3, nps 7
        "complaints": 0, "complaint_resolution_days": 11.0,  # F3 opened in October
        "web_share": 0.0, "omnichannel_customers": 0.0,
    },
    "S3": {
        "revenue": 217.45, "revenue_ht": 180.0, "tickets": 3, "avg_basket": 217.45 / 3,
        "units": 4, "upt": 4 / 3, "avg_unit_price": 217.45 / 4, "revenue_per_m2": 217.45 / 150,
        "footfall": 25, "conversion_rate": 1 / 25, "identified_rate": 1.0,
        "return_rate": 10.55 / 228, "discount_rate": 24 / 241.45,
        "active_customers": 4, "new_customers": 1, "purchase_frequency": 5 / 4,
        "repeat_rate": 1 / 3, "retention_rate": 1 / 2,
        "dormant_customers": 0,  # C13's last S3 ticket is 293 days old, C12's 1278
        "optin_email_rate": 2 / 4, "optin_sms_rate": 1 / 4, "contact_capture_rate": 0.0,
        "csat": None, "nps": -100.0, "complaints": 1, "complaint_resolution_days": None,
        "web_share": 0.0, "omnichannel_customers": 0.0,
    },
    "WEB": {
        "revenue": 21.10, "revenue_ht": 20.0, "tickets": 2, "avg_basket": 21.10 / 2,
        "units": 1, "upt": 1 / 2, "avg_unit_price": 21.10 / 1, "revenue_per_m2": None,
        "conversion_rate": None, "identified_rate": 1.0, "return_rate": 60 / 81.10,
        "discount_rate": 0.0, "active_customers": 2, "new_customers": 1,
        "purchase_frequency": 2 / 2, "repeat_rate": 0 / 2, "retention_rate": None,
        "dormant_customers": 0, "optin_email_rate": 2 / 2, "optin_sms_rate": 1 / 2,
        "contact_capture_rate": 1.0, "csat": 1.0, "nps": 100.0, "complaints": 1,
        "complaint_resolution_days": 1.0, "web_share": 1.0,
        "omnichannel_customers": 0.0,  # C01 bought at the web store only online
    },
}
SELLERS = {
    "V11": {  # T101, T103 (return), T105
        "revenue": 123.30, "revenue_ht": 110.0, "tickets": 2, "avg_basket": 123.30 / 2,
        "units": 4, "upt": 4 / 2, "identified_rate": 1.0, "return_rate": 60 / 183.30,
        "discount_rate": 0.0, "active_customers": 1, "new_customers": 0,  # C01
        "repeat_rate": 1.0,
    },
    "V12": {  # T102, T104, T106 (zero)
        "revenue": 134.90, "revenue_ht": 110.0, "tickets": 2, "avg_basket": 134.90 / 2,
        "units": 3, "upt": 3 / 2, "identified_rate": 1 / 2, "return_rate": 81.10 / 216,
        "discount_rate": 12 / 146.90, "active_customers": 2, "new_customers": 0,  # C02 C03
        "repeat_rate": 0.0,
    },
    "V21": {"revenue": 282.20, "tickets": 4, "active_customers": 3, "new_customers": 1},
    "V31": {"revenue": 217.45, "tickets": 3, "active_customers": 4, "new_customers": 1},
}
CHANNELS = {
    "store": {
        "revenue": 757.85, "revenue_ht": 640.0, "tickets": 11, "avg_basket": 757.85 / 11,
        "units": 21, "identified_rate": 9 / 11, "return_rate": 151.65 / 909.50,
        "discount_rate": 36 / 793.85, "active_customers": 8,  # all active but C09
        "new_customers": 2, "csat": 3 / 5, "nps": 0.0,  # R1-R5 (+ R7): 2 promoters, 2 detractors
        "complaints": 3, "complaint_resolution_days": 7.0,
    },
    "web": {
        "revenue": -38.90, "revenue_ht": -30.0, "tickets": 1, "units": 0,  # T401, T403
        "return_rate": 60 / 21.10, "active_customers": 1, "new_customers": 0,
        "csat": 1.0, "nps": 100.0, "complaints": 1, "complaint_resolution_days": 1.0,
    },
    "app": {"revenue": 60.0, "tickets": 1, "units": 1, "return_rate": 0.0,
            "active_customers": 1, "new_customers": 1,  # T402, C09
            "csat": None, "nps": None, "complaints": 0},  # no answer, no complaint in the app
}


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_chain(tmp_path_factory.mktemp("chain") / "chain.duckdb", CHAIN)


@pytest.fixture(scope="module")
def backend(chain_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    copy = tmp_path_factory.mktemp("api") / "chain.duckdb"
    shutil.copy(chain_file, copy)
    con = connect(copy)
    yield duckdb_backend(con)
    con.close()


def by_scope(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(row["scope"], row["kpi"]): row for row in rows}


def mismatch(got: object, want: float | None) -> bool:
    if want is None:
        return got is not None
    if isinstance(got, bool) or not isinstance(got, int | float):
        return True
    if isinstance(want, int):
        return got != want
    return got != pytest.approx(want, rel=1e-12)


def assert_values(rows: list[dict], expected: dict[str, dict], field: str = "value") -> None:
    """Every expected (scope, KPI) value, all discrepancies reported at once."""
    got = by_scope(rows)
    problems = [
        f"{scope} {kpi}: expected {want!r}, got "
        f"{got[scope, kpi][field] if (scope, kpi) in got else 'no row'!r}"
        for scope, values in expected.items()
        for kpi, want in values.items()
        if (scope, kpi) not in got or mismatch(got[scope, kpi][field], want)
    ]
    assert not problems, "\n".join(problems)


def kpis_of(expected: dict[str, dict]) -> list[str]:
    return sorted({kpi for values in expected.values() for kpi in values})


# --- the catalogue -------------------------------------------------------------------------


CATALOGUE = [  # id, FR label, unit, better: as KPIS.md declares them
    ("revenue", "Chiffre d'affaires TTC", "eur", "up"),
    ("revenue_ht", "Chiffre d'affaires HT", "eur", "up"),
    ("tickets", "Nombre de tickets", "count", "up"), ("avg_basket", "Panier moyen", "eur", "up"),
    ("units", "Articles vendus", "count", "up"),
    ("upt", "Indice de vente (articles par ticket)", "ratio", "up"),
    ("avg_unit_price", "Prix moyen article", "eur", "up"),
    ("revenue_per_m2", "CA au m²", "eur_m2", "up"), ("footfall", "Fréquentation", "count", "up"),
    ("conversion_rate", "Taux de transformation", "pct", "up"),
    ("identified_rate", "Taux d'identification", "pct", "up"),
    ("return_rate", "Taux de retour", "pct", "down"),
    ("discount_rate", "Taux de remise", "pct", "down"),
    ("active_customers", "Clients actifs", "count", "up"),
    ("new_customers", "Clients recrutés", "count", "up"),
    ("purchase_frequency", "Fréquence d'achat", "ratio", "up"),
    ("repeat_rate", "Taux de réachat", "pct", "up"),
    ("retention_rate", "Taux de rétention", "pct", "up"),
    ("dormant_customers", "Clients inactifs", "count", "down"),
    ("optin_email_rate", "Joignabilité e-mail", "pct", "up"),
    ("optin_sms_rate", "Joignabilité SMS", "pct", "up"),
    ("contact_capture_rate", "Taux de collecte", "pct", "up"),
    ("csat", "Satisfaction", "pct", "up"), ("nps", "NPS", "points", "up"),
    ("complaints", "Réclamations", "count", "down"),
    ("complaint_resolution_days", "Délai de résolution", "days", "down"),
    ("web_share", "Part du web", "pct", None),
    ("omnichannel_customers", "Clients omnicanaux", "pct", "up"),
]


def test_catalogue_declares_every_kpi_of_the_contract_in_order():
    assert [(k.id, k.label_fr, k.unit, k.better) for k in KPIS.values()] == CATALOGUE
    assert list(KPIS) == [kpi for kpi, *_ in CATALOGUE]


# --- values per grain ----------------------------------------------------------------------


def november(backend, grain: str, kpis: list[str] | None = None, *,
             compare: tuple[str, ...] = (), **options) -> list[dict]:
    return compute_kpis(backend, kpis=kpis, grain=grain, period=NOV, compare=compare, **options)


def test_every_kpi_for_the_network(backend):
    rows = november(backend, "network")
    assert {row["kpi"] for row in rows} == set(KPIS)
    assert_values(rows, {"network": NETWORK})


def test_every_kpi_per_region(backend):
    assert_values(november(backend, "region"), REGIONS)


def test_every_kpi_per_store(backend):
    assert_values(november(backend, "store"), STORES)


def test_kpis_per_seller(backend):
    assert_values(november(backend, "seller", kpis_of(SELLERS)), SELLERS)


def test_kpis_per_channel(backend):
    assert_values(november(backend, "channel", kpis_of(CHANNELS)), CHANNELS)


def test_customer_counts_per_store_do_not_add_up_to_the_network(backend):
    kpis = ["active_customers", "new_customers", "dormant_customers"]
    stores = by_scope(november(backend, "store", kpis))
    network = by_scope(november(backend, "network", kpis))
    active = [stores[s, "active_customers"]["value"] for s in ("S1", "S2", "S3", "WEB")]
    assert (sum(active), network["network", "active_customers"]["value"]) == (12, 9)
    # new customers do add up: each belongs to the store of their first sales ticket
    new = [stores[s, "new_customers"]["value"] for s in ("S1", "S2", "S3", "WEB")]
    assert (sum(new), network["network", "new_customers"]["value"]) == (3, 3)
    # S4 closed in 2025: not listed in November, though C06 is dormant there (639 days)
    assert not any(scope == "S4" for scope, _ in stores)
    dormant = [stores[s, "dormant_customers"]["value"] for s in ("S1", "S2")]
    assert (sum(dormant), network["network", "dormant_customers"]["value"]) == (2, 2)


def test_counts_are_whole_numbers(backend):
    kpis = ["tickets", "footfall", "active_customers", "new_customers", "dormant_customers",
            "complaints"]
    rows = november(backend, "network", kpis)
    assert {row["kpi"]: type(row["value"]) for row in rows} == dict.fromkeys(kpis, int)


# --- comparisons ---------------------------------------------------------------------------


def test_n1_is_364_days_earlier_or_the_same_calendar_dates(backend):
    kpis = ["revenue", "tickets", "units", "avg_basket"]
    # weekday N-1 = 2025-11-02..2025-12-01: T502 T503 (S1), T504 (S2), T505 (S3), T506 (WEB)
    assert_values(november(backend, "store", kpis, compare=("n-1",)), {
        "S1": {"revenue": 141.10, "tickets": 2, "units": 3, "avg_basket": 141.10 / 2},
        "S2": {"revenue": 36.0, "tickets": 1}, "S3": {"revenue": 60.0},
        "WEB": {"revenue": 10.55},
    }, field="n1")
    # calendar N-1 = 2025-11-01..2025-11-30: T501 instead of T503
    assert_values(november(backend, "store", kpis, compare=("n-1",), n1_mode="calendar"), {
        "S1": {"revenue": 180.0, "tickets": 2, "units": 3, "avg_basket": 180.0 / 2},
        "S2": {"revenue": 36.0},
    }, field="n1")
    customers = ["active_customers", "new_customers"]
    assert_values(november(backend, "network", kpis + customers, compare=("n-1",)), {"network": {
        "revenue": 247.65, "tickets": 5, "units": 6,  # 120 + 21.10 + 36 + 60 + 10.55
        "active_customers": 3,  # 2024-12-02..2025-12-01: C03 (T502), C06 (H06B), C14
        "new_customers": 1,  # C03, first ticket T502
    }}, field="n1")


def test_like_for_like_drops_the_store_closed_during_the_period(backend):
    kpis = ["revenue", "tickets"]
    stores = november(backend, "store", kpis, compare=("n-1",), like_for_like=True)
    assert {row["scope"] for row in stores} == {"S1", "S3", "WEB"}  # not S2 (closed), S4
    network = november(backend, "network", kpis, compare=("n-1",), like_for_like=True)
    assert_values(network, {"network": {"revenue": 496.75, "tickets": 9}})  # S1 + S3 + WEB
    assert_values(network, {"network": {"revenue": 211.65, "tickets": 4}}, field="n1")
    regions = november(backend, "region", kpis, like_for_like=True)
    assert_values(regions, {ARA: {"revenue": 258.20, "tickets": 4}})  # S1 alone


def test_targets_are_pro_rated_by_days(backend):
    kpis = ["revenue", "tickets", "avg_basket", "conversion_rate", "footfall", "complaints",
            "units"]
    stores = november(backend, "store", kpis, compare=("target",))
    assert_values(stores, {
        "S1": {
            "revenue": 750.0,  # 600 x 15/30 (17 Oct-15 Nov) + 900 x 15/30 (16 Nov-15 Dec)
            "tickets": 30.0,  # 61 x 30/61
            "avg_basket": 70.0,  # (50 x 10 days + 80 x 20 days) / 30: a mean, not a sum
            "conversion_rate": 0.05, "footfall": 300.0,  # 610 x 30/61
        },
        "S2": {"revenue": 400.0}, "S3": {"revenue": None},
    }, field="target")
    assert_values(stores, {
        "S1": {"revenue": 258.20 / 750, "tickets": 4 / 30, "avg_basket": 64.55 / 70,
               "conversion_rate": (3 / 115) / 0.05, "footfall": 115 / 300},
        "S2": {"revenue": 282.20 / 400}, "S3": {"revenue": None},
    }, field="achievement")
    regions = november(backend, "region", kpis, compare=("target",))
    assert_values(regions, {ARA: {"revenue": 900.0}, IDF: {"units": 8.0}}, field="target")
    assert_values(regions, {ARA: {"revenue": 540.40 / 900}, IDF: {"units": 4 / 8}},
                  field="achievement")  # 2760 x 30/92 = 900
    network = november(backend, "network", kpis, compare=("target",))
    assert_values(network, {"network": {"revenue": 1000.0, "complaints": 3.0}}, field="target")
    assert_values(network, {"network": {"revenue": 778.95 / 1000, "complaints": 4 / 3}},
                  field="achievement")


def ranks(rows: list[dict], kpi: str, field: str = "rank") -> dict[str, int | None]:
    return {row["scope"]: row[field] for row in rows if row["kpi"] == kpi}


def pick(ranked: dict[str, int | None], *scopes: str) -> dict[str, int | None]:
    return {scope: ranked.get(scope, -1) for scope in scopes}


def test_rank_one_is_the_best_in_the_kpi_direction(backend):
    stores = november(backend, "store", ["revenue", "return_rate", "complaint_resolution_days"])
    # up: 282.20 > 258.20 > 217.45 > 21.10
    assert pick(ranks(stores, "revenue"), "S2", "S1", "S3", "WEB") == {
        "S2": 1, "S1": 2, "S3": 3, "WEB": 4}
    # down: 0 < 10.55/228 < 141.10/399.30 < 60/81.10
    assert pick(ranks(stores, "return_rate"), "S2", "S3", "S1", "WEB") == {
        "S2": 1, "S3": 2, "S1": 3, "WEB": 4}
    # down: WEB 1 day < S1 3 < S2 11; S3 resolved nothing: no rank
    assert pick(ranks(stores, "complaint_resolution_days"), "WEB", "S1", "S2", "S3") == {
        "WEB": 1, "S1": 2, "S2": 3, "S3": None}
    assert pick(ranks(stores, "revenue", "rank_region"), "S1", "S2", "S3", "WEB") == {
        "S1": 2, "S2": 1, "S3": 1, "WEB": None}
    assert pick(ranks(stores, "return_rate", "rank_region"), "S1", "S2", "S3") == {
        "S1": 2, "S2": 1, "S3": 1}
    regions = ranks(november(backend, "region", ["revenue"]), "revenue")
    assert pick(regions, ARA, IDF) == {ARA: 1, IDF: 2}
    sellers = ranks(november(backend, "seller", ["revenue"]), "revenue")
    assert pick(sellers, "V21", "V31", "V12", "V11") == {"V21": 1, "V31": 2, "V12": 3, "V11": 4}
    channels = ranks(november(backend, "channel", ["revenue"]), "revenue")
    assert channels == {"store": 1, "app": 2, "web": 3}  # 757.85 > 60 > -38.90


# --- the command line ----------------------------------------------------------------------

CLI_PERIOD = ("--from", "2026-11-01", "--to", "2026-11-30")


def run_kpi(cli, chain_file: Path, tmp_path: Path, *args: str):
    db = tmp_path / "cli.duckdb"
    shutil.copy(chain_file, db)
    return cli("kpi", "--db", db, *CLI_PERIOD, *args)


def test_cli_json_gives_long_format_records(cli, chain_file, tmp_path):
    done = run_kpi(cli, chain_file, tmp_path, "--grain", "store", "--kpis", "revenue,tickets",
                   "--compare", "n-1,target", "--format", "json")
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert {"scope", "kpi", "value", "n1", "target", "rank"} <= set(records[0])
    assert {r["kpi"] for r in records} == {"revenue", "tickets"}
    assert_values(records, {"S1": {"revenue": 258.20, "tickets": 4}})
    assert_values(records, {"S1": {"revenue": 141.10, "tickets": 2}}, field="n1")
    assert_values(records, {"S1": {"revenue": 750.0, "tickets": 30.0}}, field="target")
    assert by_scope(records)["S1", "revenue"]["rank"] == 2


def test_cli_csv_has_the_same_columns(cli, chain_file, tmp_path):
    done = run_kpi(cli, chain_file, tmp_path, "--grain", "store", "--kpis", "revenue,tickets",
                   "--compare", "n-1,target", "--format", "csv")
    assert done.returncode == 0, done.stderr
    delimiter = ";" if ";" in done.stdout.splitlines()[0] else ","
    records = list(csv.DictReader(io.StringIO(done.stdout), delimiter=delimiter))
    assert {"scope", "kpi", "value", "n1", "target", "rank"} <= set(records[0])
    s1 = by_scope(records)["S1", "revenue"]
    number = float(s1["value"].replace(",", ".") if delimiter == ";" else s1["value"])
    assert (number, s1["rank"]) == (pytest.approx(258.20, rel=1e-12), "2")


def test_cli_table_speaks_french(cli, chain_file, tmp_path):
    done = run_kpi(cli, chain_file, tmp_path, "--grain", "network", "--kpis", "revenue,tickets",
                   "--format", "table")
    assert done.returncode == 0, done.stderr
    assert "Chiffre d'affaires TTC" in done.stdout
    assert "Nombre de tickets" in done.stdout
    assert "778,95" in done.stdout


def test_cli_like_for_like_drops_the_closed_store(cli, chain_file, tmp_path):
    done = run_kpi(cli, chain_file, tmp_path, "--grain", "store", "--kpis", "revenue",
                   "--like-for-like", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert {r["scope"] for r in json.loads(done.stdout)} == {"S1", "S3", "WEB"}


def test_cli_unknown_kpi_exits_2_naming_it(cli, chain_file, tmp_path):
    done = run_kpi(cli, chain_file, tmp_path, "--kpis", "revenue,chiffre_affaires",
                   "--format", "json")
    assert done.returncode == 2
    assert "chiffre_affaires" in done.stderr + done.stdout
