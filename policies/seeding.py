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


def load_seeds(PolicyVersion, PolicyChange, *, reload_unchanged: bool = False) -> tuple[int, int]:
    """Create the published version of each seed document that is not there yet (keyed by region,
    document number and in-force date). With ``reload_unchanged``, a seeded version whose document
    differs from its seed file is refreshed when no draft was started from it and it was never
    changed in the portal. Returns (created, reloaded)."""
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
