"""Region-wide fund-impact simulation of a draft policy version (issue 12): see ``service``."""
from .service import (
    latest_simulation,
    may_simulate,
    publish_context,
    retroactive_person_years,
    run_all,
    run_part,
    simulation_for,
    start_simulation,
    worded_report,
)

__all__ = ["latest_simulation", "publish_context", "may_simulate", "retroactive_person_years", "run_all", "run_part",
           "simulation_for", "start_simulation", "worded_report"]
