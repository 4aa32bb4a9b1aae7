"""Rewrite every stored identity number in its normal form (issue 13, finding 3).

The normalisation is frozen here (a copy of ``cases.identity_numbers.normalise`` as of this
migration). A number whose normal form is already registered to another person is left as it is:
``manage.py find_id_number_collisions`` lists those duplicates for staff to merge.
"""
import re
import unicodedata

from django.db import migrations

_SPACE = re.compile(r"\s+")


def _normalise(value) -> str:
    text = "" if value is None else str(value)
    if text.isascii():
        return _SPACE.sub("", text).upper()
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            continue
        digit = unicodedata.decimal(ch, None)
        out.append(str(digit) if digit is not None else ch)
    return "".join(out).upper()


def forwards(apps, schema_editor):
    Person = apps.get_model("cases", "Person")
    stored = dict(Person.objects.values_list("pk", "id_number"))
    taken = {number for number in stored.values()}
    for pk, number in sorted(stored.items()):
        normal = _normalise(number)
        if normal == number or normal in taken:
            continue
        key = (normal[:4] + normal[-4:]) if len(normal) > 8 else ""
        Person.objects.filter(pk=pk).update(id_number=normal, id_mask_key=key)
        taken.add(normal)


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_bank_return")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
