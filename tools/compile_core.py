"""Build the compiled routing core: events/ and router/ through mypyc, outside the tree.

    python tools/compile_core.py [--out build/compiled] [--jobs 2]

Copies the packages ``events`` and ``router`` into ``--out`` (by default
``build/compiled``, which .gitignore covers) and runs mypyc there, so the
extension modules never land beside the sources. Put the directory first on
the path to run the compiled core; without it everything is pure Python:

    PYTHONPATH=build/compiled:. triage ...

Each run starts from an empty directory and the current sources, so no
module compiled from an older source survives (``build/compiled/SOURCES``
records the hash of every source the build was made from). Compiled is
every module except the packages' ``__init__`` and the modules that define
msgspec Structs (``class X(msgspec.Struct ...)``): as mypyc classes those
would lose what msgspec gives them (ordering, tags, the encoder); the
compiled modules use them as they are. Where no C compiler is present or
mypyc fails, the tool says so, leaves no partial build, and exits 1: the
project then runs pure Python.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["PACKAGES", "build", "compiled_modules", "find_compiler", "main", "source_digest"]

ROOT = Path(__file__).resolve().parent.parent
#: The packages copied into the build; only their modules without Structs are compiled.
PACKAGES = ("events", "router")
DEFAULT_OUT = ROOT / "build" / "compiled"
#: mypyc through setuptools, so that the C compiles run in parallel (``-j``).
_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup
jobs, modules = sys.argv[1], sys.argv[2:]
setup(
    name="triage-compiled-core",
    ext_modules=mypycify(modules, opt_level="3"),
    script_args=["build_ext", "--inplace", "-j", jobs],
)
"""


def find_compiler() -> str | None:
    """The C compiler mypyc would use (``$CC``, else cc or gcc), or None."""
    for name in (os.environ.get("CC", ""), "cc", "gcc"):
        if name and shutil.which(name.split()[0]):
            return name
    return None


def _defines_struct(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                if "Struct" in ast.unparse(base):
                    return True
    return False


def compiled_modules(root: Path = ROOT) -> list[Path]:
    """The modules (paths relative to ``root``) that the build compiles."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            if path.name != "__init__.py" and not _defines_struct(path):
                found.append(path.relative_to(root))
    return found


def source_digest(root: Path = ROOT) -> str:
    """One line per source of the packages: its sha256 and its path."""
    lines = []
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(root)}\n")
    return "".join(lines)


def build(
    out: Path = DEFAULT_OUT,
    *,
    jobs: int = 2,
    only: list[Path] | None = None,
    quiet: bool = False,
) -> list[Path]:
    """Build the compiled core into ``out`` from the current sources; return the modules compiled.

    ``only`` compiles a subset of ``compiled_modules()`` (to measure each one's share).

    Raises RuntimeError when there is no C compiler or mypyc fails; ``out``
    is then left absent rather than half built.
    """
    if find_compiler() is None:
        raise RuntimeError("no C compiler (cc or gcc) found: the core stays pure Python")
    modules = compiled_modules()
    if only is not None:
        unknown = set(only) - set(modules)
        if unknown:
            raise RuntimeError(f"not compilable here: {', '.join(sorted(map(str, unknown)))}")
        modules = [m for m in modules if m in only]
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its destination, then swapped in: a failed build leaves nothing behind.
    stage = Path(tempfile.mkdtemp(prefix=".compiled-", dir=out.parent))
    try:
        for package in PACKAGES:
            shutil.copytree(
                ROOT / package, stage / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        (stage / "SOURCES").write_text(source_digest(), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-c", _SETUP, str(jobs), *map(str, modules)],
            cwd=stage,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-4000:]
            raise RuntimeError(f"mypyc failed: the core stays pure Python\n{output}")
        shutil.rmtree(stage / "build", ignore_errors=True)  # mypyc's C sources and objects
        for module in modules:  # a compiled module is its extension, not a stale source
            (stage / module).unlink()
        if out.exists():
            shutil.rmtree(out)
        stage.chmod(0o755)  # mkdtemp made it private; the build is for everyone who runs it
        stage.rename(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if not quiet:
        print(f"compiled {len(modules)} modules into {out}:", *map(str, modules))
    return modules


def main(argv: list[str] | None = None) -> int:
    """Build, or say why not and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--only", type=Path, nargs="+", help="compile only these modules (e.g. router/_engine.py)"
    )
    args = parser.parse_args(argv)
    try:
        build(args.out, jobs=args.jobs, only=args.only)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
