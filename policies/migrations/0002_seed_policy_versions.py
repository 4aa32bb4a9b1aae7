from django.db import migrations


def seed(apps, schema_editor):
    from policies.seeding import load_seeds

    load_seeds(apps.get_model("policies", "PolicyVersion"), apps.get_model("policies", "PolicyChange"))


class Migration(migrations.Migration):
    """The five regions' published versions from policies/seed/*.json (no statistics: the
    documents give none). Running it again adds nothing."""

    dependencies = [("policies", "0001_initial"), ("regions", "0002_seed_regions")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
