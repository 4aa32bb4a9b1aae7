"""The cases part's REST API (mounted under /api/v1/ by ``portal.api.urls``)."""
