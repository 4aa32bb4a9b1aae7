from django.db import migrations


def reload(apps, schema_editor):
    from policies.seeding import load_seeds

    load_seeds(apps.get_model("policies", "PolicyVersion"), apps.get_model("policies", "PolicyChange"),
               reload_unchanged=True)


class Migration(migrations.Migration):
    """Existing databases get the five regions re-seeded in the policy model of policy-model.md:
    沧州 deductibles after 2022 as announced amounts (never 10 % / 25 % × I) and its fanpin, tuopin and
    other_special refused (二(一)); 巴南 special disease on inpatient and chronic outpatient only
    (第六条) and orphan and its three own categories refused (第三条); statistic fallback only where the
    document names one (赣州 五(三)); 东至 inherits 池州市 (341700). A seeded version changed in the
    portal, or that a draft was started from, is left as it is (``policies.seeding.load_seeds``)."""

    dependencies = [("policies", "0004_policy_history")]
    operations = [migrations.RunPython(reload, migrations.RunPython.noop)]
