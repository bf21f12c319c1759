"""The workforce simulation: a synthetic month of an LLM fine-tuning project.

- :class:`Scenario`: the knobs (the defaults are the case study's month);
- :func:`simulate`: the discrete-event simulation, deterministic for a seed,
  which hands every input event to a caller's function (the engine);
- :func:`run_demo`: ``triage demo``, a scenario routed into an embedded log.

The statistics of people and work are in ``_workforce`` and ``_client``.
"""

from ._demo import DemoRun, run_demo
from ._scenario import Scenario, SimulationSummary
from ._simulation import simulate

__all__ = ["DemoRun", "Scenario", "SimulationSummary", "run_demo", "simulate"]
