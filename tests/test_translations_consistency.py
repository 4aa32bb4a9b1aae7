"""One consistent Chinese across the parts' catalogues.

Django merges the catalogues of LOCALE_PATHS and the first one holding a msgid wins, so a msgid
translated two ways in two parts shows one part's wording on the other part's pages (a declined
identity confirmation read 不予救助, the cases word for a refused application). Where the English
word means two things it carries a ``pgettext`` context; otherwise every catalogue says it the same
way."""
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib
import pytest
from django.utils import translation

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["portal", "cases", "policies", "templates"]


def catalogues():
    return sorted((REPO / "locale").glob("*/zh_Hans/LC_MESSAGES/django.po"))


def translations():
    """(context, msgid) → {part: msgstr} over every catalogue."""
    found = collections.defaultdict(dict)
    for po_path in catalogues():
        part = po_path.parents[2].name
        for entry in polib.pofile(str(po_path)):
            if entry.obsolete or not entry.msgid:
                continue
            text = entry.msgstr or (entry.msgstr_plural.get(0) or "" if entry.msgstr_plural else "")
            found[(entry.msgctxt, entry.msgid)][part] = text
    return found


def test_no_msgid_is_translated_two_ways_without_a_context():
    clashes = {
        (ctxt, msgid): by_part for (ctxt, msgid), by_part in translations().items()
        if len(set(by_part.values())) > 1
    }
    report = "\n".join(
        f"  {msgid!r}{f' (context {ctxt!r})' if ctxt else ''}: "
        + ", ".join(f"{part} {text!r}" for part, text in sorted(by_part.items()))
        for (ctxt, msgid), by_part in sorted(clashes.items(), key=lambda kv: (kv[0][1], kv[0][0] or ""))
    )
    assert not clashes, (
        f"{len(clashes)} msgids are translated differently in different catalogues; the first catalogue in "
        f"LOCALE_PATHS wins, so one part shows another's wording. Use one translation, or a pgettext "
        f"context where the meanings differ:\n{report}"
    )


def test_every_string_with_a_context_has_its_translation():
    """pgettext / {% trans … context … %} strings are looked up by (context, msgid): a catalogue
    holding only the plain msgid does not translate them."""
    known = {key for key, by_part in translations().items() if any(by_part.values())}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SOURCES:
            src = REPO / name
            if src.exists():
                shutil.copytree(src, Path(tmp) / name,
                                ignore=shutil.ignore_patterns("__pycache__", "migrations", "locale"))
        (Path(tmp) / "locale").mkdir()
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings", PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location",
             "--ignore=policies/engine/*", "--ignore=policies/seed/*"],
                       cwd=tmp, env=env, check=True, capture_output=True)
        extracted = {(e.msgctxt, e.msgid) for e in polib.pofile(str(Path(tmp) / "locale/zh_Hans/LC_MESSAGES/django.po"))
                     if e.msgid and e.msgctxt}
    missing = sorted(extracted - known, key=lambda k: (k[1], k[0]))
    assert not missing, f"{len(missing)} strings with a context have no Chinese translation: {missing[:15]}"


@pytest.mark.parametrize("label, chinese", [
    ("exchange_confirmation_rejected", "不予确认"),
    ("application_rejected", "不予救助"),
    ("batch_open", "未完成"),
    ("batch_closed", "已完成"),
    ("identity_change_closed", "退出"),
    ("region_name_field", "名称"),
    ("person_name_field", "姓名"),
])
def test_words_with_two_meanings_read_right_where_they_are_shown(label, chinese):
    from cases.exchange.models import ChangeAction, ConfirmationStatus
    from cases.models import ApplicationState, BatchStatus, Person
    from portal.regions.models import Region

    shown = {
        "exchange_confirmation_rejected": lambda: ConfirmationStatus.REJECTED.label,
        "application_rejected": lambda: ApplicationState.REJECTED.label,
        "batch_open": lambda: BatchStatus.OPEN.label,
        "batch_closed": lambda: BatchStatus.CLOSED.label,
        "identity_change_closed": lambda: ChangeAction.CLOSED.label,
        "region_name_field": lambda: Region._meta.get_field("name").verbose_name,
        "person_name_field": lambda: Person._meta.get_field("name").verbose_name,
    }[label]
    with translation.override("zh-hans"):
        assert str(shown()) == chinese
