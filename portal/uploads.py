"""What every upload's report shares (identity pushes, claim imports, bank return files, policy
imports): its problems are rows of a table, never one list in memory or in one answer.

* pages show :data:`ERRORS_PER_PAGE` problems a page (:func:`error_page`, ``?page=``);
* downloads stream them (:func:`error_download`: CSV or .xlsx, ``StreamingHttpResponse``, read from
  the database in chunks);
* the API pages them with a count (:class:`ErrorPagination`: ``{"count", "next", "previous",
  "results"}``, ``?page=``).

The limits an upload is checked against before it is parsed, and the reader, are
``portal.tabular``'s (tables) — JSON documents use ``portal.tabular.check_json``.

Every file received by the web process is hashed as its bytes arrive (the upload handlers below,
``settings.FILE_UPLOAD_HANDLERS``): :func:`sha256_of_upload` gives the digest without reading the
file again, so a request that only stores a file never makes a second pass over it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import IO

from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework.pagination import PageNumberPagination

from . import exports, tabular

ERRORS_PER_PAGE = 100
DOWNLOAD_CHUNK = 2000


def sha256_of(fileobj: IO[bytes]) -> str:
    """The sha256 of an uploaded file's content (hex), read in 1 MiB blocks; the file is left at its start."""
    digest = hashlib.sha256()
    fileobj.seek(0)
    for chunk in iter(lambda: fileobj.read(1 << 20), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def error_page(request, queryset, *, per_page: int = ERRORS_PER_PAGE) -> Page:
    """The page of problems asked for by ``?page=`` (the last page for a number too large, the
    first for anything not a number)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def error_download(fmt: str, filename: str, headers: Sequence[str], queryset, row: Callable, *, title: str = ""):
    """The problems of an upload as a streamed CSV or .xlsx (``fmt``; anything else is a 404), one
    line per object of ``queryset`` turned into cells by ``row``."""
    rows = (row(obj) for obj in queryset.iterator(chunk_size=DOWNLOAD_CHUNK))
    try:
        return exports.streaming_response(fmt, filename, headers, rows, title=title or filename)
    except ValueError:
        raise Http404 from None


class ErrorPagination(PageNumberPagination):
    """The API's pages of an upload's problems: ``?page=`` (100 a page, ``?page_size=`` up to 1000)."""

    page_size = ERRORS_PER_PAGE
    page_size_query_param = "page_size"
    max_page_size = 1000


class _Hashing:
    """Computes the sha256 of an uploaded file from the chunks this handler keeps, as they arrive."""

    def new_file(self, *args, **kwargs):
        self._sha256 = hashlib.sha256()
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        passed_on = super().receive_data_chunk(raw_data, start)
        if passed_on is None:  # this handler kept the chunk
            self._sha256.update(raw_data)
        return passed_on

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            uploaded.sha256 = self._sha256.hexdigest()
        return uploaded


class HashingMemoryFileUploadHandler(_Hashing, MemoryFileUploadHandler):
    """Django's in-memory upload handler, with the file's sha256 (``uploaded.sha256``)."""


class HashingTemporaryFileUploadHandler(_Hashing, TemporaryFileUploadHandler):
    """Django's temporary-file upload handler, with the file's sha256 (``uploaded.sha256``)."""


def check_table_upload(fileobj: IO[bytes], filename: str, limits: tabular.Limits) -> tuple[int, str]:
    """What the request checks of an uploaded table before storing it — that it is not empty, its
    size (``limits.max_bytes``) and its kind from its first bytes (an old .xls is refused) — and
    nothing more: the encoding, a workbook's inflated size, the header and the rows are read by the
    worker, which fails an upload it cannot read, saying why. Returns ``(size, "xlsx" | "csv")``;
    raises :class:`portal.tabular.TableError` with a message for the sender."""
    size = tabular.file_size(fileobj)
    if size == 0:
        raise tabular.TableError(_("The file is empty."))
    tabular.check_size(fileobj, limits)
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    return size, "xlsx" if tabular.sniff_format(head, filename) == "xlsx" else "csv"


def sha256_of_upload(fileobj) -> str:
    """The sha256 of an uploaded file: the one computed while it was received, or (a file not
    received by the web process — a command, a test) read now."""
    digest = getattr(fileobj, "sha256", None)
    if digest:
        return digest
    sha = hashlib.sha256()
    fileobj.seek(0)
    for chunk in iter(lambda: fileobj.read(1 << 20), b""):
        sha.update(chunk)
    fileobj.seek(0)
    return sha.hexdigest()
