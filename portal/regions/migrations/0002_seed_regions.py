from django.db import migrations


def seed(apps, schema_editor):
    from portal.regions.codes import level_of
    from portal.regions.data import REGIONS

    Region = apps.get_model("regions", "Region")
    for code, name, parent in REGIONS:  # parents come before children in REGIONS
        Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": level_of(code), "parent_id": parent}
        )


class Migration(migrations.Migration):
    dependencies = [("regions", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
