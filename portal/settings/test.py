"""Settings of the test suite: the embedded development mode (``PORTAL_DEV=1``), so that a fresh
clone's ``pytest`` needs nothing set. Processes the tests start inherit the mode through the
environment. (``portal.settings`` — the package — was imported before this module's first line ran,
so what depends on the mode is set again here.)"""
import os

os.environ.setdefault("PORTAL_DEV", "1")

from .base import *  # noqa: E402,F401,F403
from .base import _development_key, env  # noqa: E402

DEVELOPMENT = True
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _development_key()
