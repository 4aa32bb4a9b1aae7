"""The exchange's periodic jobs (added to ``CELERY_BEAT_SCHEDULE`` in the settings).

* 1st of each month, 01:30 — the subsidised-enrolment lists of the month that ended (due to
  finance and tax by the 5th, 沧政办规〔2022〕7号 三(一));
* 1st of each month, 02:30 — monitoring of the year to date (因病返贫 / 因病致贫 warnings, pushed
  monthly to civil affairs and rural revitalisation, 沧政办规〔2022〕7号 四(一)).
"""
from celery.schedules import crontab

SCHEDULE = {
    "exchange-monthly-subsidy-lists": {
        "task": "exchange.monthly_subsidy_lists",
        "schedule": crontab(minute=30, hour=1, day_of_month=1),
    },
    "exchange-monthly-monitoring": {
        "task": "exchange.monthly_monitoring",
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
    },
}
