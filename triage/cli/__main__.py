"""``python -m triage.cli``: the ``triage`` command, run from this source tree."""

from . import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
