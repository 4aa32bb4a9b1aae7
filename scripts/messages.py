#!/usr/bin/env python
"""Keep a part's Chinese catalogue up to date.

    python scripts/messages.py PART PATH [PATH ...] [!EXCLUDED ...]  # extract msgids from PATHs into locale/PART
    python scripts/messages.py PART --fill translations.json    # set msgstr from {"msgid": "译文"}
    python scripts/messages.py --missing                        # list msgids without a translation (all parts)

PART is a folder under locale/ (portal, cases, policies, exchange, …). Extraction uses Django's
makemessages on the given paths only, so each part's catalogue holds its own strings.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

REPO = Path(__file__).resolve().parent.parent
LANG = "zh_Hans"


def catalogue(part: str) -> Path:
    return REPO / "locale" / part / LANG / "LC_MESSAGES" / "django.po"


def extract(part: str, paths: list[str]) -> None:
    """Run makemessages over a temporary tree holding only ``paths`` (less those given as
    ``!path``, e.g. ``!cases/exchange``) and merge into the part."""
    excluded = [p[1:].rstrip("/") for p in paths if p.startswith("!")]
    paths = [p for p in paths if not p.startswith("!")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for rel in paths:
            src = REPO / rel
            dst = tmp_path / rel
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "migrations", "locale"))
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        (tmp_path / "locale").mkdir()
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(REPO))
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-l", LANG, "--no-location", "--no-obsolete",
             # excluded paths stay in the copy (the packages must still import) but are not scanned
             *[f"--ignore={rel}/*" for rel in excluded]],
            cwd=tmp, env=env, check=True, capture_output=True,
        )
        fresh = polib.pofile(str(tmp_path / "locale" / LANG / "LC_MESSAGES" / "django.po"))
    target = catalogue(part)
    target.parent.mkdir(parents=True, exist_ok=True)
    old = polib.pofile(str(target)) if target.exists() else None
    known = {(e.msgctxt, e.msgid): e for e in old} if old else {}
    for entry in fresh:
        prev = known.get((entry.msgctxt, entry.msgid))
        if prev is not None:
            entry.msgstr = prev.msgstr
            entry.msgstr_plural = prev.msgstr_plural
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    fresh.metadata["Language"] = "zh-Hans"
    fresh.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    fresh.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    fresh.save(str(target))
    print(f"{target.relative_to(REPO)}: {len(fresh)} messages, {len(fresh.untranslated_entries())} untranslated")


def fill(part: str, mapping_file: str) -> None:
    mapping = json.loads(Path(mapping_file).read_text(encoding="utf-8"))
    po = polib.pofile(str(catalogue(part)))
    for entry in po:
        if entry.msgid in mapping:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: mapping[entry.msgid]}
            else:
                entry.msgstr = mapping[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    po.save()
    print(f"{len(po.untranslated_entries())} untranslated left in {part}")


def missing() -> int:
    count = 0
    for po_path in sorted((REPO / "locale").glob(f"*/{LANG}/LC_MESSAGES/django.po")):
        for entry in polib.pofile(str(po_path)).untranslated_entries():
            print(f"{po_path.parent.parent.parent.name}: {entry.msgid!r}")
            count += 1
    return count


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--missing"]:
        sys.exit(1 if missing() else 0)
    if len(args) == 3 and args[1] == "--fill":
        fill(args[0], args[2])
    elif len(args) >= 2:
        extract(args[0], args[1:])
    else:
        print(__doc__)
        sys.exit(2)
