"""The ``triage`` command line: one module per group of commands.

- ``_log``: ingest, run, dump, report, schema (the embedded log, or Kafka
  with ``--broker``);
- ``_kafka``: worker, topics, publish, tail;
- ``_demo``: demo;
- ``_options``: the options several commands share, each defined once.
"""

from ._main import cli, main

__all__ = ["cli", "main"]
