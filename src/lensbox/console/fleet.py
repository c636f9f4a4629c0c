"""Fleet messages: the console subscribes to ``lensbox/+/results`` on an MQTT broker and keeps
what devices publish there (the same JSON as the runtime's), as it keeps posted results."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select

from lensbox._optional import require
from lensbox.console.db import Device, add_results
from lensbox.runtime.sinks.mqtt import parse_mqtt_url

log = logging.getLogger("lensbox.fleet")
TOPIC = "lensbox/+/results"


def device_topic(device: str) -> str:
    return f"lensbox/{device}/results"


def store_result(sessions: Any, device_name: str, data: dict[str, Any], keep: int) -> bool:
    with sessions() as session:
        device = session.scalar(select(Device).where(Device.name == device_name))
        if device is None:
            return False
        add_results(session, device.id, [data], keep)
        session.commit()
        return True


class FleetSubscriber:
    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def open(cls, url: str, sessions: Any, keep: int) -> FleetSubscriber:
        """``url`` is mqtt://HOST:PORT (a topic, if given, is ignored: devices use their own)."""
        mqtt = require("paho.mqtt.client", extra="runtime")
        host, port, _ = parse_mqtt_url(url.rstrip("/") + "/lensbox")
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="lensbox-console"
        )
        client.reconnect_delay_set(1, 30)

        def on_connect(c: Any, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
            c.subscribe(TOPIC, qos=1)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            parts = message.topic.split("/")
            try:
                data = json.loads(message.payload)
            except (json.JSONDecodeError, UnicodeDecodeError):
                log.warning("ignoring a non-JSON message on %s", message.topic)
                return
            if len(parts) == 3 and isinstance(data, dict):
                store_result(sessions, parts[1], data, keep)

        client.on_connect, client.on_message = on_connect, on_message
        client.connect_async(host, port, keepalive=30)
        client.loop_start()
        return cls(client)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
