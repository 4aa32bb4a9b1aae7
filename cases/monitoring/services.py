"""Monitoring of high medical spending (高额医疗费用支出预警监测), settlement.md step 8.

Every month (beat), by hand from the page, or with ``manage.py run_monitoring``, a run sums each
person's out-of-pocket spending of the year claim by claim and raises a 因病返贫 (return_to_poverty)
or 因病致贫 (fall_into_poverty) warning at the first claim after which the year's sum is strictly
above the threshold of the policy version in force on that claim's date, for a person in that
kind's watched population on that date — exactly as the engine does; one warning per kind per
person-year (a unique constraint), kept with its outcome when the run is repeated.

Where a person-year's out-of-pocket comes from, decided set-based for all of them at once:

* **stored** — the latest current settlement of one of the person's cases of the year, when its
  lines cover every claim of the year and it was computed after the last change to the claims and
  the person's identities: the lines' out-of-pocket;
* **ordinary** — a person holding no identity of a category the policy assists during the year,
  whose claims carry the insurers' payments: out-of-pocket = total − basic − critical (nothing else
  can be paid to them);
* **settled now** — every other person-year is settled by the engine (in batches), and its alerts
  are taken as the engine gives them.

The first two are SQL: an aggregation keeps only person-years whose year total exceeds the lowest
threshold, a window function gives the running sums of theirs, and the watched-population test
runs only on claims past a threshold. Thresholds are the policy's statistic of the year before
(else two years before) × its fraction; a region whose thresholds are unset (巴南) or whose
statistic is missing raises nothing, and the run says why.
"""
from __future__ import annotations

import datetime
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.exchange.errors import Invalid, NotPermitted
from portal.regions.codes import scope_prefix
from portal.roles.domain import Role
from portal.roles.scoping import in_scope

from .models import MonitoringRun, MonitoringWarning, WarningKind

log = logging.getLogger(__name__)
KINDS = tuple(WarningKind.values)  # the engine's alert kinds (policies.engine.constants.ALERT_KINDS)
ENGINE_BATCH = 500
#: May start a monitoring run. Auditors read runs and warnings but change nothing (issue 13).
RUN_ROLES = (Role.POLICY_ADMIN, Role.REVIEWER, Role.APPROVER)


# ---------------------------------------------------------------------------------------------
# Rules of a region-year, from its policy book
# ---------------------------------------------------------------------------------------------


@dataclass
class Segment:
    """A stretch of the year settled by one policy version, with its monitoring rules."""

    start: datetime.date
    end: datetime.date
    document: str
    recipients: frozenset | None  # None: unset (the engine refuses such claims)
    return_ids: frozenset | None  # None: no return-to-poverty population
    return_threshold: int | None  # fen; None: unset / statistic missing / no monitor
    fall_residence: frozenset | None
    fall_schemes: frozenset | None  # None (either): no fall-into-poverty population
    fall_threshold: int | None


@dataclass
class RegionRules:
    region: str
    year: int
    segments: list[Segment] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)   # engine problems (Problem.as_dict())
    book: object = None

    @property
    def min_threshold(self) -> int | None:
        values = [v for s in self.segments for v in (s.return_threshold if s.return_ids else None,
                                                    s.fall_threshold if s.fall_residence else None)
                  if v is not None]
        return min(values) if values else None

    @property
    def recipients(self) -> set[str]:
        out: set[str] = set()
        for s in self.segments:
            out |= set(s.recipients or ())
        return out


def region_rules(region: str, year: int) -> RegionRules:
    """The monitoring rules of ``region``'s policy for claims of ``year``."""
    from policies.engine import PolicyError
    from policies.engine.settle import Unset
    from policies.services import book_for

    rules = RegionRules(region, year)
    try:
        book = book_for(region)
    except PolicyError as exc:
        rules.problems.extend(p.as_dict() for p in exc.problems)
        return rules
    rules.book = book
    ctx = book.context()
    day = datetime.date(year, 1, 1)
    last = datetime.date(year, 12, 31)
    current, seg_start = None, None
    while day <= last + datetime.timedelta(days=1):
        cv = ctx.version_at(day.toordinal()) if day <= last else "end"
        if cv is not current:
            if current is not None:
                rules.segments.append(_segment(ctx, current, seg_start, day - datetime.timedelta(days=1), year, Unset,
                                               rules.problems))
            current, seg_start = (cv if cv != "end" else None), day
        day += datetime.timedelta(days=1)
    return rules


def _segment(ctx, cv, start, end, year, Unset, problems) -> Segment:
    from policies.engine.versions import Refusal

    def threshold(m):
        if m is None:
            return None
        try:
            return ctx.resolve(cv, m.threshold, year)
        except Refusal as exc:
            if exc.problem.as_dict() not in problems:
                problems.append(exc.problem.as_dict())
            return None

    r = cv.monitors.get("return_to_poverty")
    f = cv.monitors.get("fall_into_poverty")
    recipients = None if type(cv.recipients) is Unset else frozenset(cv.recipients)
    return_ids = None if r is None or type(r.identities) is Unset else frozenset(r.identities)
    fall_ok = f is not None and type(f.residence) is not Unset and type(f.schemes) is not Unset
    return Segment(
        start=start, end=end, document=cv.document, recipients=recipients, return_ids=return_ids,
        return_threshold=threshold(r) if return_ids else None,
        fall_residence=frozenset(f.residence) if fall_ok else None,
        fall_schemes=frozenset(f.schemes) if fall_ok else None,
        fall_threshold=threshold(f) if fall_ok else None,
    )


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


def default_year(today: datetime.date | None = None) -> int:
    """The year a monthly run covers: that of yesterday (a run on 1 January closes last year)."""
    today = today or timezone.localdate()
    return (today - datetime.timedelta(days=1)).year


def start_run(*, acting_user, trigger: str, year: int | None = None, region_code: str = "",
              enqueue: bool = True) -> MonitoringRun:
    """Record a run (and enqueue it on commit). People may start runs for their own regions."""
    region_code = (region_code or "").strip()
    if region_code:
        from portal.regions.models import Region

        if not Region.objects.filter(pk=region_code).exists():
            raise Invalid(_("Region %(code)s does not exist.") % {"code": region_code}, field="region")
    if acting_user is not None and not acting_user.is_superuser:
        if not region_code:
            raise Invalid(_("Choose the region to monitor."), field="region")
        if not in_scope(acting_user, region_code, roles=RUN_ROLES):
            raise NotPermitted(_("You may not run monitoring for region %(code)s.") % {"code": region_code})
    year = int(year) if year else default_year()
    if not 2000 <= year <= timezone.localdate().year:
        raise Invalid(_("Year: between 2000 and this year."), field="year")
    with transaction.atomic():
        run = MonitoringRun.objects.create(year=year, region_code=region_code, trigger=trigger,
                                           started_by=acting_user)
        if enqueue:
            from portal.jobs import enqueue as enqueue_job

            enqueue_job("exchange.run_monitoring", run.pk)
    return run


def _policy_regions_for(region_code: str) -> list[tuple[str, str]]:
    """(policy region, person prefix) pairs a run over ``region_code`` ('' = all) covers."""
    from cases.enrolment.services import policy_regions

    out = []
    for region in policy_regions():
        prefix = scope_prefix(region)
        if not region_code:
            out.append((region, prefix))
            continue
        wanted = scope_prefix(region_code)
        if wanted.startswith(prefix):
            out.append((region, wanted))
        elif prefix.startswith(wanted):
            out.append((region, prefix))
    # A region nested in another one with its own versions belongs to the nested one.
    return out


def execute_run(*, run_id: int) -> MonitoringRun:
    run = MonitoringRun.objects.get(pk=run_id)
    if run.finished_at is not None:
        return run
    totals = {"person_years": 0, "computed": 0, "created": 0}
    problems: list[dict] = []   # worded when shown: run_problem_text()
    covered = _policy_regions_for(run.region_code)
    all_prefixes = [scope_prefix(r) for r, _p in covered]
    for region, prefix in covered:
        nested = [p for p in all_prefixes if p != scope_prefix(region) and p.startswith(scope_prefix(region))]
        rules = region_rules(region, run.year)
        for problem in rules.problems:
            problems.append({"region": region, "problem": problem})
        result = monitor_region(rules, prefix=prefix, exclude=nested, run=run)
        for k in totals:
            totals[k] += result[k]
        for key, n in result["refused"].items():
            problems.append({"region": region, "problem": json.loads(key), "persons": n})
        if rules.min_threshold is None and not rules.problems:
            problems.append({"region": region, "no_threshold": run.year})
        if result.get("unverified"):
            problems.append({"region": region, "unverified": result["unverified"]})
    run.person_years = totals["person_years"]
    run.computed_person_years = totals["computed"]
    run.warnings_created = totals["created"]
    run.problems = problems
    run.finished_at = timezone.now()
    run.save()
    return run


def run_problem_text(entry) -> str:
    """One problem of a run (stored as data: the region, the engine's problem, the person-years it
    refused), worded in the reader's language, the region named by its name. A sentence stored
    before problems were data (monitoring migration 0002 parsed what it could) is shown as recorded
    when it is Chinese; an English one is not shown to a Chinese reader, who is told to run again."""
    from django.utils import translation

    from policies.engine.codes import Code
    from policies.engine.errors import as_problem
    from policies.messages import render
    from portal.regions.names import region_name

    if not isinstance(entry, dict):
        entry = {"region": "", "problem": as_problem(entry).as_dict()}
    region = region_name(entry.get("region", ""))
    if "no_threshold" in entry:
        return _("%(region)s: the policy sets no monitoring threshold for %(year)s; no warnings.") % {
            "region": region, "year": entry["no_threshold"]}
    if "unverified" in entry:
        return _("%(region)s: the residence or insurance scheme of %(n)d persons is still to be verified, so "
                 "whether their medical costs pushed them into hardship was not judged; verify them on their "
                 "person pages and run the monitoring again.") % {"region": region, "n": entry["unverified"]}
    problem = as_problem(entry.get("problem") or {})
    chinese = not (translation.get_language() or "zh-hans").lower().startswith("en")
    if problem.code == Code.LEGACY and chinese and not _CJK.search(problem.text or ""):
        message = _("the reason was recorded in an older form that cannot be shown; run the monitoring again to "
                    "see it")
    else:
        message = render(problem)
    if "persons" in entry:
        return _("%(region)s: %(n)d person-years could not be settled: %(message)s") % {
            "region": region, "n": entry["persons"], "message": message}
    return f"{region}：{message}" if region else message


_CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------------------------
# One region
# ---------------------------------------------------------------------------------------------


def _q(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _fen(column: str) -> str:
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


TEMP_TABLES = ("mon_py", "mon_s0", "mon_st", "mon_c", "mon_rule", "mon_cat")


def _temp(cursor, name: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {name}")


def monitor_region(rules: RegionRules, *, prefix: str, exclude: list[str], run: MonitoringRun | None) -> dict:
    """Monitor the people of ``prefix`` (minus ``exclude``) under ``rules``. Returns counts."""
    from django.db.models import Q

    from cases.models import UNVERIFIED, Application, Claim, Identity, Person, Settlement, SettlementLine

    year = rules.year
    y0, y1 = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    out = {"person_years": 0, "computed": 0, "created": 0, "unverified": 0, "refused": defaultdict(int)}
    if not rules.segments:
        return out
    claim, person, ident = _q(Claim), _q(Person), _q(Identity)
    app, stl, line = _q(Application), _q(Settlement), _q(SettlementLine)
    recipients = sorted(rules.recipients)
    in_force = " OR ".join("(c.date BETWEEN %s AND %s)" for _s in rules.segments)
    force_params = [v for s in rules.segments for v in (s.start, s.end)]
    excl = "".join(" AND p.region_id NOT LIKE %s" for _e in exclude)
    excl_params = [e + "%" for e in exclude]
    rec_in = ", ".join(["%s"] * len(recipients)) or "NULL"
    with connection.cursor() as cursor:
        for name in TEMP_TABLES:
            _temp(cursor, name)
        # Every person-year of the scope with claims, and what is known about it.
        cursor.execute(
            f"""
            CREATE TEMP TABLE mon_py AS
            SELECT c.person_id AS person_id, COUNT(*) AS n, MAX(c.updated_at) AS changed,
                   MIN(CASE WHEN c.basic_paid IS NOT NULL AND c.critical_paid IS NOT NULL THEN 1 ELSE 0 END) AS given,
                   MIN(CASE WHEN {in_force} THEN 1 ELSE 0 END) AS in_force,
                   SUM(CASE WHEN c.basic_paid IS NOT NULL AND c.critical_paid IS NOT NULL
                            THEN {_fen('c.total')} - {_fen('c.basic_paid')} - {_fen('c.critical_paid')} ELSE 0 END)
                       AS plain_oop
              FROM {claim} c JOIN {person} p ON p.id = c.person_id
             WHERE c.date >= %s AND c.date <= %s AND p.region_id LIKE %s{excl}
             GROUP BY c.person_id
            """,
            [*force_params, y0, y1, prefix + "%", *excl_params],
        )
        cursor.execute("SELECT COUNT(*) FROM mon_py")
        out["person_years"] = cursor.fetchone()[0]
        if not out["person_years"]:
            return out
        # The latest current, calculated settlement of the person's cases of the year, if fresh
        # and covering every claim.
        cursor.execute(
            f"""
            CREATE TEMP TABLE mon_s0 AS
            SELECT person_id, settlement_id, computed_at FROM (
                SELECT a.person_id AS person_id, s.id AS settlement_id, s.computed_at AS computed_at,
                       ROW_NUMBER() OVER (PARTITION BY a.person_id ORDER BY s.computed_at DESC, s.id DESC) AS rn
                  FROM {app} a
                  JOIN mon_py y ON y.person_id = a.person_id
                  JOIN {stl} s ON s.application_id = a.id
                 WHERE a.year = %s AND s.status = 'current' AND s.result IS NOT NULL
            ) t
             WHERE rn = 1
            """,
            [year],
        )
        cursor.execute(
            f"""
            CREATE TEMP TABLE mon_st AS
            SELECT s.person_id AS person_id, s.settlement_id AS settlement_id, lc.oop AS oop
              FROM mon_s0 s
              JOIN mon_py y ON y.person_id = s.person_id
              JOIN (SELECT l.settlement_id AS settlement_id, COUNT(*) AS n, SUM({_fen('l.out_of_pocket')}) AS oop
                      FROM {line} l JOIN mon_s0 s0 ON s0.settlement_id = l.settlement_id
                     GROUP BY l.settlement_id) lc ON lc.settlement_id = s.settlement_id
              LEFT JOIN (SELECT i.person_id AS person_id, MAX(i.updated_at) AS changed
                           FROM {ident} i JOIN mon_s0 s1 ON s1.person_id = i.person_id
                          GROUP BY i.person_id) ic ON ic.person_id = s.person_id
             WHERE lc.n = y.n AND s.computed_at >= y.changed AND (ic.changed IS NULL OR s.computed_at >= ic.changed)
            """
        )
        minimum = rules.min_threshold
        # Persons holding an assisted identity during the year cannot be "ordinary".
        assisted = (f"""EXISTS (SELECT 1 FROM {ident} i WHERE i.person_id = y.person_id AND i.category IN ({rec_in})
                                 AND i.start <= %s AND (i."end" IS NULL OR i."end" >= %s))""")
        # Person-years settled now by the engine.
        cursor.execute(
            f"""
            SELECT y.person_id FROM mon_py y
             WHERE y.person_id NOT IN (SELECT person_id FROM mon_st)
               AND (y.given = 0 OR y.in_force = 0 OR {assisted})
             ORDER BY y.person_id
            """,
            [*recipients, y1, y0],
        )
        engine_people = [r[0] for r in cursor.fetchall()]
        falls = any(seg.fall_residence for seg in rules.segments)
        if minimum is not None:
            # Claims of the candidates (their year total is above the lowest threshold).
            cursor.execute(
                f"""
                CREATE TEMP TABLE mon_c AS
                SELECT c.person_id AS person_id, c.id AS claim_id, c.date AS date, {_fen('l.out_of_pocket')} AS oop
                  FROM mon_st t
                  JOIN {line} l ON l.settlement_id = t.settlement_id
                  JOIN {claim} c ON c.id = l.claim_id
                 WHERE t.oop > %s
                UNION ALL
                SELECT c.person_id, c.id, c.date, {_fen('c.total')} - {_fen('c.basic_paid')} - {_fen('c.critical_paid')}
                  FROM mon_py y JOIN {claim} c ON c.person_id = y.person_id AND c.date >= %s AND c.date <= %s
                 WHERE y.person_id NOT IN (SELECT person_id FROM mon_st)
                   AND y.given = 1 AND y.in_force = 1 AND y.plain_oop > %s AND NOT {assisted}
                """,
                [minimum, y0, y1, minimum, *recipients, y1, y0],
            )
            out["created"] += _alerts_sql(cursor, rules, run)
            if falls:
                # 致贫 needs the person's residence and scheme: one still 待核实 cannot be judged (said on the run)
                cursor.execute(f"SELECT COUNT(DISTINCT m.person_id) FROM mon_c m JOIN {person} p ON p.id = m.person_id "
                               f"WHERE p.residence = %s OR p.scheme = %s", [UNVERIFIED, UNVERIFIED])
                out["unverified"] += cursor.fetchone()[0]
        if engine_people:
            if falls:
                out["unverified"] += sum(
                    Person.objects.filter(pk__in=engine_people[i:i + ENGINE_BATCH])
                    .filter(Q(residence=UNVERIFIED) | Q(scheme=UNVERIFIED)).count()
                    for i in range(0, len(engine_people), ENGINE_BATCH))
            computed, created, refused = _alerts_engine(rules, engine_people, run)
            out["computed"] += computed
            out["created"] += created
            for message, n in refused.items():
                out["refused"][message] += n
        for name in TEMP_TABLES:
            _temp(cursor, name)
    return out


def _insert_rows(cursor, table: str, rows: list[tuple], width: int) -> None:
    """Multi-row INSERTs of at most 500 rows (not ``executemany``: pghistory's context wrapper,
    active on PostgreSQL in requests and tasks, hands executemany's row list on as one row's
    parameters)."""
    for i in range(0, len(rows), 500):
        chunk = rows[i:i + 500]
        values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
        cursor.execute(f"INSERT INTO {table} VALUES {values}", [v for row in chunk for v in row])


def _alerts_sql(cursor, rules: RegionRules, run: MonitoringRun | None) -> int:
    """First qualifying claim per person and kind among ``mon_c`` → warnings (bulk insert)."""
    from cases.models import Identity, Person

    ident, person = _q(Identity), _q(Person)
    warn = _q(MonitoringWarning)
    cursor.execute(
        "CREATE TEMP TABLE mon_rule (id INTEGER, d0 DATE, d1 DATE, document VARCHAR(100), "
        "ret_thr BIGINT, fall_thr BIGINT, has_ret INTEGER, has_fall INTEGER)"
    )
    cursor.execute("CREATE TEMP TABLE mon_cat (rule_id INTEGER, role VARCHAR(4), value VARCHAR(20))")
    rule_rows, cat_rows = [], []
    for i, s in enumerate(rules.segments):
        rule_rows.append((i, s.start, s.end, s.document, s.return_threshold, s.fall_threshold,
                          1 if s.return_ids else 0, 1 if s.fall_residence else 0))
        cat_rows += [(i, "ret", c) for c in sorted(s.return_ids or ())]
        cat_rows += [(i, "rec", c) for c in sorted(s.recipients or ())]
        cat_rows += [(i, "res", c) for c in sorted(s.fall_residence or ())]
        cat_rows += [(i, "sch", c) for c in sorted(s.fall_schemes or ())]
    _insert_rows(cursor, "mon_rule", rule_rows, 8)
    _insert_rows(cursor, "mon_cat", cat_rows, 3)
    active = ("EXISTS (SELECT 1 FROM {ident} i WHERE i.person_id = r.person_id AND i.start <= r.date "
              "AND (i.\"end\" IS NULL OR i.\"end\" >= r.date) AND i.category IN "
              "(SELECT value FROM mon_cat WHERE rule_id = r.rule_id AND role = '{role}'))")
    in_return = active.format(ident=ident, role="ret")
    assisted = active.format(ident=ident, role="rec")
    matches = ("(p.residence IN (SELECT value FROM mon_cat WHERE rule_id = r.rule_id AND role = 'res') "
               "AND p.scheme IN (SELECT value FROM mon_cat WHERE rule_id = r.rule_id AND role = 'sch'))")
    now = timezone.now()
    cursor.execute(
        f"""
        INSERT INTO {warn} (person_id, region_id, year, kind, claim_date, claim_ref, threshold, out_of_pocket,
                            document, run_id, created_at, outcome, outcome_note)
        SELECT person_id, region_id, %s, kind, date, claim_ref, threshold, cum, document, %s, %s, '', ''
          FROM (
            SELECT q.*, ROW_NUMBER() OVER (PARTITION BY q.person_id, q.kind ORDER BY q.date, q.claim_id) AS rn
              FROM (
                SELECT r.person_id, p.region_id, r.claim_id, 'c' || r.claim_id AS claim_ref, r.date, r.document,
                       CASE WHEN r.ret_ok = 1 THEN 'return_to_poverty' ELSE 'fall_into_poverty' END AS kind,
                       CASE WHEN r.ret_ok = 1 THEN r.ret_thr ELSE r.fall_thr END / 100.0 AS threshold,
                       r.cum / 100.0 AS cum
                  FROM (
                    SELECT r.*,
                           CASE WHEN r.has_ret = 1 AND r.ret_thr IS NOT NULL AND r.cum > r.ret_thr AND {in_return}
                                THEN 1 ELSE 0 END AS ret_ok,
                           CASE WHEN r.has_fall = 1 AND r.fall_thr IS NOT NULL AND r.cum > r.fall_thr
                                     AND NOT {assisted} AND NOT (r.has_ret = 1 AND {in_return})
                                THEN 1 ELSE 0 END AS fall_ok
                      FROM (
                        SELECT c.person_id, c.claim_id, c.date, c.cum, m.id AS rule_id, m.document, m.ret_thr,
                               m.fall_thr, m.has_ret, m.has_fall
                          FROM (SELECT m.*, SUM(m.oop) OVER (PARTITION BY m.person_id ORDER BY m.date, m.claim_id
                                                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
                                  FROM mon_c m) c
                          JOIN mon_rule m ON c.date >= m.d0 AND c.date <= m.d1
                         WHERE (m.ret_thr IS NOT NULL AND c.cum > m.ret_thr)
                            OR (m.fall_thr IS NOT NULL AND c.cum > m.fall_thr)
                      ) r
                  ) r
                  JOIN {person} p ON p.id = r.person_id
                 WHERE r.ret_ok = 1 OR (r.fall_ok = 1 AND {matches})
              ) q
          ) ranked
         WHERE rn = 1
        ON CONFLICT DO NOTHING
        """,
        [rules.year, run.pk if run else None, now],
    )
    return max(cursor.rowcount, 0)


def _alerts_engine(rules: RegionRules, person_ids: list[int], run: MonitoringRun | None) -> tuple[int, int, dict]:
    """Settle these person-years with the engine and keep its alerts."""
    from cases.models import Application, Claim, Identity, Person
    from policies.engine import EngineError, settle
    from policies.engine.inputs import Claim as EClaim
    from policies.engine.inputs import Identity as EIdentity
    from policies.engine.inputs import Person as EPerson
    from policies.engine.inputs import SettlementInput

    year = rules.year
    y0, y1 = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    computed = created = 0
    refused: dict[str, int] = defaultdict(int)
    if rules.book is None:
        return 0, 0, refused
    for i in range(0, len(person_ids), ENGINE_BATCH):
        chunk = person_ids[i:i + ENGINE_BATCH]
        persons = {p.pk: p for p in Person.objects.filter(pk__in=chunk).only("id", "region_id", "residence", "scheme")}
        idents = defaultdict(list)
        for ident in Identity.objects.filter(person_id__in=chunk).order_by("start", "category", "id"):
            idents[ident.person_id].append(EIdentity(ident.category, ident.start, ident.end))
        claims = defaultdict(list)
        for c in Claim.objects.filter(person_id__in=chunk, date__gte=y0, date__lte=y1, voided_at__isnull=True).order_by("date", "id"):
            claims[c.person_id].append(EClaim(
                id=f"c{c.pk}", date=c.date, kind=c.kind, total=c.total, policy_scope=c.policy_scope,
                special_disease=c.special_disease, hospital_level=c.hospital_level, location=c.location,
                referral_compliant=c.referral_compliant, basic_paid=c.basic_paid, critical_paid=c.critical_paid,
            ))
        tilted = set(Application.objects.filter(person_id__in=chunk, year=year, tilted_applied=True)
                     .values_list("person_id", flat=True))
        warnings = []
        for pid in chunk:
            p = persons.get(pid)
            if p is None or not claims.get(pid):
                continue
            inp = SettlementInput(region=p.region_id, person=EPerson(p.residence, p.scheme, idents.get(pid, [])),
                                  claims=claims[pid], tilted_applied=pid in tilted)
            try:
                result = settle(inp, rules.book)
            except EngineError as exc:
                refused[json.dumps(exc.problems[0].as_dict(), sort_keys=True, ensure_ascii=False)] += 1
                continue
            computed += 1
            for alert in result.alerts:
                warnings.append(MonitoringWarning(
                    person_id=pid, region_id=p.region_id, year=year, kind=alert.kind, claim_date=alert.date,
                    claim_ref=alert.claim, threshold=alert.threshold, out_of_pocket=alert.out_of_pocket,
                    document=_document_on(rules, alert.date), run=run,
                ))
        if warnings:
            before = MonitoringWarning.objects.filter(year=year, person_id__in=chunk).count()
            MonitoringWarning.objects.bulk_create(warnings, ignore_conflicts=True)
            created += MonitoringWarning.objects.filter(year=year, person_id__in=chunk).count() - before
    return computed, created, refused


def _document_on(rules: RegionRules, day: datetime.date) -> str:
    return next((s.document for s in rules.segments if s.start <= day <= s.end), "")


# ---------------------------------------------------------------------------------------------
# Outcomes
# ---------------------------------------------------------------------------------------------

HANDLING_DEPARTMENTS = ("civil_affairs", "rural_revitalisation")


def record_outcome(*, acting_user, warning_id: int, outcome: str, note: str = "") -> MonitoringWarning:
    """A liaison of 民政 or 乡村振兴 covering the person's region records what was done."""
    from .models import WarningOutcome

    if outcome not in WarningOutcome.values:
        raise Invalid(_("Outcome: choose what was done."), field="outcome")
    note = str(note or "").strip()
    if outcome == WarningOutcome.OTHER and not note:
        raise Invalid(_("Note: say what was done when the outcome is “other”."), field="note")
    if len(note) > 1000:
        raise Invalid(_("Note: at most 1000 characters."), field="note")
    with transaction.atomic():
        warning = MonitoringWarning.objects.select_for_update().filter(pk=warning_id).first()
        department = next((d for d in HANDLING_DEPARTMENTS
                           if warning is not None and in_scope(acting_user, warning.region_id, roles=[Role.LIAISON],
                                                               department=d)), None)
        if warning is None or department is None:
            from cases.exchange.errors import NotFound

            raise NotFound(_("Warning not found."))
        if warning.outcome:
            from cases.exchange.errors import Conflict

            raise Conflict(_("The outcome was already recorded by %(user)s on %(date)s.") % {
                "user": warning.handled_by.display_name if warning.handled_by else "?",
                "date": timezone.localtime(warning.handled_at).strftime("%Y-%m-%d %H:%M") if warning.handled_at else "",
            })
        warning.outcome = outcome
        warning.outcome_note = note
        warning.handled_by = acting_user
        warning.handled_department_id = department
        warning.handled_at = timezone.now()
        warning.save()
    return warning


ZERO = Decimal("0.00")
WARNING_KINDS = WarningKind
