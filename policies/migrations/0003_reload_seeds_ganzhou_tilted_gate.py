from django.db import migrations


def reload(apps, schema_editor):
    from policies.seeding import load_seeds

    load_seeds(apps.get_model("policies", "PolicyVersion"), apps.get_model("policies", "PolicyChange"),
               reload_unchanged=True)


class Migration(migrations.Migration):
    """Existing databases get the corrected seed readings (赣州 五(四): tilted assistance only once the
    assistance cap is reached, and only on inpatient and chronic outpatient claims). A seeded version
    that was changed in the portal, or that a draft was started from, is left as it is (see
    ``policies.seeding.load_seeds``). A fresh database already has them from 0002."""

    dependencies = [("policies", "0002_seed_policy_versions")]
    operations = [migrations.RunPython(reload, migrations.RunPython.noop)]
