"""Snapshots of the engine: its state at a log position, saved and restored exactly.

Recovery is a fold of the log; a snapshot is a cache of that fold, so that
a restart folds only what follows it. It holds the primary state of every
workspace (experts, tasks, leases, clock, the policy in force) in the
order the engine built it, and restoring rebuilds the indexes (pools,
class queues, idle sets) from it; the idle index of a large pool
(``_index``) is rebuilt by the first task that needs it. The order matters: the engine iterates
experts, tasks, pools and classes in insertion order in a few places, and
a restored engine must decide exactly as the one that was saved, for any
continuation (a property test holds it to that).

A snapshot is JSON (msgspec: a task's rank is wider than 64 bits, which
msgpack cannot carry), versioned twice: :data:`FORMAT` by hand,
and a fingerprint of the state's own Structs, so that a Triage whose state
has changed shape refuses an old snapshot (:class:`SnapshotError`) instead
of misreading it; the caller then folds the whole log.

The same state gives the same bytes in every process: the sets of the state
(a task's ``tried`` and ``exclude``, its allow-lists) iterate in an order
that ``PYTHONHASHSEED`` changes, so a snapshot writes each of them sorted
(:func:`_written`). A set is a JSON array either way, so this changes
neither the format nor the fingerprint, and a snapshot written before, in
any order, restores as it did. Dicts keep their insertion order, which the
engine relies on, so the encoder does not sort everything.
"""

from __future__ import annotations

import gc
import hashlib
from operator import attrgetter
from typing import Final

import msgspec

from ._engine import Engine
from ._policy import Policy
from ._state import Expert, Extras, PoolKey, Requirement, Task, Workspace

__all__ = ["FORMAT", "SnapshotError", "restore", "snapshot"]

FORMAT: Final = 1


class SnapshotError(ValueError):
    """The bytes are not a snapshot this version of the engine can restore."""


class _Pool(msgspec.Struct, array_like=True, gc=False):
    key: PoolKey
    classes: list[Requirement]  # in creation order


class _Workspace(msgspec.Struct, array_like=True, gc=False):
    name: str
    clock: int
    week: int
    experts: list[Expert]  # in insertion order
    tasks: list[Task]  # in insertion order
    pools: list[_Pool]  # in insertion order
    leases: list[tuple[int, str, str]]  # the heap, as a list
    escalations: list[tuple[int, str, int]]  # the heap of steps due, as a list
    gated: int


class _Snapshot(msgspec.Struct, kw_only=True):
    format: int
    fingerprint: str
    policy: Policy
    internal_errors: int
    workspaces: list[_Workspace]


def _fingerprint() -> str:
    (schema,), defs = msgspec.json.schema_components([_Workspace])
    return hashlib.blake2b(
        msgspec.json.encode([schema, defs], order="sorted"), digest_size=8
    ).hexdigest()


_FINGERPRINT: Final = _fingerprint()
_TASK_ID: Final = attrgetter("task")
_QUEUED: Final = attrgetter("queued")
_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(_Snapshot)


def _written(task: Task) -> Task:
    """The task as a snapshot writes it: a shallow copy with each set as a sorted list.

    Most tasks hold no set of more than one name, and no v1.1 part, and are
    written as they are; the copy leaves the live task, which the engine
    goes on changing, untouched. (msgspec encodes a list where the Struct
    says set: both are a JSON array, and the decoder makes the set again.)
    """
    tried, exclude, extras = task.tried, task.exclude, task.v1_1
    if (tried is None or len(tried) <= 1) and (exclude is None or len(exclude) <= 1):
        if extras is None:
            return task
        return msgspec.structs.replace(task, v1_1=_written_extras(extras))
    return msgspec.structs.replace(
        task,
        tried=None if tried is None else sorted(tried),
        exclude=None if exclude is None else sorted(exclude),
        v1_1=None if extras is None else _written_extras(extras),
    )


def _written_extras(extras: Extras) -> Extras:
    return msgspec.structs.replace(
        extras,
        allowed=None if extras.allowed is None else sorted(extras.allowed),
        ladder=tuple(
            msgspec.structs.replace(
                rung, allowed=None if rung.allowed is None else sorted(rung.allowed)
            )
            for rung in extras.ladder
        ),
    )


def snapshot(engine: Engine) -> bytes:
    """The engine's whole state as bytes."""
    return _encoder.encode(
        _Snapshot(
            format=FORMAT,
            fingerprint=_FINGERPRINT,
            policy=engine.policy,
            internal_errors=engine.internal_errors,
            workspaces=[
                _Workspace(
                    ws.name,
                    ws.clock,
                    ws.week,
                    list(ws.experts.values()),
                    list(map(_written, ws.tasks.values())),
                    [_Pool(key, list(pool.classes)) for key, pool in ws.pools.items()],
                    list(ws.leases),
                    list(ws.escalations),
                    ws.gated,
                )
                for ws in engine.workspaces.values()
            ],
        )
    )


def restore(data: bytes) -> Engine:
    """An engine in exactly the state :func:`snapshot` saved; SnapshotError if it cannot be.

    The cyclic collector is paused meanwhile: a restore makes millions of
    long-lived objects at once, and each of the collector's passes over
    them would find nothing to free.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _restore(data)
    finally:
        if paused:
            gc.enable()


def _restore(data: bytes) -> Engine:
    try:
        saved = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"not a snapshot: {exc}") from None
    if saved.format != FORMAT or saved.fingerprint != _FINGERPRINT:
        raise SnapshotError(
            f"snapshot format {saved.format}/{saved.fingerprint}; "
            f"this engine reads {FORMAT}/{_FINGERPRINT}"
        )
    engine = Engine(saved.policy)
    engine.internal_errors = saved.internal_errors
    for state in saved.workspaces:
        engine.workspaces[state.name] = _workspace(state)
    return engine


def _workspace(state: _Workspace) -> Workspace:
    ws = Workspace(state.name)
    ws.clock, ws.week = state.clock, state.week
    for saved in state.pools:
        pool = ws.pool(ws.intern(saved.key))
        for requirement in saved.classes:
            pool.queue(ws.intern(requirement))
    for expert in state.experts:
        ws.experts[expert.expert] = expert
        for key, _, _ in expert.pools:
            pool = ws.pool(key)
            pool.experts.add(expert.expert)
            if expert.idle:
                pool.idle.add(expert.expert)
    ws.tasks.update(zip(map(_TASK_ID, state.tasks), state.tasks, strict=True))
    queued: dict[tuple[PoolKey, Requirement], list[Task]] = {}
    for task in filter(_QUEUED, state.tasks):
        queued.setdefault((task.pool, task.requirement), []).append(task)
    # Each class queue in one sorted bulk load: a million tasks added one by
    # one cost a bisection and a comparison of Structs each.
    for (key, requirement), tasks in queued.items():
        pool = ws.pools[key]
        pool.classes[requirement].fill(tasks)
        pool.queued += len(tasks)
    ws.leases = state.leases
    ws.escalations = state.escalations
    ws.gated = state.gated
    return ws
