"""The witness: a ranking that ranks as the policy does and explains each decision.

An assignment is made inside ``Engine.apply``, and by the time the
engine's :class:`~router.Ranking` hook hears of it (``assigned``) the state
has moved on: the task holds the new assignment and the expert its
minutes. The state the decision was taken in is the one ``choose`` scores
the candidates in, so the witness takes its explanation at the first
``score`` call for a watched task, and hands it over at ``assigned``.
Its scores are the policy's own (:func:`~router._scoring.score`), so an
engine with a witness writes exactly the outputs of one without.
"""

from __future__ import annotations

from ._explain import Explanation, explain
from ._policy import Policy, Score
from ._scoring import score
from ._state import Expert, Task, Workspace

__all__ = ["Witness"]


class Witness:
    """A :class:`~router.Ranking` that explains the assignments it watches.

    It watches one task of one workspace; with ``task`` None every task of
    the workspace, with ``workspace`` None every workspace. ``expert`` adds
    that expert's standing to each explanation.
    """

    def __init__(
        self,
        workspace: str | None = None,
        task: str | None = None,
        *,
        expert: str | None = None,
        top: int = 5,
    ) -> None:
        self.workspace = workspace
        self.task = task
        self.expert = expert
        self.top = top
        self._pending: Explanation | None = None
        self._found: list[tuple[Explanation, str]] = []

    def _watched(self, ws: Workspace, task: Task) -> bool:
        return (self.workspace is None or ws.name == self.workspace) and (
            self.task is None or task.task == self.task
        )

    def score(self, ws: Workspace, expert: Expert, task: Task, policy: Policy) -> Score:
        """The policy's score; the first call of a decision explains it, before it is made."""
        if self._pending is None and self._watched(ws, task):
            self._pending = explain(ws, task, policy, top=self.top, expert=self.expert)
        return score(ws, expert, task, policy)

    def assigned(self, ws: Workspace, task: Task, expert: Expert) -> None:
        """The decision is made: keep its explanation with the assignee."""
        if self._pending is not None and self._watched(ws, task):
            self._found.append((self._pending, expert.expert))
            self._pending = None

    def take(self) -> list[tuple[Explanation, str]]:
        """The (explanation, assignee) of each assignment since the last call, in order.

        Call it before each ``apply`` too: an explanation left pending by a
        step that failed half-way is dropped, not given to the next one.
        """
        found, self._found, self._pending = self._found, [], None
        return found
