"""The error tree of Triage.

    TriageError
     ├── InvalidEvent     input that does not match the wire contract (a dead letter)
     ├── LogError         the journal cannot be opened, read or written
     └── ConfigError      settings or command-line input that cannot be used

"No expert can take this task" is not an error: the router returns it as a
decision with a reason (``task.unroutable``), and a valid event refused in
the state it finds becomes ``event.rejected``.
"""

from __future__ import annotations

__all__ = ["ConfigError", "InvalidEvent", "LogError", "TriageError"]


class TriageError(Exception):
    """Base of every error Triage raises on purpose."""


class InvalidEvent(TriageError):
    """A record that is not a valid event of the contract.

    ``reason`` says what was wrong, in the words of the decoder
    (``Expected `int`, got `str` - at `$.minutes```).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LogError(TriageError):
    """The journal (SQLite file or Kafka topics) cannot be used."""


class ConfigError(TriageError):
    """Settings or command-line input that cannot be used."""
