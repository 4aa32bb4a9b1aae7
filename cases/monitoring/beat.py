"""Monitoring's periodic job (added to ``CELERY_BEAT_SCHEDULE`` in the settings).

* 1st of each month, 02:30 — monitoring of the year to date (因病返贫 / 因病致贫 warnings, pushed
  monthly to civil affairs and rural revitalisation, 沧政办规〔2022〕7号 四(一)).

The entry and task keep the names they had in the exchange app (schedules stored by beat use them).
"""
from celery.schedules import crontab

SCHEDULE = {
    "exchange-monthly-monitoring": {
        "task": "exchange.monthly_monitoring",
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
    },
}
