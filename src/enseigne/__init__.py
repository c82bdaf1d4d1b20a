"""enseigne: customer file, store-network KPIs and GDPR-correct CRM analytics for retail chains."""

__version__ = "0.1.0"
