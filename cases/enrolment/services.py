"""Enrolment subsidy (参保资助) and the monthly lists for 财政 and 税务.

The amount comes from the subsidy rules of the policy version in force (``enrolment.subsidies``,
computed by the engine's ``enrolment_subsidy``) and the personal contribution an administrator
enters per region and year (:class:`~cases.exchange.models.ContributionStandard`; the nearest
region up the tree that has one supplies it). A person holding several identities gets the
subsidy of one of them only — the highest (就高不就低, 不得重复资助). A rule whose amount the
document leaves unset (赣州 dibao: a fixed amount set by the province) is refused with a message
naming the parameter and the document, unless the person's best computable subsidy already covers
the whole contribution. 巴南 tier 2: a person enrolled in tier 2 (:class:`EnrolmentTier`) gets 100 %
of the tier-1 personal contribution.

Each month (beat on the 1st; due by the 5th, 沧政办规〔2022〕7号 三(一)) and on demand,
:func:`produce_list` compares who is subsidised at the end of the month with what the previous
list left (:class:`Subsidy`, one row per person and year) and records who was added, who exited and
whose subsidy changed — so an identity backdated after a list went out still reaches the next one.
"""
from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.exchange.errors import Conflict, Invalid, NotPermitted
from cases.exchange.services.figures import checked_amount, checked_year
from cases.models import Identity, Person
from portal.regions.codes import ancestors, scope_prefix
from portal.regions.models import Region
from portal.regions.names import region_name
from portal.roles.domain import Role
from portal.roles.scoping import in_scope, region_q, within

from .models import ContributionStandard, EnrolmentTier, ListChange, Subsidy, SubsidyList, SubsidyListItem

ZERO = Decimal("0.00")
CHUNK = 2000
ADMIN_ROLES = (Role.POLICY_ADMIN,)


# ---------------------------------------------------------------------------------------------
# Contribution standards (entered by an administrator)
# ---------------------------------------------------------------------------------------------


def _money(value, field: str, label: str, *, required: bool = True) -> Decimal | None:
    amount = checked_amount(value, field=field, label=label, required=required)
    if amount is None:
        return None
    if amount > Decimal("100000"):
        raise Invalid(_("%(label)s: %(value)s is not a plausible yearly contribution.") % {"label": label,
                                                                                          "value": amount},
                      field=field)
    return amount.quantize(Decimal("0.01"))


def set_contribution_standard(*, acting_user, region_code: str, year, tier1_personal, tier2_personal=None,
                              reference: str = "") -> ContributionStandard:
    """Enter or change a region's personal contribution for a year (policy administrators)."""
    if not Region.objects.filter(pk=region_code).exists():
        raise Invalid(_("Region %(code)s does not exist.") % {"code": region_code}, field="region")
    if not in_scope(acting_user, region_code, roles=ADMIN_ROLES):
        raise NotPermitted(_("Only a policy administrator of region %(code)s may set its contribution standard.")
                           % {"code": region_code})
    year = checked_year(year)
    t1 = _money(tier1_personal, "tier1_personal", _("Personal contribution, tier 1"))
    t2 = _money(tier2_personal, "tier2_personal", _("Personal contribution, tier 2"), required=False)
    with transaction.atomic():
        standard, _created = ContributionStandard.objects.update_or_create(
            region_id=region_code, year=year,
            defaults={"tier1_personal": t1, "tier2_personal": t2, "reference": str(reference or "").strip()[:100],
                      "updated_by": acting_user},
        )
    return standard


def set_tier(*, acting_user, year: int, tier: int, person_id: int | None = None,
             id_number: str = "") -> EnrolmentTier:
    """Record that a person (by id or identity number) enrolled in tier 1 or 2 of the resident
    scheme for a year (巴南: tier 2 is subsidised at 100 % of the tier-1 contribution)."""
    from cases.identity_numbers import normalise

    if person_id is not None:
        person = Person.objects.filter(pk=person_id).first()
    else:
        person = Person.objects.filter(id_number=normalise(id_number)).first()
    if person is None or not in_scope(acting_user, person.region_id, roles=(Role.CASEWORKER, Role.POLICY_ADMIN)):
        raise Invalid(_("No person with this identity number in your regions."), field="id_number")
    if int(tier) not in (1, 2):
        raise Invalid(_("Tier: 1 or 2."), field="tier")
    obj, _created = EnrolmentTier.objects.update_or_create(person_id=person.pk, year=int(year),
                                                           defaults={"tier": int(tier)})
    return obj


def standard_for(region_code: str, year: int) -> ContributionStandard | None:
    """The contribution standard of the region, else of the nearest region above it."""
    chain = [region_code, *ancestors(region_code)]
    found = {s.region_id: s for s in ContributionStandard.objects.filter(region_id__in=chain, year=year)}
    return next((found[c] for c in chain if c in found), None)


# ---------------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    category: str
    tier: int
    personal: Decimal | None
    amount: Decimal | None  # None: not calculable (see problem)
    problem: str = ""
    document: str = ""
    clause: str = ""


class Calculator:
    """Subsidy amounts of one policy region and year, per category and tier (computed once)."""

    def __init__(self, policy_region: str, year: int, as_of: datetime.date):
        from policies.engine import PolicyError, enrolment_subsidy
        from policies.services import book_for

        self.region, self.year, self.as_of = policy_region, year, as_of
        self._error = PolicyError
        self._subsidy = enrolment_subsidy
        self.version = None
        self.problem = ""
        try:
            book = book_for(policy_region)
            self.version = book.version_on(as_of)
        except PolicyError as exc:
            self.problem = _problem_text(exc)
        if self.version is None and not self.problem:
            self.problem = _("%(region)s: no policy version in force on %(date)s.") % {"region": region_name(policy_region),
                                                                                      "date": as_of}
        self.standards: dict[str, ContributionStandard | None] = {}
        self._cache: dict[tuple, Amount] = {}
        self._categories: set[str] | None = None
        self.category_problem = ""

    def categories(self) -> set[str]:
        """Categories any subsidy rule of the version names, among those the region defines
        (:func:`policies.categories.categories_for`). A rule naming a category the region does not
        define subsidises no one under it; :attr:`category_problem` says so in words."""
        if self.version is None:
            return set()
        if self._categories is None:
            from policies.categories import codes_for

            named = set()
            for rule in ((self.version.doc["parameters"].get("enrolment") or {}).get("subsidies") or []):
                named.update(str(c) for c in ((rule.get("categories") or {}).get("value") or []))
            known = set(codes_for(self.region, on=self.as_of, below=True))
            unknown = sorted(named - known)
            if unknown:
                self.category_problem = _(
                    "The enrolment subsidy rules of %(document)s name categories that %(region)s does not define: "
                    "%(codes)s. No one is subsidised under them until a policy administrator defines these "
                    "categories in the policy or corrects the rules.") % {
                    "document": self.version.document,
                    "region": Region.objects.filter(pk=self.region).values_list("name", flat=True).first() or self.region,
                    "codes": "、".join(unknown)}
            self._categories = named & known
        return self._categories

    def _rule_clause(self, category: str, tier: int) -> str:
        for rule in ((self.version.doc["parameters"].get("enrolment") or {}).get("subsidies") or []):
            if category in ((rule.get("categories") or {}).get("value") or []) and \
                    (rule.get("tier") or {}).get("value") == tier:
                return str((rule.get("standard") or {}).get("clause") or (rule.get("tier") or {}).get("clause") or "")
        return ""

    def standard(self, region_code: str) -> ContributionStandard | None:
        if region_code not in self.standards:
            self.standards[region_code] = standard_for(region_code, self.year)
        return self.standards[region_code]

    def amount(self, category: str, tier: int, region_code: str) -> Amount | None:
        """The subsidy of one category (None when the document gives it none at that tier)."""
        key = (category, tier, region_code)
        if key in self._cache:
            return self._cache[key]
        result = self._compute(category, tier, region_code)
        self._cache[key] = result
        return result

    def _compute(self, category: str, tier: int, region_code: str) -> Amount | None:
        if self.version is None:
            return Amount(category, tier, None, None, self.problem)
        document = self.version.document
        standard = self.standard(region_code)
        if standard is None:
            return Amount(category, tier, None, None, _(
                "No personal contribution standard for %(region)s in %(year)s: a policy administrator must enter it "
                "(Exchange → Contribution standards).") % {"region": region_name(region_code), "year": self.year}, document)
        personal = standard.tier1_personal if tier == 1 else standard.tier2_personal
        if personal is None:
            return Amount(category, tier, None, None, _(
                "No tier-2 personal contribution for %(region)s in %(year)s: a policy administrator must enter it.")
                % {"region": region_name(standard.region_id), "year": self.year}, document)
        try:
            value = self._subsidy(self.version, category, personal, tier=tier,
                                  tier1_personal_contribution=standard.tier1_personal)
        except self._error as exc:
            return Amount(category, tier, personal, None, _problem_text(exc), document,
                          self._rule_clause(category, tier))
        if value is None:
            return None
        return Amount(category, tier, personal, value, "", document, self._rule_clause(category, tier))

    def best(self, categories: list[str], tier: int, region_code: str) -> Amount | None:
        """The one subsidy a person holding ``categories`` gets: the highest. Refused (amount None,
        with the problems) when an unset rule could give more than the best calculable one."""
        found = [a for a in (self.amount(c, tier, region_code) for c in sorted(set(categories))) if a is not None]
        if not found:
            return None
        good = [a for a in found if a.amount is not None]
        bad = [a for a in found if a.amount is None]
        best = max(good, key=lambda a: (a.amount, a.category), default=None)
        if best is not None and (not bad or (best.personal is not None and best.amount >= best.personal)):
            return best
        problem = "; ".join(dict.fromkeys(a.problem for a in bad))
        category = bad[0].category if best is None else best.category
        return Amount(category, tier, bad[0].personal, None, problem, bad[0].document, bad[0].clause)


def subsidy_for(*, person: Person, year: int, as_of: datetime.date | None = None, tier: int | None = None) -> Amount | None:
    """A person's enrolment subsidy for ``year`` by the identities held on ``as_of`` (default: the
    end of the year, or today in the current year); None when they are not subsidised."""
    as_of = as_of or min(datetime.date(year, 12, 31), timezone.localdate())
    policy_region = policy_region_of(person.region_id)
    calc = Calculator(policy_region, year, as_of)
    held = [i.category for i in Identity.objects.filter(person=person) if i.active_on(as_of)]
    held = [c for c in held if c in calc.categories()]
    if not held:
        return None
    if tier is None:
        tier = EnrolmentTier.objects.filter(person=person, year=year).values_list("tier", flat=True).first() or 1
    return calc.best(held, tier, person.region_id)


def policy_region_of(region_code: str) -> str:
    """The region whose policy versions settle ``region_code`` (nearest up the tree with any)."""
    from policies.models import PolicyVersion, VersionStatus

    chain = [region_code, *ancestors(region_code)]
    have = set(PolicyVersion.objects.filter(region_id__in=chain, status=VersionStatus.PUBLISHED, framework=False)
               .values_list("region_id", flat=True))
    return next((c for c in chain if c in have), region_code)


# ---------------------------------------------------------------------------------------------
# Monthly lists
# ---------------------------------------------------------------------------------------------


def policy_regions() -> list[str]:
    """Regions with their own published (non-framework) versions: each gets its own list."""
    from policies.models import PolicyVersion, VersionStatus

    return sorted(set(PolicyVersion.objects.filter(status=VersionStatus.PUBLISHED, framework=False)
                      .values_list("region_id", flat=True)))


def legal_basis(region_code: str, on: datetime.date) -> tuple[str, str] | None:
    """(document, clauses) the region's policy in force on ``on`` gives for the enrolment subsidy,
    e.g. ``("赣市府办字〔2022〕112号", "二")``; None when it has no version or no subsidy rule."""
    from policies.engine import PolicyError
    from policies.services import book_for

    try:
        version = book_for(region_code).version_on(on)
    except PolicyError:
        return None
    if version is None:
        return None
    clauses: list[str] = []
    for rule in ((version.doc["parameters"].get("enrolment") or {}).get("subsidies") or []):
        clause = str((rule.get("standard") or {}).get("clause") or (rule.get("tier") or {}).get("clause") or "")
        if clause and clause not in clauses:
            clauses.append(clause)
    if not clauses:
        return None
    return version.document, "、".join(clauses)


def month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _holders(prefix: str, categories: set[str], as_of: datetime.date, exclude_prefixes: list[str]) -> Iterator[tuple]:
    """(person_id, region_id, [categories held on as_of]) ordered by person — one query, streamed."""
    qs = (Identity.objects.filter(region_q([prefix], field="person__region"), category__in=sorted(categories),
                                  start__lte=as_of)
          .filter(Q(end__isnull=True) | Q(end__gte=as_of)))
    if exclude_prefixes:
        qs = qs.exclude(region_q(exclude_prefixes, field="person__region"))
    rows = qs.order_by("person_id").values_list("person_id", "person__region_id", "category").iterator(chunk_size=CHUNK)
    current, region, cats = None, None, []
    for person_id, region_id, category in rows:
        if person_id != current:
            if current is not None:
                yield current, region, cats
            current, region, cats = person_id, region_id, []
        cats.append(category)
    if current is not None:
        yield current, region, cats


def _nested_policy_regions(policy_region: str) -> list[str]:
    """Regions below ``policy_region`` that have their own versions (their people are theirs)."""
    prefix = scope_prefix(policy_region)
    return [scope_prefix(r) for r in policy_regions() if r != policy_region and r.startswith(prefix)]


def produce_list(*, acting_user, region_code: str, year: int, month: int) -> tuple[SubsidyList, bool]:
    """The list of added, exited and changed subsidised people of ``region_code`` (a region with
    its own policy) for ``month``: who is subsidised at the month's end (today for the current
    month) compared with what the previous list left. Idempotent: a month already produced is
    returned as it is (``created`` False). Months are produced in order."""
    if acting_user is not None and not in_scope(acting_user, region_code, roles=ADMIN_ROLES + (Role.AUDITOR,)) \
            and not acting_user.is_superuser:
        raise NotPermitted(_("Only a policy administrator of %(code)s may produce its subsidy lists.")
                           % {"code": region_code})
    year, month = int(year), int(month)
    if not 1 <= month <= 12:
        raise Invalid(_("Month: 1 to 12."), field="month")
    today = timezone.localdate()
    if (year, month) > (today.year, today.month):
        raise Invalid(_("%(year)s-%(month)02d has not begun yet.") % {"year": year, "month": month}, field="month")
    existing = SubsidyList.objects.filter(region_id=region_code, year=year, month=month).first()
    if existing is not None:
        return existing, False
    later = SubsidyList.objects.filter(region_id=region_code).filter(
        Q(year__gt=year) | Q(year=year, month__gt=month)).order_by("year", "month").first()
    if later is not None:
        raise Conflict(_("The list of %(y)s-%(m)02d was already produced; lists are produced month by month, "
                         "so %(year)s-%(month)02d can no longer be.") % {"y": later.year, "m": later.month,
                                                                         "year": year, "month": month})
    as_of = min(month_end(year, month), today)
    try:
        with transaction.atomic():
            return _produce(acting_user, region_code, year, month, as_of), True
    except IntegrityError:  # produced concurrently
        return SubsidyList.objects.get(region_id=region_code, year=year, month=month), False


def _produce(acting_user, region_code: str, year: int, month: int, as_of: datetime.date) -> SubsidyList:
    calc = Calculator(region_code, year, as_of)
    lst = SubsidyList.objects.create(region_id=region_code, year=year, month=month, as_of=as_of,
                                     created_by=acting_user)
    tiers = dict(EnrolmentTier.objects.filter(within(region_code, field="person__region"), year=year)
                 .values_list("person_id", "tier"))
    previous = (Subsidy.objects.filter(region_id=region_code, year=year, active=True).order_by("person_id")
                .iterator(chunk_size=CHUNK))
    current = _holders(scope_prefix(region_code), calc.categories(), as_of, _nested_policy_regions(region_code))
    problems: dict[str, int] = {}
    counts = {"added": 0, "exited": 0, "changed": 0, "subsidised": 0}
    total = ZERO
    items: list[SubsidyListItem] = []
    creates: list[Subsidy] = []
    updates: list[Subsidy] = []

    def flush(force: bool = False):
        nonlocal items, creates, updates
        if force or len(items) + len(creates) + len(updates) >= CHUNK:
            SubsidyListItem.objects.bulk_create(items, batch_size=1000)
            # A person subsidised earlier this year (exited since, or listed by another region) keeps
            # their one row for the year.
            known = {s.person_id: s for s in Subsidy.objects.filter(year=year,
                                                                    person_id__in=[c.person_id for c in creates])}
            fresh = []
            for c in creates:
                row = known.get(c.person_id)
                if row is None:
                    fresh.append(c)
                    continue
                for f in ("category", "tier", "personal_contribution", "amount", "problem", "document", "clause",
                          "active", "region_id"):
                    setattr(row, f, getattr(c, f))
                updates.append(row)
            Subsidy.objects.bulk_create(fresh, batch_size=1000)
            Subsidy.objects.bulk_update(updates, ["category", "tier", "personal_contribution", "amount", "problem",
                                                  "document", "clause", "active", "region"], batch_size=1000)
            items, creates, updates = [], [], []

    def item(change, person_id, a: Amount | None, prev: Subsidy | None):
        items.append(SubsidyListItem(
            subsidy_list=lst, person_id=person_id, change=change,
            category=a.category if a else "", previous_category=prev.category if prev else "",
            tier=a.tier if a else (prev.tier if prev else 1), personal_contribution=a.personal if a else None,
            amount=a.amount if a else None, previous_amount=prev.amount if prev else None,
            problem=a.problem if a else "", document=a.document if a else "", clause=a.clause if a else "",
        ))

    prev = next(previous, None)
    cur = next(current, None)
    while prev is not None or cur is not None:
        if cur is not None and (prev is None or cur[0] < prev.person_id):
            person_id, person_region, cats = cur
            a = calc.best(cats, tiers.get(person_id, 1), person_region)
            cur = next(current, None)
            if a is None:
                continue
            counts["subsidised"] += 1
            if a.amount is None:
                problems[a.problem] = problems.get(a.problem, 0) + 1
            else:
                total += a.amount
            creates.append(Subsidy(person_id=person_id, year=year, category=a.category, tier=a.tier,
                                   personal_contribution=a.personal or ZERO, amount=a.amount, problem=a.problem,
                                   document=a.document, clause=a.clause, active=True, region_id=region_code))
            item(ListChange.ADDED, person_id, a, None)
            counts["added"] += 1
        elif prev is not None and (cur is None or prev.person_id < cur[0]):
            prev.active = False
            updates.append(prev)
            item(ListChange.EXITED, prev.person_id, None, prev)
            counts["exited"] += 1
            prev = next(previous, None)
        else:  # the same person in both
            person_id, person_region, cats = cur
            a = calc.best(cats, tiers.get(person_id, 1), person_region)
            if a is None:
                prev.active = False
                updates.append(prev)
                item(ListChange.EXITED, person_id, None, prev)
                counts["exited"] += 1
            else:
                counts["subsidised"] += 1
                if a.amount is None:
                    problems[a.problem] = problems.get(a.problem, 0) + 1
                else:
                    total += a.amount
                if (a.category, a.tier, a.amount, a.problem) != (prev.category, prev.tier, prev.amount, prev.problem):
                    snapshot = Subsidy(category=prev.category, tier=prev.tier, amount=prev.amount)
                    prev.category, prev.tier, prev.amount, prev.problem = a.category, a.tier, a.amount, a.problem
                    prev.personal_contribution = a.personal or ZERO
                    prev.document, prev.clause = a.document, a.clause
                    updates.append(prev)
                    item(ListChange.CHANGED, person_id, a, snapshot)
                    counts["changed"] += 1
            prev = next(previous, None)
            cur = next(current, None)
        flush()
    flush(force=True)
    lst.added, lst.exited, lst.changed, lst.subsidised = (counts["added"], counts["exited"], counts["changed"],
                                                           counts["subsidised"])
    lst.total_amount = total
    lst.problems = ([{"message": calc.problem, "persons": 0}] if calc.problem else []) + (
        [{"message": calc.category_problem, "persons": 0}] if calc.category_problem else []) + [
        {"message": message, "persons": n} for message, n in sorted(problems.items(), key=lambda kv: -kv[1])]
    lst.save()
    return lst


def _problem_text(exc) -> str:
    """The engine's problems in the language of the run (Chinese by default), never its English sentences."""
    from policies.messages import render

    return "；".join(render(p) for p in exc.problems)


def previous_month(today: datetime.date | None = None) -> tuple[int, int]:
    today = today or timezone.localdate()
    first = today.replace(day=1)
    last = first - datetime.timedelta(days=1)
    return last.year, last.month


def produce_due_lists(*, acting_user=None, today: datetime.date | None = None) -> list[SubsidyList]:
    """Every policy region's list for the month that just ended (what the beat runs on the 1st)."""
    year, month = previous_month(today)
    out = []
    for region in policy_regions():
        try:
            lst, _created = produce_list(acting_user=acting_user, region_code=region, year=year, month=month)
        except Conflict:
            continue
        out.append(lst)
    return out
