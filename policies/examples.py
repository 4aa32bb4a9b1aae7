"""Worked examples a policy version carries (``PolicyExample``): their validation (each problem
naming its path, as the policy file does), the comparison the publishing gate makes, and the
writes — adding, changing (every changed expectation recorded old → new in the version's history),
removing and copying them.

An example is a settlement input (shared/spec/settlement.md) and its expected result in the form of
shared/spec/examples: ``{"claims": [{"id", "category", "basic_paid", "critical_paid",
"self_pay_in_scope", "assistance", "tilted", "out_of_pocket"}…], "totals": {…}, "alerts": [{"kind",
"claim", "threshold", "out_of_pocket"}…]}``, or ``None`` when the input must be refused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import engine, messages, selectors
from .engine.constants import ALERT_KINDS, ALERT_NAMES, CATEGORY_NAMES
from .models import ChangeAction, PolicyExample, PolicyVersion

#: what is compared per claim, in the order the pages show it
CLAIM_KEYS = ("category", "basic_paid", "critical_paid", "self_pay_in_scope", "assistance", "tilted", "out_of_pocket")
MONEY_KEYS = CLAIM_KEYS[1:]
TOTAL_KEYS = ("total", "basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket")
ALERT_KEYS = ("kind", "claim", "threshold", "out_of_pocket")
MAX_EXAMPLES = 50
MAX_CLAIMS = 60
_MONEY_RE = re.compile(r"^\d{1,12}\.\d{2}$")
_NAME_RE = re.compile(r"^[^\s/\\]{1,100}$")


def labels() -> dict[str, str]:
    """The compared fields in the reader's language."""
    return {
        "category": _("category"), "total": _("total T"), "basic_paid": _("basic B"),
        "critical_paid": _("critical C"), "self_pay_in_scope": _("self-pay in scope S"),
        "assistance": _("assistance A"), "tilted": _("tilted G"), "out_of_pocket": _("out of pocket"),
    }


def money(value) -> str | None:
    """An amount as the examples write it (a string with two decimals), or None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite() or d < 0 or d != d.quantize(Decimal("0.01")) or d >= Decimal("1e12"):
        return None
    return format(d.quantize(Decimal("0.01")), "f")


def totals_of(expected_claims: list[dict], input_claims: list[dict]) -> dict[str, str]:
    """The totals the expected claims add up to (T from the input's claims)."""
    out = {}
    totals = {"total": sum((Decimal(money(c.get("total")) or "0") for c in input_claims), Decimal("0"))}
    for key in ("basic_paid", "critical_paid", "assistance", "tilted", "out_of_pocket"):
        totals[key] = sum((Decimal(money(c.get(key)) or "0") for c in expected_claims), Decimal("0"))
    for key in TOTAL_KEYS:
        out[key] = format(totals[key].quantize(Decimal("0.01")), "f")
    return out


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _input_problems(payload, path: str, region_code: str, *, must_be_refused: bool = False) -> list[str]:
    """Problems of an example's input; one that must be refused may be one the engine refuses."""
    if not isinstance(payload, dict):
        return [_("%(path)s: must be a settlement input (an object with region, person and claims).") % {"path": path}]
    out = []
    try:
        if not must_be_refused:
            engine.parse_input(payload)
    except engine.EngineError as exc:
        out += [f"{path}.{messages.render(p, field_first=True)}" if p.path else f"{path}: {messages.render(p)}"
                for p in exc.problems]
    if payload.get("region") != region_code:
        out.append(_("%(path)s.region: the example is of %(got)s, the version of %(want)s.")
                   % {"path": path, "got": payload.get("region"), "want": region_code})
    claims = payload.get("claims")
    if isinstance(claims, list) and len(claims) > MAX_CLAIMS:
        out.append(_("%(path)s.claims: at most %(n)s claims.") % {"path": path, "n": MAX_CLAIMS})
    return out


def _expected_problems(expected, path: str, claim_ids: list[str]) -> list[str]:
    if expected is None:
        return []
    if not isinstance(expected, dict):
        return [_("%(path)s: must be an object with claims, totals and alerts, or null when the input must be refused.")
                % {"path": path}]
    out = []
    unknown = sorted(set(expected) - {"region", "claims", "totals", "alerts"})
    if unknown:
        out.append(_("%(path)s: unknown key(s) %(keys)s.") % {"path": path, "keys": ", ".join(unknown)})
    claims = expected.get("claims")
    if not isinstance(claims, list):
        out.append(_("%(path)s.claims: must be a list, one entry per claim of the input.") % {"path": path})
        claims = []
    seen = []
    for i, claim in enumerate(claims):
        where = f"{path}.claims[{i}]"
        if not isinstance(claim, dict):
            out.append(_("%(path)s: must be an object.") % {"path": where})
            continue
        cid = claim.get("id")
        if cid not in claim_ids:
            out.append(_("%(path)s.id: %(id)s is not a claim of the input.") % {"path": where, "id": cid})
        elif cid in seen:
            out.append(_("%(path)s.id: claim %(id)s is given twice.") % {"path": where, "id": cid})
        seen.append(cid)
        cat = claim.get("category")
        if cat is not None and (not isinstance(cat, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", cat)):
            out.append(_("%(path)s.category: must be a category code or null.") % {"path": where})
        for key in MONEY_KEYS + ("total", "policy_scope"):
            if key in claim and money(claim[key]) is None:
                out.append(_("%(path)s.%(key)s: %(value)s is not an amount in yuan with two decimals.")
                           % {"path": where, "key": key, "value": claim[key]})
            elif key in MONEY_KEYS and key not in claim:
                out.append(_("%(path)s.%(key)s: required.") % {"path": where, "key": key})
    missing = [cid for cid in claim_ids if cid not in seen]
    if missing and not out:
        out.append(_("%(path)s.claims: no expected result for claim(s) %(ids)s.") % {"path": path, "ids": ", ".join(map(str, missing))})
    totals = expected.get("totals", {})
    if not isinstance(totals, dict):
        out.append(_("%(path)s.totals: must be an object.") % {"path": path})
    else:
        for key, value in totals.items():
            if key not in TOTAL_KEYS:
                out.append(_("%(path)s.totals.%(key)s: unknown total.") % {"path": path, "key": key})
            elif money(value) is None:
                out.append(_("%(path)s.totals.%(key)s: %(value)s is not an amount in yuan with two decimals.")
                           % {"path": path, "key": key, "value": value})
    alerts = expected.get("alerts", [])
    if not isinstance(alerts, list):
        out.append(_("%(path)s.alerts: must be a list.") % {"path": path})
        alerts = []
    for i, alert in enumerate(alerts):
        where = f"{path}.alerts[{i}]"
        if not isinstance(alert, dict):
            out.append(_("%(path)s: must be an object.") % {"path": where})
            continue
        if alert.get("kind") not in ALERT_KINDS:
            out.append(_("%(path)s.kind: must be one of %(kinds)s.") % {"path": where, "kinds": ", ".join(ALERT_KINDS)})
        if alert.get("claim") not in claim_ids:
            out.append(_("%(path)s.claim: %(id)s is not a claim of the input.") % {"path": where, "id": alert.get("claim")})
        for key in ("threshold", "out_of_pocket"):
            if money(alert.get(key)) is None:
                out.append(_("%(path)s.%(key)s: %(value)s is not an amount in yuan with two decimals.")
                           % {"path": where, "key": key, "value": alert.get(key)})
    return out


def example_problems(item, path: str, region_code: str) -> list[str]:
    """Problems of one example as the policy file gives it (``{"name", "note", "input",
    "expected"}``), each message beginning with its path (``examples[0].input.claims[1].total: …``)."""
    if not isinstance(item, dict):
        return [_("%(path)s: must be an object with name, note, input and expected.") % {"path": path}]
    out = []
    unknown = sorted(set(item) - {"name", "note", "input", "expected"})
    if unknown:
        out.append(_("%(path)s: unknown key(s) %(keys)s.") % {"path": path, "keys": ", ".join(unknown)})
    name = item.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name.strip() or " "):
        out.append(_("%(path)s.name: a name of at most 100 characters without spaces is required.") % {"path": path})
    note = item.get("note", "")
    if note is not None and not isinstance(note, str):
        out.append(_("%(path)s.note: must be text.") % {"path": path})
    if "input" not in item:
        out.append(_("%(path)s.input: required.") % {"path": path})
        return out
    out += _input_problems(item["input"], f"{path}.input", region_code, must_be_refused=item.get("expected") is None)
    claims = item["input"].get("claims") if isinstance(item["input"], dict) else None
    ids = [c.get("id") for c in claims if isinstance(c, dict)] if isinstance(claims, list) else []
    out += _expected_problems(item.get("expected"), f"{path}.expected", ids)
    return out


def file_examples_problems(items, region_code: str) -> list[str]:
    """Problems of a policy file's ``examples`` list (absent = none)."""
    if items is None:
        return []
    if not isinstance(items, list):
        return [_("examples: must be a list of worked examples.")]
    if len(items) > MAX_EXAMPLES:
        return [_("examples: at most %(n)s worked examples.") % {"n": MAX_EXAMPLES}]
    out = []
    names = set()
    for i, item in enumerate(items):
        out += example_problems(item, f"examples[{i}]", region_code)
        name = item.get("name").strip() if isinstance(item, dict) and isinstance(item.get("name"), str) else None
        if name in names:
            out.append(_("examples[%(i)s].name: %(name)s is the name of another example.") % {"i": i, "name": name})
        names.add(name)
    return out


def as_file(version: PolicyVersion) -> list[dict]:
    return [{"name": e.name, "note": e.note, "input": e.input, "expected": e.expected} for e in version.examples.all()]


# ---------------------------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------------------------


@dataclass
class Difference:
    example: str
    claim: str | None  # None: the totals, the alerts or the whole example
    field: str | None
    expected: str | None
    got: str | None
    text: str


def _shown(key: str, value, names: dict[str, str]) -> str:
    if value is None or value == "":
        return _("none") if key == "category" else "—"
    if key == "category":
        return names.get(value, value)
    return str(value)


def settle(version: PolicyVersion, payload: dict) -> dict:
    """The example's input settled with ``version`` taken as if published with its saved dates.
    Raises ``engine.EngineError``."""
    def factory(region_code, statistics):
        return selectors.get_policy_book(region_code=region_code, statistics=statistics, draft_version_id=version.pk)

    return engine.settle_payload(payload, factory)


def differences(version: PolicyVersion) -> list[Difference]:
    """Each way the version's worked examples differ from their expected results, settled with the
    version as if published with its saved dates; empty when they all pass."""
    out: list[Difference] = []
    names_of = labels()
    names = dict(CATEGORY_NAMES)
    from . import editor

    names.update(editor.region_category_names(version.engine_document()))
    for example in version.examples.all():
        name = example.name
        try:
            result = settle(version, example.input)
        except engine.EngineError as exc:
            if example.expected is not None:
                problem = "; ".join(messages.render(p) for p in exc.problems)
                out.append(Difference(name, None, None, None, None,
                                      _("Worked example %(name)s can no longer be settled: %(problem)s")
                                      % {"name": name, "problem": problem}))
            continue
        if example.expected is None:
            out.append(Difference(name, None, None, None, None,
                                  _("Worked example %(name)s must be refused, but it is settled.") % {"name": name}))
            continue
        got_claims = {c["id"]: c for c in result["claims"]}
        for want in example.expected.get("claims", []):
            got = got_claims.get(want.get("id"), {})
            for key in CLAIM_KEYS:
                if key not in want or got.get(key) == want.get(key):
                    continue
                shown_got, shown_want = _shown(key, got.get(key), names), _shown(key, want.get(key), names)
                out.append(Difference(
                    name, want.get("id"), key, shown_want, shown_got,
                    _("Worked example %(name)s, claim %(claim)s: %(what)s is %(got)s, expected %(want)s.")
                    % {"name": name, "claim": want.get("id"), "what": names_of[key], "got": shown_got, "want": shown_want}))
        totals = example.expected.get("totals") or {}
        for key in TOTAL_KEYS:
            if key in totals and result["totals"].get(key) != totals[key]:
                got = result["totals"].get(key) or "—"
                out.append(Difference(
                    name, None, key, totals[key], got,
                    _("Worked example %(name)s, totals: %(what)s is %(got)s, expected %(want)s.")
                    % {"name": name, "what": names_of[key], "got": got, "want": totals[key]}))
        got_alerts = [{k: a.get(k) for k in ALERT_KEYS} for a in result["alerts"]]
        want_alerts = [{k: a.get(k) for k in ALERT_KEYS} for a in example.expected.get("alerts") or []]
        if got_alerts != want_alerts:
            def said(alerts):
                return "；".join(_("%(kind)s after claim %(claim)s (out of pocket %(oop)s, threshold %(threshold)s)") % {
                    "kind": ALERT_NAMES.get(a["kind"], a["kind"]), "claim": a["claim"], "oop": a["out_of_pocket"],
                    "threshold": a["threshold"]} for a in alerts) or _("no alert")
            out.append(Difference(
                name, None, "alerts", said(want_alerts), said(got_alerts),
                _("Worked example %(name)s: the monitoring alerts are %(got)s, expected %(want)s.")
                % {"name": name, "got": said(got_alerts), "want": said(want_alerts)}))
    return out


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


def _services():
    from . import services

    return services


def _claim_label(example_name: str, claim_id, key: str) -> str:
    services = _services()
    return services._recorded(gettext_noop("example %(name)s, claim %(claim)s: %(what)s"), name=example_name,
                              claim=claim_id, what=lambda: labels()[key])


def _expectation_changes(name: str, old: dict | None, new: dict | None) -> list[tuple[str, str, object, object]]:
    """(path, label, old, new) of every expectation that differs."""
    services = _services()
    if old is None or new is None:
        if (old is None) == (new is None):
            return []
        refused = services._recorded(gettext_noop("must be refused"))
        settled = services._recorded(gettext_noop("gives a result"))
        return [(f"examples.{name}.expected", services._recorded(gettext_noop("example %(name)s: expected outcome"), name=name),
                 refused if old is None else settled, refused if new is None else settled)]
    out = []
    old_claims = {c.get("id"): c for c in old.get("claims", [])}
    for claim in new.get("claims", []):
        before = old_claims.get(claim.get("id"), {})
        for key in CLAIM_KEYS:
            if before.get(key) != claim.get(key):
                out.append((f"examples.{name}.claims.{claim.get('id')}.{key}"[:200], _claim_label(name, claim.get("id"), key),
                            before.get(key), claim.get(key)))
    for key in TOTAL_KEYS:
        a, b = (old.get("totals") or {}).get(key), (new.get("totals") or {}).get(key)
        if a != b:
            out.append((f"examples.{name}.totals.{key}", services._recorded(
                gettext_noop("example %(name)s, totals: %(what)s"), name=name, what=lambda k=key: labels()[k]), a, b))
    if (old.get("alerts") or []) != (new.get("alerts") or []):
        out.append((f"examples.{name}.alerts", services._recorded(gettext_noop("example %(name)s: monitoring alerts"), name=name),
                    len(old.get("alerts") or []), len(new.get("alerts") or [])))
    return out


@transaction.atomic
def save_example(*, acting_user, version: PolicyVersion, example: PolicyExample | None = None, name: str,
                 note: str = "", input: dict, expected: dict | None) -> PolicyExample:
    """Add a worked example to a draft, or change one of its examples. Refused (``ChangeRefused``
    naming the field) when it is not valid; every changed expectation is recorded old → new."""
    services = _services()
    version = services._locked(version)
    services._require_admin(acting_user, version.region_id)
    services._require_draft(version)
    name = (name or "").strip()
    item = {"name": name, "note": note or "", "input": input, "expected": expected}
    problems = example_problems(item, "example", version.region_id)
    if problems:
        raise services.ChangeRefused(problems, field="example")
    clash = version.examples.filter(name=name)
    if example is not None:
        if example.version_id != version.pk:
            raise services.ChangeRefused(_("That example is not one of this version's."), field="example")
        clash = clash.exclude(pk=example.pk)
    if clash.exists():
        raise services.ChangeRefused(_("%(name)s is the name of another example of this version.") % {"name": name},
                                     field="name")
    if example is None:
        position = (version.examples.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        example = PolicyExample.objects.create(version=version, name=name, note=note or "", input=input,
                                               expected=expected, position=position)
        services._record(version, ChangeAction.EXAMPLE_ADDED, actor=acting_user, path=f"examples.{name}",
                         label=services._recorded(gettext_noop("worked example %(name)s"), name=name), new=name)
        return example
    example = PolicyExample.objects.select_for_update().get(pk=example.pk)
    old_name, old_note, old_input, old_expected = example.name, example.note, example.input, example.expected
    changes = _expectation_changes(name, old_expected, expected)
    if old_name != name:
        changes.insert(0, (f"examples.{old_name}.name", services._recorded(gettext_noop("name of the worked example")),
                           old_name, name))
    if old_input != input:
        changes.append((f"examples.{name}.input", services._recorded(
            gettext_noop("example %(name)s: the person and claims"), name=name), None, None))
    if old_note != (note or ""):
        changes.append((f"examples.{name}.note", services._recorded(gettext_noop("example %(name)s: clause or note"), name=name),
                        old_note, note or ""))
    if not changes:
        return example
    example.name, example.note, example.input, example.expected = name, note or "", input, expected
    example.save()
    for path, label, old, new in changes:
        services._record(version, ChangeAction.EXAMPLE_CHANGED, actor=acting_user, path=path, label=label, old=old, new=new)
    return example


@transaction.atomic
def remove_example(*, acting_user, example: PolicyExample) -> None:
    services = _services()
    version = services._locked(example.version)
    services._require_admin(acting_user, version.region_id)
    services._require_draft(version)
    services._record(version, ChangeAction.EXAMPLE_REMOVED, actor=acting_user, path=f"examples.{example.name}",
                     label=services._recorded(gettext_noop("worked example %(name)s"), name=example.name), old=example.name)
    example.delete()


def copy_examples(source: PolicyVersion, target: PolicyVersion) -> int:
    """Copy ``source``'s examples to ``target`` (a new draft), their region made the target's."""
    made = []
    for e in source.examples.all():
        payload = dict(e.input)
        payload["region"] = target.region_id
        made.append(PolicyExample(version=target, name=e.name, note=e.note, input=payload, expected=e.expected,
                                  position=e.position))
    PolicyExample.objects.bulk_create(made)
    return len(made)


def import_examples(version: PolicyVersion, items: list[dict] | None) -> int:
    """Store a validated policy file's examples on the new draft ``version``."""
    made = [PolicyExample(version=version, name=item["name"].strip(), note=item.get("note") or "",
                          input=item["input"], expected=item.get("expected"), position=i)
            for i, item in enumerate(items or [])]
    PolicyExample.objects.bulk_create(made)
    return len(made)
