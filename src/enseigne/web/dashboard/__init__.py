"""The network dashboard (Tableau de bord Réseau): query, content, exports, JSON schema.

The routes live in ``enseigne.web.routes.dashboard``; this package holds what they share.
"""
