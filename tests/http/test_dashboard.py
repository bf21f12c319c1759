"""The dashboard in a real browser: headless Chromium draws every chart, with no console output.

Each test keeps a screenshot in its pytest tmp dir and prints the path
(``pytest -s`` shows it), to look at.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.tools import need

from .conftest import OBJECTIVES, WORKSPACE, Served, triage

CHARTS = ("backlog", "throughput", "wait", "aht", "quality", "load", "staffing")
WEEKLY_CHARTS = ("backlog", "throughput", "wait", "aht", "quality")


def chromium(url: str, out: Path, *, size: str = "1920,1080") -> tuple[str, str]:
    """Open ``url``; screenshot it to ``out``; return the DOM after scripts ran and the log."""
    binary = need("chromium")
    common = [
        binary,
        "--headless",
        "--no-sandbox",  # tests may run as root in a container
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={size}",
        "--virtual-time-budget=8000",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={out.parent / 'chromium-profile'}",
    ]
    shot = subprocess.run(
        [*common, f"--screenshot={out}", url],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists() and out.stat().st_size > 10_000, shot.stderr[-2000:]
    dom = subprocess.run(
        [*common, "--dump-dom", url], check=False, capture_output=True, text=True, timeout=120
    )
    print(f"\nscreenshot: {out}")
    return dom.stdout, shot.stderr + dom.stderr


def assert_drawn(dom: str, log: str, charts: tuple[str, ...]) -> None:
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert not console, console
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    assert "data-errors" not in body.group(1), body.group(1)
    assert f'data-drawn="{len(charts)}"' in body.group(1), body.group(1)
    for chart in charts:
        start = dom.index(f'id="chart-{chart}"')
        block = dom[start : start + 200_000]
        svg = block[block.index("<svg") : block.index("</svg>")]
        assert svg.count("<path") >= 5, f"chart {chart} drew almost nothing"


def test_the_html_report_draws_every_chart_offline(demo_log: Path, tmp_path: Path) -> None:
    page = tmp_path / "dashboard.html"
    triage("report", "--log", str(demo_log), "--objectives", str(OBJECTIVES), "--html", str(page))
    html = page.read_text()
    assert "<script src" not in html and "<link" not in html  # everything inlined
    assert "http://" not in html.split("<script>", 1)[0]
    dom, log = chromium(page.as_uri(), tmp_path / "dashboard.png", size="1920,2200")
    assert_drawn(dom, log, CHARTS)
    assert "hours per month" in dom and 'class="status' in dom  # the objectives table
    for section in ("Requirement steps", "Adaptive overlap", "Quality gates"):
        assert re.search(f"<h3>{section}: [0-9,]+ ", dom), f"the demo's {section} are drawn"


def test_the_weekly_client_report_is_one_week(demo_log: Path, tmp_path: Path) -> None:
    report: Any = json.loads(triage("report", "--json", "--log", str(demo_log)).stdout)
    week = report[WORKSPACE]["quality"]["error_trend"][0]["week"]
    page = tmp_path / "weekly.html"
    triage(
        "report",
        "--log",
        str(demo_log),
        "--objectives",
        str(OBJECTIVES),
        "--html",
        str(page),
        "--week",
        week,
    )
    dom, log = chromium(page.as_uri(), tmp_path / "weekly.png", size="1920,2400")
    assert_drawn(dom, log, WEEKLY_CHARTS)
    assert f"Weekly report · {WORKSPACE} · {week}" in dom
    assert '<div class="v11" id="v11"></div>' in dom, "the v1.1 sections are of the whole journal"
    examples = [x for x in report[WORKSPACE]["quality"]["low_quality"]]
    assert any(x["task"] in dom for x in examples), "the week's low-quality examples are listed"


def test_the_live_dashboard_refreshes_from_the_api(served: Served, tmp_path: Path) -> None:
    dom, log = chromium(f"{served.url}/", tmp_path / "live.png")
    assert_drawn(dom, log, CHARTS)
    assert "live · refreshed" in dom
