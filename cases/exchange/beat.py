"""The exchange's periodic jobs (added to ``CELERY_BEAT_SCHEDULE`` in the settings).

* 1st of each month, 01:30 — the subsidised-enrolment lists of the month that ended (due to
  finance and tax by the 5th, 沧政办规〔2022〕7号 三(一)).

Monitoring's job is in ``cases/monitoring/beat.py``.
"""
from celery.schedules import crontab

SCHEDULE = {
    "exchange-monthly-subsidy-lists": {
        "task": "exchange.monthly_subsidy_lists",
        "schedule": crontab(minute=30, hour=1, day_of_month=1),
    },
}
