"""Publishing at once on PostgreSQL: whatever the order, exactly one version is in force on any date."""
import datetime
import threading

import pytest
from django.db import connection

from policies import services
from policies.models import PolicyVersion, VersionStatus
from tests.factories import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
D = datetime.date


def race(fns):
    barrier = threading.Barrier(len(fns))
    errors = [None] * len(fns)

    def target(i):
        try:
            barrier.wait()
            fns[i]()
        except Exception as exc:  # collected for the assertions
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_admins_publish_versions_of_one_region_at_once():
    ganzhou = PolicyVersion.objects.get(region_id="360700", status=VersionStatus.PUBLISHED)
    n = 6
    admins = [make_user("policy_admin", region="360700", username=f"pg_pol{i}") for i in range(n)]
    drafts = [services.start_version(acting_user=a, from_version=ganzhou) for a in admins]
    starts = [D(2024 + i, 1, 1) for i in range(n)]
    errors = race([
        lambda i=i: services.publish_version(acting_user=admins[i], version=drafts[i], confirm_document=drafts[i].document_number, in_force_from=starts[i])
        for i in range(n)
    ])
    assert errors == [None] * n
    published = list(PolicyVersion.objects.filter(region_id="360700", status=VersionStatus.PUBLISHED))
    assert len(published) == n + 1
    for day in [D(2022, 10, 1), D(2023, 12, 31)] + [D(y, m, d) for y in range(2024, 2024 + n + 2) for m, d in ((1, 1), (12, 31))]:
        holders = [v.document_number for v in published if v.effective_from <= day <= (v.in_force_to or D.max)]
        assert len(holders) == 1, (day, holders)
