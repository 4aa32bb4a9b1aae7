"""The publishing gate: a version is published only if its own worked examples (``PolicyExample``,
entered on its page, imported with its policy file, copied from the version it was started from;
the seeded versions carry the public examples of their region) still give their expected results
with the version taken as if published. The comparison is ``policies.examples.differences``."""
from __future__ import annotations

from .examples import Difference, differences
from .models import PolicyVersion

__all__ = ["Difference", "example_differences", "differences"]


def example_differences(version: PolicyVersion) -> list[str]:
    """Each way the version's worked examples differ, in the reader's language; empty when they
    all give their expected results."""
    return [d.text for d in differences(version)]
