"""Load the regions' policy documents (``policies/seed/*.json``) as published versions.

Used by the data migration (with historical models) and by ``manage.py seed_demo`` (which also
reloads a seeded version whose seed file changed, as long as nobody has built on it yet).
A seed file is a JSON list of engine documents; values are stored exactly, unset stays null.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent / "seed"


def seed_documents(seed_dir: Path = SEED_DIR) -> list[tuple[str, dict]]:
    """(file name, document) for every document of every seed file, in file order."""
    out = []
    for path in sorted(seed_dir.glob("*.json")):
        docs = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(docs, dict):
            docs = [docs]
        out.extend((path.name, doc) for doc in docs)
    return out


def _date(value):
    return datetime.date.fromisoformat(value) if value else None


def load_seeds(PolicyVersion, PolicyChange, *, reload_unchanged: bool = False,
               PolicyExample=None) -> tuple[int, int]:
    """Create the published version of each seed document that is not there yet (keyed by region,
    document number and in-force date). With ``reload_unchanged``, a seeded version whose document
    differs from its seed file is refreshed when no draft was started from it and it was never
    changed in the portal. With ``PolicyExample``, a version created gets its region's public worked
    examples (``seed_examples``). Returns (created, reloaded)."""
    created = reloaded = 0
    for filename, doc in seed_documents():
        key = dict(region_id=doc["region"], document_number=doc["document"], in_force_from=_date(doc["in_force_from"]))
        fields = dict(
            title=doc["title"],
            framework=bool(doc.get("framework")),
            in_force_to=_date(doc.get("in_force_to")),
            retroactive_from=_date(doc.get("retroactive_from")),
            document=doc,
        )
        existing = PolicyVersion.objects.filter(status="published", **key).first()
        if existing is None:
            if PolicyVersion.objects.filter(**key).exists():
                continue  # superseded or withdrawn in the portal: leave it be
            version = PolicyVersion.objects.create(status="published", **key, **fields)
            PolicyChange.objects.create(
                region_id=version.region_id, version=version, action="seeded",
                note=f"policies/seed/{filename}",
            )
            if PolicyExample is not None:
                seed_examples(PolicyVersion, PolicyExample, versions=[version])
            created += 1
            continue
        if not reload_unchanged or existing.document == doc:
            continue
        touched = existing.changes.exclude(action="seeded").exists() or existing.derived.exists()
        if touched:
            continue
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        PolicyChange.objects.create(
            region_id=existing.region_id, version=existing, action="seeded",
            note=f"policies/seed/{filename} (reloaded)",
        )
        reloaded += 1
    return created, reloaded


TEXT_DIR = SEED_DIR / "texts"


def load_texts(PolicyText, seed_dir: Path = SEED_DIR) -> int:
    """The full text of each seed document (``policies/seed/texts/<region>.txt``, as published in
    shared/seeds) for every document of that region's seed file that has none yet. Returns how
    many were added."""
    added = 0
    for _filename, doc in seed_documents(seed_dir):
        path = seed_dir / "texts" / f"{doc['region']}.txt"
        if not path.exists():
            continue
        if PolicyText.objects.filter(region_id=doc["region"], document_number=doc["document"]).exists():
            continue
        PolicyText.objects.create(region_id=doc["region"], document_number=doc["document"],
                                  text=path.read_text(encoding="utf-8"), source=f"policies/seed/texts/{path.name}")
        added += 1
    return added


# The fictional city of shared/spec/examples/region_449900.md: a test enters it as data; never seeded.
UNSEEDED_EXAMPLE_PREFIX = "region449900_"


def public_examples(folder: Path | None = None) -> list[tuple[str, dict, dict | None]]:
    """(name, input, expected or None = must be refused) of the public worked examples
    (shared/spec/examples), those of the fictional region 449900 left out."""
    if folder is None:
        from django.conf import settings

        folder = settings.SHARED_DIR / "spec" / "examples"
    found = []
    for path in sorted(Path(folder).glob("*.input.json")):
        name = path.name.removesuffix(".input.json")
        if name.startswith(UNSEEDED_EXAMPLE_PREFIX):
            continue
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            expected_path = path.with_name(f"{name}.expected.json")
            expected = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else None
        except (OSError, ValueError):
            continue
        if isinstance(payload, dict) and isinstance(payload.get("region"), str):
            found.append((name, payload, expected))
    return found


def _example_note(name: str) -> str:
    return f"公开算例 shared/spec/examples/{name}"


def seed_examples(PolicyVersion, PolicyExample, *, versions=None, folder: Path | None = None) -> int:
    """Give each version (by default every version) of a region that has public worked examples,
    and carries no example yet, the examples of its region. Returns how many were added."""
    by_region: dict[str, list[tuple[str, dict, dict | None]]] = {}
    for name, payload, expected in public_examples(folder):
        by_region.setdefault(payload["region"], []).append((name, payload, expected))
    if versions is None:
        versions = PolicyVersion.objects.filter(region_id__in=list(by_region))
    added = 0
    for version in versions:
        examples = by_region.get(version.region_id)
        if not examples or PolicyExample.objects.filter(version_id=version.pk).exists():
            continue
        for position, (name, payload, expected) in enumerate(examples):
            PolicyExample.objects.create(version_id=version.pk, name=name, note=_example_note(name), input=payload,
                                         expected=expected, position=position)
            added += 1
    return added
