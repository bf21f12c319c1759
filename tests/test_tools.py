"""tests/tools.py: a missing tool skips a test on a laptop and fails it in CI."""

from __future__ import annotations

import pytest

from tests.tools import need


def test_a_present_tool_is_found() -> None:
    assert need("sh").endswith("/sh")


def test_a_missing_tool_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make tools"):
        need("no-such-tool-anywhere")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_a_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-anywhere is missing"):
        need("no-such-tool-anywhere")
