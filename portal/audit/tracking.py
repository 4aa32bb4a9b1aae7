"""How the portal's models are put on record: ``@track()`` on a model class.

It is ``pghistory.track`` with the portal's choices, so every tracked model behaves alike:

* inserts, updates (only when a recorded field changes) and deletes, each a row in the model's
  ``<Model>History`` table (``cases_personhistory`` …) holding the row as it was after (insert,
  update) or before (delete) the change, the time, and the context (who, which channel);
* written by PostgreSQL triggers — statement-level, with transition tables, so a bulk update, an
  ``INSERT … SELECT`` or a ``COPY`` costs one trigger call per statement, not one per row — which
  also catch writes that bypass the ORM;
* append-only: the history tables refuse UPDATE and DELETE (a trigger), on PostgreSQL.

On SQLite (the embedded default of ``scripts/start``) the history tables are created by the
migrations but pgtrigger installs no triggers there, so nothing is recorded in them; see
``docs/security.md``.
"""
from __future__ import annotations

import pghistory
import pgtrigger


def track(*, exclude: list[str] | None = None):
    """Decorator: record every insert, update and delete of the model (``exclude``: fields not
    copied into the history, e.g. large engine payloads that never change after insert)."""

    def decorate(model_class):
        # A model moved between apps keeps its table (``Meta.db_table``); its history table, named
        # after the old app too, is kept the same way.
        meta = {}
        opts = model_class._meta
        if opts.db_table != f"{opts.app_label}_{opts.model_name}":
            meta["db_table"] = f"{opts.db_table}history"
        return pghistory.track(
            pghistory.InsertEvent(),
            pghistory.UpdateEvent(),
            pghistory.DeleteEvent(),
            exclude=exclude,
            model_name=f"{model_class.__name__}History",
            obj_field=pghistory.ObjForeignKey(related_name="+", related_query_name="+"),
            append_only=True,
            level=pgtrigger.Statement,
            meta=meta or None,
        )(model_class)

    return decorate
