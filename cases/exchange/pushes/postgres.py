"""The set-based fast path on PostgreSQL.

1. One streaming pass reads the file and checks each row's own columns in Python (the identity
   number's check character, birth date and province; category and its owner; action; date;
   reference; region and scope — ``checks.RowChecker``, whose fast lane is a handful of dictionary
   lookups) and ``COPY``s the rows into an unindexed temporary table. Memory stays bounded: nothing
   but the current row is held.
2. One transaction, holding the person and identity tables against concurrent writers, does the
   rest in SQL over the whole table: repeats inside the file (a window function), the registry (one
   join with persons, one aggregate over their periods), the decision for every row, then the
   writes as ``INSERT … SELECT`` / ``UPDATE … FROM``, the rejected rows and the recalculation marks.
   No query per row.

The rules and messages are those of the generic path (``generic.py``); the tests run both paths on
the same files and compare everything they write.
"""
from __future__ import annotations

import json
import logging
import time

from django.db import connection, models, transaction
from django.utils import timezone

from cases.models import Identity, Person, RecalcMark, RecognitionMethod
from portal.copy import ESCAPES, text_line

from ..models import IdentityChange, PushRejectedRow
from . import rules
from .checks import RAW_MAX, PushContext, RowChecker, raw_values

COPY_CHUNK = 50_000
LINES_PER_WRITE = 1000
log = logging.getLogger("cases.exchange.pushes")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


def insert_parts(model, provided: dict[str, str]) -> tuple[list[str], list[str], list]:
    """Columns and SQL expressions for INSERT … SELECT into ``model``: ``provided`` expressions, the
    other columns from the model's defaults (so columns added later keep working)."""
    cols, exprs, params = [], [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.AutoField):
            continue
        if field.attname in provided:
            cols.append(_q(field.column))
            exprs.append(provided[field.attname])
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            cols.append(_q(field.column))
            exprs.append("%(now)s")
            continue
        default = field.get_default()
        if default is None and not field.null:
            raise RuntimeError(f"{model.__name__}.{field.name} has no default; the fast path cannot fill it")
        cols.append(_q(field.column))
        exprs.append("%s")
        params.append(field.get_db_prep_save(default, connection))
    return cols, exprs, params


def _stage(cursor, rows, ctx: PushContext, on_progress) -> int:
    try:  # room for the staged rows in memory (possible only before the session's first temp table)
        with transaction.atomic():
            cursor.execute("SET temp_buffers = '256MB'")
    except Exception:  # noqa: BLE001 - an optimisation only
        pass
    cursor.execute(
        "CREATE TEMP TABLE xs_v (row_no integer, idn text, nm text, cat text, act text, eff date, ref text, "
        "reg text, cat_raw text, act_raw text, reg_raw text, errors jsonb, raw jsonb, res text, sch text)"
    )
    checker = RowChecker(ctx)
    fast, slow = checker.fast, checker.check
    dumps = json.dumps
    count = 0
    raw_cursor = cursor.cursor
    exhausted = False
    # Rows go out as preformatted COPY text, a block of lines at a time (cheaper than ``write_row``,
    # which adapts every value). The fast lane's values are known to be plain except the name and
    # the reference, which are escaped when they hold a backslash or a control character.
    while not exhausted:
        n = 0
        lines: list[str] = []
        add = lines.append
        with raw_cursor.copy("COPY xs_v FROM STDIN") as copy:
            write = copy.write
            for raw in rows:
                v = fast(raw)
                if v is not None:
                    name, ref = v[1], v[5]
                    if "\\" in name or not name.isprintable():
                        name = name.translate(ESCAPES)
                    if "\\" in ref or not ref.isprintable():
                        ref = ref.translate(ESCAPES)
                    add(f"{raw[0]}\t{v[0]}\t{name}\t{v[2]}\t{v[3]}\t{raw[6]}\t{ref}\t{v[6]}\t{raw[4]}\t{raw[5]}"
                        f"\t{raw[8]}\t\\N\t\\N\t{v[7]}\t{v[8]}\n")
                else:
                    v, problems, _lane = slow(raw)
                    add(text_line((raw[0], v["id_number"], v["name"], v["category"], v["action"], v["effective"],
                               v["reference"], v["region_code"], raw[4][:RAW_MAX], raw[5][:RAW_MAX], raw[8][:RAW_MAX],
                               dumps(problems, ensure_ascii=False) if problems else None,
                               dumps(raw_values(raw), ensure_ascii=False), v["residence"], v["scheme"])))
                n += 1
                if not n % LINES_PER_WRITE:
                    write("".join(lines))
                    lines.clear()
                if n >= COPY_CHUNK:
                    break
            else:
                exhausted = True
            if lines:
                write("".join(lines))
        count += n
        on_progress("reading", count)
    return count


def _decide(cursor, ctx: PushContext) -> None:
    """Repeats, the registry and the decision for every good row (``xs_d.outcome``)."""
    person, identity = _table(Person), _table(Identity)
    p = {"t": rules.TRIM_CHARS, "prefix": ctx.prefix + "%"}
    # The first good row of each key (hash aggregate; a repeat is any other good row of the key).
    cursor.execute(
        """
        CREATE TEMP TABLE xs_f AS
        SELECT idn, cat, min(row_no) AS first_row, count(*) AS n FROM xs_v WHERE errors IS NULL GROUP BY idn, cat
        """
    )
    cursor.execute("ANALYZE xs_f")
    # First rows with the person they name, if registered.
    cursor.execute(
        f"""
        CREATE TEMP TABLE xs_a AS
        SELECT v.row_no, v.idn, v.nm, v.cat, v.act, v.eff, v.ref, v.reg, v.res, v.sch,
               p.id AS person_id, p.region_id AS p_region, btrim(p.name, %(t)s) AS p_name
          FROM xs_f f JOIN xs_v v ON v.row_no = f.first_row
          LEFT JOIN {person} p ON p.id_number = v.idn
        """,
        p,
    )
    cursor.execute("ANALYZE xs_a")
    # Each registered person's periods of the row's category, summarised (one hash aggregate).
    cursor.execute(
        f"""
        CREATE TEMP TABLE xs_pc AS
        SELECT i.person_id, i.category,
               min(i.start) FILTER (WHERE i."end" IS NULL) AS open_min,
               max(i.start) FILTER (WHERE i."end" IS NULL) AS open_max,
               min((i.start - DATE '1900-01-01')::bigint * 1000000000000 + i.id)
                   FILTER (WHERE i."end" IS NULL) AS open_key,
               max(i."end") AS last_end
          FROM xs_a a JOIN {identity} i ON i.person_id = a.person_id AND i.category = a.cat
         GROUP BY i.person_id, i.category
        """
    )
    cursor.execute("ANALYZE xs_pc")
    # Rows with no open period but closed ones that matter: the period to reopen, or an exit
    # already in effect (few rows).
    cursor.execute(
        f"""
        CREATE TEMP TABLE xs_x AS
        SELECT a.row_no,
               coalesce(bool_or(i."end" = a.eff), false) AS ended_on_eff,
               (array_agg(i.id ORDER BY i."end" DESC, i.id DESC) FILTER (WHERE i."end" >= a.eff - 1))[1] AS reopen_id,
               (array_agg(i.start ORDER BY i."end" DESC, i.id DESC) FILTER (WHERE i."end" >= a.eff - 1))[1]
                   AS reopen_start,
               (array_agg(i."end" ORDER BY i."end" DESC, i.id DESC) FILTER (WHERE i."end" >= a.eff - 1))[1]
                   AS reopen_end
          FROM xs_a a
          JOIN xs_pc s ON s.person_id = a.person_id AND s.category = a.cat
          JOIN {identity} i ON i.person_id = a.person_id AND i.category = a.cat AND i."end" IS NOT NULL
         WHERE s.open_min IS NULL AND s.last_end IS NOT NULL AND (a.act = 'exit' OR s.last_end >= a.eff - 1)
         GROUP BY a.row_no
        """
    )
    cursor.execute(
        """
        CREATE TEMP TABLE xs_d AS
        WITH creator AS (
            SELECT c.idn, c.c_row, a.nm AS c_name
              FROM (SELECT idn, min(row_no) AS c_row FROM xs_a
                     WHERE person_id IS NULL AND act = 'add' AND reg <> '' GROUP BY idn) c
              JOIN xs_a a ON a.row_no = c.c_row
        )
        SELECT a.*, s.open_min, s.open_max, s.open_key %% 1000000000000 AS open_id, s.last_end,
               x.reopen_id, x.reopen_start, x.reopen_end, c.c_row, c.c_name,
               CASE
                 WHEN a.person_id IS NOT NULL THEN
                   CASE
                     WHEN a.p_region NOT LIKE %(prefix)s THEN 'E:person_out_of_scope'
                     WHEN a.nm <> a.p_name THEN 'E:name_mismatch'
                     WHEN a.act = 'add' THEN
                       CASE WHEN s.open_min IS NOT NULL THEN
                              CASE WHEN s.open_min > a.eff THEN 'backdate' ELSE 'unchanged' END
                            WHEN x.reopen_id IS NOT NULL THEN 'reopen'
                            ELSE 'open' END
                     ELSE
                       CASE WHEN s.open_min IS NOT NULL THEN
                              CASE WHEN s.open_max > a.eff THEN 'E:exit_before_start' ELSE 'close' END
                            WHEN coalesce(x.ended_on_eff, false) THEN 'unchanged'
                            WHEN s.last_end IS NOT NULL THEN 'E:no_open_identity_ended'
                            ELSE 'E:no_open_identity' END
                   END
                 WHEN a.act = 'exit' THEN
                   CASE WHEN c.c_row < a.row_no THEN
                          CASE WHEN a.nm <> c.c_name THEN 'E:name_mismatch_new' ELSE 'E:no_open_identity' END
                        ELSE 'E:person_unknown' END
                 WHEN c.c_row IS NULL OR a.row_no < c.c_row THEN 'E:region_needed'
                 WHEN a.row_no = c.c_row THEN 'create'
                 WHEN a.nm <> c.c_name THEN 'E:name_mismatch_new'
                 ELSE 'open'
               END AS outcome
          FROM xs_a a
          LEFT JOIN xs_pc s ON s.person_id = a.person_id AND s.category = a.cat
          LEFT JOIN xs_x x ON x.row_no = a.row_no
          LEFT JOIN creator c ON c.idn = a.idn
        """,
        p,
    )
    cursor.execute("ANALYZE xs_d")


def _apply(cursor, ctx: PushContext, counters: dict) -> None:
    now = timezone.now()
    person, identity, change = _table(Person), _table(Identity), _table(IdentityChange)
    rejected, mark = _table(PushRejectedRow), _table(RecalcMark)
    base = {"now": now, "source": ctx.source, "push": ctx.push_id, "year": ctx.today.year}

    # New persons: the creating row's values; every other column from the model's defaults.
    provided = {
        "id_number": "d.idn", "name": "d.nm",
        "sex": "CASE WHEN substr(d.idn, 17, 1)::int %% 2 = 1 THEN 'M' ELSE 'F' END",
        "birth_date": "make_date(substr(d.idn, 7, 4)::int, substr(d.idn, 11, 2)::int, substr(d.idn, 13, 2)::int)",
        "region_id": "d.reg",
        # what the file says, else '' — 待核实, for a clerk to confirm (never an assumed 农村 / 城乡居民医保)
        "residence": "d.res", "scheme": "d.sch",
    }
    if any(f.attname == "id_mask_key" for f in Person._meta.concrete_fields):
        provided["id_mask_key"] = "left(d.idn, 4) || right(d.idn, 4)"
    cols, exprs, params = insert_parts(Person, provided)
    # In identity-number order: the two indexes on it (and the region ones, the number starting with
    # the area code) are then filled front to back instead of at random places (half the time).
    sql = (f"INSERT INTO {person} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM xs_d d "
           f"WHERE d.outcome = 'create' ORDER BY d.idn")
    _execute(cursor, sql, params, base)
    counters["persons_created"] = cursor.rowcount
    cursor.execute(
        f"UPDATE xs_d d SET person_id = p.id FROM {person} p "
        f"WHERE d.person_id IS NULL AND d.outcome IN ('create', 'open') AND p.id_number = d.idn"
    )

    # Audit rows of the periods about to change (their values before the change).
    cursor.execute(
        f"""
        INSERT INTO {change} (identity_id, person_id, action, old_start, old_end, new_start, new_end, reference,
                              source, created_at)
        SELECT i.id, i.person_id, 'backdated', i.start, i."end", d.eff, i."end", left(d.ref, 100), %(source)s, %(now)s
          FROM xs_d d JOIN {identity} i ON i.id = d.open_id WHERE d.outcome = 'backdate'
        UNION ALL
        SELECT i.id, i.person_id, 'reopened', i.start, i."end", LEAST(i.start, d.eff), NULL, left(d.ref, 100),
               %(source)s, %(now)s
          FROM xs_d d JOIN {identity} i ON i.id = d.reopen_id WHERE d.outcome = 'reopen'
        UNION ALL
        SELECT i.id, i.person_id, 'closed', i.start, NULL, i.start, d.eff, left(d.ref, 100), %(source)s, %(now)s
          FROM xs_d d JOIN {identity} i ON i.person_id = d.person_id AND i.category = d.cat AND i."end" IS NULL
         WHERE d.outcome = 'close'
        """,
        base,
    )

    provided = {
        "person_id": "d.person_id", "category": "d.cat", "start": "d.eff", "end": "NULL",
        "department_id": "%(dept)s", "method": "%(method)s", "reference": "left(d.ref, 100)", "source": "%(source)s",
        "created_by_id": "%(user)s",
    }
    cols, exprs, params = insert_parts(Identity, provided)
    # In person order: the person indexes are filled in order, and the foreign-key checks at commit
    # read the persons in the order they were written.
    sql = (f"INSERT INTO {identity} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM xs_d d "
           f"WHERE d.outcome IN ('create', 'open') ORDER BY d.person_id, d.row_no")
    _execute(cursor, sql, params, {**base, "dept": ctx.department, "method": RecognitionMethod.PUSHED,
                                   "user": ctx.user_id})
    counters["identities_opened"] = cursor.rowcount
    cursor.execute(
        f"UPDATE {identity} i SET start = d.eff, updated_at = %(now)s FROM xs_d d "
        f"WHERE d.outcome = 'backdate' AND i.id = d.open_id", base,
    )
    counters["identities_backdated"] = cursor.rowcount
    cursor.execute(
        f"UPDATE {identity} i SET start = LEAST(i.start, d.eff), \"end\" = NULL, updated_at = %(now)s FROM xs_d d "
        f"WHERE d.outcome = 'reopen' AND i.id = d.reopen_id", base,
    )
    counters["identities_reopened"] = cursor.rowcount
    cursor.execute(
        f"UPDATE {identity} i SET \"end\" = d.eff, updated_at = %(now)s FROM xs_d d "
        f"WHERE d.outcome = 'close' AND i.person_id = d.person_id AND i.category = d.cat AND i.\"end\" IS NULL",
        base,
    )
    cursor.execute("SELECT count(*) FILTER (WHERE outcome = 'close'), count(*) FILTER (WHERE outcome = 'unchanged') "
                   "FROM xs_d")
    counters["identities_closed"], counters["rows_unchanged"] = cursor.fetchone()

    # Every rejected row: column problems, repeats, then the registry's answers.
    state_problem = """
        CASE split_part(d.outcome, ':', 2)
          WHEN 'person_out_of_scope' THEN jsonb_build_object('field', 'region', 'code', 'person_out_of_scope',
               'params', jsonb_build_object('region', d.p_region))
          WHEN 'name_mismatch' THEN jsonb_build_object('field', 'name', 'code', 'name_mismatch',
               'params', jsonb_build_object('name', d.nm, 'registered', d.p_name))
          WHEN 'name_mismatch_new' THEN jsonb_build_object('field', 'name', 'code', 'name_mismatch',
               'params', jsonb_build_object('name', d.nm, 'registered', d.c_name))
          WHEN 'exit_before_start' THEN jsonb_build_object('field', 'effective', 'code', 'exit_before_start',
               'params', jsonb_build_object('date', to_char(d.eff, 'YYYY-MM-DD'), 'start', to_char(d.open_max, 'YYYY-MM-DD')))
          WHEN 'no_open_identity_ended' THEN jsonb_build_object('field', 'action', 'code', 'no_open_identity_ended',
               'params', jsonb_build_object('category', d.cat, 'end', to_char(d.last_end, 'YYYY-MM-DD')))
          WHEN 'no_open_identity' THEN jsonb_build_object('field', 'action', 'code', 'no_open_identity',
               'params', jsonb_build_object('category', d.cat))
          WHEN 'person_unknown' THEN jsonb_build_object('field', 'id_number', 'code', 'person_unknown',
               'params', '{}'::jsonb)
          WHEN 'region_needed' THEN jsonb_build_object('field', 'region', 'code', 'region_needed',
               'params', '{}'::jsonb)
        END
    """
    cursor.execute(
        f"""
        INSERT INTO {rejected} (push_id, row_no, id_number, name, category, action, effective, reference,
                                region_code, errors)
        SELECT %(push)s, v.row_no,
               coalesce(v.raw->>0, v.idn), coalesce(v.raw->>1, v.nm), coalesce(v.raw->>2, v.cat_raw),
               coalesce(v.raw->>3, v.act_raw), coalesce(v.raw->>4, to_char(v.eff, 'YYYY-MM-DD')),
               coalesce(v.raw->>5, v.ref), coalesce(v.raw->>6, v.reg_raw),
               coalesce(v.errors, x.errors)
          FROM (
                SELECT row_no, NULL::jsonb AS errors FROM xs_v WHERE errors IS NOT NULL
                UNION ALL
                SELECT v.row_no, jsonb_build_array(jsonb_build_object('field', 'row', 'code', 'duplicate',
                       'params', jsonb_build_object('row', f.first_row)))
                  FROM xs_f f JOIN xs_v v ON v.idn = f.idn AND v.cat = f.cat
                 WHERE f.n > 1 AND v.errors IS NULL AND v.row_no <> f.first_row
                UNION ALL
                SELECT d.row_no, jsonb_build_array({state_problem}) FROM xs_d d WHERE d.outcome LIKE 'E:%%'
               ) x
          JOIN xs_v v ON v.row_no = x.row_no
        """,
        base,
    )
    counters["rows_rejected"] = cursor.rowcount

    # Person-years with cases whose claims the changes can alter.
    from cases.models import Application

    application = _table(Application)
    cursor.execute(
        f"""
        WITH ranges AS (
          SELECT d.person_id,
                 CASE d.outcome
                   WHEN 'create' THEN extract(year FROM d.eff)::int
                   WHEN 'open' THEN extract(year FROM d.eff)::int
                   WHEN 'backdate' THEN extract(year FROM d.eff)::int
                   WHEN 'reopen' THEN extract(year FROM CASE WHEN d.eff < d.reopen_start THEN d.eff
                                                            ELSE d.reopen_end + 1 END)::int
                   WHEN 'close' THEN extract(year FROM d.eff + 1)::int
                 END AS y1,
                 CASE d.outcome
                   WHEN 'backdate' THEN extract(year FROM d.open_min - 1)::int
                   ELSE GREATEST(%(year)s, extract(year FROM d.eff)::int)
                 END AS y2
            FROM xs_d d WHERE d.outcome IN ('create', 'open', 'backdate', 'reopen', 'close')
        )
        INSERT INTO {mark} (person_id, year, reason, created_at, outcome, failed)
        SELECT DISTINCT a.person_id, a.year, %(source)s, %(now)s, '', false
          FROM ranges r JOIN {application} a ON a.person_id = r.person_id AND a.year BETWEEN r.y1 AND r.y2
         WHERE r.y1 <= %(year)s
        ON CONFLICT DO NOTHING
        """,
        base,
    )


def _execute(cursor, sql: str, positional: list, named: dict) -> None:
    """``sql`` mixes ``%s`` (model defaults, in order) and ``%(name)s``: turn the former into names."""
    values = dict(named)
    for i, value in enumerate(positional):
        key = f"_d{i}"
        sql = sql.replace("%s", f"%({key})s", 1)
        values[key] = value
    cursor.execute(sql, values)


TEMP_TABLES = ("xs_v", "xs_f", "xs_a", "xs_pc", "xs_x", "xs_d")


class _Timed:
    """A cursor that logs (DEBUG) how long each statement took, for the benchmark."""

    def __init__(self, cursor):
        self._cursor = cursor
        self.steps: list[tuple[str, float]] = []

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def execute(self, sql, params=None):
        t = time.perf_counter()
        result = self._cursor.execute(sql, params)
        label = " ".join(str(sql).split())[:70]
        self.steps.append((label, time.perf_counter() - t))
        return result


def process(rows, ctx: PushContext, counters: dict, *, on_progress, finish) -> None:
    clock = time.perf_counter
    t0 = clock()
    with connection.cursor() as plain:
        cursor = _Timed(plain) if log.isEnabledFor(logging.DEBUG) else plain
        for name in TEMP_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        try:
            # staged in a transaction of its own: a file found unreadable half-way (raised while the
            # COPY reads its rows) rolls back cleanly, and the push's failure can still be recorded
            with transaction.atomic():
                total = _stage(cursor, rows, ctx, on_progress)
            t1 = clock()
            counters["rows_total"] = total
            on_progress("validating", total)
            with transaction.atomic():
                cursor.execute("SET LOCAL work_mem = '256MB'")
                cursor.execute("SET LOCAL jit = off")
                # The temporary tables' statistics only steer hash joins; a smaller sample (3 000 rows
                # instead of 30 000) is enough for that and makes each ANALYZE several times cheaper.
                cursor.execute("SET LOCAL default_statistics_target = 10")
                # Pushes one at a time; nobody else changes persons or identities meanwhile.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('exchange.identity_push'))")
                cursor.execute(f"LOCK TABLE {_table(Person)}, {_table(Identity)} IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute("ANALYZE xs_v")
                _decide(cursor, ctx)
                t2 = clock()
                on_progress("applying", total)
                _apply(cursor, ctx, counters)
                log.info("push %s: %d rows; read and checked %.2f s, decided %.2f s, applied %.2f s",
                         ctx.push_id, total, t1 - t0, t2 - t1, clock() - t2)
                counters["person_years_marked"] = RecalcMark.objects.filter(reason=ctx.source).count()
                finish(counters)
                t3 = clock()
            log.debug("push %s: commit %.2f s", ctx.push_id, clock() - t3)
            for label, seconds in getattr(cursor, "steps", []):
                if seconds >= 0.05:
                    log.debug("  %6.2f s  %s", seconds, label)
        finally:
            for name in TEMP_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
