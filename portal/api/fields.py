"""Serializer fields shared by the parts' APIs."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from portal.numbers import NotPlainNumber, plain_decimal


class MoneyField(serializers.DecimalField):
    """A DecimalField that takes only plain decimals: never ``1e10``, ``1_000``, ``Infinity`` or
    digits of other scripts (portal.numbers)."""

    default_error_messages = {
        "not_plain": _("Write the amount as a plain number in yuan, e.g. 1234.50."),
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip()
        if data not in ("", None):
            try:
                data = plain_decimal(data)
            except NotPlainNumber:
                self.fail("not_plain")
        return super().to_internal_value(data)
