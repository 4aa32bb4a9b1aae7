"""The UI speaks Chinese: every translatable string in the code and templates has a zh_Hans
translation in one of the parts' catalogues, and the catalogues compile."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["portal", "cases", "policies", "templates"]


def catalogues():
    return sorted((REPO / "locale").glob("*/zh_Hans/LC_MESSAGES/django.po"))


def test_every_catalogue_is_fully_translated_and_valid():
    assert catalogues(), "no zh_Hans catalogue found under locale/"
    for po_path in catalogues():
        po = polib.pofile(str(po_path))
        untranslated = [e.msgid for e in po.untranslated_entries()]
        fuzzy = [e.msgid for e in po.fuzzy_entries()]
        assert not untranslated, f"{po_path}: untranslated {untranslated[:10]}"
        assert not fuzzy, f"{po_path}: fuzzy {fuzzy[:10]}"
        out = subprocess.run(["msgfmt", "--check-format", "-o", os.devnull, str(po_path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_every_string_in_the_code_has_a_chinese_translation():
    known: set[str] = set()
    for po_path in catalogues():
        known |= {e.msgid for e in polib.pofile(str(po_path)) if e.translated()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SOURCES:
            src = REPO / name
            if src.exists():
                shutil.copytree(src, Path(tmp) / name, ignore=shutil.ignore_patterns("__pycache__", "migrations", "locale"))
        (Path(tmp) / "locale").mkdir()
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(REPO))
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location",
             "--ignore=policies/engine/*", "--ignore=policies/seed/*"],
            cwd=tmp, env=env, check=True, capture_output=True,
        )
        extracted = {e.msgid for e in polib.pofile(str(Path(tmp) / "locale/zh_Hans/LC_MESSAGES/django.po")) if e.msgid}
    missing = sorted(extracted - known)
    assert not missing, f"{len(missing)} strings have no Chinese translation, e.g. {missing[:15]}"
