"""Codes shared by inputs, documents and results (see shared/spec/domain.md)."""
from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "tekun", "orphan", "dibao", "dibao_edge", "illness_poverty", "fanpin", "jiance", "tuopin",
    "veteran_priority", "other_special",
)
CATEGORY_NAMES: dict[str, str] = {
    "tekun": "特困人员",
    "orphan": "孤儿",
    "dibao": "低保对象",
    "dibao_edge": "低保边缘家庭成员",
    "illness_poverty": "因病致贫重病患者",
    "fanpin": "返贫致贫人口",
    "jiance": "防止返贫监测对象",
    "tuopin": "脱贫人口",
    "veteran_priority": "优抚对象",
    "other_special": "其他特殊困难人员",
}
KINDS: tuple[str, ...] = ("inpatient", "outpatient_general", "outpatient_chronic")
KIND_NAMES = {"inpatient": "住院", "outpatient_general": "普通门诊", "outpatient_chronic": "门诊特殊慢性病"}
LOCATIONS: tuple[str, ...] = ("county", "city", "province", "out_of_province")
RESIDENCES: tuple[str, ...] = ("rural", "urban")
SCHEMES: tuple[str, ...] = ("resident", "employee")
HOSPITAL_LEVELS: tuple[int, ...] = (1, 2, 3)
ALERT_KINDS: tuple[str, ...] = ("return_to_poverty", "fall_into_poverty")
ALERT_NAMES = {"return_to_poverty": "因病返贫", "fall_into_poverty": "因病致贫"}
TILTED_SCOPES: dict[str, frozenset[str]] = {
    "province": frozenset({"county", "city", "province"}),
    "city": frozenset({"county", "city"}),
}
STATISTIC_NAMES = {
    "city_income": "本地上年度城乡居民人均可支配收入",
    "province_rural_income": "全省上年度农村居民人均可支配收入",
}
DEPARTMENTS: tuple[str, ...] = ("medical_security", "civil_affairs", "rural_revitalisation", "veterans_affairs",
                                "finance", "tax")
# The national list's recognising department (domain.md); a region's own categories name theirs.
CATEGORY_DEPARTMENT: dict[str, str] = {
    "tekun": "civil_affairs", "orphan": "civil_affairs", "dibao": "civil_affairs", "dibao_edge": "civil_affairs",
    "illness_poverty": "civil_affairs", "fanpin": "rural_revitalisation", "jiance": "rural_revitalisation",
    "tuopin": "rural_revitalisation", "veteran_priority": "veterans_affairs", "other_special": "medical_security",
}
