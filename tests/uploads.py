"""Sending uploads the way the pages and the API do — received in the request, processed by the
task on commit (eager Celery in tests) — and reading the result back."""
from __future__ import annotations

import io

from tests.exchange.oncommit import run_on_commit


def import_claims(user, data: bytes, name: str = "setlinfo.csv", *, again: bool = False):
    """Receive a claim-import file as ``user`` and run the worker's part. Returns the import (its
    ``created`` attribute as the receipt said)."""
    from cases.imports.national import receive_claim_import
    from cases.models import ClaimImport

    with run_on_commit():
        record = receive_claim_import(acting_user=user, fileobj=io.BytesIO(data), filename=name, again=again)
    fresh = ClaimImport.objects.get(pk=record.pk)
    fresh.created = record.created
    return fresh


def bank_return(user, batch_id: int, data: bytes, name: str = "return.csv"):
    """Receive a bank return file as ``user`` and run the worker's part (check, then apply)."""
    from cases.models import BankReturn
    from cases.services.bank_returns import receive_bank_return

    with run_on_commit():
        received = receive_bank_return(acting_user=user, batch_id=batch_id, fileobj=io.BytesIO(data), filename=name)
    fresh = BankReturn.objects.get(pk=received.pk)
    fresh.created = received.created
    return fresh
