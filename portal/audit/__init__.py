"""The record of every change (django-pghistory) and the audit-log page for auditors.

See ``portal/audit/README.md`` (what is recorded, on which database, how to read it).
"""
