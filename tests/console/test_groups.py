"""Deploying to a group of devices at once; an agent answers /health while it waits."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.helpers import free_port, health, lensbox, start_agent, wait_sha, wait_url
from tests.helpers.onnx_models import colour_package, write_video


def test_group_deploy_reaches_every_device(console, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, key, _ = console
    env = {"LENSBOX_CONSOLE": url, "LENSBOX_KEY": key}
    model = json.loads(
        lensbox("model", "push", str(colour_package(tmp_path / "m").root), env=env).stdout
    )
    assert lensbox("project", "create", "p", "--model", str(model["id"]), env=env).returncode == 0
    video = write_video(tmp_path / "clip.mp4", [(220, 0, 0)] * 20, fps=20)
    agents, ports = [], []
    try:
        for name in ("dock-a", "dock-b"):
            token = json.loads(lensbox("device", "add", name, "--group", "docks", env=env).stdout)[
                "token"
            ]
            port = free_port()
            ports.append(port)
            agents.append(start_agent(url, token, str(video), port, str(tmp_path / name)))
        for port in ports:
            wait_url(f"http://127.0.0.1:{port}/health")
            assert health(port)["state"] == "waiting"
        deployed = lensbox("deploy", "p", "--group", "docks", "--wait", "20", env=env)
        assert deployed.returncode == 0, deployed.stderr
        statuses = json.loads(deployed.stdout)
        assert sorted(d["device"] for d in statuses) == ["dock-a", "dock-b"]
        assert all(d["status"] == "running" for d in statuses)
        for port in ports:
            wait_sha(port, model["sha256"], 10)
        none = lensbox("deploy", "p", "--group", "nobody", env=env)
        assert none.returncode == 1 and "no device in group" in none.stderr
    finally:
        for agent in agents:
            agent.send_signal(signal.SIGTERM)
            agent.wait(10)
