"""Receiving identity pushes from a department (file upload or API).

:func:`receive_file` / :func:`receive_rows` check who sends (a liaison of the department covering
the region) and the size, recognise a push already received (same content hash from the same department and
region: the earlier push is returned, nothing is applied twice) and enqueue the processing task on
commit. The request only stores the file: its encoding, its header and its rows are read by the task
(see ``cases.exchange.pushes``), which fails a file it cannot read, saying why.
"""
from __future__ import annotations

import io
import os
import sys
from typing import IO

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from policies import categories
from portal import tabular, uploads
from portal.jobs import enqueue
from portal.roles.domain import Role
from portal.roles.scoping import in_scope, scoped_regions, user_departments

from ..errors import Invalid, NotPermitted
from ..models import IdentityPush, PushPhase, PushStatus
from ..pushes import reading

MAX_BYTES = 512 * 1024 * 1024
#: What one JSON push through the API may be (the API's parser checks the body before parsing it:
#: ``cases.exchange.api.parsers``); longer lists are uploaded as files.
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_JSON_ROWS = 50_000
MAX_JSON_DEPTH = 5  # {"rows": [{"field": value}]}, a value being at most a small list or object
JSON_LIMITS = tabular.DEFAULT_LIMITS.replace(
    max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH, max_items=MAX_JSON_ROWS * 40,
    # a long text is reported on its row (naming the field), not refused with the whole body
    max_cell_chars=sys.maxsize)
PROCESS_TASK = "exchange.process_push"


def pushing_departments(user) -> list[str]:
    """Departments the user is a liaison of that recognise at least one identity category."""
    if user.is_superuser:
        return sorted({c.department for c in categories.NATIONAL})
    return sorted(d for d in user_departments(user, role=Role.LIAISON) if categories.owned_by(d))


def push_regions(user, department: str):
    return scoped_regions(user, roles=[Role.LIAISON], department=department).order_by("code")


def _check_sender(user, department: str, region_code: str) -> None:
    if not categories.owned_by(department, region_code):
        raise Invalid(_("This department recognises no identity category, so it has no list to push."),
                      field="department")
    if not in_scope(user, region_code, roles=[Role.LIAISON], department=department):
        raise NotPermitted(
            _("Only a liaison of this department covering region %(region)s may push its list.")
            % {"region": region_code}
        )


def _existing(department: str, region_code: str, digest: str) -> IdentityPush | None:
    return IdentityPush.objects.filter(department_id=department, region_id=region_code, content_hash=digest).first()


def _requeue_if_failed(push: IdentityPush) -> None:
    """Sending a failed push again retries it (its stored file)."""
    if push.status == PushStatus.FAILED:
        IdentityPush.objects.filter(pk=push.pk, status=PushStatus.FAILED).update(
            status=PushStatus.QUEUED, phase=PushPhase.WAITING, progress=0, failure="",
        )
        enqueue(PROCESS_TASK, push.pk)
        push.refresh_from_db()


def _create(*, acting_user, department: str, region_code: str, name: str, content: File, file_format: str,
            size: int, encoding: str, digest: str, channel: str, api_token_hint: str) -> tuple[IdentityPush, bool]:
    existing = _existing(department, region_code, digest)
    if existing is not None:
        with transaction.atomic():
            _requeue_if_failed(existing)
        return existing, False
    push = IdentityPush(
        department_id=department, region_id=region_code, channel=channel, original_name=name[:255],
        file_format=file_format, file_size=size, encoding=encoding, content_hash=digest, created_by=acting_user,
        api_token_hint=api_token_hint[:12],
    )
    push.file.save(os.path.basename(name) or f"push.{file_format}", content, save=False)
    try:
        with transaction.atomic():
            push.save()
            enqueue(PROCESS_TASK, push.pk)
    except IntegrityError:  # the same content arrived a moment ago
        push.file.delete(save=False)
        existing = _existing(department, region_code, digest)
        if existing is None:
            raise
        return existing, False
    return push, True


def receive_file(*, acting_user, department: str, region_code: str, fileobj: IO[bytes], filename: str,
                 channel: str = "upload", api_token_hint: str = "") -> tuple[IdentityPush, bool]:
    """Accept an uploaded CSV (UTF-8, UTF-8 BOM, GBK, GB18030) or .xlsx list: checks the sender, the
    size and the kind of file (its first bytes), then stores it and enqueues the worker — the
    encoding, the header and every row are read by the worker (``pushes.processing``); a file it
    cannot read ends as a failed push saying why. The sha256 is the one computed while the upload
    arrived (``portal.uploads``), so nothing here reads the whole file.
    Returns ``(push, created)``; ``created`` is False when the same content was received before."""
    _check_sender(acting_user, department, region_code)
    size = tabular.file_size(fileobj)
    if size == 0:
        raise Invalid(_("The file is empty."), field="file")
    if size > MAX_BYTES:
        raise Invalid(_("The file is larger than %(mb)d MB; split it into several pushes.")
                      % {"mb": MAX_BYTES // (1024 * 1024)}, field="file")
    head = fileobj.read(8)
    fileobj.seek(0)
    try:
        file_format = reading.sniff_format(filename, head)
        if file_format == "json":
            raise reading.PushFileError(_("Send JSON lists through the API; upload CSV or Excel files here."))
    except reading.PushFileError as exc:
        raise Invalid(str(exc), field="file") from None
    digest = uploads.sha256_of_upload(fileobj)
    return _create(acting_user=acting_user, department=department, region_code=region_code, name=filename,
                   content=fileobj if isinstance(fileobj, File) else File(fileobj),  # an upload's file is moved
                   file_format=file_format, size=size, encoding="", digest=digest,
                   channel=channel, api_token_hint=api_token_hint)


def check_row_count(rows) -> None:
    """Refuses ``rows`` that is not a non-empty list of at most :data:`MAX_JSON_ROWS` items."""
    if not isinstance(rows, list) or not rows:
        raise Invalid(_("rows: send at least one row."), field="rows")
    if len(rows) > MAX_JSON_ROWS:
        raise Invalid(_("rows: %(n)d rows are more than the %(max)d an API push may carry; split the list into "
                        "several pushes or upload it as a file.") % {"n": len(rows), "max": MAX_JSON_ROWS},
                      field="rows")


def receive_rows(*, acting_user, department: str, region_code: str, rows: list, channel: str = "api",
                 api_token_hint: str = "", name: str = "") -> tuple[IdentityPush, bool]:
    """Accept a list pushed as JSON rows (objects with the same columns as the file): at most
    :data:`MAX_JSON_ROWS` rows (the body's other limits are the API parser's, :data:`JSON_LIMITS`).
    The rows are checked by the worker, as a file's are."""
    _check_sender(acting_user, department, region_code)
    check_row_count(rows)
    if not all(isinstance(r, dict) for r in rows):
        bad = next(i for i, r in enumerate(rows) if not isinstance(r, dict))
        raise Invalid(_("rows[%(i)d] is not an object with the list's columns.") % {"i": bad}, field="rows")
    content = reading.canonical_json(rows)
    digest = reading.sha256_of(io.BytesIO(content))
    return _create(acting_user=acting_user, department=department, region_code=region_code,
                   name=name or f"api-{digest[:8]}.json", content=ContentFile(content), file_format="json",
                   size=len(content), encoding="utf-8", digest=digest, channel=channel, api_token_hint=api_token_hint)
