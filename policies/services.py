"""Writes of the policies part, and the one entry point every settlement goes through.

``settle_payload`` is used by ``manage.py settle``, the preview API, the what-if page and the cases
part. The policy admin services take keyword arguments and an ``acting_user``, run in one
transaction, record every change in ``PolicyChange`` and send their signals on commit.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from portal import tabular, uploads
from portal.audit.context import Channel, audit_context
from portal.jobs import enqueue
from portal.numbers import ValueProblem, money
from portal.regions.codes import contains
from portal.regions.models import Region
from portal.roles.domain import Role
from portal.roles.scoping import in_scope

from . import bookcache, display, engine, gate, messages, selectors
from .errors import ChangeRefused, SettlementRefused
from .models import (
    ChangeAction,
    PolicyChange,
    PolicyImport,
    PolicyImportProblem,
    PolicyVersion,
    Statistic,
    StatisticKind,
    UploadStatus,
    VersionStatus,
)
from .periods import plan_publication
from .signals import statistic_changed, version_published

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Settlement
# ---------------------------------------------------------------------------------------------

def book_for(region_code: str, statistics: dict | None = None) -> engine.PolicyBook:
    """The policy book of ``region_code`` (with ``statistics`` replacing the stored ones when
    given), built once and reused until a version or statistic changes — a batch over many persons
    of one region builds it once. Raises ``engine.PolicyError``."""
    current = bookcache.generation()
    key = (region_code, bookcache.statistics_key(statistics))
    book = bookcache.get("books", key, current)
    if book is not None:
        return book
    sources = bookcache.get("sources", region_code, current)
    if sources is None:
        sources = selectors.policy_sources(region_code=region_code)
        bookcache.put("sources", region_code, current, sources)
    book = sources.book(statistics)
    bookcache.put("books", key, current, book)
    return book


def settle_payload(*, payload: dict, draft_version_id: int | None = None) -> dict:
    """Settle a settlement input (shared/spec/settlement.md) and return the output JSON.

    With ``draft_version_id`` that version (typically an unpublished draft) is used as if it were
    published, for a what-if. Writes nothing. Raises ``SettlementRefused`` for bad input or a
    policy that cannot settle the claims."""

    def factory(region_code: str, statistics: dict | None) -> engine.PolicyBook:
        if draft_version_id is not None:
            return selectors.get_policy_book(
                region_code=region_code, statistics=statistics, draft_version_id=draft_version_id
            )
        return book_for(region_code, statistics)

    try:
        return engine.settle_payload(payload, factory)
    except engine.EngineError as exc:
        raise SettlementRefused(exc.problems) from exc


# ---------------------------------------------------------------------------------------------
# Policy administration
# ---------------------------------------------------------------------------------------------


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def _require_admin(user, region_code: str) -> None:
    if not in_scope(user, region_code, roles=[Role.POLICY_ADMIN]):
        raise PermissionDenied(_("You are not a policy administrator of region %(region)s.") % {"region": region_code})


def _known_region(region: Region | str, message: str) -> Region:
    """``region`` (a ``Region`` or its code) as a ``Region``; refused on the field ``region`` with
    ``message`` (``%(region)s`` is the code) when the portal does not know it."""
    if isinstance(region, Region):
        return region
    found = Region.objects.filter(code=str(region)).first()
    if found is None:
        raise ChangeRefused(message % {"region": region}, field="region")
    return found


def _locked(version: PolicyVersion) -> PolicyVersion:
    return PolicyVersion.objects.select_for_update().get(pk=version.pk)


def _require_draft(version: PolicyVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ChangeRefused(
            _("%(document)s is %(status)s; only drafts can be changed — start a new version from it.")
            % {"document": version.document_number, "status": version.get_status_display()}
        )


def _record(version: PolicyVersion | None, action: str, *, actor, path: str = "", label: str = "", old=None,
            new=None, note: str = "", statistic: Statistic | None = None, region_id: str | None = None) -> PolicyChange:
    return PolicyChange.objects.create(
        region_id=region_id or (version.region_id if version else statistic.region_id),
        version=version, statistic=statistic, action=action, path=path, label=label[:300],
        old_value=old, new_value=new, note=note, actor=actor,
    )


def _recorded(message: str, **params) -> str:
    """A note for the change history, written in the portal's language (Chinese) whatever the
    language of the request or command that made the change. Callable params are called inside."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(message) % {k: (v() if callable(v) else v) for k, v in params.items()}


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def _problems(doc: dict, version: PolicyVersion, *, before: dict | None = None) -> list[engine.Problem]:
    """Engine problems of ``doc`` (schema, semantics, the frameworks above it) that ``before``
    did not already have; worded for the reader by ``messages.render``."""
    found = engine.document_problems(doc)
    for fw in selectors.frameworks_for(version):
        found += engine.framework_problems(doc, fw.engine_document())
    if before is not None:
        known = {p.text for p in engine.document_problems(before)}
        for fw in selectors.frameworks_for(version):
            known |= {p.text for p in engine.framework_problems(before, fw.engine_document())}
        found = [p for p in found if p.text not in known]
    return list({p.text: p for p in found}.values())


@transaction.atomic
def start_version(*, acting_user, from_version: PolicyVersion, region: Region | None = None) -> PolicyVersion:
    """A new draft copying ``from_version``'s document and worked examples (and its dates, to be
    changed before publishing), in its region or — for a region below it that starts its own policy — in ``region``."""
    target = region or from_version.region
    _require_admin(acting_user, target.code)
    if not selectors.visible_versions(acting_user).filter(pk=from_version.pk).exists():
        raise PermissionDenied(_("You cannot see that policy version."))
    if target.code != from_version.region_id and not contains(from_version.region_id, target.code):
        raise ChangeRefused(
            _("%(region)s is not inside %(source)s, whose version you started from.")
            % {"region": target, "source": from_version.region}
        )
    doc = from_version.engine_document()
    doc["region"] = target.code
    draft = PolicyVersion.objects.create(
        region=target,
        document_number=from_version.document_number,
        title=from_version.title,
        framework=from_version.framework,
        status=VersionStatus.DRAFT,
        in_force_from=from_version.in_force_from,
        in_force_to=from_version.in_force_to,
        retroactive_from=from_version.retroactive_from,
        document=doc,
        based_on=from_version,
        created_by=acting_user,
    )
    from .examples import copy_examples

    copy_examples(from_version, draft)
    _record(
        draft, ChangeAction.CREATED, actor=acting_user, path="based_on", new=from_version.pk,
        note=_recorded(gettext_noop("started from %(document)s (%(status)s, #%(id)s) of %(region)s"),
                       document=from_version.document_number, status=from_version.get_status_display,
                       id=from_version.pk, region=from_version.region),
    )
    return draft


@transaction.atomic
def set_parameter(*, acting_user, version: PolicyVersion, path: str, value: Any) -> PolicyVersion:
    """Set one parameter of a draft (``None`` = unset). Refused — with a message naming the
    parameter and the reason — when the draft would break the document's rules or a framework's."""
    version = _locked(version)
    _require_admin(acting_user, version.region_id)
    _require_draft(version)
    doc = version.engine_document()
    try:
        old = engine.get_parameter(doc, path)
    except KeyError:
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path) from None
    if display.same(old, value):
        return version
    new_doc = engine.set_parameter(doc, path, value)
    problems = _problems(new_doc, version, before=doc)
    if problems:
        raise ChangeRefused([messages.render(p) for p in problems], field=path)
    label = next((leaf.label for leaf in engine.parameter_leaves(doc) if leaf.path == path), path)
    version.document = new_doc
    version.save(update_fields=["document", "updated_at"])
    _record(version, ChangeAction.PARAMETER, actor=acting_user, path=path, label=label, old=old, new=value)
    return version


def set_parameters(*, acting_user, version: PolicyVersion, values: dict[str, Any]) -> dict[str, list[str]]:
    """Set several parameters of a draft, each on its own: the accepted ones are saved, the refused
    ones are returned as ``{path: [messages]}``."""
    refused: dict[str, list[str]] = {}
    for path, value in values.items():
        try:
            set_parameter(acting_user=acting_user, version=version, path=path, value=value)
        except ChangeRefused as exc:
            refused[path] = exc.errors
    return refused



@transaction.atomic
def update_version_meta(
    *,
    acting_user,
    version: PolicyVersion,
    document_number: str = UNCHANGED,
    title: str = UNCHANGED,
    in_force_from: datetime.date = UNCHANGED,
    in_force_to: datetime.date | None = UNCHANGED,
    retroactive_from: datetime.date | None = UNCHANGED,
) -> PolicyVersion:
    """Change a draft's document number, title or planned dates (the what-if uses the planned
    dates; publishing sets the final ones)."""
    version = _locked(version)
    _require_admin(acting_user, version.region_id)
    _require_draft(version)
    given = dict(document_number=document_number, title=title, in_force_from=in_force_from,
                 in_force_to=in_force_to, retroactive_from=retroactive_from)
    changes = {k: v for k, v in given.items() if v is not UNCHANGED and getattr(version, k) != v}
    if not changes:
        return version
    for name in ("document_number", "title"):
        if name in changes:
            changes[name] = (changes[name] or "").strip()
            if not changes[name]:
                raise ChangeRefused(_("This field is required."), field=name)
    old = {name: getattr(version, name) for name in changes}
    for name, value in changes.items():
        setattr(version, name, value)
    doc = version.engine_document()
    problems = engine.document_problems(doc)
    if problems:
        raise ChangeRefused([messages.render(p) for p in problems], field=next(iter(changes)))
    version.document = doc
    version.save()
    for name, value in changes.items():
        o = old[name]
        _record(
            version, ChangeAction.DETAILS, actor=acting_user, path=name,
            old=_iso(o) if isinstance(o, datetime.date) else o,
            new=_iso(value) if isinstance(value, datetime.date) else value,
        )
    return version


@transaction.atomic
def publish_version(
    *,
    acting_user,
    version: PolicyVersion,
    in_force_from: datetime.date,
    in_force_to: datetime.date | None = None,
    retroactive_from: datetime.date | None = None,
    confirm_document: str,
    simulation_id: int | None = None,
) -> PolicyVersion:
    """Publish a draft in force from ``in_force_from`` (settling claims from ``retroactive_from``
    when that is earlier). The publisher confirms by typing the version's document number
    (``confirm_document``; refused otherwise, on the page and in the API alike); ``simulation_id``
    is the fund-impact simulation of the draft they were shown, recorded with the publication
    (``published_simulation_id`` and the change history, with the person-years it recalculates).
    The previous version is closed the day before, so that exactly one version is in force on any
    date; refused — naming the parameter, or the framework's document and clause — when the
    document is invalid or breaks a framework above it, and — listing each difference — when one
    of the version's worked examples gives another result. Sends ``version_published`` on commit."""
    # One publication per region at a time: the region row is the lock, so a concurrent one sees
    # this one's result (locking the published versions alone would miss a version published meanwhile).
    Region.objects.select_for_update().filter(code=version.region_id).exists()
    version = _locked(version)
    _require_admin(acting_user, version.region_id)
    _require_draft(version)
    if "".join((confirm_document or "").split()) != "".join(version.document_number.split()):
        raise ChangeRefused(_("To confirm, type the document number of this version: %(document)s.")
                            % {"document": version.document_number}, field="confirm_document")
    from . import publishing

    if simulation_id is not None and publishing.simulation_of(version, simulation_id) is None:
        raise ChangeRefused(_("The simulation shown is not a simulation of this version; run it again."),
                            field="simulation")
    errors = []
    if in_force_from is None:
        raise ChangeRefused(_("The in-force date is required."), field="in_force_from")
    if in_force_to is not None and in_force_to < in_force_from:
        errors.append(_("The end date %(to)s is before the in-force date %(from)s.") % {"to": in_force_to, "from": in_force_from})
    if retroactive_from is not None and retroactive_from > in_force_from:
        errors.append(
            _("The retroactive date %(retro)s is after the in-force date %(from)s.") % {"retro": retroactive_from, "from": in_force_from}
        )
    if errors:
        raise ChangeRefused(errors, field="in_force_to" if in_force_to is not None and in_force_to < in_force_from else "retroactive_from")
    version.in_force_from, version.in_force_to, version.retroactive_from = in_force_from, in_force_to, retroactive_from

    others = list(
        PolicyVersion.objects.select_for_update()
        .filter(region_id=version.region_id, framework=version.framework, status=VersionStatus.PUBLISHED)
        .exclude(pk=version.pk)
    )
    plan = plan_publication(
        [selectors.period_of(v) for v in others], effective_from=version.effective_from, in_force_to=in_force_to
    )
    if plan.errors:
        raise ChangeRefused(plan.errors, field="in_force_from")
    version.in_force_to = plan.in_force_to

    doc = version.engine_document()
    problems = _problems(doc, version)
    if problems:
        raise ChangeRefused([messages.render(p) for p in problems])
    # The publishing gate: the version's worked examples, settled with this version as if published
    # with these dates (saved for that; refusing rolls the save back with the transaction).
    version.document = doc
    version.save(update_fields=["in_force_from", "in_force_to", "retroactive_from", "document", "updated_at"])
    differences = gate.example_differences(version)
    if differences:
        raise ChangeRefused([_("The worked examples of this version no longer give their expected results; "
                               "correct the policy, or edit the expectation of an example the change is meant to move:"),
                             *differences], field="examples")

    now = timezone.now()
    by_pk = {v.pk: v for v in others}
    for pk, new_end in plan.close:
        other = by_pk[pk]
        old_end = other.in_force_to
        other.in_force_to = new_end
        other.document = other.engine_document()
        other.save(update_fields=["in_force_to", "document", "updated_at"])
        _record(
            other, ChangeAction.CLOSED, actor=acting_user, path="in_force_to",
            old=_iso(old_end), new=_iso(new_end),
            note=_recorded(gettext_noop("closed by publishing %(document)s (#%(id)s)"),
                           document=version.document_number, id=version.pk),
        )
    for pk in plan.supersede:
        other = by_pk[pk]
        other.status = VersionStatus.SUPERSEDED
        other.save(update_fields=["status", "updated_at"])
        _record(
            other, ChangeAction.SUPERSEDED, actor=acting_user, path="status", old=VersionStatus.PUBLISHED,
            new=VersionStatus.SUPERSEDED,
            note=_recorded(gettext_noop("replaced by %(document)s (#%(id)s)"), document=version.document_number, id=version.pk),
        )

    version.status = VersionStatus.PUBLISHED
    version.published_by = acting_user
    version.published_at = now
    version.published_simulation_id = simulation_id
    version.document = doc
    version.save()
    note = ""
    if plan.capped:
        note = _recorded(gettext_noop("in force until %(to)s, the day before the next published version starts"),
                         to=plan.in_force_to)
    _record(
        version, ChangeAction.PUBLISHED, actor=acting_user, path="status", old=VersionStatus.DRAFT,
        new={"in_force_from": _iso(in_force_from), "in_force_to": _iso(plan.in_force_to),
             "retroactive_from": _iso(retroactive_from), "confirmed": version.document_number,
             "simulation": simulation_id,
             "person_years": publishing.person_years_from(region_code=version.region_id, since=version.effective_from)},
        note=note,
    )
    effective = version.effective_from
    transaction.on_commit(
        lambda: version_published.send(sender=PolicyVersion, version=version, retroactive_from=effective)
    )
    return version


#: a document's full text is a few pages; a paste far longer is not one document
MAX_DOCUMENT_TEXT = 300_000


@transaction.atomic
def set_document_text(*, acting_user, version: PolicyVersion, text: str, source: str = ""):
    """Put the full text of a draft's document on file (its region's, under its document number),
    so that the editor shows each parameter's clause with the clause's words. Replaces an earlier
    text of the same document; recorded in the version's history."""
    from .models import PolicyText

    version = _locked(version)
    _require_admin(acting_user, version.region_id)
    _require_draft(version)
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ChangeRefused(_("Paste the document's full text."), field="text")
    if len(text) > MAX_DOCUMENT_TEXT:
        raise ChangeRefused(_("The text is longer than %(n)s characters: paste the one document only.")
                            % {"n": MAX_DOCUMENT_TEXT}, field="text")
    old = PolicyText.objects.filter(region_id=version.region_id, document_number=version.document_number).first()
    row, _created = PolicyText.objects.update_or_create(
        region_id=version.region_id, document_number=version.document_number,
        defaults={"text": text, "source": (source or "").strip()[:300], "updated_by": acting_user,
                  "updated_at": timezone.now()})
    _record(version, ChangeAction.DETAILS, actor=acting_user, path="document_text",
            label=_recorded(gettext_noop("full text of the document")),
            old=_recorded(gettext_noop("%(n)s characters"), n=len(old.text)) if old else None,
            new=_recorded(gettext_noop("%(n)s characters"), n=len(text)), note=row.source)
    return row


@transaction.atomic
def withdraw_draft(*, acting_user, version: PolicyVersion) -> PolicyVersion:
    """Give up a draft (it stays in the history, marked withdrawn)."""
    version = _locked(version)
    _require_admin(acting_user, version.region_id)
    _require_draft(version)
    version.status = VersionStatus.WITHDRAWN
    version.save(update_fields=["status", "updated_at"])
    _record(version, ChangeAction.WITHDRAWN, actor=acting_user, path="status", old=VersionStatus.DRAFT,
            new=VersionStatus.WITHDRAWN)
    return version


def _statistic_value(value) -> Decimal:
    try:   # plain ASCII decimals to the fen only: never 1e10, 1_000 or other scripts' digits (portal.numbers)
        d = money(value)
    except ValueProblem as problem:
        raise ChangeRefused(_("Value: %(problem)s.") % {"problem": problem}, field="value") from None
    if d <= 0:
        raise ChangeRefused(_("Value: must be a positive amount in yuan."), field="value")
    return d


@transaction.atomic
def set_statistic(*, acting_user, region: Region | str, kind: str, year: int, value, source: str) -> Statistic:
    """Enter or change a statistic of a region (a ``Region`` or its code) and year (e.g.
    城乡居民人均可支配收入 2022). Sends ``statistic_changed`` on commit."""
    region = _known_region(region, _("Region: %(region)s is not a region known to the portal."))
    _require_admin(acting_user, region.code)
    named = selectors.figure_uses(region.code)
    if kind not in StatisticKind.values and kind not in named:
        raise ChangeRefused(_("Statistic: unknown statistic %(kind)s.") % {"kind": kind}, field="kind")
    announced = kind in named and named[kind][0]
    this_year = timezone.localdate().year + (1 if announced else 0)  # an amount may be announced for next year
    if not isinstance(year, int) or isinstance(year, bool) or not 1990 <= year <= this_year:
        raise ChangeRefused(
            _("Year: must be a year between 1990 and %(year)s.") % {"year": this_year}, field="year"
        )
    amount = _statistic_value(value)
    source = (source or "").strip()
    if not source:
        raise ChangeRefused(_("Source: say where the figure is published."), field="source")
    stat = Statistic.objects.select_for_update().filter(region=region, kind=kind, year=year).first()
    what = f"{kind} {year}"
    if stat is None:
        stat = Statistic.objects.create(
            region=region, kind=kind, year=year, value=amount, source=source, updated_by=acting_user
        )
        _record(None, ChangeAction.STATISTIC_ENTERED, actor=acting_user, statistic=stat, path=what,
                new=str(amount), note=source)
        previous = None
    else:
        if stat.value == amount and stat.source == source:
            return stat
        previous = stat.value
        old_source = stat.source
        stat.value, stat.source, stat.updated_by, stat.updated_at = amount, source, acting_user, timezone.now()
        stat.save()
        note = source if old_source == source else _recorded(gettext_noop("source: %(old)s → %(new)s"), old=old_source, new=source)
        _record(None, ChangeAction.STATISTIC_CHANGED, actor=acting_user, statistic=stat, path=what,
                old=str(previous), new=str(amount), note=note)
    transaction.on_commit(lambda: statistic_changed.send(sender=Statistic, statistic=stat, previous=previous))
    return stat


# ---------------------------------------------------------------------------------------------
# Policy files: a version as one readable JSON document (docs/policy-file.md)
# ---------------------------------------------------------------------------------------------

POLICY_FILE_FORMAT = 1
MAX_POLICY_FILE_BYTES = 2 * 1024 * 1024
MAX_POLICY_FILE_DEPTH = 24
#: What a policy file may be, checked on its text before it is parsed (portal.tabular.check_json,
#: the limits every upload shares): a policy document is some 15 KB of about 300 values.
POLICY_FILE_LIMITS = tabular.DEFAULT_LIMITS.replace(
    max_bytes=MAX_POLICY_FILE_BYTES, max_depth=MAX_POLICY_FILE_DEPTH, max_items=20_000, max_cell_chars=4000)
_MAX_NUMBER = Decimal("1e15")




def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _plain(node, path: str, depth: int, errors: list[str]):
    """The parsed JSON with numbers made decimal strings (ints kept), refusing huge or non-finite
    numbers and nesting deeper than MAX_POLICY_FILE_DEPTH."""
    if depth > MAX_POLICY_FILE_DEPTH:
        errors.append(_("%(path)s: nested more than %(n)s levels deep.") % {"path": path or "file", "n": MAX_POLICY_FILE_DEPTH})
        return None
    if isinstance(node, dict):
        return {k: _plain(v, f"{path}.{k}" if path else k, depth + 1, errors) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, f"{path}[{i}]", depth + 1, errors) for i, v in enumerate(node)]
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return node
    if isinstance(node, int):
        if abs(node) >= _MAX_NUMBER:
            errors.append(_("%(path)s: the number is too large.") % {"path": path})
            return None
        return node
    if isinstance(node, Decimal):
        if not node.is_finite() or abs(node) >= _MAX_NUMBER:
            errors.append(_("%(path)s: the number is too large.") % {"path": path})
            return None
        if node != 0 and abs(node) < Decimal("1e-6"):
            errors.append(_("%(path)s: %(value)s has more than 6 decimals.") % {"path": path, "value": node})
            return None
        return format(node, "f")
    errors.append(_("%(path)s: not a JSON value.") % {"path": path})
    return None


def read_policy_file(content: bytes | str, *, filename: str = "") -> dict:
    """The policy document in a policy file's text (UTF-8 JSON, see docs/policy-file.md), its
    numbers as decimal strings. Raises ``ChangeRefused`` naming the problem (size, encoding, nesting,
    number of values and length of a text — :data:`POLICY_FILE_LIMITS`, checked before parsing —,
    JSON syntax with line and column, numbers, the file's format)."""
    name = filename or _("the file")
    if isinstance(content, str):
        raw = content.encode("utf-8", "surrogatepass")
    else:
        raw = bytes(content or b"")
    if not raw.strip():
        raise ChangeRefused(_("%(name)s: the file is empty.") % {"name": name}, field="file")
    try:  # size, encoding, nesting, number of values, length of a text — before parsing
        text = tabular.check_json(raw, POLICY_FILE_LIMITS)
    except tabular.TableError as exc:
        raise ChangeRefused(f"{name}: {exc}", field="file") from None
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ChangeRefused(_("%(name)s: not valid JSON (%(reason)s at line %(line)s, column %(column)s).") % {
            "name": name, "reason": exc.msg, "line": exc.lineno, "column": exc.colno}, field="file") from None
    except RecursionError:
        raise ChangeRefused(_("%(name)s: nested more than %(n)s levels deep.") % {"name": name, "n": MAX_POLICY_FILE_DEPTH}, field="file") from None
    except ValueError as exc:  # NaN/Infinity, integers of thousands of digits
        raise ChangeRefused(_("%(name)s: a number cannot be read (%(reason)s).") % {"name": name, "reason": str(exc)[:120]}, field="file") from None
    problems: list[str] = []
    data = _plain(data, "", 0, problems)
    if problems:
        raise ChangeRefused(problems, field="file")
    if not isinstance(data, dict):
        raise ChangeRefused(_("%(name)s: a policy file is one JSON object (see docs/policy-file.md).") % {"name": name}, field="file")
    header = data.pop("policy_file", None)
    if header is not None:
        fmt = header.get("format") if isinstance(header, dict) else None
        if fmt != POLICY_FILE_FORMAT:
            raise ChangeRefused(_("policy_file.format: %(format)s is not a policy file format this portal reads (%(known)s).")
                                % {"format": fmt, "known": POLICY_FILE_FORMAT}, field="file")
    return data


@transaction.atomic
def import_policy(*, acting_user, region: Region | str | None = None, content: bytes | str | None = None,
                  fileobj=None, filename: str = "") -> PolicyVersion:
    """Import a policy file as a new DRAFT of ``region`` (by default the file's own region).

    The whole file is validated first — its JSON, the document's schema and rules, and the
    frameworks above the region — and refused with every problem, each naming its path
    (``assistance.routes[3].ratio: must be between 0 and 1``), in the reader's language; a refused
    file changes nothing. Nothing is published."""
    if fileobj is not None:
        content = fileobj.read(MAX_POLICY_FILE_BYTES + 1)
        filename = filename or getattr(fileobj, "name", "") or ""
    if content is None:
        raise ChangeRefused(_("Choose a policy file to import."), field="file")
    doc = read_policy_file(content, filename=filename)
    file_region = doc.get("region")
    if region is None:
        if not isinstance(file_region, str):
            raise ChangeRefused(messages.render(engine.Problem(
                engine.Code.DOC_NOT_REGION, {"value": str(file_region)}, "region",
                "region: must be a 6-digit region code (GB/T 2260)")), field="region")
        region = file_region
    region = _known_region(region, _("region: %(region)s is not a region known to the portal."))
    _require_admin(acting_user, region.code)
    if file_region != region.code:
        raise ChangeRefused(
            _("region: the file is a policy of %(file)s, not of %(region)s; change its region to %(code)s to use it here.")
            % {"file": file_region, "region": region, "code": region.code}, field="region")
    from . import examples as worked

    file_examples = doc.pop("examples", None)
    problems = list(engine.document_problems(doc))
    example_problems = worked.file_examples_problems(file_examples, region.code)
    candidate = None
    if not problems:
        candidate = PolicyVersion(
            region=region, document_number=doc["document"].strip(), title=doc["title"].strip(),
            framework=doc["framework"], status=VersionStatus.DRAFT,
            in_force_from=datetime.date.fromisoformat(doc["in_force_from"]),
            in_force_to=datetime.date.fromisoformat(doc["in_force_to"]) if doc.get("in_force_to") else None,
            retroactive_from=datetime.date.fromisoformat(doc["retroactive_from"]) if doc.get("retroactive_from") else None,
            document=doc, created_by=acting_user,
        )
        for fw in selectors.frameworks_for(candidate):
            problems += engine.framework_problems(doc, fw.engine_document())
    if problems or example_problems:
        # each problem in the reader's language: Chinese words for the parameter, or the English
        # ``path: reason`` (``assistance.routes[3].segments: segment 1 ratio: must be between 0 and 1``)
        unique = list({p.text: p for p in problems}.values())
        refused = ChangeRefused([messages.render(p) for p in unique] + example_problems, field="file")
        refused.problems = unique       # import_policy names each by its path first
        raise refused
    if len(candidate.document_number) > 100 or len(candidate.title) > 300:
        raise ChangeRefused(_("document/title: too long (at most 100 and 300 characters)."), field="file")
    candidate.document = candidate.engine_document()
    candidate.save()
    worked.import_examples(candidate, file_examples)
    _record(candidate, ChangeAction.CREATED, actor=acting_user, path="file", new=filename[:200] or None,
            label=_recorded(gettext_noop("policy file")),
            note=_recorded(gettext_noop("imported from the policy file %(name)s"), name=filename or "—"))
    return candidate


IMPORT_TASK = "policies.process_policy_import"


def receive_policy_file(*, acting_user, region: Region | str | None = None, fileobj=None,
                        content: bytes | None = None, filename: str = "") -> PolicyImport:
    """The request's part of a policy import: checks the sender (a policy administrator; of
    ``region`` when one is chosen), that there is a file and its size (:data:`POLICY_FILE_LIMITS`),
    stores it with its sha256 (computed while it arrived, ``portal.uploads``) and enqueues
    ``policies.process_policy_import`` on commit. Nothing of the file is parsed here: the worker
    (:func:`process_policy_import`) checks it against the limits before parsing it and validates it
    whole. The same file from the same administrator for the same region, while its import still
    waits or runs, answers with that import (``created`` False: a double click imports once)."""
    if not selectors.editable_regions(acting_user).exists():
        raise PermissionDenied(_("Only policy administrators import policy files."))
    if region not in (None, ""):
        region = _known_region(region, _("region: %(region)s is not a region known to the portal."))
        _require_admin(acting_user, region.code)
    else:
        region = None
    if fileobj is None:
        if content is None:
            raise ChangeRefused(_("Choose a policy file to import."), field="file")
        fileobj = ContentFile(bytes(content))
    filename = os.path.basename(str(filename or getattr(fileobj, "name", "") or "")) or "policy.json"
    try:
        size = tabular.check_size(fileobj, POLICY_FILE_LIMITS)
    except tabular.TableError as exc:
        raise ChangeRefused(f"{filename}: {exc}", field="file") from None
    if not size:
        raise ChangeRefused(_("%(name)s: the file is empty.") % {"name": filename}, field="file")
    digest = uploads.sha256_of_upload(fileobj)
    waiting = PolicyImport.objects.filter(uploaded_by=acting_user, region=region, sha256=digest,
                                          status__in=[UploadStatus.PENDING, UploadStatus.PROCESSING]).first()
    if waiting is not None:
        waiting.created = False
        return waiting
    record = PolicyImport(uploaded_by=acting_user, region=region, filename=filename[:200], file_size=size,
                          sha256=digest, language=translation.get_language() or "")
    fileobj.seek(0)
    record.file.save(filename, fileobj if isinstance(fileobj, File) else File(fileobj), save=False)
    with transaction.atomic():
        record.save()
        enqueue(IMPORT_TASK, record.pk)
    record.created = True
    return record


def process_policy_import(*, import_id: int) -> PolicyImport | None:
    """The worker's part (``policies.process_policy_import``): read the stored file and import it as
    its uploader (:func:`import_policy`: the limits before parsing, then the whole file validated),
    in the language the file was sent in. The draft and the import's state are written in one
    transaction. A refused file fails the import with every problem stored as a row; an unexpected
    error fails it saying what happened. Idempotent: a finished import is left alone, and of two
    runs at once the second finds it finished under the lock."""
    import_id = int(import_id)
    claimed = PolicyImport.objects.filter(pk=import_id, status__in=[UploadStatus.PENDING, UploadStatus.PROCESSING]).update(
        status=UploadStatus.PROCESSING, started_at=timezone.now())
    record = PolicyImport.objects.select_related("uploaded_by", "region").filter(pk=import_id).first()
    if not claimed or record is None:
        return record
    with translation.override(record.language or settings.LANGUAGE_CODE):
        try:
            with audit_context(channel=Channel.IMPORT, user=record.uploaded_by, policy_import=import_id), \
                    transaction.atomic():
                locked = PolicyImport.objects.select_for_update().filter(pk=import_id).first()
                if locked is None or locked.status != UploadStatus.PROCESSING:
                    return locked
                with record.file.open("rb") as fileobj:
                    content = fileobj.read(MAX_POLICY_FILE_BYTES + 1)
                draft = import_policy(acting_user=record.uploaded_by, region=record.region, content=content,
                                      filename=record.filename)
                PolicyImport.objects.filter(pk=import_id).update(
                    status=UploadStatus.DONE, version=draft, region=draft.region, finished_at=timezone.now())
        except ChangeRefused as exc:
            _fail_import(import_id, [str(e) for e in exc.errors])
        except PermissionDenied as exc:
            _fail_import(import_id, [str(exc)])
        except Exception as exc:  # noqa: BLE001 - shown on the import's page; the job ends
            log.exception("policy import %s failed", import_id)
            _fail_import(import_id, [f"{type(exc).__name__}: {exc}"])
    return PolicyImport.objects.filter(pk=import_id).first()


def _fail_import(import_id: int, problems: list[str]) -> None:
    """Fail the import, its problems stored as rows (once: a second run replaces them)."""
    with transaction.atomic():
        if PolicyImport.objects.select_for_update().filter(pk=import_id).exclude(status=UploadStatus.DONE).first() is None:
            return
        PolicyImportProblem.objects.filter(policy_import_id=import_id).delete()
        PolicyImportProblem.objects.bulk_create(
            (PolicyImportProblem(policy_import_id=import_id, position=i, message=m) for i, m in enumerate(problems, 1)),
            batch_size=1000)
        summary = problems[0] if len(problems) == 1 else ngettext(
            "The file has %(n)d problem; see the list.", "The file has %(n)d problems; see the list.",
            len(problems)) % {"n": len(problems)}
        PolicyImport.objects.filter(pk=import_id).update(
            status=UploadStatus.FAILED, failure=summary[:2000], problems_count=len(problems), finished_at=timezone.now())


def policy_file(version: PolicyVersion) -> dict:
    """The version as a policy file: its document (every value with its clause), its worked
    examples and a header."""
    doc = version.engine_document()
    out = {"policy_file": {
        "format": POLICY_FILE_FORMAT,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "version": version.pk,
        "status": version.status,
    }}
    out.update(doc)
    from .examples import as_file

    out["examples"] = as_file(version)
    return out


def policy_file_text(version: PolicyVersion) -> str:
    return json.dumps(policy_file(version), ensure_ascii=False, indent=2) + "\n"


def policy_file_name(version: PolicyVersion) -> str:
    return f"policy-{version.region_id}-v{version.pk}-{version.status}.json"


# ---------------------------------------------------------------------------------------------
# The editor: new versions of a region without one, clauses, list entries, optional parameters
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def start_new_version(*, acting_user, region: Region, document_number: str, title: str,
                      in_force_from: datetime.date, from_framework: PolicyVersion | None = None) -> PolicyVersion:
    """A first draft for ``region``: blank (every required parameter unset, lists empty), or
    started from ``from_framework`` — a published framework of a region above — as a city policy
    (not a framework) with the framework's numbers and clauses."""
    from . import editor

    _require_admin(acting_user, region.code)
    document_number, title = (document_number or "").strip(), (title or "").strip()
    if not document_number:
        raise ChangeRefused(_("This field is required."), field="document_number")
    if not title:
        raise ChangeRefused(_("This field is required."), field="title")
    if from_framework is not None:
        if not from_framework.framework or from_framework.status != VersionStatus.PUBLISHED \
                or not contains(from_framework.region_id, region.code) or from_framework.region_id == region.code:
            raise ChangeRefused(_("%(document)s is not a published framework of a region above %(region)s.")
                                % {"document": from_framework.document_number, "region": region}, field="from_framework")
        params = editor.city_parameters_from_framework(from_framework.engine_document())
    else:
        params = editor.blank_parameters()
    doc = {"region": region.code, "document": document_number, "title": title, "framework": False,
           "in_force_from": in_force_from.isoformat(), "in_force_to": None, "retroactive_from": None,
           "parameters": params}
    draft = PolicyVersion.objects.create(
        region=region, document_number=document_number, title=title, framework=False, status=VersionStatus.DRAFT,
        in_force_from=in_force_from, document=doc, based_on=from_framework, created_by=acting_user,
    )
    if from_framework is not None:
        note = _recorded(gettext_noop("started from the framework %(document)s of %(region)s"),
                         document=from_framework.document_number, region=from_framework.region)
    else:
        note = _recorded(gettext_noop("started blank"))
    _record(draft, ChangeAction.CREATED, actor=acting_user, path="based_on",
            new=from_framework.pk if from_framework else None, note=note)
    return draft


def _node_at(params: dict, path: str):
    from .engine.schema import _get_node

    return _get_node(params, path)


@transaction.atomic  # the draft row is locked (select_for_update needs a transaction on PostgreSQL)
def _edit(acting_user, version: PolicyVersion, path: str, mutate, *, label: str, old=None, new=None,
          refuse_new_problems: bool = False) -> PolicyVersion:
    version = _locked(version)
    _require_admin(acting_user, version.region_id)
    _require_draft(version)
    doc = version.engine_document()
    new_doc = json.loads(json.dumps(doc))
    try:
        mutate(new_doc.setdefault("parameters", {}))
    except (KeyError, IndexError, TypeError):
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path) from None
    if refuse_new_problems:
        problems = _problems(new_doc, version, before=doc)
        if problems:
            raise ChangeRefused([messages.render(p) for p in problems], field=path)
    version.document = new_doc
    version.save(update_fields=["document", "updated_at"])
    _record(version, ChangeAction.PARAMETER, actor=acting_user, path=path, label=label, old=old, new=new)
    return version


def set_clause(*, acting_user, version: PolicyVersion, path: str, clause: str | None,
               note: Any = UNCHANGED) -> PolicyVersion:
    """Set the clause (and optionally the note) a parameter of a draft is read from."""
    from .engine.schema import is_leaf

    clause = (clause or "").strip()[:100] or None
    doc = version.engine_document()
    try:
        node = _node_at(doc.get("parameters") or {}, path)
    except KeyError:
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path) from None
    if not is_leaf(node):
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)
    if note is not UNCHANGED:
        note = (note or "").strip()[:500] or None
    if node.get("clause") == clause and (note is UNCHANGED or node.get("note") == note):
        return version

    def mutate(params):
        leaf = _node_at(params, path)
        leaf["clause"] = clause
        if note is not UNCHANGED:
            if note:
                leaf["note"] = note
            else:
                leaf.pop("note", None)

    label = _recorded(gettext_noop("clause of %(what)s"), what=_leaf_label(doc, path))
    return _edit(acting_user, version, path, mutate, label=label, old=node.get("clause"), new=clause)


def _leaf_label(doc: dict, path: str) -> str:
    return next((leaf.label for leaf in engine.parameter_leaves(doc) if leaf.path == path), path)


def add_list_item(*, acting_user, version: PolicyVersion, path: str) -> str:
    """Add an entry (a route, a rule, …) at the end of the list at ``path``; its required
    parameters are unset. Returns the new entry's path."""
    from . import editor
    from .engine import schema

    spec = editor.spec_at(path)
    if not isinstance(spec, schema.ListOf):
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)
    doc = version.engine_document()
    holder_path, _sep, key = path.rpartition(".")
    existing = (_node_at(doc["parameters"], holder_path) if holder_path else doc["parameters"]).get(key) or []
    item = editor.blank_item(spec, existing)

    def mutate(params):
        holder = _node_at(params, holder_path) if holder_path else params
        holder.setdefault(key, []).append(item)

    _edit(acting_user, version, path, mutate, label=_recorded(gettext_noop("%(what)s added"), what=spec.zh),
          new=item.get("label"))
    return f"{path}[{len(existing)}]"


def remove_list_item(*, acting_user, version: PolicyVersion, path: str) -> PolicyVersion:
    """Remove the list entry at ``path`` (``assistance.routes[2]``)."""
    import re as _re

    from . import editor
    from .engine import schema

    m = _re.fullmatch(r"(.+)\[(\d+)\]", path or "")
    if not m or not isinstance(editor.spec_at(m.group(1)), schema.ListOf):
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)
    list_path, index = m.group(1), int(m.group(2))
    doc = version.engine_document()
    try:
        item = _node_at(doc["parameters"], path)
    except KeyError:
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path) from None

    def mutate(params):
        _node_at(params, list_path).pop(index)

    label = _recorded(gettext_noop("%(what)s removed"), what=editor.spec_at(m.group(1)).zh)
    return _edit(acting_user, version, path, mutate, label=label, old=item.get("label") if isinstance(item, dict) else None)


def set_item_text(*, acting_user, version: PolicyVersion, path: str, key: str, text: str) -> PolicyVersion:
    """Set a list entry's plain text (its ``label`` or ``name``)."""
    import re as _re

    from . import editor
    from .engine import schema

    m = _re.fullmatch(r"(.+)\[(\d+)\]", path or "")
    spec = editor.spec_at(m.group(1)) if m else None
    if not isinstance(spec, schema.ListOf) or key not in spec.item.strings:
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)
    text = (text or "").strip()[:200]
    if key == "name" and not _re.fullmatch(r"[a-z][a-z0-9_]*", text):
        raise ChangeRefused(_("The code must be lower-case letters, digits and _, starting with a letter (e.g. class3_inpatient)."),
                            field=f"{path}.{key}")
    if not text:
        raise ChangeRefused(_("This field is required."), field=f"{path}.{key}")
    doc = version.engine_document()
    try:
        old = _node_at(doc["parameters"], path).get(key)
    except KeyError:
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path) from None
    if old == text:
        return version

    def mutate(params):
        _node_at(params, path)[key] = text

    return _edit(acting_user, version, f"{path}.{key}", mutate, label=_recorded(gettext_noop("name of %(what)s"), what=spec.zh),
                 old=old, new=text)


def add_optional_parameter(*, acting_user, version: PolicyVersion, path: str) -> PolicyVersion:
    """Add an optional parameter the schema allows but the draft lacks (unset)."""
    from . import editor
    from .engine import schema

    spec = editor.spec_at(path)
    holder_path, _sep, key = path.rpartition(".")
    if not isinstance(spec, schema.Leaf) or spec.required:
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)

    def mutate(params):
        holder = _node_at(params, holder_path) if holder_path else params
        holder.setdefault(key, {"value": None, "clause": None})

    return _edit(acting_user, version, path, mutate, label=_recorded(gettext_noop("%(what)s added"), what=spec.zh))


def remove_optional_parameter(*, acting_user, version: PolicyVersion, path: str) -> PolicyVersion:
    """Remove an optional parameter from a draft."""
    from . import editor
    from .engine import schema

    spec = editor.spec_at(path)
    holder_path, _sep, key = path.rpartition(".")
    if not isinstance(spec, schema.Leaf) or spec.required:
        raise ChangeRefused(_("%(path)s: a required parameter cannot be removed; leave it unset instead") % {"path": path}, field=path)

    def mutate(params):
        holder = _node_at(params, holder_path) if holder_path else params
        holder.pop(key, None)

    return _edit(acting_user, version, path, mutate, label=_recorded(gettext_noop("%(what)s removed"), what=spec.zh))


def add_part(*, acting_user, version: PolicyVersion, path: str) -> PolicyVersion:
    """Add a top-level part of the schema (a group such as 倾斜救助) the draft lacks, its required
    parameters unset."""
    from . import editor
    from .engine import schema

    spec = schema.SCHEMA.children.get(path)
    if not isinstance(spec, (schema.Group, schema.ListOf)):
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)

    def mutate(params):
        params.setdefault(path, editor._blank(spec))

    return _edit(acting_user, version, path, mutate, label=_recorded(gettext_noop("%(what)s added"), what=spec.zh))


def remove_part(*, acting_user, version: PolicyVersion, path: str) -> PolicyVersion:
    """Remove a top-level part from a draft (e.g. the single tilted rule when the document states
    its tilted rules as a list). The recipient categories cannot be removed."""
    from .engine import schema

    spec = schema.SCHEMA.children.get(path)
    if not isinstance(spec, (schema.Group, schema.ListOf)) or path == "categories":
        raise ChangeRefused(_("%(path)s: there is no such parameter") % {"path": path}, field=path)

    def mutate(params):
        params.pop(path, None)

    return _edit(acting_user, version, path, mutate, label=_recorded(gettext_noop("%(what)s removed"), what=spec.zh))
