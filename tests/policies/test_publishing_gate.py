"""Publishing runs the version's own worked examples (the seeded versions carry their region's public
ones) and refuses when one moves, listing each difference."""
from __future__ import annotations

import pytest

from policies import services
from policies.models import VersionStatus

from .conftest import route_index

pytestmark = pytest.mark.django_db


def test_a_change_that_moves_a_worked_example_is_refused_naming_the_difference(gz_admin, ganzhou):
    before = (ganzhou.in_force_to, ganzhou.status)
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    dibao = route_index(ganzhou, "dibao")
    services.set_parameter(acting_user=gz_admin, version=draft, path=f"assistance.routes[{dibao}].ratio", value="0.80")
    with pytest.raises(services.ChangeRefused) as refused:
        services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=ganzhou.in_force_from,
                                 retroactive_from=ganzhou.retroactive_from)
    text = "\n".join(refused.value.errors)
    assert "本版本的算例不再得出预期结果" in text
    # 30 000 × 80 % = 24 000 under the change where the example expects 22 500.
    assert "算例 ganzhou_class2_annual_cap 第 a 笔费用" in text and "预期为" in text
    draft.refresh_from_db()
    ganzhou.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT  # nothing published, nothing closed
    assert (ganzhou.in_force_to, ganzhou.status) == before


def test_an_unchanged_copy_publishes(gz_admin, ganzhou):
    draft = services.start_version(acting_user=gz_admin, from_version=ganzhou)
    services.publish_version(acting_user=gz_admin, version=draft, confirm_document=draft.document_number, in_force_from=ganzhou.in_force_from,
                             retroactive_from=ganzhou.retroactive_from)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
