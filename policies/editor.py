"""The policy editor: a version's document as a tree of Chinese labels, words and inputs, built
from the engine's schema (``policies.engine.schema.SCHEMA``), so that it follows the schema as
it grows — a new group, list or leaf appears here with no change.

- ``tree(doc, …)`` walks the schema beside the document: groups, lists (whose items can be added
  and removed), leaves (value shown in words, its clause and the clause's text when the document's
  full text is on file, the inputs to change it).
- ``read_value(kind, choices, data)`` turns what the leaf's inputs sent into the document's value.
- ``blank_document(…)`` and ``blank_item(spec)`` are a new version and a new list entry with every
  required parameter present and unset.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import display
from .engine import schema
from .engine.constants import STATISTIC_NAMES

ORDERED_KEYS = {"precedence"}  # lists whose order means something: typed as words, in order


# ---------------------------------------------------------------------------------------------
# Names of codes, including the ones a document defines itself
# ---------------------------------------------------------------------------------------------


def region_category_names(doc: dict | None) -> dict[str, str]:
    """Categories a document adds itself (``categories.regional``: each entry's ``name`` is the
    code, its ``label`` the Chinese name), code → name."""
    out: dict[str, str] = {}
    cats = ((doc or {}).get("parameters") or {}).get("categories")
    if not isinstance(cats, dict):
        return out
    for item in cats.get("regional") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out[item["name"]] = item.get("label") if isinstance(item.get("label"), str) and item.get("label") else item["name"]
    return out


def names_for(kind: str, doc: dict | None) -> dict:
    names = dict(display._list_names(kind)) if kind.startswith("list:") else {}
    if kind == "list:categories":
        names.update(region_category_names(doc))
    return names


def choices_for(path: str, doc: dict | None) -> tuple:
    kind = display.kind_of(path)
    choices = tuple(display.choices_of(path))
    if kind == "list:categories":
        extra = tuple(c for c in region_category_names(doc) if c not in choices)
        choices = choices + extra
    return choices


# ---------------------------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------------------------


@dataclass
class Node:
    kind: str                      # group | list | item | leaf
    path: str
    label: str
    children: list[Node] = field(default_factory=list)
    # leaf
    value: Any = None
    value_kind: str = ""
    shown: str = ""
    clause: str | None = None
    clause_text: str | None = None
    note: str | None = None
    required: bool = True
    widget: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # group: optional leaves that are absent and can be added, (key, label)
    addable: list[tuple[str, str]] = field(default_factory=list)
    # list item
    name: str = ""
    item_label: str = ""
    item_strings: list[tuple[str, str, str]] = field(default_factory=list)   # (key, label, value)
    depth: int = 0

    @property
    def is_leaf(self) -> bool:
        return self.kind == "leaf"

    @property
    def unset(self) -> bool:
        return self.kind == "leaf" and self.value is None

    @property
    def dom_id(self) -> str:
        return dom_id(self.path)


def dom_id(path: str) -> str:
    """The page anchor of a parameter, entry or list (``p-assistance-routes-2-ratio``)."""
    return "p-" + re.sub(r"[^a-zA-Z0-9]+", "-", path).strip("-")


STRING_LABELS = {"name": "代号（英文小写，唯一）", "label": "名称"}
#: lists whose entries' code (``name``) is typed by the admin: a region's own category is named by
#: its code in the settlement input and pushes. Other entries (routes, rules) get a code of their own.
NAMED_LISTS = {"categories.regional"}


# ---------------------------------------------------------------------------------------------
# Deductibles and thresholds: the kinds that mean something for each parameter
# ---------------------------------------------------------------------------------------------

QUANTITY_MODES = ("none", "amount", "by_level", "fraction", "announced")
QUANTITY_MODE_NAMES = {
    "none": gettext_lazy("none (not applied)"),
    "amount": gettext_lazy("an amount"),
    "by_level": gettext_lazy("an amount per hospital level"),
    "fraction": gettext_lazy("a share of a statistic"),
    "announced": gettext_lazy("the amount announced each year"),
}


def _generic(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


def is_route_deductible(path: str) -> bool:
    return _generic(path) == "assistance.routes[].deductible"


def quantity_modes(path: str) -> tuple[str, ...]:
    """The kinds of amount a deductible or threshold can be, for this parameter: per hospital level
    only where a claim's hospital level reaches it (assistance deductibles, tilted thresholds),
    announced yearly amounts for deductibles and thresholds, never for a monitoring threshold
    (a figure × share), and no "none" for 大病保险's deductible or a monitoring threshold."""
    g = _generic(path)
    if g == "assistance.routes[].deductible" or g in ("tilted.threshold", "tilted_rules[].threshold"):
        return QUANTITY_MODES
    if g == "critical.deductible":
        return ("amount", "fraction", "announced")
    if g.startswith("monitoring."):
        return ("amount", "fraction")
    return QUANTITY_MODES


#: the announced amounts a parameter may read, by purpose (a name per category it covers)
ANNOUNCED_PREFIX = {
    "assistance.routes[].deductible": "annual_deductible",
    "tilted.threshold": "tilted_threshold",
    "tilted_rules[].threshold": "tilted_threshold",
}
ANNOUNCED_WORDS = {
    "annual_deductible": gettext_lazy("annual deductible of %(category)s"),
    "tilted_threshold": gettext_lazy("tilted-assistance threshold of %(category)s"),
}


def _used_announced(doc: dict | None) -> list[str]:
    out: list[str] = []

    def visit(node):
        if isinstance(node, dict):
            v = node.get("value") if "value" in node else None
            if isinstance(v, dict) and isinstance(v.get("announced"), str) and v["announced"] not in out:
                out.append(v["announced"])
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit((doc or {}).get("parameters"))
    return out


def announced_choices(path: str, doc: dict | None, figures=(), item: dict | None = None) -> list[str]:
    """Names of announced yearly amounts this parameter may read: one per category it covers (its
    entry's categories, else the recipients), the ones this document already uses and the ones
    the region has entered (``figures``)."""
    g = _generic(path)
    out: list[str] = []
    if g in ANNOUNCED_PREFIX:
        prefix = ANNOUNCED_PREFIX[g]
        cats = (item or {}).get("categories") if isinstance(item, dict) else None
        cats = cats.get("value") if isinstance(cats, dict) else None
        if not cats:
            recipients = (((doc or {}).get("parameters") or {}).get("categories") or {}).get("recipients")
            cats = recipients.get("value") if isinstance(recipients, dict) else None
        for c in cats or ():
            if isinstance(c, str):
                out.append(f"{prefix}_{c}")
    elif g == "critical.deductible":
        out.append("critical_deductible")
    for name in [*_used_announced(doc), *figures]:
        if name not in out and name not in STATISTIC_NAMES:
            out.append(name)
    return out


def figure_words(name: str, doc: dict | None) -> str:
    """An announced amount's or statistic's name in words, with the document's own category names."""
    names = names_for("list:categories", doc)
    for prefix, words in ANNOUNCED_WORDS.items():
        if name.startswith(prefix + "_") and name[len(prefix) + 1:] in names:
            return str(words) % {"category": names[name[len(prefix) + 1:]]}
    if name == "critical_deductible":
        return str(gettext_lazy("critical-illness insurance deductible"))
    return display.figure_name(name)


def _years_back_words(n: int) -> str:
    return {1: _("the previous year"), 2: _("the year before that"), 3: _("three years back")}.get(
        n, _("%(n)s year(s) back") % {"n": n})


def ADJUSTMENT_PLACES() -> list[tuple[str, str]]:  # noqa: N802 - translated when called
    """Where a ratio adjustment applies, in words: a hospital level or a place of treatment."""
    return ([(f"level:{lvl}", _("at %(level)s hospitals") % {"level": name}) for lvl, name in display.LEVEL_NAMES.items()]
            + [(f"location:{loc}", _("treated %(where)s") % {"where": name}) for loc, name in display.LOCATION_NAMES.items()])


def _leaf_widget(path: str, kind: str, value: Any, doc: dict | None, key: str, ctx: dict | None = None) -> dict:
    """What the template needs to draw the inputs of one leaf (``ctx``: the entry the leaf belongs
    to, the recipients, the region's announced figures)."""
    ctx = ctx or {}
    w: dict[str, Any] = {"type": "text", "text": display.as_input(value, kind)}
    if kind == "bool":
        w = {"type": "select", "options": [("", _("unset")), ("true", _("yes")), ("false", _("no"))],
             "selected": "" if value is None else ("true" if value else "false")}
    elif kind == "enum":
        w = {"type": "select", "options": [("", _("unset"))] + [(c, display.ENUM_NAMES.get(c, c)) for c in choices_for(path, doc)],
             "selected": "" if value is None else str(value)}
    elif kind == "level_or_none":
        w = {"type": "select", "options": [("", _("unset")), ("none", _("no minimum"))]
             + [(str(lvl), _("%(level)s hospital") % {"level": display.LEVEL_NAMES[lvl]}) for lvl in (1, 2, 3)],
             "selected": "" if value is None else str(value)}
    elif kind == "list:categories" and key in ORDERED_KEYS:
        names = names_for(kind, doc)
        offered = [c for c in (ctx.get("recipients") or choices_for(path, doc))]
        offered += [c for c in (value or []) if c not in offered]
        w = {"type": "order", "rows": [str(v) for v in (value or [])] + [""],
             "options": [(str(c), str(names.get(c, c))) for c in offered], "is_set": value is not None}
    elif kind == "years_back":
        chosen = [int(v) for v in (value or []) if isinstance(v, int)]
        w = {"type": "checks", "options": [(str(n), _years_back_words(n), n in chosen) for n in sorted({1, 2, 3, *chosen})],
             "is_set": value is not None}
    elif kind.startswith("list:") and key not in ORDERED_KEYS:
        names = names_for(kind, doc)
        chosen = [str(v) for v in (value or [])]
        w = {"type": "checks", "options": [(str(c), str(names.get(c, c)), str(c) in chosen) for c in choices_for(path, doc)],
             "is_set": value is not None}
    elif kind.startswith("list:"):
        names = names_for(kind, doc)
        w = {"type": "text", "text": "、".join(str(names.get(v, v)) for v in (value or [])),
             "hint": _("in order, separated by 、: %(names)s") % {"names": "、".join(str(names.get(c, c)) for c in choices_for(path, doc))}}
    elif kind == "amount_or_none":
        w = {"type": "amount_or_none", "mode": "" if value is None else ("none" if value == display.NONE else "amount"),
             "amount": "" if value in (None, display.NONE) else str(value)}
    elif kind == "adjustments":
        rows = []
        for adj in value or []:
            if not isinstance(adj, dict):
                continue
            where = (f"level:{adj['hospital_level']}" if "hospital_level" in adj else f"location:{adj.get('location')}")
            add = decimal_or_none(str(adj.get("add")))
            rows.append((where, "down" if add is not None and add < 0 else "up",
                         "" if add is None else format((abs(add) * 100).normalize(), "f")))
        w = {"type": "adjustments", "rows": rows + [("", "up", "")], "places": ADJUSTMENT_PLACES()}
    elif kind == "floors":
        names = names_for("list:categories", doc)
        cats = tuple(display.choices_of("categories.recipients")) + tuple(
            c for c in region_category_names(doc) if c not in display.choices_of("categories.recipients"))
        rows = []
        for i, floor in enumerate([*(value or []), {}]):
            chosen = [str(c) for c in (floor.get("categories") or [])] if isinstance(floor, dict) else []
            rows.append((i, [(str(c), str(names.get(c, c)), str(c) in chosen) for c in cats],
                         display.percent(floor.get("min")) if isinstance(floor, dict) and floor.get("min") is not None else ""))
        w = {"type": "floors", "rows": rows, "count": len(rows)}
    elif kind == "quantity":
        mode, amount, fraction, stat, announced, levels = "", "", "", "", "", {}
        if value == display.NONE:
            mode = "none"
        elif isinstance(value, dict) and "by_level" in value:
            mode, levels = "by_level", {str(k): str(v) for k, v in (value.get("by_level") or {}).items()}
        elif isinstance(value, dict) and "announced" in value:
            mode, announced = "announced", str(value.get("announced") or "")
        elif isinstance(value, dict) and "fraction" in value:
            mode, fraction, stat = "fraction", display.percent(value.get("fraction")), value.get("statistic", "")
        elif value is not None:
            mode, amount = "amount", str(value)
        stats = dict(STATISTIC_NAMES)
        if stat and stat not in stats:
            stats[stat] = stat
        modes = quantity_modes(path)
        if mode and mode not in modes:
            modes = (*modes, mode)   # a value of another kind (e.g. imported) is still shown as it is
        announced_names = announced_choices(path, doc, ctx.get("figures") or (), ctx.get("item"))
        if announced and announced not in announced_names:
            announced_names = [announced, *announced_names]
        w = {"type": "quantity", "mode": mode, "amount": amount, "fraction": fraction, "statistic": stat,
             "statistics": list(stats.items()), "announced": announced,
             "modes": [(m, str(QUANTITY_MODE_NAMES[m])) for m in modes],
             "announced_options": [(n, figure_words(n, doc)) for n in announced_names],
             "levels": [(str(lvl), display.LEVEL_NAMES[lvl], levels.get(str(lvl), "")) for lvl in (1, 2, 3)]}
        if is_route_deductible(path):
            basis = (ctx.get("item") or {}).get("deductible_basis")
            basis = basis.get("value") if isinstance(basis, dict) else None
            w["basis"] = basis or "annual"
            w["basis_id"] = dom_id(path.rsplit(".", 1)[0] + ".deductible_basis")   # its anchor: chosen here
            w["bases"] = [("annual", display.ENUM_NAMES["annual"]), ("per_claim", display.ENUM_NAMES["per_claim"])]
    elif kind == "segments":
        rows = []
        for seg in value or []:
            up = seg.get("up_to") if isinstance(seg, dict) else None
            rows.append(("" if up == display.NONE else str(up), display.percent(seg.get("ratio")) if isinstance(seg, dict) else ""))
        w = {"type": "segments", "rows": rows + [("", "")]}
    elif kind == "year_amounts":
        rows = sorted((str(y), str(v)) for y, v in (value or {}).items()) if isinstance(value, dict) else []
        w = {"type": "year_amounts", "rows": rows + [("", "")]}
    elif kind == "json":
        w = {"type": "textarea", "text": "" if value is None else display.as_input(value, kind)}
    if kind == "ratio":
        w["suffix"] = "%"
    elif kind in ("amount",):
        w["suffix"] = _("yuan")
    return w


def show_value(value: Any, kind: str, doc: dict | None) -> str:
    """The value in words, with the document's own category names."""
    if kind == "list:categories" and isinstance(value, list):
        names = names_for(kind, doc)
        return "、".join(str(names.get(v, v)) for v in value) if value else _("(none)")
    return display.show(value, kind)


def tree(doc: dict, *, texts: Callable[[str | None], str | None] | None = None,
         errors: dict[str, list[str]] | None = None, figures: tuple[str, ...] = ()) -> list[Node]:
    """The document as editor nodes: one per top-level group of the schema, in schema order
    (``figures``: names of the announced amounts the region has entered)."""
    params = doc.get("parameters") or {}
    errors = errors or {}
    recipients = ((params.get("categories") or {}).get("recipients") or {}) if isinstance(params.get("categories"), dict) else {}
    recipients = recipients.get("value") if isinstance(recipients, dict) else None

    def leaf(path, key, spec, node, depth, parent=None):
        kind = display.kind_of(path)
        value = node.get("value") if isinstance(node, dict) else None
        clause = node.get("clause") if isinstance(node, dict) else None
        ctx = {"item": parent if isinstance(parent, dict) else None, "recipients": recipients, "figures": figures}
        shown = show_value(value, kind, doc)
        if kind == "quantity" and isinstance(value, dict) and "announced" in value:
            shown = _("the amount announced for the claim's year (%(name)s)") % {"name": figure_words(value["announced"], doc)}
        if is_route_deductible(path) and value not in (None, display.NONE) and isinstance(parent, dict):
            basis = parent.get("deductible_basis")
            basis = basis.get("value") if isinstance(basis, dict) else None
            shown = f"{display.ENUM_NAMES.get(basis or 'annual')}：{shown}"
        return Node(kind="leaf", path=path, label=spec.zh if spec else key, value=value, value_kind=kind,
                    shown=shown, clause=clause,
                    clause_text=texts(clause) if texts and clause else None,
                    note=node.get("note") if isinstance(node, dict) else None,
                    required=spec.required if spec else False, widget=_leaf_widget(path, kind, value, doc, key, ctx),
                    errors=errors.get(path, []), depth=depth)

    def group(path, spec, node, depth, label=None):
        out = Node(kind="group", path=path, label=label or spec.zh, depth=depth)
        node = node if isinstance(node, dict) else {}
        for key, child_spec in spec.children.items():
            child_path = f"{path}.{key}" if path else key
            if spec is schema.ROUTE and key == "deductible_basis":
                continue        # chosen with the deductible (annual or per claim)
            if isinstance(child_spec, schema.Leaf):
                if key in node:
                    out.children.append(leaf(child_path, key, child_spec, node[key], depth + 1, node))
                elif not child_spec.required:
                    out.addable.append((key, child_spec.zh))
                else:  # a required leaf the document lacks: shown unset, set like any other
                    out.children.append(leaf(child_path, key, child_spec, {"value": None, "clause": None}, depth + 1, node))
            elif isinstance(child_spec, schema.ListOf):
                items = node.get(key) if isinstance(node.get(key), list) else []
                lst = Node(kind="list", path=child_path, label=child_spec.zh, depth=depth + 1)
                for i, item in enumerate(items):
                    item_path = f"{child_path}[{i}]"
                    label_text = item.get("label") if isinstance(item, dict) and isinstance(item.get("label"), str) else ""
                    inner = group(item_path, child_spec.item, item, depth + 2,
                                  label=label_text or f"{child_spec.zh} {i + 1}")
                    inner.kind = "item"
                    inner.name = item.get("name", "") if isinstance(item, dict) else ""
                    inner.item_label = label_text
                    inner.item_strings = [(k, STRING_LABELS.get(k, k), item.get(k, "") if isinstance(item, dict) else "")
                                          for k in child_spec.item.strings if k != "name" or child_path in NAMED_LISTS]
                    lst.children.append(inner)
                out.children.append(lst)
            elif isinstance(child_spec, schema.Group):
                if key in node or child_spec is not None:
                    out.children.append(group(child_path, child_spec, node.get(key), depth + 1))
        # leaves the schema does not know (kept by the document): shown, not edited
        for key, child in node.items():
            if key not in spec.children and key not in spec.strings and schema.is_leaf(child):
                child_path = f"{path}.{key}" if path else key
                out.children.append(leaf(child_path, key, None, child, depth + 1))
        return out

    nodes = []
    for key, spec in schema.SCHEMA.children.items():
        if isinstance(spec, schema.Group):
            if key not in params:
                nodes.append(Node(kind="absent", path=key, label=spec.zh))
                continue
            nodes.append(group(key, spec, params.get(key), 0))
        elif isinstance(spec, schema.ListOf):
            items = params.get(key) if isinstance(params.get(key), list) else []
            lst = Node(kind="list", path=key, label=spec.zh, depth=0)
            for i, item in enumerate(items):
                label_text = item.get("label") if isinstance(item, dict) and isinstance(item.get("label"), str) else ""
                inner = group(f"{key}[{i}]", spec.item, item, 1, label=label_text or f"{spec.zh} {i + 1}")
                inner.kind = "item"
                inner.name = item.get("name", "") if isinstance(item, dict) else ""
                inner.item_label = label_text
                inner.item_strings = [(k, STRING_LABELS.get(k, k), item.get(k, "") if isinstance(item, dict) else "")
                                      for k in spec.item.strings if k != "name" or key in NAMED_LISTS]
                lst.children.append(inner)
            nodes.append(lst)
        elif isinstance(spec, schema.Leaf) and key in params:
            nodes.append(leaf(key, key, spec, params[key], 0))
    _name_words(nodes)
    return nodes


def _name_words(nodes: list[Node]) -> None:
    """A name shared by entries (a cap pool) is shown as the entries that share it, not as its code."""
    stack = list(nodes)
    while stack:
        n = stack.pop()
        stack.extend(n.children)
        if n.kind != "list":
            continue
        sharing: dict[tuple[str, str], list[str]] = {}
        for item in n.children:
            for child in item.children:
                if child.kind == "leaf" and child.value_kind == "name" and isinstance(child.value, str):
                    key = child.path.rsplit(".", 1)[-1]
                    sharing.setdefault((key, child.value), []).append(item.label)
        for item in n.children:
            for child in item.children:
                if child.kind != "leaf" or child.value_kind != "name":
                    continue
                key = child.path.rsplit(".", 1)[-1]
                others = ([label for label in sharing[(key, child.value)] if label != item.label]
                          if isinstance(child.value, str) else [])
                if isinstance(child.value, str):
                    child.shown = (_("shared with: %(entries)s") % {"entries": "、".join(others)}) if others else _("this entry's own")
                # chosen in words: this entry's own, or shared with the entries of another pool
                options = [("", _("unset"))] if child.value is None else []
                taken = {name for (k, name) in sharing if k == key}
                if isinstance(child.value, str):
                    options.append((child.value, str(child.shown)))
                if child.value is None or others:
                    own = item.name if item.name and re.fullmatch(r"[a-z][a-z0-9_]*", item.name) else "pool"
                    candidate, i = own, 2
                    while candidate in taken:
                        candidate, i = f"{own}_{i}", i + 1
                    options.append((candidate, _("this entry's own")))
                for (k, name), labels in sharing.items():
                    if k == key and name != child.value:
                        options.append((name, _("shared with: %(entries)s") % {"entries": "、".join(labels)}))
                child.widget = {"type": "select", "options": options, "selected": child.value or ""}


def count_leaves(nodes: list[Node]) -> tuple[int, int]:
    total = unset = 0
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if n.kind == "leaf":
            total += 1
            unset += n.value is None
        stack.extend(n.children)
    return total, unset


# ---------------------------------------------------------------------------------------------
# Blank documents and items
# ---------------------------------------------------------------------------------------------


def _blank(spec) -> Any:
    if isinstance(spec, schema.Leaf):
        return {"value": None, "clause": None}
    if isinstance(spec, schema.ListOf):
        return []
    out = {}
    for key, child in spec.children.items():
        if isinstance(child, schema.Leaf) and not child.required:
            continue
        out[key] = _blank(child)
    return out


def blank_item(spec: schema.ListOf, existing: list) -> dict:
    """A new entry of a list: every required parameter unset, a fresh name and a label."""
    item = _blank(spec.item)
    names = {it.get("name") for it in existing if isinstance(it, dict)}
    n = len(existing) + 1
    while f"item{n}" in names:
        n += 1
    if "name" in spec.item.strings:
        item = {"name": f"item{n}", **item}
    if "label" in spec.item.strings:
        item = {**({"name": item.pop("name")} if "name" in item else {}), "label": f"{spec.zh}{n}", **item}
    return item


def blank_parameters() -> dict:
    """Parameters of a blank version: every group with its required parameters unset, lists empty."""
    params = _blank(schema.SCHEMA)
    params.pop("framework_rules", None)
    return params


def city_parameters_from_framework(framework_doc: dict) -> dict:
    """A city's parameters started from its province's framework: the framework's numbers and
    clauses, without the rules only a framework states; required parameters it lacks are added unset."""
    params = copy.deepcopy(framework_doc.get("parameters") or {})
    params.pop("framework_rules", None)
    number = framework_doc.get("document") or ""

    def cite(node):  # the framework's clauses name the framework's document
        if isinstance(node, dict):
            if schema.is_leaf(node) and isinstance(node.get("clause"), str) and number and not node["clause"].startswith(number):
                node["clause"] = f"{number} {node['clause']}"
            for v in node.values():
                cite(v)
        elif isinstance(node, list):
            for v in node:
                cite(v)

    cite(params)

    def fill(node, spec):
        for key, child in spec.children.items():
            if key not in node:
                if isinstance(child, schema.Leaf) and not child.required:
                    continue
                node[key] = _blank(child)
            elif isinstance(child, schema.Group) and isinstance(node[key], dict):
                fill(node[key], child)

    fill(params, schema.SCHEMA)
    params.pop("framework_rules", None)
    return params


spec_at = display.spec_at


# ---------------------------------------------------------------------------------------------
# Reading what a leaf's inputs sent
# ---------------------------------------------------------------------------------------------


def _amount(text: str) -> str:
    return display.parse(text, "amount")


def read_value(path: str, doc: dict | None, data) -> Any:
    """The document value from a leaf's inputs (``data`` a QueryDict or dict of lists/strings).
    Raises ValueError with the reason in words."""
    kind = display.kind_of(path)
    choices = choices_for(path, doc)

    def get(name, default=""):
        v = data.get(name, default)
        return v if isinstance(v, str) else (v[0] if v else default)

    def getlist(name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        v = data.get(name, [])
        return v if isinstance(v, list) else [v]

    if kind.startswith("list:") and "ordered" in data:
        names = names_for(kind, doc)
        picked = [v for v in getlist("items") if v]
        if get("unset") == "1" and not picked:
            return None
        by_code = {str(c): c for c in choices}
        out = []
        for v in picked:
            if v not in by_code:
                raise ValueError(_("unknown entry %(token)s") % {"token": v})
            if by_code[v] in out:
                raise ValueError(_("%(entry)s is listed twice") % {"entry": names.get(by_code[v], v)})
            out.append(by_code[v])
        return out
    if kind == "years_back" and "checks" in data:
        picked = sorted({int(v) for v in getlist("items") if str(v).isdigit()})
        if get("unset") == "1" and not picked:
            return None
        if not picked:
            raise ValueError(_("choose at least the previous year"))
        return picked
    if kind == "name" and "selected" in data:
        v = get("selected")
        if v == "":
            return None
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError(_("choose one of the listed entries"))
        return v
    if kind == "adjustments" and "adj_where" in data:
        out = []
        for where, direction, points in zip(getlist("adj_where"), getlist("adj_dir"), getlist("adj_points")):
            if not where and not points.strip():
                continue
            if not where:
                raise ValueError(_("choose where each adjustment applies"))
            if not points.strip():
                raise ValueError(_("enter the percentage points of each adjustment"))
            number = display._number(points.replace("%", "").replace("个百分点", ""), _("a number of percentage points"))
            if number < 0 or number > 100:
                raise ValueError(_("%(text)s percentage points is not between 0 and 100") % {"text": points})
            add = (number / 100).normalize()
            if direction == "down":
                add = -add
            text = format(add, "f")
            on, _sep, what = where.partition(":")
            if on == "level" and what in ("1", "2", "3"):
                out.append({"hospital_level": int(what), "add": text})
            elif on == "location" and what in display.LOCATION_NAMES:
                out.append({"location": what, "add": text})
            else:
                raise ValueError(_("choose where each adjustment applies"))
        return out
    if kind == "floors" and "floors" in data:
        count = int(get("floors")) if get("floors").isdigit() else 0
        known = {str(c): c for c in (*display.choices_of("categories.recipients"), *region_category_names(doc))}
        out = []
        for i in range(min(count, 50)):
            cats = [known[c] for c in getlist(f"floor{i}") if c in known]
            lo = get(f"floor{i}_min").strip()
            if not cats and not lo:
                continue
            if not cats:
                raise ValueError(_("choose the categories of each floor"))
            if not lo:
                raise ValueError(_("enter the lowest ratio of each floor, e.g. 70%"))
            out.append({"categories": cats, "min": display.parse(lo, "ratio")})
        return out
    if kind.startswith("list:") and path.rsplit(".", 1)[-1] not in ORDERED_KEYS and "text" not in data:
        picked = getlist("items")
        if get("unset") == "1" and not picked:
            return None
        out = []
        for c in choices:
            if str(c) in picked:
                out.append(c)
        return out
    if kind == "amount_or_none" and "mode" in data:
        mode = get("mode")
        if mode == "":
            return None
        if mode == "none":
            return display.NONE
        amount = _amount(get("amount"))
        if amount is None:
            raise ValueError(_("enter the amount"))
        return amount
    if kind == "quantity" and "mode" in data:
        mode = get("mode")
        if mode == "":
            return None
        if mode not in quantity_modes(path) and not _current_mode_is(doc, path, mode):
            raise ValueError(_("this kind of amount does not apply here; choose one of %(kinds)s") % {
                "kinds": "、".join(str(QUANTITY_MODE_NAMES[m]) for m in quantity_modes(path))})
        if mode == "none":
            return display.NONE
        if mode == "by_level":
            levels = {}
            for lvl in ("1", "2", "3"):
                text = get(f"level{lvl}")
                if text.strip():
                    levels[lvl] = _amount(text)
            if not levels:
                raise ValueError(_("enter the amount of each hospital level"))
            return {"by_level": levels}
        if mode == "announced":
            name = get("announced").strip()
            if not name:
                raise ValueError(_("choose the announced amount"))
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(_("choose one of the listed announced amounts"))
            return {"announced": name}
        if mode == "fraction":
            stat = get("statistic")
            if not stat:
                raise ValueError(_("choose the statistic"))
            fraction = display.parse(get("fraction"), "ratio")
            if fraction is None:
                raise ValueError(_("enter the share, e.g. 10%"))
            return {"fraction": fraction, "statistic": stat}
        amount = _amount(get("amount"))
        if amount is None:
            raise ValueError(_("enter the amount"))
        return amount
    if kind == "segments" and "up_to" in data:
        ups, ratios = getlist("up_to"), getlist("ratio")
        segments = []
        for up, ratio in zip(ups, ratios):
            if not up.strip() and not ratio.strip():
                continue
            if not ratio.strip():
                raise ValueError(_("each segment needs its ratio"))
            bound = display.NONE if not up.strip() or up.strip().lower() in display.NONE_WORDS | {"以上", "above"} else _amount(up)
            segments.append({"up_to": bound, "ratio": display.parse(ratio, "ratio")})
        return segments or None
    if kind == "year_amounts" and "year" in data:
        out = {}
        for year, amount in zip(getlist("year"), getlist("amount")):
            if not year.strip() and not amount.strip():
                continue
            if not re.fullmatch(r"\d{4}", year.strip()):
                raise ValueError(_("%(text)s is not a year") % {"text": year})
            out[year.strip()] = _amount(amount)
        return out or None
    if kind == "level_or_none" and "selected" in data:
        v = get("selected")
        return None if v == "" else (display.NONE if v == "none" else int(v))
    if kind in ("bool", "enum") and "selected" in data:
        v = get("selected")
        if v == "":
            return None
        return display.parse(v, kind, choices)
    text = get("text")
    if kind.startswith("list:"):
        names = names_for(kind, doc)
        by_name = {str(v): k for k, v in names.items()}
        raw = text.strip()
        if not raw:
            return None
        tokens = [t.strip() for t in re.split(r"[,，、;；>＞\s]+", raw) if t.strip()]
        out = []
        for t in tokens:
            if t in by_name:
                out.append(by_name[t])
            elif t in {str(c) for c in choices}:
                out.append(next(c for c in choices if str(c) == t))
            else:
                raise ValueError(_("unknown entry %(token)s; use one of %(known)s") % {
                    "token": t, "known": "、".join(str(names.get(c, c)) for c in choices)})
        return out
    return display.parse(text, kind, tuple(choices))


def _current_mode_is(doc: dict | None, path: str, mode: str) -> bool:
    """Is the parameter's saved value of this kind (kept even where it is not offered for new values)?"""
    try:
        value = schema.get_parameter(doc or {}, path)
    except KeyError:
        return False
    if value == display.NONE:
        return mode == "none"
    if isinstance(value, dict):
        return mode in value or (mode == "fraction" and "statistic" in value)
    return mode == "amount" and value is not None


def decimal_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError):
        return None


def keep_typed(widget: dict, data) -> dict:
    """The widget showing what was sent (a refused change keeps what the admin typed and chose)."""
    out = dict(widget)
    for key in ("mode", "amount", "fraction", "statistic", "text", "selected", "announced", "basis"):
        if key in data:
            out[key] = data.get(key)
    getlist = data.getlist if hasattr(data, "getlist") else (lambda k: data.get(k) if isinstance(data.get(k), list) else [data.get(k)])
    if out.get("type") == "adjustments" and "adj_where" in data:
        rows = [(w, d, p) for w, d, p in zip(getlist("adj_where"), getlist("adj_dir"), getlist("adj_points")) if w or p.strip()]
        out["rows"] = rows + [("", "up", "")]
    if out.get("type") == "floors" and "floors" in data:
        out["rows"] = [(i, [(v, label, v in getlist(f"floor{i}")) for v, label, _on in options], data.get(f"floor{i}_min", lo))
                       for i, options, lo in out["rows"]]
    if out.get("type") == "order" and "ordered" in data:
        out["rows"] = [v for v in getlist("items") if v] + [""]
    if "levels" in out:
        out["levels"] = [(lvl, name, data.get(f"level{lvl}", amount)) for lvl, name, amount in out["levels"]]
    return out
