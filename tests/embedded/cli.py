"""The real ``triage`` command, run as people and scripts run it (for the embedded tests)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent.parent
TRIAGE = str(Path(sys.executable).parent / "triage")
QUICKSTART = ROOT / "examples" / "quickstart.jsonl"
GOLDEN = ROOT / "tests" / "replay" / "golden" / "quickstart.learned.journal.jsonl"
INVALID = ROOT / "tests" / "contract" / "invalid.jsonl"


def triage(
    *args: str | Path,
    stdin: bytes | None = None,
    check: bool = True,
    prefix: Sequence[str] = (),
    **options: Any,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``triage --log-level warning ARGS`` after ``prefix``; with ``check``, it must work."""
    result = subprocess.run(
        [*prefix, TRIAGE, "--log-level", "warning", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
        **options,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"triage {args} exited {result.returncode}: {result.stderr!r}")
    return result


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The single ``triage: error:`` line of a failed command (and nothing else on stderr)."""
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1, (result.returncode, lines)
    assert len(lines) == 1 and lines[0].startswith("triage: error: "), lines
    return lines[0]
