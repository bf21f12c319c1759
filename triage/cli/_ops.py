"""Commands on a recorded history, embedded or on Kafka: replay and whatif (docs/ops.md)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
import msgspec

from events import ConfigError
from router import Engine, Policy

from .._policy_file import load_policy
from ..ops import (
    BASELINES,
    Candidate,
    load_history,
    parse_moment,
    render_replay,
    render_whatif,
    replay,
    until_moment,
    what_if,
)
from ._history import open_source, write_copy
from ._options import history_broker_options, history_policy_option, json_option, log_option
from ._progress import progress_bar

__all__ = ["replay_command", "whatif"]


@click.command("replay")
@click.option(
    "--until",
    "until_text",
    metavar="TIME",
    help="Stop before the first input after TIME (RFC 3339 with an offset).",
)
@click.option(
    "--to",
    "to_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the replayed journal into a new embedded log at FILE (it must not exist).",
)
@history_policy_option
@json_option
@log_option()
@history_broker_options
def replay_command(
    until_text: str | None,
    to_path: Path | None,
    policy_path: Path | None,
    as_json: bool,
    log_path: Path,
    **options: Any,
) -> None:
    """Re-run the recorded inputs through the engine and check every decision, byte for byte.

    A fresh engine in memory folds the history from the start, with the
    policy in force at each position, and compares each output with the one
    the log recorded; the first divergence is reported precisely, and the
    exit status is 1. The live log and topics are only read. --to writes the
    replayed journal into a new embedded log: a Kafka history taken offline.
    """
    until = parse_moment(until_text) if until_text is not None else None
    with open_source(log_path, options, policy_path) as source:
        sink = write_copy(to_path, source) if to_path is not None else nullcontext(None)
        with sink as write, progress_bar("replaying", source.total) as progress:
            result = replay(
                until_moment(source.entries(), until),
                source.epochs,
                sink=write,
                progress=lambda position: progress(position, source.total),
            )
    notes = source.policy_notes()
    if source.pending:
        notes.append(f"{source.pending:,} inputs not yet routed were not replayed")
    if until is not None:
        notes.append(f"stopped at {until.isoformat()}")
    if to_path is not None:
        notes.append(f"replayed journal written to {to_path}")
    if as_json:
        body = {
            "source": source.name,
            "identical": result.identical,
            "until": until,
            "to": str(to_path) if to_path is not None else None,
            "notes": notes,
            **msgspec.to_builtins(result),
        }
        sys.stdout.buffer.write(msgspec.json.encode(body) + b"\n")
    else:
        click.echo(render_replay(result, source=source.name))
        for note in notes:
            click.echo(f"note: {note}")
    if not result.identical:
        sys.exit(1)


@click.command()
@click.option(
    "--policy",
    "policy_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A policy to estimate, a TOML or JSON file (repeatable).",
)
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    type=click.Choice([*BASELINES, "all"]),
    help="A built-in baseline to compare against (repeatable). "
    "Default: all of them when no --policy is given.",
)
@click.option(
    "--recorded-policy",
    "recorded_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --broker: the policy the history was routed with (the Kafka journal does "
    "not record it; default: the default policy).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the re-synthesis.")
@json_option
@log_option()
@history_broker_options
def whatif(
    policy_paths: tuple[Path, ...],
    baselines: tuple[str, ...],
    recorded_path: Path | None,
    seed: int,
    as_json: bool,
    log_path: Path,
    **options: Any,
) -> None:
    """Estimate what other routing policies would have done with the recorded history.

    Arrivals (tasks, profiles, presence, cancellations) are replayed as
    recorded; submissions, declines and reviews are re-synthesized from each
    expert's own record, seeded. The recorded policy goes through the same
    re-synthesis, and how close it comes to what happened is printed as the
    calibration, with the assumptions. Nothing is written anywhere.
    """
    from ..ops import baseline_engine

    policies = [(path, load_policy(path)) for path in policy_paths]
    chosen = BASELINES if "all" in baselines or not (baselines or policies) else baselines
    with open_source(log_path, options, recorded_path, option="--recorded-policy") as source:
        epochs = source.epochs
        with progress_bar("reading", source.total) as progress:
            history = load_history(
                source.entries(), progress=lambda position: progress(position, source.total)
            )
    recorded = epochs[-1][1]
    candidates = [Candidate("recorded policy", recorded.name, _engine(epochs[0][1]), epochs)]
    names = {candidate.label for candidate in candidates}
    for path, policy in policies:
        label = path.stem if path.stem not in names else str(path)
        names.add(label)
        candidates.append(Candidate(label, policy.name, _engine(policy)))
    for name in dict.fromkeys(chosen):
        candidates.append(
            Candidate(
                name,
                name,
                lambda name=name: baseline_engine(name, recorded, seed),  # type: ignore[misc]
            )
        )
    work = len(candidates) * len(history.arrivals)
    with progress_bar("re-synthesizing", work) as progress:
        result = what_if(history, candidates, seed=seed, progress=lambda n: progress(n, work))
    if not result.workspaces:
        raise ConfigError(f"{source.name} holds no history to estimate from")
    if as_json:
        body = {"source": source.name, **msgspec.to_builtins(result)}
        sys.stdout.buffer.write(msgspec.json.encode(body) + b"\n")
    else:
        click.echo(render_whatif(result, source=source.name))
        if not source.policy_recorded:
            click.echo(
                f"note: the Kafka journal does not record the policy: the recorded policy "
                f"is taken to be {recorded.name!r} (--recorded-policy)"
            )


def _engine(policy: Policy) -> Any:
    return lambda: Engine(policy)
