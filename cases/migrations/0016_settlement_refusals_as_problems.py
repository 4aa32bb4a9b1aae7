"""Refusals of a settlement are stored as problems (code, params, path), worded when shown.

Rows stored before keep a sentence: the Chinese ones of the portal itself (no claims in a year,
amounts too large) and the engine's most common English ones (a claim without basic_paid or
critical_paid, an unset parameter, a missing statistic or announced amount, no version in force)
become problems with their codes; any other sentence becomes a ``case.legacy_refusal`` problem that
keeps the sentence for the logs and asks the reader to recalculate the case.
"""
import re

from django.db import migrations

_LABEL = r"(?P<policy>\d{6} [^:]+?)"
_PATH = r"(?P<path>[\w.\[\]]+)"
PATTERNS = [
    ("input.basic_paid_needed", re.compile(
        _LABEL + r": claims\[(?P<i>\d+)\] \(id '(?P<claim>[^']*)'\) gives no basic_paid and the document has no "
        r"basic-insurance rule for (?P<scheme>\w+) (?P<kind>\w+) at hospital level (?P<level>\d)", re.S)),
    ("input.critical_paid_needed", re.compile(
        _LABEL + r": claims\[(?P<i>\d+)\] \(id '(?P<claim>[^']*)'\) gives no critical_paid and the document "
        r"has no critical-illness rule(?: for the (?P<scheme>\w+) scheme)?", re.S)),
    ("policy.statistic_missing", re.compile(
        _LABEL + r": statistic (?P<statistic>\w+)(?: \([^)]*\))? of region (?P<region>\d{6}) is missing for "
        r"(?P<years>[\d and]+) — needed for the .+? \(" + _PATH + r"(?:, (?P<clause>.*?))?\) of (?P<year>\d{4}) "
        r"claims", re.S)),
    ("policy.announced_missing", re.compile(
        _LABEL + r": announced amount (?P<name>\w+) of region (?P<region>\d{6}) for (?P<year>\d{4}) is not entered — "
        r"needed for the .+? \(" + _PATH + r"(?:, (?P<clause>.*?))?\) of ", re.S)),
    ("policy.unset", re.compile(
        _LABEL + r": .+?(?: at hospital level (?P<level>\d))?(?: for (?P<category>\w+))? \(" + _PATH +
        r"(?:, (?P<clause>.*?))?\) is unset", re.S)),
    ("policy.no_version", re.compile(
        r"(?P<region>\d{6}): no policy version in force on (?P<date>\S+) \(claims\[(?P<i>\d+)\], id '?(?P<claim>[^)']*)'?\)",
        re.S)),
]


def to_problem(text: str, payload: dict) -> dict:
    if not isinstance(text, str):
        return text
    if text.startswith("本年度费用合计超过系统可记录的最大金额"):
        return {"code": "case.too_large", "params": {}, "path": None, "text": text}
    m = re.fullmatch(r"(?:该人员在 (\d{4}) 年度没有结算记录。|The person has no claims in (\d{4})\.)", text)
    if m:
        return {"code": "case.no_claims", "params": {"year": int(m.group(1) or m.group(2))}, "path": None,
                "text": f"The person has no claims in {m.group(1) or m.group(2)}."}
    claims = (payload or {}).get("claims") or []
    for code, pattern in PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        g = {k: v for k, v in m.groupdict().items() if v is not None}
        params, path = {}, g.pop("path", None)
        if "i" in g:
            i = int(g.pop("i"))
            if i < len(claims) and isinstance(claims[i], dict) and claims[i].get("date"):
                params["date"] = claims[i]["date"]
            field = {"input.basic_paid_needed": "basic_paid", "input.critical_paid_needed": "critical_paid",
                     "policy.no_version": "date"}[code]
            path = f"claims[{i}].{field}"
        if "level" in g:
            g["level"] = int(g["level"])
        if "year" in g:
            g["year"] = int(g["year"])
        if "years" in g:
            g["years"] = [int(y) for y in g["years"].split(" and ")]
        params.update(g)
        return {"code": code, "params": params, "path": path, "text": text}
    return {"code": "case.legacy_refusal", "params": {}, "path": None, "text": text}


def forwards(apps, schema_editor):
    Settlement = apps.get_model("cases", "Settlement")
    batch = []
    for s in Settlement.objects.exclude(errors=[]).only("id", "errors", "payload").iterator(chunk_size=500):
        errors = s.errors or []
        if all(isinstance(e, dict) for e in errors):
            continue
        s.errors = [to_problem(e, s.payload) for e in errors]
        batch.append(s)
        if len(batch) >= 500:
            Settlement.objects.bulk_update(batch, ["errors"])
            batch = []
    if batch:
        Settlement.objects.bulk_update(batch, ["errors"])


def backwards(apps, schema_editor):
    Settlement = apps.get_model("cases", "Settlement")
    for s in Settlement.objects.exclude(errors=[]).only("id", "errors").iterator(chunk_size=500):
        s.errors = [e.get("text") or e.get("code") if isinstance(e, dict) else e for e in s.errors or []]
        s.save(update_fields=["errors"])


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0015_uploads_in_worker'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
