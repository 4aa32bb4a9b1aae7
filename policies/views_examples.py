"""The worked examples of a version, on its page: read on any version, added, changed and removed
on a draft by the region's policy admins — a person's claims as rows with labelled fields and the
result expected per claim, beside what the version gives now (differences marked)."""
from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.web import refusals

from . import engine, examples, inputforms, messages, selectors
from .engine.constants import ALERT_NAMES, CATEGORY_NAMES, KIND_NAMES
from .models import PolicyExample, PolicyVersion, VersionStatus
from .views import _version, policy_staff_required


def _example(version: PolicyVersion, example_pk) -> PolicyExample:
    return get_object_or_404(version.examples, pk=example_pk)


def _editable(request, version: PolicyVersion) -> bool:
    return version.status == VersionStatus.DRAFT and selectors.can_edit(request.user, version)


def current_result(version: PolicyVersion, payload: dict) -> tuple[dict | None, list[str]]:
    """What ``version`` gives for the input now (as if published), or the reasons it refuses."""
    try:
        return examples.settle(version, payload), []
    except engine.EngineError as exc:
        return None, [messages.render(p) for p in exc.problems]


def _comparison(version: PolicyVersion, example_input: dict | None, expected: dict | None):
    """Per claim: expected vs what the version gives now, each field marked when they differ."""
    if not example_input:
        return None
    result, refused = current_result(version, example_input)
    names = dict(CATEGORY_NAMES)
    from .editor import region_category_names

    names.update(region_category_names(version.engine_document()))
    labels = examples.labels()
    rows = []
    if result is not None:
        want = {c.get("id"): c for c in (expected or {}).get("claims", [])}
        for claim in result["claims"]:
            w = want.get(claim["id"], {})
            cells = []
            for key in examples.CLAIM_KEYS:
                got, exp = claim.get(key), w.get(key)

                def shown(v, k=key):
                    return (names.get(v, v) if v else _("none")) if k == "category" else (v or "—")
                cells.append({"label": labels[key], "got": shown(got), "expected": shown(exp) if w else "—",
                              "differs": bool(w) and got != exp})
            rows.append({"id": claim["id"], "policy": claim.get("policy"), "cells": cells})
        alerts = [_("%(kind)s after claim %(claim)s (out of pocket %(oop)s, threshold %(threshold)s)") % {
            "kind": ALERT_NAMES.get(a["kind"], a["kind"]), "claim": a["claim"], "oop": a["out_of_pocket"],
            "threshold": a["threshold"]} for a in result["alerts"]]
    else:
        alerts = []
    return {"rows": rows, "refused": refused, "alerts": alerts, "labels": [labels[k] for k in examples.CLAIM_KEYS],
            "passes": (result is None) == (expected is None) and not any(c["differs"] for r in rows for c in r["cells"])}


def _render(request, version, example, *, meta, inputs, paste, errors=(), status=200):
    return render(request, "policies/example_form.html", {
        "version": version, "example": example, "editable": _editable(request, version),
        "meta": meta, "inputs": inputs, "paste": paste, "errors": list(errors),
        "comparison": _comparison(version, example.input if example else None, example.expected if example else None)
        if example is not None else None,
        "kind_names": KIND_NAMES,
    }, status=status)


@policy_staff_required
def example_form(request, pk, example_pk=None):
    """Add (``example_pk`` None) or change a worked example of a draft; on other versions, read it."""
    version = _version(request, pk)
    example = _example(version, example_pk) if example_pk is not None else None
    editable = _editable(request, version)
    categories = inputforms.category_choices(version.engine_document())
    if request.method != "POST":
        initial = inputforms.initial_from(example.input if example else None, example.expected if example else None)
        meta = inputforms.ExampleForm(initial={"name": example.name, "note": example.note,
                                               "must_be_refused": example.must_be_refused} if example else None)
        inputs = inputforms.build(initial=initial, categories=categories, example=True,
                                  must_be_refused=bool(example and example.must_be_refused),
                                  extra_claims=0 if example and example.input.get("claims") else 2)
        return _render(request, version, example, meta=meta, inputs=inputs, paste=inputforms.PasteForm())
    if not editable:
        raise PermissionDenied(_("Only the region's policy administrators change the worked examples of a draft."))
    meta = inputforms.ExampleForm(request.POST)
    must_be_refused = request.POST.get("must_be_refused") in ("on", "true", "1")
    paste = inputforms.PasteForm(request.POST)
    if "paste" in request.POST:
        # Fill the rows from a pasted settlement input; nothing is saved until the form is saved.
        try:
            payload = inputforms.parse_pasted(request.POST.get("pasted", ""))
        except ValueError as exc:
            paste.add_error("pasted", str(exc))
            inputs = inputforms.build(request.POST, categories=categories, example=True, must_be_refused=must_be_refused)
            return _render(request, version, example, meta=meta, inputs=inputs, paste=paste, status=400)
        inputs = inputforms.build(initial=inputforms.initial_from(payload, example.expected if example else None),
                                  categories=categories, example=True, must_be_refused=must_be_refused)
        flash.info(request, _("The rows were filled from the pasted input. Enter the expected results, then save."))
        meta = inputforms.ExampleForm(initial={"name": request.POST.get("name", ""), "note": request.POST.get("note", ""),
                                               "must_be_refused": must_be_refused})
        return _render(request, version, example, meta=meta, inputs=inputs, paste=inputforms.PasteForm())
    data = request.POST.copy()
    for prefix in ("claim", "ident", "stat", "alert"):
        if f"more_{prefix}" in request.POST:
            key = f"{prefix}-TOTAL_FORMS"
            data[key] = str(int(data.get(key) or 0) + 1) if (data.get(key) or "0").isdigit() else "1"
            inputs = inputforms.build(data, categories=categories, example=True, must_be_refused=must_be_refused)
            return _render(request, version, example, meta=meta, inputs=inputs, paste=paste)
    inputs = inputforms.build(data, categories=categories, example=True, must_be_refused=must_be_refused)
    if not (meta.is_valid() and inputs.is_valid()):
        return _render(request, version, example, meta=meta, inputs=inputs, paste=paste,
                       errors=[_("Not saved: see the fields marked in red.")], status=400)
    payload = inputforms.payload_from(inputs, version.region_id)
    expected = None if must_be_refused else inputforms.expected_from(inputs, payload)
    with refusals() as outcome:
        saved = examples.save_example(acting_user=request.user, version=version, example=example,
                                      name=meta.cleaned_data["name"], note=meta.cleaned_data["note"],
                                      input=payload, expected=expected)
    if not outcome.ok:
        return _render(request, version, example, meta=meta, inputs=inputs, paste=paste, errors=outcome.messages,
                       status=400)
    flash.success(request, _("Worked example %(name)s saved.") % {"name": saved.name})
    return redirect(reverse("policies:example", args=[version.pk, saved.pk]))


@policy_staff_required
@require_POST
def example_remove(request, pk, example_pk):
    version = _version(request, pk)
    if not _editable(request, version):
        raise PermissionDenied(_("Only the region's policy administrators change the worked examples of a draft."))
    example = _example(version, example_pk)
    with refusals(request=request) as outcome:
        examples.remove_example(acting_user=request.user, example=example)
    if outcome.ok:
        flash.success(request, _("Worked example %(name)s removed.") % {"name": example.name})
    return redirect(reverse("policies:version", args=[version.pk]) + "#examples")


def version_examples(version: PolicyVersion) -> list[dict]:
    """The examples listed on the version's page: name, note, claims, and whether they pass now."""
    out = []
    for example in version.examples.all():
        claims = example.input.get("claims") or []
        out.append({"example": example, "claims": len(claims), "note": _note_parts(example.note),
                    "kinds": "、".join(dict.fromkeys(KIND_NAMES.get(c.get("kind"), "") for c in claims if isinstance(c, dict)))})
    return out


def _note_parts(note: str) -> tuple[str, str]:
    """A note's words and the file path it ends with, if any (``公开算例 shared/spec/examples/x``):
    the path is shown as code, a name rather than words."""
    words, _space, last = (note or "").rpartition(" ")
    if "/" in last and last.isascii():
        return words, last
    return note or "", ""
