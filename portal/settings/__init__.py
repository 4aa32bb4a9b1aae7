"""Default settings: the embedded development setup, driven by the environment (see base.py)."""
from .base import *  # noqa: F401,F403
