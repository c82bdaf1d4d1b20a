"""Routers, one module per domain; each page is an HTML view plus its JSON twin."""
