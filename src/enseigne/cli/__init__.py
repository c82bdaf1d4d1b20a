"""The ``enseigne`` command line: thin commands over the domain packages.

Each module registers its commands on the one ``app``; importing them here builds it.
"""

from enseigne.cli import data, gdpr, kpi, web
from enseigne.cli.common import app
from enseigne.cli.gdpr import gdpr_app
from enseigne.cli.kpi import lake_app
from enseigne.cli.web import tokens_app, users_app

__all__ = [
    "app", "data", "gdpr", "gdpr_app", "kpi", "lake_app", "tokens_app", "users_app", "web",
]
