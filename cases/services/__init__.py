"""Every write of the cases part. Keyword-only arguments, an ``acting_user``, one transaction each,
side effects (settlement tasks, signals) on commit.

* :mod:`.persons` — persons, households, identities, revealing a full identity number
* :mod:`.claims` — entering, correcting and deleting claims (+ the shared field validation)
* :mod:`.applications` — creating and editing applications, attaching claims
* :mod:`.workflow` — the one transition service and its table
* :mod:`.settlement` — settling a case, recalculating a person-year, adjustments
* :mod:`.payments` — payment batches, bank files, bank results
* ``cases.imports`` — importing the national platform's settlement records
"""
