"""tools/compile_core.py: the compiled core decides byte for byte as the pure one.

The build (mypyc over events/ and router/, about 30-90 s with two cores) is
made once per session into a temporary directory; the same replays then run
in two subprocesses, one with the build first on the path and one without.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.tools import need
from tools.compile_core import compiled_modules, source_digest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "compile_core.py"
TRIAGE = str(Path(sys.executable).parent / "triage")
SO = sysconfig.get_config_var("EXT_SUFFIX")

#: Every golden replay and a simulated stream, each output encoded, then the snapshot.
_REPLAY = """
import sys
import sysconfig
sys.path[:0] = [p for p in sys.argv[2:] if p]
from pathlib import Path
import router._dispatch, router._engine, router._state, events._time
from events import decode_input, encode
from router import Engine, snapshot
from tests.streams import simulated

root = Path(sys.argv[1])
out = []
files = sorted((root / "tests/replay/golden").glob("*.jsonl"))
files += sorted((root / "tests/contract/golden").glob("*.jsonl"))
files += sorted((root / "examples").glob("quickstart*.jsonl"))
for path in files:
    engine = Engine()
    out.append(b"# " + path.name.encode())
    for line in path.read_bytes().splitlines():
        try:
            event = decode_input(line)
        except Exception as error:  # an output event or a bad line: its reason is the output
            out.append(f"refused {type(error).__name__}: {error}".encode())
            continue
        out.extend(encode(o) for o in engine.apply(event))
    out.append(snapshot(engine))
engine = Engine()
for event in simulated(60, 6, 11):
    for o in engine.apply(event):
        out.append(encode(o))
out.append(snapshot(engine))
sys.stdout.buffer.write(b"\\n".join(out))
for module in (router._dispatch, router._engine, router._state, events._time):
    print(module.__name__, module.__file__, file=sys.stderr)
"""


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled core, built from the current sources into a directory with stale leftovers."""
    need("gcc")
    out = tmp_path_factory.mktemp("core") / "compiled"
    (out / "router").mkdir(parents=True)
    (out / "router" / f"_gone{SO}").write_bytes(b"a module of an older build")
    (out / "router" / "_engine.py").write_text("raise ImportError('a stale source')\n")
    subprocess.run(
        [sys.executable, str(TOOL), "--out", str(out)], cwd=ROOT, check=True, timeout=600
    )
    return out


def _replay(*path: str) -> tuple[bytes, str]:
    # Each process with its own hash seed: nothing written may depend on it.
    result = subprocess.run(
        [sys.executable, "-c", _REPLAY, str(ROOT), *path],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=300,
    )
    return result.stdout, result.stderr.decode()


def test_the_build_holds_extensions_of_the_current_sources_only(compiled: Path) -> None:
    assert (compiled / "SOURCES").read_text() == source_digest()
    assert not (compiled / "router" / f"_gone{SO}").exists()
    assert not (compiled / "build").exists()  # no intermediate C files left
    modules = compiled_modules()
    assert Path("router/_engine.py") in modules
    assert Path("router/_state.py") not in modules  # its Structs stay msgspec Structs
    for module in modules:
        assert (compiled / module).with_suffix(SO).exists()
        assert not (compiled / module).exists()
    assert (compiled / "router" / "_state.py").read_bytes() == (
        ROOT / "router" / "_state.py"
    ).read_bytes()


def test_the_compiled_core_decides_byte_for_byte_as_the_pure_one(compiled: Path) -> None:
    pure, pure_files = _replay(str(ROOT))
    native, native_files = _replay(str(compiled), str(ROOT))
    assert f"router._engine {ROOT}/router/_engine.py" in pure_files
    assert f"router._engine {compiled}/router/_engine{SO}" in native_files
    assert f"router._dispatch {compiled}/router/_dispatch{SO}" in native_files
    assert f"router._state {compiled}/router/_state.py" in native_files
    assert pure.count(b'"type":"task.assigned"') > 300
    assert native == pure


def test_without_a_compiler_the_tool_says_so_and_builds_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CC"}
    env["PATH"] = str(tmp_path)  # no cc nor gcc on it
    out = tmp_path / "compiled"
    result = subprocess.run(
        [sys.executable, str(TOOL), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no C compiler" in result.stderr
    assert "pure Python" in result.stderr
    assert not out.exists()


def _triage_dump(tmp: Path, name: str, pythonpath: str) -> bytes:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    log = str(tmp / f"{name}.db")
    source = str(ROOT / "examples" / "quickstart-v1.1.jsonl")
    for command in (
        ["ingest", "--max-ahead-seconds", "0", "--log", log, source],
        ["run", "--until-idle", "--log", log],
    ):
        subprocess.run([TRIAGE, *command], env=env, cwd=tmp, capture_output=True, check=True)
    where = subprocess.run(
        [sys.executable, "-c", "import router._engine as m; print(m.__file__)"],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        check=True,
    )
    dump = subprocess.run(
        [TRIAGE, "dump", "--log", log], env=env, cwd=tmp, capture_output=True, check=True
    )
    return where.stdout.encode() + dump.stdout


def test_the_triage_command_runs_the_compiled_core_from_pythonpath(
    compiled: Path, tmp_path: Path
) -> None:
    """As documented: ``PYTHONPATH=build/compiled:.`` before the tree runs the compiled core."""
    pure = _triage_dump(tmp_path, "pure", str(ROOT))
    native = _triage_dump(tmp_path, "compiled", f"{compiled}{os.pathsep}{ROOT}")
    pure_file, _, pure_dump = pure.partition(b"\n")
    native_file, _, native_dump = native.partition(b"\n")
    assert pure_file.endswith(b"router/_engine.py")
    assert native_file.endswith(f"router/_engine{SO}".encode())
    assert pure_dump.count(b'"type":"task.assigned"') > 10
    assert native_dump == pure_dump
