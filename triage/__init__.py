"""Triage's imperative shell around the core (``events``, ``router``, ``projections``).

One sub-package per adapter, each exporting its public names:

- :mod:`triage.embedded`: the SQLite log, its runtime and ingest;
- :mod:`triage.kafka`: settings, the worker, the Faust app and the clients;
- :mod:`triage.sim`: the workforce simulation and the demo;
- :mod:`triage.cli`: the ``triage`` command.

``triage.faust_app`` is the module that ``faust -A`` loads. The private
modules here (logging, policy files) are shared by the adapters.
"""

__all__: list[str] = []
