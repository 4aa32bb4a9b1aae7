import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Region",
            fields=[
                ("code", models.CharField(max_length=6, primary_key=True, serialize=False, verbose_name="code")),
                ("name", models.CharField(max_length=50, verbose_name="name")),
                (
                    "level",
                    models.CharField(
                        choices=[("province", "province"), ("city", "city"), ("county", "county / district")],
                        max_length=10,
                        verbose_name="level",
                    ),
                ),
                (
                    "parent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="children",
                        to="regions.region",
                        verbose_name="parent",
                    ),
                ),
            ],
            options={"ordering": ["code"], "verbose_name": "region", "verbose_name_plural": "regions"},
        ),
    ]
