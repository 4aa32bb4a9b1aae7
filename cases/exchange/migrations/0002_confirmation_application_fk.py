# The confirmation request points at its case with a foreign key (the cases part's Application
# model has landed). No request existed before this migration outside development databases.
import django.db.models.deletion
from django.db import migrations, models


def _forget_requests(apps, schema_editor):
    # Requests made before the case link existed cannot be linked; only development data had any.
    apps.get_model("exchange", "ConfirmationRequest").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0002_workflow_claims_payments"),
        ("exchange", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="confirmationrequest", name="exchange_one_open_confirmation"),
        migrations.RunPython(_forget_requests, migrations.RunPython.noop),
        migrations.RemoveField(model_name="confirmationrequest", name="application_id"),
        migrations.AddField(
            model_name="confirmationrequest",
            name="application",
            field=models.ForeignKey(
                default=None, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="cases.application",
                verbose_name="application",
            ),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="confirmationrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")), fields=("application",), name="exchange_one_open_confirmation"
            ),
        ),
    ]
