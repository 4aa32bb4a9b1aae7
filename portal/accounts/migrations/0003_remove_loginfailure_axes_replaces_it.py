from django.db import migrations


class Migration(migrations.Migration):
    """The portal's own login throttling is replaced by django-axes (portal/accounts/lockout.py)."""

    dependencies = [("accounts", "0002_login_failure")]

    operations = [migrations.DeleteModel(name="LoginFailure")]
