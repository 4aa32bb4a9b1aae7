"""The check that a Chinese page shows no English word or code (issue 14: "one consistent Chinese").

Every page a browser journey loads reports its rendered, visible text (``document.body.innerText``:
hidden elements are left out) through a binding installed on the browser context
(:func:`install`); :func:`english_words` finds the Latin-script words in it that are not on the
allow-list. The allow-list holds what is not English prose nor an internal code: names of formats
and things (PDF, Excel, CSV, ID), the language menu's "English", the user names of the demo users,
numbers and units, and references people type or receive (case numbers, settlement ids, bank
references: upper-case letters with digits).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

#: words that are names, not English: formats, the language menu, units
ALLOWED = {
    "PDF", "Excel", "CSV", "XLSX", "xlsx", "csv", "ID", "English", "API", "OpenAPI", "JSON", "json", "UTF-8",
    "GBK", "GB18030", "BOM", "A4", "kg", "MB", "KB", "HIS", "Ctrl", "IP", "SQLite", "PostgreSQL", "Redis",
}
#: a file's name (a push's file, a policy file): names, not words
FILENAME = re.compile(r"^[\w./-]+\.(?:json|csv|xlsx|xls|md|pdf|txt)$")
#: words allowed on one page only: the claim import page names the national file's ignored columns
PAGE_ALLOWED = {
    "/cases/claims/import/": {"setlinfo", "mdtrt_id", "psn_no", "begndate", "fulamt_ownpay_amt"},
}
#: the demo users' user names (portal.demo), shown where a user is named by login
USERNAME = re.compile(r"^(?:(?:gz|cz|bn|dz|jx|gd)_[a-z0-9]+|admin)$")
#: a reference: upper-case letters and digits with at least one digit (DEMO-GZ01, BANK-2023-0001,
#: a case number, a masked identity number ending in X)
REFERENCE = re.compile(r"^(?=.*\d)[A-Z0-9][A-Z0-9*_\-./]*$")
TOKEN = re.compile(r"[A-Za-z0-9*][A-Za-z0-9_*]*(?:[-./:][A-Za-z0-9_*]+)*")


def english_words(text: str) -> list[str]:
    """The English words and codes in ``text`` (each once, in order of appearance)."""
    found: list[str] = []
    for token in TOKEN.findall(text):
        if not re.search(r"[A-Za-z]", token):
            continue  # a number, a date, a masked number
        if token in ALLOWED or USERNAME.match(token) or REFERENCE.match(token) or FILENAME.match(token):
            continue
        if re.fullmatch(r"[A-Z]", token):
            continue  # a formula's symbol (S = T − B − C)
        if re.fullmatch(r"[\d.,]+[A-Za-z]{1,2}", token) and token[-2:].lower() in {"kb", "mb", "gb", "px", "m"}:
            continue  # a size with its unit
        if token not in found:
            found.append(token)
    return found


@dataclass
class EnglishCheck:
    """What the pages of one journey reported: ``[(address, text)]``, and the problems found."""

    pages: list[tuple[str, str]] = field(default_factory=list)
    allow: set[str] = field(default_factory=set)

    def report(self, source, address: str, text: str) -> None:  # called from the page (a binding)
        self.pages.append((address, text))

    def problems(self) -> list[str]:
        out = []
        for address, text in self.pages:
            page_allowed = PAGE_ALLOWED.get(address.split("?")[0], set())
            words = [w for w in english_words(text) if w not in self.allow and w not in page_allowed]
            if words:
                out.append(f"{address}: {', '.join(words[:20])}")
        return out

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "English words or codes on Chinese pages:\n" + "\n".join(problems)


REPORT_SCRIPT = """
window.addEventListener('load', () => {
  if (document.documentElement.lang && !document.documentElement.lang.startsWith('zh')) return;
  let text = document.body ? document.body.innerText : '';
  // a format's own names (column headers a file may carry, codes a file may use) are shown as code
  // longest first: a code that is part of a longer one (name, psn_name) must not leave a piece of it
  const codes = [...document.querySelectorAll('code, kbd, samp')].map(el => el.innerText.trim()).filter(t => t);
  for (const t of codes.sort((a, b) => b.length - a.length)) text = text.split(t).join(' ');
  window.__portalReportText(location.pathname + location.search, text);
});
"""


def install(context, check: EnglishCheck) -> None:
    """Every page of ``context`` reports its visible text to ``check`` once it has loaded."""
    context.expose_binding("__portalReportText", check.report)
    context.add_init_script(REPORT_SCRIPT)
