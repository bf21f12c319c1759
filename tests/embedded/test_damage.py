"""A damaged log gives one clear line in every command, never a traceback.

A seeded fuzzer damages a real log the way disks, copies and people do
(random byte ranges overwritten, a page zeroed, the file cut short, another
file in its place), then every reader and writer runs on it: each either
works or raises LogError (one ``triage: error:`` line on the command line).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from events import LogError
from tests.embedded.cli import INVALID, QUICKSTART, one_error_line, triage
from triage.embedded import EmbeddedRuntime, Journal, ingest_lines, report_of

PAGE = 4096


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real log: dead letters, inputs, outputs, a policy and the processed mark."""
    path = tmp_path_factory.mktemp("pristine") / "triage.db"
    with Journal(path) as journal:
        with INVALID.open("rb") as bad, QUICKSTART.open("rb") as good:
            ingest_lines(journal, [*bad, *good], "ingest:fixture")
        EmbeddedRuntime(journal, on_outputs=None).run(until_idle=True)
    assert not Path(f"{path}-wal").exists()  # closed cleanly: everything is in the file
    return path.read_bytes()


KINDS = ("ranges", "ranges", "ranges", "page", "header", "truncate", "replace")


def damage(data: bytes, seed: int, kind: str | None = None) -> bytes:
    """One seeded way of damaging a log file (of ``kind``, or one chosen by the seed)."""
    rng = random.Random(seed)
    kind = kind or rng.choice(KINDS)
    out = bytearray(data)
    if kind == "ranges":
        for _ in range(rng.randint(1, 4)):
            start = rng.randrange(len(out))
            length = rng.randint(1, 64)
            out[start : start + length] = rng.randbytes(length)[: len(out) - start]
    elif kind == "page":
        page = rng.randrange(len(out) // PAGE)
        fill = bytes(PAGE) if rng.random() < 0.5 else rng.randbytes(PAGE)
        out[page * PAGE : (page + 1) * PAGE] = fill
    elif kind == "header":
        start = rng.randrange(100)
        out[start : start + 4] = rng.randbytes(4)
    elif kind == "truncate":
        del out[rng.randrange(len(out)) :]
    else:
        out[:] = b"not a database at all\n" * rng.randint(0, 200)
    return bytes(out)


def _reads(path: Path) -> None:
    with Journal(path, readonly=True) as journal:
        for entry in journal.entries():
            assert isinstance(entry.input, bytes)
        for letter in journal.dead_letters():
            assert isinstance(letter.raw, bytes)
        journal.counts()
        report_of(journal)


def _ingest(path: Path) -> None:
    with Journal(path) as journal, QUICKSTART.open("rb") as lines:
        ingest_lines(journal, lines, "ingest:again")


def _run(path: Path) -> None:
    with Journal(path) as journal:
        EmbeddedRuntime(journal, on_outputs=None).run(until_idle=True)


OPERATIONS: dict[str, Callable[[Path], None]] = {"read": _reads, "ingest": _ingest, "run": _run}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_damage_is_a_log_error_in_process(
    pristine: bytes, tmp_path: Path, operation: str
) -> None:
    failures = 0
    for seed in range(900):  # 870 once made a reader page on forever
        path = tmp_path / f"{seed}.db"
        path.write_bytes(damage(pristine, seed))
        try:
            OPERATIONS[operation](path)
        except LogError as exc:
            assert str(path) in str(exc)
            failures += 1
    assert failures > 150, "the fuzzer hardly damages anything: make it meaner"


COMMANDS = [
    ("dump",),
    ("dump", "--deadletters"),
    ("report",),
    ("report", "--json"),
    ("ingest", str(QUICKSTART)),
    ("run", "--until-idle"),
]


@pytest.mark.parametrize("kind", ["ranges", "page", "truncate", "replace"])
def test_every_command_on_a_damaged_log_works_or_says_so_in_one_line(
    pristine: bytes, tmp_path: Path, kind: str
) -> None:
    """Each command is a real process, on its own copy of the same damaged file."""
    damaged = damage(pristine, seed=len(kind), kind=kind)
    cases = []
    for number, command in enumerate(COMMANDS):
        path = tmp_path / f"{number}.db"
        path.write_bytes(damaged)
        cases.append((command, path))

    def attempt(case: tuple[tuple[str, ...], Path]) -> str:
        command, path = case
        result = triage(*command, "--log", path, check=False)
        assert b"Traceback" not in result.stderr, (command, result.stderr)
        if result.returncode == 0:
            return "ok"
        line = one_error_line(result)
        assert str(path) in line, (command, line)
        return line

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(attempt, cases))
    if kind == "replace":  # not SQLite at all: refused by all, and left as it was
        assert all(
            line.startswith(f"triage: error: the log {path} is damaged or not a Triage log: ")
            for line, (_, path) in zip(outcomes, cases, strict=True)
        )
        assert all(path.read_bytes() == damaged for _, path in cases)
