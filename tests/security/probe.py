"""What the matrix does with a response and with the database: read the text a user would see (HTML,
JSON, CSV or the cells of an Excel file), find the other region's identifying strings in it, read
the forms of a page to post them back, and fingerprint the other region's rows before and after an
unsafe request."""
from __future__ import annotations

import html
import io
import json
import re
import zipfile
from html.parser import HTMLParser

from django.apps import apps

from .discovery import PORTAL_APPS
from .world import region_path

ID_NUMBER = re.compile(r"(?<![0-9])[1-8][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                       r"[0-9]{3}[0-9Xx](?![0-9])")
XLSX = "spreadsheetml"


def content_bytes(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def body_text(response) -> str:
    """Everything the response shows, as text (Excel: every cell string; JSON: unescaped)."""
    raw = content_bytes(response)
    ctype = response.get("Content-Type", "") or ""
    if XLSX in ctype or raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                parts = [z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")]
            return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(parts)))
        except zipfile.BadZipFile:
            pass
    text = raw.decode("utf-8", "replace").lstrip("\ufeff")
    if "json" in ctype:
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return html.unescape(text)


def leaked(text: str, secrets, *, allowed=()) -> list[str]:
    allowed = set(allowed)
    return sorted(s for s in secrets if s and s not in allowed and s in text)


def spreadsheet_cells(response) -> list[str]:
    """The text cells of a CSV or .xlsx download (for the formula-injection checks)."""
    import csv

    raw = content_bytes(response)
    ctype = response.get("Content-Type", "") or ""
    if XLSX in ctype or raw[:2] == b"PK":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(raw), read_only=True)
        return [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    text = raw.decode("utf-8-sig", "replace")
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


# --- forms --------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action") or "",
                          "fields": [], "submits": [], "enctype": a.get("enctype") or ""}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            name = a.get("name")
            if kind in ("submit", "image"):
                if name:
                    self._form["submits"].append((name, a.get("value") or ""))
                return
            if not name or kind == "button" or kind == "reset":
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                if kind == "radio":
                    self._form["fields"].append((name, a.get("value") or "on", kind, "radio-unchecked"))
                return
            if kind == "text" and (a.get("inputmode") in ("decimal", "numeric") or "money" in (a.get("class") or "")):
                kind = "number"  # money and counts typed as text
            self._form["fields"].append((name, a.get("value") or "", kind, "required" if "required" in a else ""))
        elif tag == "button":
            if (a.get("type") or "submit").lower() == "submit" and a.get("name"):
                self._form["submits"].append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "options": [], "selected": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value")
            self._select["options"].append(value or "")
            if "selected" in a:
                self._select["selected"] = value or ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            s = self._select
            value = s["selected"] if s["selected"] is not None else next((o for o in s["options"] if o), "")
            self._form["fields"].append((s["name"], value, "select", ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append((self._textarea[0], self._textarea[1], "textarea", ""))
            self._textarea = None


def post_forms(page_html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page_html)
    forms = []
    for f in parser.forms:
        if f["method"] != "post":
            continue
        checked = {name for name, _v, kind, flag in f["fields"] if kind == "radio" and flag != "radio-unchecked"}
        fields = []
        for name, value, kind, flag in f["fields"]:
            if flag == "radio-unchecked":
                if name in checked:
                    continue
                checked.add(name)
            fields.append((name, value, kind))
        forms.append({"action": f["action"], "fields": fields, "submits": f["submits"],
                      "multipart": "multipart" in f["enctype"]})
    return forms


FILLER = {"date": "2023-06-01", "number": "100.00", "email": "x@example.com", "tel": "13800000000", "month": "2023-06",
          "password": "Wrong-pass-2026"}


def form_payloads(form: dict, substitute=None) -> list[dict]:
    """One payload per submit button (or one if none), every empty field filled with something
    plausible; ``substitute(name, value) -> value`` may point fields at the other region."""
    data: dict[str, list[str]] = {}
    for name, value, kind in form["fields"]:
        if name == "csrfmiddlewaretoken":
            continue
        if not value and kind not in ("file", "hidden", "checkbox"):
            value = FILLER.get(kind, "安全测试")
        if kind == "file":
            continue
        if substitute is not None:
            value = substitute(name, value)
        data.setdefault(name, []).append(value)
    payloads = []
    for name, value in form["submits"] or [(None, None)]:
        d = {k: (v if len(v) > 1 else v[0]) for k, v in data.items()}
        if name:
            d[name] = value
        payloads.append(d)
    return payloads


# --- the database ----------------------------------------------------------------------------------


def regional_models():
    out = []
    for model in apps.get_models():
        if model._meta.app_label in PORTAL_APPS and region_path(model):
            out.append((model, region_path(model)))
    return out


def snapshot() -> dict:
    """Every row of the portal's regional tables, read with plain SQL (cheap enough per request)."""
    from django.db import connection

    snap = {}
    with connection.cursor() as cursor:
        for model, _path in regional_models():
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")
            # keyed by the primary key, wherever its column is (history events: pgh_id)
            at = [c[0] for c in cursor.description].index(model._meta.pk.column)
            snap[model._meta.label] = {row[at]: row for row in cursor.fetchall()}
    return snap


def changes_in(region: str, before: dict, after: dict) -> list[str]:
    """The rows of ``region`` (city and counties) that a request created, changed or deleted."""
    prefix = region[:4]
    out = []
    for model, path in regional_models():
        label = model._meta.label
        b, a = before.get(label, {}), after.get(label, {})
        if b == a:
            continue
        touched = [k for k in a if b.get(k) != a[k]]
        mine = list(model.objects.filter(pk__in=touched, **{f"{path}__startswith": prefix})
                    .values_list("pk", flat=True)) if touched else []
        gone = [k for k in b if k not in a]
        if mine:
            out.append(f"{label} rows {sorted(mine)} created/changed")
        if gone:
            out.append(f"{label} rows {sorted(gone)} deleted")
    return out
