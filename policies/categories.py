"""The identity categories a region knows: the national list (domain.md) plus the categories its
policy versions define (``categories.regional``: a code, a Chinese name, the department that
recognises it and the names departments use in their pushes — policy-model.md, Categories).

One selector, :func:`categories_for`, says which categories are offered or accepted for a region;
every list, form, push and API check goes through it. A county inherits the categories of its city
(and of its province) and adds its own; a city's pushes also accept the categories that only one
of its counties' versions defines (``below=True``).
"""
from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass

from portal.regions.codes import ancestors, scope_prefix
from portal.roles.domain import CATEGORY_OWNER, Category

from .engine.constants import CATEGORY_NAMES
from .engine.schema import regional_categories

# The names departments use for the national categories in their pushes (besides the code and
# the Chinese name). A region's own category whose push names repeat one of these takes it over.
NATIONAL_PUSH_NAMES: dict[str, tuple[str, ...]] = {
    "tekun": ("特困人员", "特困", "特困供养人员", "特困供养"),
    "orphan": ("孤儿", "事实无人抚养儿童"),
    "dibao": ("低保对象", "低保", "最低生活保障对象", "低保户"),
    "dibao_edge": ("低保边缘家庭成员", "低保边缘", "低保边缘户"),
    "illness_poverty": ("因病致贫重病患者", "因病支出型困难家庭患者", "支出型困难家庭中的重病患者", "支出型困难"),
    "fanpin": ("返贫致贫人口", "返贫致贫"),
    "jiance": ("纳入监测范围的农村易返贫致贫人口", "防止返贫监测对象", "监测对象", "农村易返贫致贫人口"),
    "tuopin": ("脱贫人口", "脱贫户"),
    "veteran_priority": ("退役军人优抚对象", "六类对象", "两类人员", "14类退役士兵"),
    "other_special": ("其他特殊困难人员",),
}


@dataclass(frozen=True)
class CategoryInfo:
    """One category as a region knows it."""

    code: str
    chinese_name: str
    department: str
    push_names: tuple[str, ...] = ()
    region: str | None = None       # the region whose policy defines it; None: the national list
    document: str = ""              # that policy's document number
    clause: str | None = None

    @property
    def national(self) -> bool:
        return self.region is None

    @property
    def label(self) -> str:
        """The name in the reader's language (a region's own category has its Chinese name only)."""
        if self.region is None:
            return str(Category(self.code).label)
        return self.chinese_name


NATIONAL: tuple[CategoryInfo, ...] = tuple(
    CategoryInfo(code=str(c.value), chinese_name=CATEGORY_NAMES[c.value], department=str(CATEGORY_OWNER[c]),
                 push_names=NATIONAL_PUSH_NAMES.get(c.value, ()))
    for c in Category
)
_NATIONAL_BY_CODE = {c.code: c for c in NATIONAL}


def _code_of(region) -> str:
    return str(getattr(region, "code", None) or getattr(region, "pk", None) or region)


def _in_force(version, on: datetime.date | None) -> bool:
    if on is None:
        return version.in_force_to is None or version.in_force_to >= datetime.date.today()
    return version.effective_from <= on and (version.in_force_to is None or on <= version.in_force_to)


def _regional_of(versions) -> list[CategoryInfo]:
    out: dict[str, CategoryInfo] = {}
    for v in versions:
        for code, item in regional_categories(v.document).items():
            if code in _NATIONAL_BY_CODE or code in out or not item.get("department"):
                continue
            out[code] = CategoryInfo(code=code, chinese_name=str(item.get("label") or code),
                                     department=str(item["department"]),
                                     push_names=tuple(str(n) for n in item.get("push_names") or ()),
                                     region=v.region_id, document=v.document_number, clause=item.get("clause"))
    return list(out.values())


def categories_for(region, *, on: datetime.date | None = None, below: bool = False) -> list[CategoryInfo]:
    """The categories of ``region`` (a ``Region`` or its code): the national list, then the
    categories defined by the published versions of the region and of the regions above it, in
    force on ``on`` (by default: in force today or later). With ``below``, also those defined by
    the published versions of the regions below it (what a city's pushes accept)."""
    from django.db.models import Q

    from .models import PolicyVersion, VersionStatus

    code = _code_of(region)
    chain = [code, *ancestors(code)]
    where = Q(region_id__in=chain)
    if below:
        where |= Q(region__code__startswith=scope_prefix(code))
    versions = [v for v in PolicyVersion.objects.filter(where, status=VersionStatus.PUBLISHED)
                .only("region_id", "document_number", "document", "in_force_from", "in_force_to", "retroactive_from")
                if _in_force(v, on)]
    # Nearest region first (the region itself, its city, its province, then the regions below),
    # the latest version first within a region.
    rank = {c: i for i, c in enumerate(chain)}
    versions.sort(key=lambda v: (rank.get(v.region_id, len(chain)), v.region_id, -v.effective_from.toordinal()))
    return list(NATIONAL) + _regional_of(versions)


def codes_for(region, *, on: datetime.date | None = None, below: bool = False) -> list[str]:
    return [c.code for c in categories_for(region, on=on, below=below)]


def choices_for(region, *, on: datetime.date | None = None, department: str | None = None,
                exclude_department: str | None = None) -> list[tuple[str, str]]:
    """``[(code, name in words)]`` for a form's choice list."""
    return [(c.code, c.label) for c in categories_for(region, on=on)
            if (department is None or c.department == department)
            and (exclude_department is None or c.department != exclude_department)]


def fold(text: str) -> str:
    """A push cell compared with the names: compatibility-normalised, trimmed, lower-case."""
    return unicodedata.normalize("NFKC", str(text or "")).strip(" \t\r\n\u3000").lower()


def push_lookup(categories: list[CategoryInfo]) -> dict[str, str]:
    """{folded code or name: code} — a row's category may be the code, the Chinese name or any of the
    names the region's departments use. A region's own category takes over a national push name."""
    out: dict[str, str] = {}
    for c in categories:
        for name in (c.code, c.chinese_name, *c.push_names):
            out[fold(name)] = c.code
    for c in categories:
        if not c.national:
            for name in (c.code, c.chinese_name, *c.push_names):
                out[fold(name)] = c.code
    for c in categories:  # a code always means itself
        out[c.code] = c.code
    return out


# Names and owners of any code, without a region (what a stored message or an old row shows),
# rebuilt when a policy change was recorded since (``bookcache.generation``).
_CACHE: dict[str, object] = {"generation": None, "known": {}}


def _all_regional() -> dict[str, CategoryInfo]:
    from . import bookcache
    from .models import PolicyVersion, VersionStatus

    current = bookcache.generation()
    if _CACHE["generation"] != current:
        versions = PolicyVersion.objects.exclude(status=VersionStatus.WITHDRAWN).only(
            "region_id", "document_number", "document").order_by("-status", "region_id", "-in_force_from")
        _CACHE["known"] = {c.code: c for c in _regional_of(versions)}
        _CACHE["generation"] = current
    return _CACHE["known"]  # type: ignore[return-value]


def find(code: str, region=None) -> CategoryInfo | None:
    """The category ``code`` means (in ``region`` and the regions around it when given)."""
    if code in _NATIONAL_BY_CODE:
        return _NATIONAL_BY_CODE[code]
    if region is not None:
        for c in categories_for(region, on=None, below=True):
            if c.code == code:
                return c
    return _all_regional().get(code)


def label(code: str | None) -> str:
    """The category's name in words; the code itself when no policy defines it."""
    if not code:
        return ""
    found = find(code)
    return found.label if found is not None else code


def owner(code: str, region=None) -> str | None:
    """The department that recognises ``code`` (None: no such category)."""
    found = find(code, region)
    return found.department if found is not None else None


def owned_by(department: str, region=None) -> list[str]:
    """The codes ``department`` recognises: the national ones, and a region's own (with ``region``:
    that region's and those around it; without: any region's)."""
    cats = categories_for(region, below=True) if region is not None else list(NATIONAL) + list(_all_regional().values())
    return [c.code for c in cats if c.department == department]


def forget(**_kwargs) -> None:
    """Drop the cached names (``bookcache.forget`` calls it when a version is saved or deleted)."""
    _CACHE["generation"] = None
