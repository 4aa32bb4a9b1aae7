"""The publishing gate: a version is published only if the public worked examples of its region
(shared/spec/examples, those whose input ``region`` is the version's region) still give their
expected results with the version taken as if published."""
from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext as _

from . import engine, messages, selectors
from .models import PolicyVersion

CLAIM_KEYS = ("category", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")
TOTAL_KEYS = ("total", "basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket")
ALERT_KEYS = ("kind", "claim", "threshold", "out_of_pocket")


def _labels() -> dict[str, str]:
    return {
        "category": _("category"), "total": _("total T"), "basic_paid": _("basic B"),
        "critical_paid": _("critical C"), "self_pay_in_scope": _("self-pay in scope S"),
        "assistance": _("assistance A"), "tilted": _("tilted G"), "out_of_pocket": _("out of pocket"),
    }


def region_examples(region_code: str) -> list[tuple[str, dict, dict | None]]:
    """(name, input, expected or None) of the public examples whose input is of ``region_code``."""
    folder = settings.SHARED_DIR / "spec" / "examples"
    found = []
    for path in sorted(folder.glob("*.input.json")):
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(payload, dict) or payload.get("region") != region_code:
            continue
        name = path.name.removesuffix(".input.json")
        expected_path = folder / f"{name}.expected.json"
        expected = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else None
        found.append((name, payload, expected))
    return found


def example_differences(version: PolicyVersion) -> list[str]:
    """Each way the region's worked examples differ, settled with ``version`` as if published with
    its (saved) dates; empty when they all give their expected results."""
    labels = _labels()
    out: list[str] = []
    for name, payload, expected in region_examples(version.region_id):
        def factory(region_code, statistics):
            return selectors.get_policy_book(region_code=region_code, statistics=statistics,
                                             draft_version_id=version.pk)
        try:
            result = engine.settle_payload(payload, factory)
        except engine.EngineError as exc:
            if expected is not None:
                out.append(_("Worked example %(name)s can no longer be settled: %(problem)s")
                           % {"name": name, "problem": "; ".join(messages.explain(e, doc=version.document) for e in exc.errors)})
            continue
        if expected is None:
            out.append(_("Worked example %(name)s must be refused, but it is settled.") % {"name": name})
            continue
        got_claims = {c["id"]: c for c in result["claims"]}
        for want in expected["claims"]:
            got = got_claims.get(want["id"], {})
            for key in CLAIM_KEYS:
                if got.get(key) != want.get(key):
                    out.append(_("Worked example %(name)s, claim %(claim)s: %(what)s is %(got)s, expected %(want)s.")
                               % {"name": name, "claim": want["id"], "what": labels[key],
                                  "got": got.get(key) or "—", "want": want.get(key) or "—"})
        for key in TOTAL_KEYS:
            if key in expected["totals"] and result["totals"].get(key) != expected["totals"][key]:
                out.append(_("Worked example %(name)s, totals: %(what)s is %(got)s, expected %(want)s.")
                           % {"name": name, "what": labels[key], "got": result["totals"].get(key) or "—",
                              "want": expected["totals"][key]})
        got_alerts = [{k: a.get(k) for k in ALERT_KEYS} for a in result["alerts"]]
        want_alerts = [{k: a.get(k) for k in ALERT_KEYS} for a in expected["alerts"]]
        if got_alerts != want_alerts:
            out.append(_("Worked example %(name)s: the monitoring alerts differ from the expected ones.") % {"name": name})
    return out
