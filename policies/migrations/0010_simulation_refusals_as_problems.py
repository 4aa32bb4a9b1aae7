"""Simulation reports store each refusal's problem (code, params, path), worded when shown in the
reader's language; reports stored before held the sentence in the language of the run.

A stored report's refusals are rebuilt from the simulation's parts (``SimulationChunk.partial``
keeps every refusal's code, params, path and English sentence, with its count and cases), exactly as
the report merged them. A report whose parts are gone keeps each recorded sentence as a
``case.legacy_refusal`` problem: a Chinese sentence is shown as recorded, an English one asks the
reader to run the simulation again.
"""
from django.db import migrations

EXAMPLES = 10


def _merged_refusals(chunks) -> dict:
    out: dict = {}
    for partial in chunks:
        for key, entry in ((partial or {}).get("refused") or {}).items():
            mine = out.get(key)
            if mine is None:
                out[key] = {**entry, "cases": list(entry.get("cases") or [])}
            else:
                mine["count"] += entry.get("count") or 0
                mine["cases"] = sorted({*mine["cases"], *(entry.get("cases") or [])})[:EXAMPLES]
    return out


def forwards(apps, schema_editor):
    PolicySimulation = apps.get_model("policies", "PolicySimulation")
    SimulationChunk = apps.get_model("policies", "SimulationChunk")
    for sim in PolicySimulation.objects.exclude(report=None).only("id", "report").iterator(chunk_size=100):
        report = sim.report or {}
        rows = report.get("refused") or []
        if not rows or all(isinstance(r, dict) and "problem" in r for r in rows):
            continue
        chunks = [c.partial for c in SimulationChunk.objects.filter(simulation_id=sim.pk).order_by("index")]
        merged = _merged_refusals(chunks)
        if merged and sum(e.get("count") or 0 for e in merged.values()) == sum(r.get("count") or 0 for r in rows):
            new = [{"side": e["side"], "code": e["code"],
                    "problem": {"code": e["code"], "params": e.get("params") or {}, "path": e.get("path"),
                                "text": e.get("text") or ""},
                    "count": e["count"], "cases": e["cases"]} for e in merged.values()]
            new.sort(key=lambda r: (-r["count"], r["side"], r["code"], r["problem"]["text"]))
        else:
            new = [{"side": r.get("side"), "code": r.get("code"),
                    "problem": {"code": "case.legacy_refusal", "params": {}, "path": None,
                                "text": r.get("reason") or ""},
                    "count": r.get("count", 0), "cases": r.get("cases") or []} for r in rows]
        report["refused"] = new
        sim.report = report
        sim.save(update_fields=["report"])


def backwards(apps, schema_editor):
    PolicySimulation = apps.get_model("policies", "PolicySimulation")
    for sim in PolicySimulation.objects.exclude(report=None).only("id", "report").iterator(chunk_size=100):
        report = sim.report or {}
        rows = report.get("refused") or []
        if not any(isinstance(r, dict) and "problem" in r for r in rows):
            continue
        report["refused"] = [{k: v for k, v in r.items() if k != "problem"}
                             | {"reason": (r.get("problem") or {}).get("text") or r.get("code")} for r in rows]
        sim.report = report
        sim.save(update_fields=["report"])


class Migration(migrations.Migration):

    dependencies = [
        ("policies", "0009_policy_imports"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
