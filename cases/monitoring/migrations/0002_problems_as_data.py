"""Monitoring runs stored before their problems were kept as data held sentences: the region code
and the engine's English sentence (``130900: <engine sentence>``), or a sentence worded in the
language of the run (``… person-years could not be settled: …``, ``… no monitoring threshold …``,
in English or Chinese).

Each sentence is parsed into the entry a run stores now (``{"region", "problem", "persons"?}`` or
``{"region", "no_threshold"}``); the engine's sentence inside becomes a problem with its code where
``cases`` migration 0016 can read it (an unset parameter, a missing statistic or announced amount, a
claim without basic_paid/critical_paid, no version in force), else a ``case.legacy_refusal`` problem
that keeps the sentence: the run page shows a Chinese one as recorded, and for an English one says
that the reason was recorded in an older form and the run must be repeated to see it.
"""
import importlib
import re

from django.db import migrations

_NO_THRESHOLD = [
    re.compile(r"^(?P<region>\d{6}): the policy sets no monitoring threshold for (?P<year>\d{4}); no warnings\.$"),
    re.compile(r"^(?P<region>\d{6})：政策未设定 (?P<year>\d{4}) 年度的监测标准，不作预警。$"),
]
_PERSONS = [
    re.compile(r"^(?P<region>\d{6}): (?P<n>\d+) person-years could not be settled: (?P<message>.*)$", re.S),
    re.compile(r"^(?P<region>\d{6})：(?P<n>\d+) 个人员年度无法测算：(?P<message>.*)$", re.S),
]
_REGION = re.compile(r"^(?P<region>\d{6})[:：] ?(?P<message>.*)$", re.S)


def _problem(text: str) -> dict:
    old = importlib.import_module("cases.migrations.0016_settlement_refusals_as_problems")
    return old.to_problem(text, {})


def to_entry(item):
    if not isinstance(item, str):
        return item
    for pattern in _NO_THRESHOLD:
        m = pattern.match(item)
        if m:
            return {"region": m["region"], "no_threshold": int(m["year"])}
    for pattern in _PERSONS:
        m = pattern.match(item)
        if m:
            return {"region": m["region"], "problem": _problem(m["message"]), "persons": int(m["n"])}
    m = _REGION.match(item)
    if m:
        return {"region": m["region"], "problem": _problem(m["message"])}
    return {"region": "", "problem": _problem(item)}


def forwards(apps, schema_editor):
    MonitoringRun = apps.get_model("monitoring", "MonitoringRun")
    for run in MonitoringRun.objects.exclude(problems=[]).only("id", "problems").iterator(chunk_size=500):
        problems = run.problems or []
        if all(isinstance(p, dict) for p in problems):
            continue
        run.problems = [to_entry(p) for p in problems]
        run.save(update_fields=["problems"])


def backwards(apps, schema_editor):
    """Back to sentences: the region code and the engine's English sentence."""
    MonitoringRun = apps.get_model("monitoring", "MonitoringRun")
    for run in MonitoringRun.objects.exclude(problems=[]).only("id", "problems").iterator(chunk_size=500):
        out = []
        for p in run.problems or []:
            if not isinstance(p, dict):
                out.append(p)
            elif "no_threshold" in p:
                out.append(f"{p['region']}: the policy sets no monitoring threshold for {p['no_threshold']}; "
                           "no warnings.")
            elif "persons" in p:
                out.append(f"{p['region']}: {p['persons']} person-years could not be settled: "
                           f"{(p.get('problem') or {}).get('text', '')}")
            else:
                out.append(f"{p.get('region', '')}: {(p.get('problem') or {}).get('text', '')}")
        run.problems = out
        run.save(update_fields=["problems"])


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0001_initial"),
        ("cases", "0016_settlement_refusals_as_problems"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
