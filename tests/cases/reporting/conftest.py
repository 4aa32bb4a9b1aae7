import pytest


@pytest.fixture(autouse=True)
def _cases_tasks_registered():
    """The cases part enqueues its tasks by name (portal.jobs); make sure they are registered when
    these tests run on their own (the worker's autodiscovery does it in production)."""
    import cases.tasks  # noqa: F401
    yield
