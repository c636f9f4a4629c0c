"""A real browser opens the device page and sees both streams move."""

from __future__ import annotations

import time
from pathlib import Path

from lensbox.runtime.device import Device, DeviceOptions
from tests.helpers import free_port
from tests.helpers.browser import ARTIFACTS, chromium_page, requires_chromium


@requires_chromium
def test_device_page_shows_two_live_streams(colour_model: Path) -> None:
    port = free_port()
    device = Device.build(
        DeviceOptions(model=colour_model, source="test", port=port, realtime=True)
    ).start()
    try:
        with chromium_page() as page:
            page.goto(f"http://127.0.0.1:{port}/")
            for stream in ("device-stream", "project-stream"):
                page.wait_for_function(
                    f"document.getElementById('{stream}').naturalWidth > 0", timeout=15000
                )
            page.wait_for_function(
                "document.getElementById('results').textContent.includes('frame_index')",
                timeout=15000,
            )
            shots = {}
            for moment in ("a", "b"):
                for stream in ("device-stream", "project-stream"):
                    shots[stream, moment] = page.locator(f"#{stream}").screenshot()
                if moment == "a":
                    time.sleep(1.0)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "device-page.png"))
            assert page.locator("#state").text_content() == "running"
        for stream in ("device-stream", "project-stream"):
            assert shots[stream, "a"] != shots[stream, "b"], f"{stream} did not change"
        assert shots["device-stream", "a"] != shots["project-stream", "a"]
    finally:
        device.close()
