from django.db import migrations

DEPARTMENTS = [
    ("medical_security", "医疗保障局"),
    ("civil_affairs", "民政局"),
    ("rural_revitalisation", "乡村振兴局"),
    ("veterans_affairs", "退役军人事务局"),
    ("finance", "财政局"),
    ("tax", "税务局"),
]


def seed(apps, schema_editor):
    Department = apps.get_model("roles", "Department")
    for code, name in DEPARTMENTS:
        Department.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("roles", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
