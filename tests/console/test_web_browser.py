"""The console in a real browser (Debian's chromium through Playwright), by its visible labels
alone: the whole DeepLens loop, the racer league and the composer studio. Screenshots of each
page at 1400x900 go to artifacts/; every page is also checked at a 390 px phone width."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lensbox.manifest import zip_package
from tests.helpers import free_port, make_imagefolder, zip_folder
from tests.helpers.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, requires_chromium
from tests.helpers.onnx_models import write_video

pytestmark = [requires_chromium, pytest.mark.slow]
BGR_GREEN = (0, 220, 0)


@contextmanager
def browser_page(base: str, key: str) -> Iterator[Any]:
    """A signed-in page at 1400x900, by the sign-in form."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(base + "/devices")
            assert page.url.endswith("/login")
            page.get_by_label("Admin key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/devices")
            yield page
        finally:
            browser.close()


def shoot(page: Any, name: str) -> None:
    """A 1400x900 screenshot, then the same page at a phone's 390 px: nothing wider than it."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(ARTIFACTS / f"console-{name}-phone.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    assert overflow <= 390, f"{name} page is {overflow} px wide at a 390 px viewport"


def _results_rows(page: Any) -> list[str]:
    return [row.inner_text() for row in page.locator("#results tbody tr").all()]


def test_the_whole_deeplens_loop_in_the_browser(roomy_console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, key, _ = roomy_console
    dataset = tmp_path / "bins.zip"
    dataset.write_bytes(zip_folder(make_imagefolder(tmp_path / "bins", per_class=8), "bins/"))
    video = write_video(tmp_path / "clip.mp4", [BGR_GREEN] * 60, fps=20)
    agent = None
    with browser_page(base, key) as page:
        shoot(page, "devices")
        page.get_by_role("link", name="Datasets & training").click()
        page.get_by_label(re.compile("Dataset zip")).set_input_files(str(dataset))
        page.get_by_role("button", name="Upload dataset").click()
        report = page.locator("details[open]")
        assert "can train" in report.inner_text() and "compost" in report.inner_text()
        page.get_by_label("Epochs").fill("1")
        page.get_by_label("Image size").fill("64")
        page.get_by_label("Model name").fill("bins-model")
        page.get_by_role("button", name="Start training").click()
        page.wait_for_function(  # the job ends (a real training process, a few seconds)
            "document.querySelector('#jobs .status').textContent !== 'running'", timeout=300_000
        )
        assert page.locator("#jobs .status").first.inner_text() == "succeeded", page.locator(
            "#jobs .message"
        ).first.inner_text()
        page.locator("#jobs .model a").wait_for()  # the trained model appears
        shoot(page, "training")
        page.locator("#jobs .model a").click()
        assert page.locator("#metrics").inner_text().count("val_accuracy") == 1
        page.frame_locator("iframe.report").locator("body").wait_for()
        shoot(page, "model")

        page.get_by_role("link", name="Projects").click()
        shoot(page, "projects")
        page.get_by_label("Name").fill("sorter")
        page.get_by_label("Template").select_option("trash-sorter")
        page.get_by_role("button", name="Create project").click()
        page.wait_for_url(base + "/projects/sorter")
        shoot(page, "project")

        page.get_by_role("link", name="Devices").click()
        page.get_by_label("Name").fill("cam1")
        page.get_by_role("button", name="Add device").click()
        command = shlex.split(page.locator("#agent-command").inner_text())
        assert command[:3] == ["lensbox", "device", "run"]
        command[command.index("--source") + 1] = str(video)
        agent = subprocess.Popen(
            [sys.executable, "-m", "lensbox", *command[1:], "--port", str(free_port()),
             "--poll", "2", "--work", str(tmp_path / "agent")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            page.get_by_role("link", name="cam1").click()
            page.get_by_label("Project").select_option("sorter")
            page.get_by_role("button", name="Deploy").click()
            page.wait_for_function(
                "document.getElementById('deployment').textContent === 'sorter v1: running'",
                timeout=60_000,
            )
            page.wait_for_function(
                "document.getElementById('project-stream').naturalWidth > 0", timeout=30_000
            )
            first = page.locator("#project-stream").screenshot()
            page.wait_for_function("document.querySelectorAll('#results tbody tr').length > 3")
            assert all("bin:" in row for row in _results_rows(page))
            assert page.locator("#project-stream").screenshot() != first, "stream not live"
            shoot(page, "device")

            # A second version (nothing is sure enough: every item goes to 'v2 check'), then back.
            page.goto(base + "/projects/sorter")
            page.get_by_label("min_confidence").fill("1.01")
            page.get_by_label("uncertain_bin").fill("v2 check")
            page.get_by_role("button", name="Save settings").click()
            assert "Saved as version 2" in page.locator("#saved").inner_text()
            page.goto(base + "/devices/cam1")
            page.get_by_role("button", name="Deploy").click()
            page.wait_for_function(
                "document.getElementById('deployment').textContent === 'sorter v2: running'",
                timeout=60_000,
            )
            page.wait_for_function(
                "[...document.querySelectorAll('#results tbody tr')].slice(0, 3)"
                ".every(r => r.textContent.includes('bin: v2 check'))",
                timeout=30_000,
            )
            page.get_by_role("button", name="Roll back").click()
            page.wait_for_function(
                "document.getElementById('deployment').textContent === 'sorter v1: running'",
                timeout=60_000,
            )
            page.wait_for_function(
                "[...document.querySelectorAll('#results tbody tr')].slice(0, 3)"
                ".every(r => r.textContent.includes('bin:') && !r.textContent.includes('v2 check'))",
                timeout=30_000,
            )
            for name in ("deployments",):
                page.get_by_role("link", name="Deployments").click()
                shoot(page, name)
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(base + "/login")
        finally:
            agent.send_signal(signal.SIGTERM)
            _, stderr = agent.communicate(timeout=15)
    assert "Traceback" not in stderr


def test_a_racer_model_in_the_league_is_ranked_with_a_playable_video(
    console, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.drive_models import constant_driver

    base, key, _ = console
    package = constant_driver(tmp_path / "straight", preferred=5)
    archive = zip_package(package, tmp_path / "straight.zip")
    with browser_page(base, key) as page:
        page.get_by_role("link", name="Models").click()
        page.get_by_label(re.compile("Model package")).set_input_files(str(archive))
        page.get_by_role("button", name="Upload model").click()
        page.get_by_role("link", name="Models").click()
        assert page.locator("#models").inner_text().count("drive") == 1
        shoot(page, "models")
        page.get_by_role("link", name="League").click()
        page.get_by_label("Track").first.select_option("Oval_track")
        page.get_by_label("Laps").fill("1")
        page.get_by_role("button", name="Submit to league").click()
        page.locator("#board video").wait_for(timeout=180_000)
        row = page.locator("#board tr").nth(1).inner_text()
        assert row.startswith("1\t") and "Oval_track" in row
        page.wait_for_function(
            "document.querySelector('#board video').readyState >= 1 && "
            "document.querySelector('#board video').duration > 0",
            timeout=20_000,
        )
        assert page.evaluate("document.querySelector('#board video').videoWidth") > 0
        shoot(page, "league")


def test_the_studio_generates_a_harmonisation_to_listen_to(console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.composer.conftest import write_four_part
    from tests.helpers.compose_models import tiny_inpaint

    base, key, _ = console
    pieces = tmp_path / "pieces"
    pieces.mkdir()
    for i in range(6):
        write_four_part(pieces / f"p{i}.mid", seed=i)
    package = tiny_inpaint(tmp_path / "tiny", pieces)
    archive = zip_package(package, tmp_path / "tiny.zip")
    with browser_page(base, key) as page:
        page.get_by_role("link", name="Models").click()
        page.get_by_label(re.compile("Model package")).set_input_files(str(archive))
        page.get_by_role("button", name="Upload model").click()
        page.get_by_role("link", name="Studio").click()
        page.wait_for_url(base + "/studio")
        page.locator("#keyboard [data-pitch]").first.wait_for()
        for key_name in "asdfg":  # five notes on the page's keyboard, from the computer keys
            page.keyboard.down(key_name)
            time.sleep(0.15)
            page.keyboard.up(key_name)
        page.wait_for_function("document.getElementById('played-count').textContent === '5 notes'")
        shoot(page, "studio")
        page.get_by_label("A sample:").check()
        page.get_by_role("button", name="Generate").click()
        page.wait_for_url(re.compile(r"/studio/[0-9a-f]{32}$"))
        page.wait_for_function(
            "document.getElementById('audio').readyState >= 1 && "
            "document.getElementById('audio').duration > 0",
            timeout=20_000,
        )
        assert page.evaluate("document.getElementById('piano-roll').naturalWidth") > 0
        shoot(page, "composition")
        page.get_by_role("link", name="Generate another").click()
        page.wait_for_url(base + "/studio")
        page.locator("#keyboard [data-pitch]").first.wait_for()
        page.keyboard.down("a")
        time.sleep(0.2)
        page.keyboard.up("a")
        page.get_by_role("button", name="Generate").click()  # the played melody: one note
        page.wait_for_url(re.compile(r"/studio/[0-9a-f]{32}$"))
        assert page.evaluate("document.getElementById('audio').src").endswith("/wav")
