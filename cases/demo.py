"""Demo persons with hardship identities in 赣州市 and 沧州市. Idempotent (keyed by identity number)."""
from __future__ import annotations

import datetime

from django.db import transaction

from .identity_numbers import compose
from .models import Identity, Person, RecognitionMethod

D = datetime.date

# (area, birth, seq, name, region, residence, identities[(category, start, end, department)])
PERSONS = [
    ("360702", D(1961, 3, 12), 131, "赖福生", "360702", "rural", [("tekun", D(2021, 1, 1), None, "civil_affairs")]),
    ("360731", D(1975, 8, 15), 242, "钟秀英", "360731", "rural", [("dibao", D(2020, 6, 1), None, "civil_affairs")]),
    ("360732", D(1983, 11, 2), 355, "谢建国", "360732", "rural", [("jiance", D(2022, 11, 1), None, "rural_revitalisation")]),
    ("360781", D(1990, 1, 1), 466, "刘小梅", "360781", "urban", [("illness_poverty", D(2023, 5, 1), None, "civil_affairs")]),
    ("360702", D(1968, 4, 20), 577, "曾德华", "360702", "rural", [("tuopin", D(2020, 1, 1), None, "rural_revitalisation")]),
    ("130903", D(1958, 7, 7), 111, "张桂兰", "130903", "rural", [("tekun", D(2021, 6, 1), None, "civil_affairs")]),
    ("130921", D(1972, 2, 28), 224, "王建军", "130921", "rural", [("dibao_edge", D(2022, 1, 1), None, "civil_affairs")]),
    ("130981", D(1985, 9, 9), 338, "李红霞", "130981", "rural", [("dibao", D(2021, 1, 1), None, "civil_affairs")]),
    ("130982", D(1995, 12, 24), 443, "赵志强", "130982", "urban", []),
]


@transaction.atomic
def seed(*, stdout=None) -> list[Person]:
    persons = []
    for area, birth, seq, name, region, residence, identities in PERSONS:
        number = compose(area, birth, seq)
        person, created = Person.objects.get_or_create(
            id_number=number,
            defaults={
                "name": name,
                "sex": "M" if seq % 2 else "F",
                "birth_date": birth,
                "region_id": region,
                "residence": residence,
                "bank_name": "农村商业银行",
                "bank_account": f"6217{number[-12:-1]}",
                "account_holder": name,
            },
        )
        if created:
            for category, start, end, department in identities:
                Identity.objects.create(
                    person=person,
                    category=category,
                    start=start,
                    end=end,
                    department_id=department,
                    method=RecognitionMethod.PUSHED,
                    reference="演示数据",
                )
        persons.append(person)
    if stdout is not None:
        stdout.write(f"  {len(persons)} demo persons in 赣州市 and 沧州市")
    return persons
