"""Fleet messages: an agent publishes to lensbox/<device>/results on a real mosquitto, and the
console (subscribed to lensbox/+/results) keeps them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers import free_port, lensbox, start_agent, wait_url
from tests.helpers.mqtt_broker import requires_mosquitto
from tests.helpers.onnx_models import colour_package, write_video


@requires_mosquitto
def test_device_results_travel_over_mqtt_to_the_console(broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port, mqtt = free_port(), f"mqtt://127.0.0.1:{broker.port}"
    data = tmp_path / "console"
    console = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lensbox",
            "console",
            "--data",
            str(data),
            "--port",
            str(port),
            "--mqtt",
            mqtt,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    agent = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_url(url + "/health")
        key = (data / "admin.key").read_text().strip()
        env = {"LENSBOX_CONSOLE": url, "LENSBOX_KEY": key}
        model = json.loads(
            lensbox("model", "push", str(colour_package(tmp_path / "m").root), env=env).stdout
        )
        assert (
            lensbox(
                "project",
                "create",
                "p",
                "--model",
                str(model["id"]),
                "--template",
                "trash-sorter",
                env=env,
            ).returncode
            == 0
        )
        token = json.loads(lensbox("device", "add", "dock-3", env=env).stdout)["token"]
        video = write_video(tmp_path / "clip.mp4", [(0, 0, 220)] * 20, fps=20)
        agent = start_agent(
            url, token, str(video), free_port(), str(tmp_path / "agent"), "--mqtt", mqtt
        )
        assert lensbox("deploy", "p", "--device", "dock-3", "--wait", "15", env=env).returncode == 0
        results: list[dict] = []
        deadline = time.monotonic() + 15
        while len(results) < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
            request = urllib.request.Request(
                url + "/api/v1/devices/dock-3/results", headers={"Authorization": f"Bearer {key}"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                results = json.loads(response.read())
        assert len(results) >= 5, "no results arrived over MQTT"
        newest = results[0]
        assert newest["label"] == "red" and newest["model_sha256"] == model["sha256"]
        assert {"material", "bin", "frame_index"} <= set(newest)
        assert results[0]["frame_index"] > results[-1]["frame_index"]  # newest first
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(10)
        console.send_signal(signal.SIGTERM)
        console.wait(10)
