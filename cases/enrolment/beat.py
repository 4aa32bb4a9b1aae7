"""The enrolment subsidy's periodic job (added to ``CELERY_BEAT_SCHEDULE`` in the settings).

* 1st of each month, 01:30 — the subsidised-enrolment lists of the month that ended (due to
  finance and tax by the 5th, 沧政办规〔2022〕7号 三(一)).

The entry and task keep the names they had in the exchange app (schedules stored by beat use them).
"""
from celery.schedules import crontab

SCHEDULE = {
    "exchange-monthly-subsidy-lists": {
        "task": "exchange.monthly_subsidy_lists",
        "schedule": crontab(minute=30, hour=1, day_of_month=1),
    },
}
