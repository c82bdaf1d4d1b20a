"""The customer file: search and the 360° profile, every read through the privacy gate."""

from __future__ import annotations

from enseigne.customers.profile import customer_profile
from enseigne.customers.search import search_customers

__all__ = ["customer_profile", "search_customers"]
