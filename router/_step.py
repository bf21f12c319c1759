"""One step of the engine: what a single input event has done so far.

Handlers, dispatch and the staffing checks all write into the same step,
so its outputs come out in the order they happened and each gets an id
derived from the cause (``output_id``): a re-run writes the same ids.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from events import InputEvent, OutputEvent

from ._policy import Policy
from ._state import Expert, Task, Workspace

__all__ = ["Step", "output_id"]

_MAX_CAUSE: Final = 120  # 128 minus room for '/' and a seven-digit count


def output_id(cause: str, n: int) -> str:
    """Id of the n-th output (from 1) caused by the input event ``cause``.

    Derived from the cause so that a re-run writes the same ids. A cause
    longer than 120 characters is replaced by its digest, for every output
    of it, so that ids stay within 128 characters up to 9,999,999 outputs.
    """
    if len(cause) <= _MAX_CAUSE:
        return f"{cause}/{n}"
    digest = hashlib.blake2b(cause.encode(), digest_size=16).hexdigest()
    return f"~{digest}/{n}"


class Step:
    """What one input event has done so far: outputs, freed experts, tasks to place.

    ``tasks`` are the tasks put (back) on the queue in this step and
    ``experts`` the experts who may have room they did not have before:
    dispatch only needs to match those against the rest.
    """

    __slots__ = ("cause", "experts", "outputs", "policy", "tasks", "ws")

    def __init__(self, ws: Workspace, cause: InputEvent, policy: Policy) -> None:
        self.ws = ws
        self.cause = cause
        self.policy = policy
        self.outputs: list[OutputEvent] = []
        self.tasks: list[Task] = []
        self.experts: dict[str, Expert] = {}

    def next_id(self) -> str:
        """The id of the next output of this step (``emit`` takes it itself)."""
        return output_id(self.cause.id, len(self.outputs) + 1)

    def emit(self, kind: type[OutputEvent], **fields: Any) -> None:
        """Write an output of this step: its id, time and workspace come from the cause."""
        cause = self.cause
        self.outputs.append(
            kind(
                output_id(cause.id, len(self.outputs) + 1),
                cause.at,
                cause.workspace,
                cause=cause.id,
                **fields,
            )
        )
