"""Reads of the policies part: the policy book a settlement uses, and what the policy pages show.

Region scoping goes through ``portal.roles.scoping``. Policy admins and auditors see the versions
and statistics of their regions and below, and — read-only — the published versions and the
statistics of the regions above them, which apply to them.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from portal import permissions
from portal.regions.codes import ancestors
from portal.regions.models import Region
from portal.roles.scoping import grants, in_scope, scope_queryset, scoped_regions

from . import display
from .engine import PolicyBook, PolicyError, parameter_leaves
from .engine import PolicyVersion as EngineVersion
from .engine.codes import Code
from .engine.errors import problem
from .models import ChangeAction, PolicyChange, PolicyImport, PolicyVersion, Statistic, VersionStatus
from .periods import Period, plan_publication

ADMIN_ROLES = tuple(sorted(permissions.roles_for("policies.view_policies")))
EDIT_ROLES = tuple(sorted(permissions.roles_for("policies.edit_version")))


# ---------------------------------------------------------------------------------------------
# The policy book
# ---------------------------------------------------------------------------------------------


def region_chain(region_code: str) -> list[Region]:
    """The region and the regions above it, nearest first (county → city → province)."""
    by_code = {r.code: r for r in Region.objects.filter(code__in=[region_code, *ancestors(region_code)])}
    region = by_code.get(region_code)
    if region is None:
        raise PolicyError([problem(Code.UNKNOWN_REGION, "region", f"{region_code} is not a region known to the portal "
                                   "(GB/T 2260)", region=region_code)])
    chain = []
    while region is not None:
        chain.append(region)
        region = by_code.get(region.parent_id) if region.parent_id else None
        if region is None and chain[-1].parent_id:  # a parent the code arithmetic did not predict
            region = Region.objects.filter(code=chain[-1].parent_id).first()
    return chain


def period_of(v: PolicyVersion) -> Period:
    return Period(v.pk, v.document_number, v.effective_from, v.in_force_from, v.in_force_to)


def _engine_version(v: PolicyVersion, *, in_force_to: Any = "keep") -> EngineVersion:
    doc = v.engine_document()
    if in_force_to != "keep":
        doc["in_force_to"] = in_force_to.isoformat() if in_force_to else None
    return EngineVersion.from_document(doc)


def simulate_publication(published: list[PolicyVersion], candidate: PolicyVersion) -> list[EngineVersion]:
    """The engine versions as they would be if ``candidate`` were published with its dates."""
    plan = plan_publication(
        [period_of(v) for v in published if v.pk != candidate.pk],
        effective_from=candidate.effective_from,
        in_force_to=candidate.in_force_to,
    )
    if plan.errors:
        raise PolicyError([problem(Code.PERIODS_CONFLICT, None, f"{candidate.document_number}: {e}",
                                   document=candidate.document_number, message=str(e)) for e in plan.errors])
    closed = dict(plan.close)
    out = []
    for v in published:
        if v.pk == candidate.pk or v.pk in plan.supersede:
            continue
        out.append(_engine_version(v, in_force_to=closed[v.pk]) if v.pk in closed else _engine_version(v))
    out.append(_engine_version(candidate, in_force_to=plan.in_force_to))
    return out


def stored_statistics(chain_codes: list[str]) -> dict[str, dict[int, Decimal]]:
    """The stored statistics for a region (its chain, nearest first): per kind, the nearest region
    that has any figure of that kind supplies all of its years."""
    rank = {code: i for i, code in enumerate(chain_codes)}
    found: dict[str, tuple[int, dict[int, Decimal]]] = {}
    for region_id, kind, year, value in Statistic.objects.filter(region_id__in=chain_codes).values_list(
        "region_id", "kind", "year", "value"
    ):
        r = rank[region_id]
        current = found.get(kind)
        if current is None or r < current[0]:
            found[kind] = (r, {year: value})
        elif r == current[0]:
            current[1][year] = value
    return {kind: series for kind, (_, series) in found.items()}


def _published(codes: list[str]) -> tuple[dict[str, list[PolicyVersion]], dict[str, list[PolicyVersion]]]:
    """The published versions and the published frameworks of ``codes``, by region."""
    versions: dict[str, list[PolicyVersion]] = {}
    frameworks: dict[str, list[PolicyVersion]] = {}
    for v in PolicyVersion.objects.filter(region_id__in=codes, status=VersionStatus.PUBLISHED):
        (frameworks if v.framework else versions).setdefault(v.region_id, []).append(v)
    return versions, frameworks


@dataclass
class BookSources:
    """What a policy book is made of, apart from override statistics (see :func:`get_policy_book`)."""

    region_code: str
    chain: list[str]
    versions: list[EngineVersion]
    frameworks: list[EngineVersion]
    stored_statistics: dict[str, dict[int, Decimal]]
    parents: list[EngineVersion] = field(default_factory=list)

    def book(self, statistics: dict | None = None) -> PolicyBook:
        if statistics is None:
            stats = {kind: dict(series) for kind, series in self.stored_statistics.items()}
        else:
            stats = {
                kind: {int(y): v if isinstance(v, Decimal) else Decimal(str(v)) for y, v in years.items()}
                for kind, years in statistics.items()
            }
        return PolicyBook(region=self.region_code, versions=self.versions, frameworks=self.frameworks, statistics=stats,
                          parents=self.parents)


def policy_sources(*, region_code: str, draft_version_id: int | None = None) -> BookSources:
    """The versions, frameworks and stored statistics that settle claims of ``region_code``."""
    chain = region_chain(region_code)
    codes = [r.code for r in chain]
    versions_by_region, frameworks_by_region = _published(codes)
    supplier = next((i for i, code in enumerate(codes) if versions_by_region.get(code)), None)

    draft = None
    if draft_version_id is not None:
        draft = PolicyVersion.objects.filter(pk=draft_version_id).first()
        if draft is None:
            raise PolicyError([problem(Code.VERSION_NOT_FOUND, "version", f"no policy version {draft_version_id}",
                                       version=draft_version_id)])
        if draft.region_id not in codes:
            raise PolicyError([problem(
                Code.VERSION_NOT_APPLICABLE, "version", f"{draft.document_number} is a policy of region "
                f"{draft.region_id}, which is neither {region_code} nor a region above it",
                document=draft.document_number, version_region=draft.region_id, region=region_code)])
        position = codes.index(draft.region_id)
        if not draft.framework:
            if supplier is not None and position > supplier:
                raise PolicyError([problem(
                    Code.VERSION_NOT_APPLICABLE, "version", f"{region_code} is settled by the versions of "
                    f"{codes[supplier]}; {draft.document_number} of {draft.region_id} does not apply to it",
                    document=draft.document_number, version_region=draft.region_id, region=region_code)])
            supplier = position
    simulate = draft is not None and draft.status != VersionStatus.PUBLISHED

    if supplier is None:
        raise PolicyError([problem(Code.NO_POLICY, "region", f"no published policy version for {region_code} or the "
                                   f"regions above it ({', '.join(codes)})", region=region_code)])
    published = versions_by_region.get(codes[supplier], [])
    if simulate and not draft.framework:
        versions = simulate_publication(published, draft)
    else:
        versions = [_engine_version(v) for v in published]

    frameworks: list[EngineVersion] = []
    for code in codes[supplier + 1:]:
        fws = frameworks_by_region.get(code, [])
        if simulate and draft.framework and draft.region_id == code:
            frameworks.extend(simulate_publication(fws, draft))
        else:
            frameworks.extend(_engine_version(v) for v in fws)
    # A county version that inherits its city's ("inherits": "341700") reads the city's published versions.
    inherits = {v.doc.get("inherits") for v in versions} - {None}
    parents = ([_engine_version(v) for v in PolicyVersion.objects.filter(
        region_id__in=inherits, status=VersionStatus.PUBLISHED, framework=False)] if inherits else [])
    return BookSources(region_code, codes, versions, frameworks, stored_statistics(codes), parents)


def get_policy_book(
    *, region_code: str, statistics: dict | None = None, draft_version_id: int | None = None
) -> PolicyBook:
    """The policy book that settles claims of ``region_code``.

    The nearest region up the tree (county → city → province) with published versions supplies
    them; the framework versions of the regions above it are the frameworks; the statistics are the
    stored ones of the region and the regions above it (nearest wins per kind), unless
    ``statistics`` (``{kind: {year: value}}``) is given, which replaces them entirely. With
    ``draft_version_id`` that version is taken as if it were published with its own dates (it
    closes or replaces the versions publishing it would), for a what-if. Raises ``PolicyError``.
    """
    return policy_sources(region_code=region_code, draft_version_id=draft_version_id).book(statistics)


def settling_period(*, version_id: int) -> tuple[datetime.date, datetime.date | None] | None:
    """The claim dates the version ``version_id`` settles in a what-if (first, last — ``None``
    when open-ended): a published version's own period; a draft's period as publishing it with its
    planned dates would leave it. ``None`` when there is no such version or its dates clash."""
    version = PolicyVersion.objects.filter(pk=version_id).first()
    if version is None:
        return None
    if version.status == VersionStatus.PUBLISHED:
        return version.effective_from, version.in_force_to
    published = PolicyVersion.objects.filter(
        region_id=version.region_id, framework=version.framework, status=VersionStatus.PUBLISHED
    ).exclude(pk=version.pk)
    plan = plan_publication([period_of(v) for v in published], effective_from=version.effective_from,
                            in_force_to=version.in_force_to)
    if plan.errors:
        return None
    return version.effective_from, plan.in_force_to


def route_labels(*, region_code: str, draft_version_id: int | None = None) -> dict[tuple, str]:
    """{(document number, route name, category): the route's label} for the versions that settle
    ``region_code`` — to show a result's route as the document names it."""
    labels: dict[tuple, str] = {}
    for version in policy_sources(region_code=region_code, draft_version_id=draft_version_id).versions:
        routes = ((version.doc.get("parameters") or {}).get("assistance") or {}).get("routes") or []
        for route in routes:
            for category in (route.get("categories") or {}).get("value") or []:
                labels.setdefault((version.document, route.get("name"), category), route.get("label") or route.get("name"))
    return labels


def frameworks_for(version: PolicyVersion) -> list[PolicyVersion]:
    """The published framework versions of the regions above ``version``'s region whose period
    overlaps the version's."""
    codes = [r.code for r in region_chain(version.region_id)[1:]]
    start, end = version.effective_from, version.in_force_to or datetime.date.max
    return [
        fw
        for fw in PolicyVersion.objects.filter(region_id__in=codes, framework=True, status=VersionStatus.PUBLISHED)
        if fw.effective_from <= end and start <= (fw.in_force_to or datetime.date.max)
    ]




# ---------------------------------------------------------------------------------------------
# What the pages show
# ---------------------------------------------------------------------------------------------


def _inherited_codes(user, roles) -> list[str]:
    """Regions above the user's regions for ``roles`` (their policies apply to the user's)."""
    wanted = set(roles)
    codes: set[str] = set()
    for g in grants(user):
        if g.role in wanted:
            codes.update(ancestors(g.region_code))
    return sorted(codes)


def visible_versions(user) -> QuerySet:
    """Versions a policy admin or auditor may open: those of their regions and below (any status),
    and the published versions of the regions above them."""
    own = scope_queryset(PolicyVersion.objects.all(), user, roles=ADMIN_ROLES)
    if user.is_superuser:
        return own.select_related("region")
    inherited = PolicyVersion.objects.filter(
        region_id__in=_inherited_codes(user, ADMIN_ROLES), status__in=[VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED]
    )
    return (own | inherited).select_related("region").distinct()


def versions_for_admin(user, *, region_code: str | None = None, status: str | None = None) -> QuerySet:
    """The version list: visible versions, optionally of one region and one status; by region, the
    newest first."""
    qs = visible_versions(user)
    if region_code:
        qs = qs.filter(region_id=region_code)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("region_id", "framework", "-in_force_from", "-id")


def can_edit(user, version: PolicyVersion) -> bool:
    """May the user change this draft (or start a new version in its region)?"""
    return in_scope(user, version.region_id, roles=EDIT_ROLES)


def editable_regions(user) -> QuerySet:
    return scoped_regions(user, roles=EDIT_ROLES)


def regions_for_new_version(user, version: PolicyVersion) -> list[Region]:
    """Where the user may start a new version from ``version``: its own region when the user
    administers it, else the user's regions below it (a county starting its own version)."""
    if can_edit(user, version):
        return [version.region]
    prefix = version.region.scope_prefix
    return [r for r in editable_regions(user).order_by("code") if r.code.startswith(prefix) and r.code != version.region_id]


def admin_regions(user) -> QuerySet:
    """Regions whose policy pages the user may see (their own for the admin roles and below)."""
    return scoped_regions(user, roles=ADMIN_ROLES)


def version_history(version: PolicyVersion) -> QuerySet:
    return version.changes.select_related("actor").order_by("-at", "-id")


@dataclass
class ParameterRow:
    path: str
    label: str
    clause: str | None
    note: str | None
    value: Any
    shown: str
    unset: bool
    kind: str
    section: str

    @property
    def short_label(self) -> str:
        """The label without its section (shown under the section's heading)."""
        parts = self.label.split(" · ")
        return " · ".join(parts[1:]) if len(parts) > 1 else self.label


def version_parameters(version: PolicyVersion) -> list[ParameterRow]:
    """Every parameter of the version, in document order, with its label, shown value and clause."""
    rows = []
    for leaf in parameter_leaves(version.document):
        kind = display.kind_of(leaf.path)
        rows.append(
            ParameterRow(
                path=leaf.path,
                label=leaf.label,
                clause=leaf.clause,
                note=leaf.note,
                value=leaf.value,
                shown=display.show(leaf.value, kind),
                unset=leaf.value is None,
                kind=kind,
                section=leaf.label.split(" · ")[0],
            )
        )
    return rows




def visible_statistics(user) -> QuerySet:
    """Statistics of the user's regions and below, and of the regions above them (read-only)."""
    own = scope_queryset(Statistic.objects.all(), user, roles=ADMIN_ROLES)
    if user.is_superuser:
        return own.select_related("region", "updated_by")
    inherited = Statistic.objects.filter(region_id__in=_inherited_codes(user, ADMIN_ROLES))
    return (own | inherited).select_related("region", "updated_by").distinct()


def statistics_for_admin(user, *, region_code: str | None = None, kind: str | None = None) -> QuerySet:
    qs = visible_statistics(user)
    if region_code:
        qs = qs.filter(region_id=region_code)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("region_id", "kind", "-year")


def can_edit_statistic(user, region_code: str) -> bool:
    return in_scope(user, region_code, roles=EDIT_ROLES)


def statistics_history(user, *, limit: int = 200) -> QuerySet:
    actions = [ChangeAction.STATISTIC_ENTERED, ChangeAction.STATISTIC_CHANGED]
    qs = scope_queryset(PolicyChange.objects.filter(action__in=actions), user, roles=ADMIN_ROLES)
    return qs.select_related("actor", "region").order_by("-at", "-id")[:limit]




def whatif_versions(user) -> QuerySet:
    """Versions the what-if may use: the visible published versions and drafts (not frameworks)."""
    return (
        visible_versions(user)
        .filter(Q(status=VersionStatus.PUBLISHED) | Q(status=VersionStatus.DRAFT), framework=False)
        .order_by("region_id", "status", "-in_force_from", "-id")
    )


def version_to_export(*, region_code: str, version_id: int | None = None, user=None) -> PolicyVersion | None:
    """The version ``export_policy`` writes: ``version_id`` of the region, else the region's
    published version in force today, else its newest published one, else its newest of any
    status. With ``user``, only versions the user may see."""
    qs = PolicyVersion.objects.filter(region_id=region_code).select_related("region")
    if user is not None:
        qs = qs.filter(pk__in=visible_versions(user).values("pk"))
    if version_id is not None:
        return qs.filter(pk=version_id).first()
    today = datetime.date.today()
    published = qs.filter(status=VersionStatus.PUBLISHED).order_by("framework", "-in_force_from", "-id")
    for v in published:
        if v.effective_from <= today <= (v.in_force_to or datetime.date.max):
            return v
    return published.first() or qs.order_by("-id").first()


def draft_problems(version: PolicyVersion) -> list:
    """What keeps the version from being published as it stands: the document's problems and the
    breaches of the frameworks above it (engine problems; ``messages.render`` words them)."""
    from .engine import document_problems, framework_problems

    doc = version.engine_document()
    found = list(document_problems(doc))
    for fw in frameworks_for(version):
        found += framework_problems(doc, fw.engine_document())
    return list({p.text: p for p in found}.values())


def document_texts(version: PolicyVersion) -> dict[str, str]:
    """{document number: full text} of the texts on file for the version's region and the regions
    above it (a clause may cite a framework's document: ``粤府办〔2022〕40号 二(四)``)."""
    from .models import PolicyText

    codes = [version.region_id, *ancestors(version.region_id)]
    rank = {c: i for i, c in enumerate(codes)}
    rows = sorted(PolicyText.objects.filter(region_id__in=codes), key=lambda t: -rank[t.region_id])
    return {t.document_number: t.text for t in rows}


def clause_texts(version: PolicyVersion):
    """A function clause → its words, for the version's document and the documents its clauses cite."""
    from .clauses import clause_text

    texts = document_texts(version)
    own = texts.get(version.document_number)

    def words(clause: str | None) -> str | None:
        if not clause:
            return None
        for number, text in texts.items():
            if clause.startswith(number):
                return clause_text(text, clause[len(number):].strip())
        return clause_text(own, clause) if own else None

    return words


def document_text(version: PolicyVersion) -> str | None:
    """The full text of the version's document when it is on file (its region's, else a region
    above with the same document number)."""
    from .models import PolicyText

    codes = [version.region_id, *ancestors(version.region_id)]
    rows = {t.region_id: t.text for t in PolicyText.objects.filter(region_id__in=codes, document_number=version.document_number)}
    return next((rows[c] for c in codes if c in rows), None)


def framework_choices(user, region: Region) -> list[PolicyVersion]:
    """Published frameworks of the regions above ``region`` a new draft may start from."""
    return list(PolicyVersion.objects.filter(region_id__in=ancestors(region.code), framework=True,
                                             status=VersionStatus.PUBLISHED).select_related("region").order_by("-in_force_from"))



@dataclass
class FigureUse:
    version: PolicyVersion
    label: str
    clause: str | None
    note: str | None


@dataclass
class FigureRow:
    """One figure a region's policies read for claims of one year: a statistic of an earlier year,
    or an amount announced for that year — with where the documents use it, its value when entered,
    its history, and (announced amounts only) a suggestion that is never applied."""

    name: str
    words: str
    announced: bool
    years: list[int]
    uses: list[FigureUse]
    entered: Statistic | None = None
    entered_year: int | None = None
    suggestion: Decimal | None = None
    suggestion_basis: str = ""
    history: list = None  # type: ignore[assignment]


def figure_uses(region_code: str, *, drafts: bool = True) -> dict[str, tuple[bool, list[FigureUse]]]:
    """{figure name: (announced?, uses)} over the versions that apply to ``region_code`` (its own
    and those of the regions above it; drafts of the region too when ``drafts``)."""
    codes = [region_code, *ancestors(region_code)]
    statuses = [VersionStatus.PUBLISHED] + ([VersionStatus.DRAFT] if drafts else [])
    out: dict[str, tuple[bool, list[FigureUse]]] = {}
    for version in PolicyVersion.objects.filter(region_id__in=codes, status__in=statuses).select_related("region").order_by("-in_force_from"):
        if version.status == VersionStatus.DRAFT and version.region_id != region_code:
            continue
        for leaf in parameter_leaves(version.document):
            value = leaf.value
            if not isinstance(value, dict):
                continue
            name, announced = (value.get("announced"), True) if "announced" in value else (value.get("statistic"), False)
            if isinstance(name, str) and name:
                entry = out.setdefault(name, (announced, []))
                entry[1].append(FigureUse(version, leaf.label, leaf.clause, leaf.note))
    return out


_ABOUT_RE = __import__("re").compile(r"(\d+(?:\.\d+)?)\s*[%％]")


def _suggestion(uses: list[FigureUse], stats: dict[str, dict[int, Decimal]], year: int) -> tuple[Decimal | None, str]:
    """An announced amount's suggestion from its document's own words ("按上年度居民人均可支配收入的10%左右确定"):
    that share of the region's previous-year income. Only a suggestion: nothing ever applies it."""
    for use in uses:
        text = use.note or ""
        m = _ABOUT_RE.search(text)
        if m and "人均可支配收入" in text:
            income = stats.get("city_income", {}).get(year - 1)
            if income is None:
                return None, text
            share = Decimal(m.group(1)) / 100
            return (share * income).quantize(Decimal("0.01")), text
    return None, ""


def figures_for(user, *, region_code: str, year: int) -> list[FigureRow]:
    """The figures the policies of ``region_code`` read for claims of ``year``: each statistic
    for the years its version tries (previous year, else …) and each announced amount for ``year``."""
    from .display import figure_name

    uses = figure_uses(region_code)
    codes = [region_code, *ancestors(region_code)]
    stored: dict[tuple[str, int], Statistic] = {}
    found = Statistic.objects.filter(region_id__in=codes).select_related("region", "updated_by")
    for stat in sorted(found, key=lambda st: -codes.index(st.region_id)):  # the nearest region wins
        stored[(stat.kind, stat.year)] = stat
    series: dict[str, dict[int, Decimal]] = {}
    for (kind, y), s in stored.items():
        series.setdefault(kind, {})[y] = s.value
    years_back = [1]
    for version in PolicyVersion.objects.filter(region_id__in=[region_code, *ancestors(region_code)], status=VersionStatus.PUBLISHED):
        try:
            yb = (version.document.get("parameters") or {}).get("statistics", {}).get("years_back", {}).get("value")
        except AttributeError:
            yb = None
        if isinstance(yb, list) and len(yb) > len(years_back):
            years_back = [int(b) for b in yb if isinstance(b, int)]
    history = list(PolicyChange.objects.filter(
        region_id=region_code, action__in=[ChangeAction.STATISTIC_ENTERED, ChangeAction.STATISTIC_CHANGED])
        .select_related("actor").order_by("-at", "-id"))
    rows = []
    for name, (announced, used) in sorted(uses.items(), key=lambda kv: (kv[1][0], kv[0])):
        years = [year] if announced else [year - b for b in years_back]
        row = FigureRow(name=name, words=figure_name(name), announced=announced, years=years, uses=used,
                        history=[c for c in history if c.path.split(" ")[0] == name])
        for y in years:
            if (name, y) in stored:
                row.entered, row.entered_year = stored[(name, y)], y
                break
        if announced and row.entered is None:
            row.suggestion, row.suggestion_basis = _suggestion(used, series, year)
        rows.append(row)
    return rows


def latest_simulation(version: PolicyVersion, *, year: int | None = None):
    """The version's latest fund-impact simulation (``policies.simulation``; finished or not), or
    None — what the publish form shows with ``templates/policies/_simulation_summary.html``."""
    from .simulation import latest_simulation as latest

    return latest(version, year=year)


def announced_names(region_code: str) -> tuple[str, ...]:
    """Names of the announced yearly amounts the region (or a region above it) has entered or its
    versions read — what the editor offers where a deductible is an announced amount."""
    from .engine.constants import STATISTIC_NAMES

    codes = [region_code, *ancestors(region_code)]
    entered = Statistic.objects.filter(region_id__in=codes).exclude(kind__in=list(STATISTIC_NAMES)).values_list("kind", flat=True)
    used = [name for name, (announced, _uses) in figure_uses(region_code).items() if announced]
    return tuple(dict.fromkeys([*sorted(set(entered)), *used]))


def policy_imports_for(user) -> QuerySet:
    """The policy imports a user may follow: their own (every import, for a superuser)."""
    qs = PolicyImport.objects.select_related("uploaded_by", "region", "version")
    return qs if user.is_superuser else qs.filter(uploaded_by=user)
