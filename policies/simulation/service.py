"""The region-wide fund-impact simulation of a draft: start it, run its parts, merge the report.

``start_simulation`` records a :class:`~policies.models.PolicySimulation` (the draft's document as
simulated, the regions, the parts as person-id ranges) and enqueues one Celery task per part
(``policies.simulate_part``, through ``portal.jobs.enqueue``). Each part reads its person-years in
bulk (``reading.read_part``), settles each twice — under the versions in force and under the draft,
taken as governing every claim of the year — and stores its aggregate (``SimulationChunk``); the
part that finds every part done merges them into the report, under a lock on the simulation row,
so running a part twice, or the last two at once, gives one report. Nothing is written to cases.
"""
from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.errors import Invalid, NotFound, NotPermitted
from portal.jobs import enqueue
from portal.regions.codes import scope_prefix
from portal.roles.domain import Role
from portal.roles.scoping import in_scope

from .. import engine, selectors, services
from ..engine.constants import ALERT_NAMES, CATEGORY_NAMES, KIND_NAMES
from ..models import PolicySimulation, PolicyVersion, SimulationChunk, SimulationStatus, VersionStatus
from . import compute, reading

log = logging.getLogger(__name__)

TASK = "policies.simulate_part"


def default_chunk_size() -> int:
    return max(1, int(getattr(settings, "POLICY_SIMULATION_CHUNK", 1000)))


# --- Who may ---------------------------------------------------------------------------------------


def may_simulate(user, version: PolicyVersion) -> bool:
    """Policy admins of the version's region (or above it) and superusers."""
    return user is not None and user.is_authenticated and in_scope(user, version.region_id, roles=[Role.POLICY_ADMIN])


def _require(user, version: PolicyVersion) -> None:
    if user is not None and not may_simulate(user, version):
        raise NotPermitted(_("Only a policy administrator of region %(code)s may simulate its policies.")
                           % {"code": version.region_id})


# --- The books ------------------------------------------------------------------------------------


def _draft_engine_version(version: PolicyVersion, document: dict, year: int) -> engine.PolicyVersion:
    """The draft (as simulated) governing every claim of ``year``."""
    shadow = PolicyVersion(region_id=version.region_id, document_number=version.document_number,
                           title=version.title, framework=version.framework, in_force_from=datetime.date(year, 1, 1),
                           in_force_to=datetime.date(year, 12, 31), retroactive_from=None, document=document)
    return engine.PolicyVersion.from_document(shadow.engine_document())


def _published(codes, *, framework: bool) -> dict[str, list[PolicyVersion]]:
    out: dict[str, list[PolicyVersion]] = {}
    for v in PolicyVersion.objects.filter(region_id__in=list(codes), status=VersionStatus.PUBLISHED, framework=framework):
        out.setdefault(v.region_id, []).append(v)
    return out


def _engine(v: PolicyVersion) -> engine.PolicyVersion:
    return engine.PolicyVersion.from_document(v.engine_document())


def applies_to(version: PolicyVersion, codes: list[str]) -> tuple[list[str], list[str]]:
    """Of the region codes ``codes`` (the draft's region and below), those the draft would settle —
    directly (no nearer region has published versions of its own) or through a county version
    inheriting it — and those settled by a policy of their own."""
    chains = {code: engine.region_chain(code) for code in codes}
    published = _published({c for chain in chains.values() for c in chain}, framework=False)
    yes, no = [], []
    for code, chain in sorted(chains.items()):
        if version.region_id not in chain:
            no.append(code)
            continue
        pos = chain.index(version.region_id)
        supplier = next((i for i, c in enumerate(chain) if published.get(c)), None)
        if supplier is None or pos <= supplier:
            yes.append(code)
        elif any(v.document.get("inherits") == version.region_id for v in published[chain[supplier]]):
            yes.append(code)
        else:
            no.append(code)
    return yes, no


class _AfterBooks:
    """Region code → the policy book with the draft in force for the year (built once per region)."""

    def __init__(self, version: PolicyVersion, document: dict, year: int):
        self.version, self.year = version, year
        self.draft = _draft_engine_version(version, document, year)
        self.books: dict[str, engine.PolicyBook] = {}

    def __call__(self, code: str) -> engine.PolicyBook:
        book = self.books.get(code)
        if book is None:
            book = self.books[code] = self._build(code)
        return book

    def _build(self, code: str) -> engine.PolicyBook:
        chain = engine.region_chain(code)
        published = _published(chain, framework=False)
        frameworks = _published(chain, framework=True)
        pos = chain.index(self.version.region_id)
        supplier = next((i for i, c in enumerate(chain) if published.get(c)), None)
        if supplier is None or pos <= supplier:
            versions, supplier = [self.draft], pos
            inherits = self.draft.doc.get("inherits")
            parents = [_engine(v) for v in _published([inherits], framework=False).get(inherits, [])] if inherits else []
        else:   # a county version inheriting the draft's region
            versions = [_engine(v) for v in published[chain[supplier]]]
            parents = [self.draft]
        fws = [_engine(v) for c in chain[supplier + 1:] for v in frameworks.get(c, [])]
        return engine.PolicyBook(region=code, versions=versions, frameworks=fws,
                                 statistics=selectors.stored_statistics(chain), parents=parents)


def _before_book(code: str) -> engine.PolicyBook:
    return services.book_for(code)


# --- Starting ---------------------------------------------------------------------------------------


def _year(value) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise Invalid(_("Year: enter a year such as 2024."), field="year") from None
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise Invalid(_("Year: between 2000 and next year."), field="year")
    return year


def _plan(version: PolicyVersion, year: int, size: int) -> dict:
    from cases.models import Application

    codes = sorted(set(Application.objects.filter(year=year, region__code__startswith=scope_prefix(version.region_id))
                       .exclude(state__in=reading.DEAD_STATES).values_list("region_id", flat=True).distinct()))
    regions, own = applies_to(version, codes)
    ids = reading.person_ids(regions=regions, year=year) if regions else []
    bounds = [[ids[i], ids[min(i + size, len(ids)) - 1]] for i in range(0, len(ids), size)]
    return {"regions": regions, "own_policy": own, "bounds": bounds, "person_years": len(ids)}


@transaction.atomic
def start_simulation(*, acting_user, version: PolicyVersion, year, chunk_size: int | None = None,
                     in_process: bool = False) -> PolicySimulation:
    """Simulate ``version`` (a draft) over the person-years of its region (and the regions below it
    that it would settle) and ``year``: the parts are enqueued as Celery tasks (run by the caller
    with ``in_process``: see :func:`run_all`). ``acting_user`` None: the system (``manage.py``)."""
    _require(acting_user, version)
    year = _year(year)
    if version.status != VersionStatus.DRAFT:
        raise Invalid(_("Only a draft is simulated: %(document)s is %(status)s.")
                      % {"document": version.document_number, "status": version.get_status_display()}, field="version")
    if version.framework:
        raise Invalid(_("A provincial framework settles no claims by itself: simulate the policies of the regions "
                        "below it."), field="version")
    try:
        _draft_engine_version(version, version.document, year)
    except engine.EngineError as exc:
        from .. import messages

        raise Invalid(_("The draft cannot be simulated: %(problems)s")
                      % {"problems": "；".join(messages.render(p) for p in exc.problems)},
                      field="version") from None
    plan = _plan(version, year, chunk_size or default_chunk_size())
    sim = PolicySimulation.objects.create(
        version=version, region_id=version.region_id, year=year, document=version.document, plan=plan,
        chunks_total=len(plan["bounds"]), person_years=plan["person_years"], created_by=acting_user)
    if not plan["bounds"]:
        _finish(sim.pk)
    elif not in_process:
        for index in range(len(plan["bounds"])):
            enqueue(TASK, sim.pk, index)
    return sim


# --- Running a part -------------------------------------------------------------------------------


_after_cache: dict[tuple, _AfterBooks] = {}


def _after_books(sim: PolicySimulation) -> _AfterBooks:
    """The draft's books of ``sim``, kept in this process for its next parts (until a version or
    statistic changes: ``bookcache.generation``)."""
    from .. import bookcache

    # the simulation by its id, version and start time: an id alone may come back (SQLite reuses the
    # ids of rolled-back rows; the tests saw another simulation's draft, of another region, reused)
    key = (sim.pk, sim.version_id, sim.created_at, bookcache.generation())
    found = _after_cache.get(key)
    if found is None:
        while len(_after_cache) >= 4:
            _after_cache.pop(next(iter(_after_cache)))
        found = _after_cache[key] = _AfterBooks(sim.version, sim.document, sim.year)
    return found


def compute_part(sim: PolicySimulation, index: int, *, after: _AfterBooks | None = None) -> dict:
    """The aggregate of part ``index`` (reads only)."""
    first, last = sim.plan["bounds"][index]
    person_years = reading.read_part(regions=sim.plan["regions"], year=sim.year, first_person=first,
                                     last_person=last)
    after = after or _after_books(sim)
    before_cache: dict = {}

    def before(code):
        book = before_cache.get(code)
        if book is None:
            book = before_cache[code] = _before_book(code)
        return book

    return compute.settle_part(person_years, before, after)


def run_part(*, simulation_id: int, index: int, after: _AfterBooks | None = None) -> None:
    """Run part ``index`` of the simulation (idempotent: a part done is not run again; the part that
    completes the set merges the report)."""
    sim = PolicySimulation.objects.select_related("version").filter(pk=simulation_id).first()
    if sim is None or sim.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
        return
    if not SimulationChunk.objects.filter(simulation=sim, index=index).exists():
        PolicySimulation.objects.filter(pk=sim.pk, status=SimulationStatus.QUEUED).update(status=SimulationStatus.RUNNING)
        partial = compute_part(sim, index, after=after)
        SimulationChunk.objects.update_or_create(simulation=sim, index=index,
                                                 defaults={"partial": partial, "done_at": timezone.now()})
    _finish(sim.pk)


def fail(*, simulation_id: int, error: str) -> None:
    PolicySimulation.objects.filter(pk=simulation_id).exclude(status=SimulationStatus.DONE).update(
        status=SimulationStatus.FAILED, error=error[:2000], finished_at=timezone.now())


@transaction.atomic
def _finish(simulation_id: int) -> None:
    sim = PolicySimulation.objects.select_for_update().get(pk=simulation_id)
    if sim.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
        return
    done = SimulationChunk.objects.filter(simulation=sim).count()
    if done < sim.chunks_total:
        if done != sim.chunks_done:
            sim.chunks_done = done
            sim.save(update_fields=["chunks_done"])
        return
    parts = [c.partial for c in SimulationChunk.objects.filter(simulation=sim).order_by("index")]
    sim.report = build_report(sim, compute.merge(parts))
    sim.chunks_done = done
    sim.status = SimulationStatus.DONE
    sim.finished_at = timezone.now()
    sim.save(update_fields=["report", "chunks_done", "status", "finished_at"])


def run_all(sim: PolicySimulation) -> PolicySimulation:
    """Run every part of ``sim`` in this process, one after the other (``manage.py simulate_policy``)."""
    after = _after_books(sim)
    for index in range(sim.chunks_total):
        run_part(simulation_id=sim.pk, index=index, after=after)
    sim.refresh_from_db()
    return sim


# --- The report ----------------------------------------------------------------------------------


def _money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _row(before: int, after: int) -> dict:
    return {"before": _money(before), "after": _money(after), "change": _money(after - before)}


def refusal_reason(row: dict) -> str:
    """A refusal of the report in the reader's language, worded from its stored problem (code and
    params); a row of a report stored before problems were kept keeps its recorded sentence."""
    from .. import messages

    problem = row.get("problem")
    if problem is None:
        return row.get("reason", "")
    if problem.get("code") == compute.NO_CLAIMS:
        return _("The case has no claims in the year.")
    return messages.render(problem)


def worded_report(report: dict | None) -> dict | None:
    """The stored report with each refusal's ``reason`` worded for the reader (the stored report
    keeps problems, not sentences: a report is read in the reader's language, not the run's)."""
    if not report:
        return report
    out = dict(report)
    out["refused"] = [{**row, "reason": refusal_reason(row)} for row in report.get("refused") or []]
    return out


def _budget(sim: PolicySimulation, merged: dict) -> dict:
    from cases.reporting.models import AssistanceBudget

    own = AssistanceBudget.objects.filter(region_id=sim.region_id, year=sim.year).first()
    amount = own.amount if own is not None else AssistanceBudget.objects.filter(
        region_id__in=sim.plan.get("regions", []), year=sim.year).aggregate(s=Sum("amount"))["s"]
    before = merged["before"]["assistance"] + merged["before"]["tilted"]
    after = merged["after"]["assistance"] + merged["after"]["tilted"]
    out = {"amount": None, "before": _money(before), "after": _money(after), "before_share": None, "after_share": None}
    if amount is not None:
        fen = int(Decimal(amount).scaleb(2))
        out["amount"] = _money(fen)
        if fen:
            out["before_share"] = f"{Decimal(before * 100) / fen:.1f}"
            out["after_share"] = f"{Decimal(after * 100) / fen:.1f}"
    return out


def build_report(sim: PolicySimulation, merged: dict) -> dict:
    b, a = merged["before"], merged["after"]
    totals = {key: _row(b[key], a[key]) for key in compute.MONEY}
    totals["paid"] = _row(b["assistance"] + b["tilted"], a["assistance"] + a["tilted"])

    def table(rows: dict, names: dict) -> list[dict]:
        out = [{"code": k, "name": names.get(k, k) or _("no category"), **_row(v[0], v[1]), "_d": v[1] - v[0]}
               for k, v in rows.items()]
        out.sort(key=lambda r: (-abs(r["_d"]), r["code"]))
        for r in out:
            del r["_d"]
        return out

    refused = [{"side": e["side"], "code": e["code"],
                "problem": {"code": e["code"], "params": e.get("params") or {}, "path": e.get("path"),
                            "text": e["text"]},
                "count": e["count"], "cases": e["cases"]}
               for e in merged["refused"].values()]
    refused.sort(key=lambda r: (-r["count"], r["side"], r["code"], r["problem"]["text"]))
    return {
        "version": {"id": sim.version_id, "document_number": sim.version.document_number, "title": sim.version.title,
                    "region": sim.region_id},
        "year": sim.year,
        "regions": sim.plan.get("regions", []),
        "regions_own_policy": sim.plan.get("own_policy", []),
        "person_years": merged["person_years"],
        "compared": merged["compared"],
        "refused_person_years": merged["person_years"] - merged["compared"],
        "totals": totals,
        "people": merged["people"],
        "cases": merged["cases"],
        "by_category": table(merged["by_category"], CATEGORY_NAMES),
        "by_kind": table(merged["by_kind"], KIND_NAMES),
        "caps": merged["caps"],
        "caps_people": merged["caps_people"],
        "thresholds": [{"kind": k, "name": ALERT_NAMES.get(k, k), "people": n}
                       for k, n in sorted(merged["thresholds"].items())],
        "thresholds_people": merged["thresholds_people"],
        "largest": [{"person_id": r[4], "case_id": r[5], "case_number": r[6], "region": r[7], **_row(r[2], r[3])}
                    for r in merged["largest"]],
        "refused": refused,
        "budget": _budget(sim, merged),
    }


# --- Reads for the pages ------------------------------------------------------------------------


def latest_simulation(version: PolicyVersion, *, year: int | None = None) -> PolicySimulation | None:
    """The version's latest simulation (of ``year`` if given), finished or not; ``.is_current``
    says whether the draft is still what was simulated."""
    qs = PolicySimulation.objects.filter(version=version).select_related("version", "created_by")
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("-created_at", "-id").first()


def simulation_for(user, simulation_id) -> PolicySimulation:
    """A simulation the user may see (policy admins of its region, superusers); NotFound otherwise."""
    try:
        sim = PolicySimulation.objects.select_related("version", "created_by").get(pk=int(simulation_id))
    except (PolicySimulation.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("No such simulation.")) from None
    if not may_simulate(user, sim.version):
        raise NotFound(_("No such simulation."))
    return sim


def retroactive_person_years(version: PolicyVersion, since: datetime.date | None = None) -> int:
    """How many person-years publishing ``version`` would recalculate: those of its region (and
    below) with a case and a claim dated on or after ``since`` (its effective date by default) —
    what ``cases.receivers.on_version_published`` marks."""
    from cases.models import Application, Claim

    since = since or version.effective_from
    claims = Claim.objects.filter(person_id=OuterRef("person_id"), date__gte=since, date__year=OuterRef("year"))
    return (Application.objects.filter(region__code__startswith=scope_prefix(version.region_id), year__gte=since.year)
            .filter(Exists(claims)).values("person_id", "year").distinct().count())


def publish_context(version: PolicyVersion, *, since: datetime.date | None = None) -> dict:
    """What ``templates/policies/_simulation_summary.html`` shows on the publish form: the draft's
    latest simulation and how many person-years publishing it (from ``since``, its effective date by
    default) would recalculate."""
    return {"version": version, "simulation": latest_simulation(version),
            "retroactive_person_years": retroactive_person_years(version, since)}
