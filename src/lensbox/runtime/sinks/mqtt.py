"""Results to an MQTT broker (QoS 1), as DeepLens published to its IoT topic.

paho-mqtt keeps QoS 1 messages queued while the broker is away and reconnects with backoff; the
queue is bounded, and messages refused because it is full are counted and reported.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlparse

from lensbox._optional import require
from lensbox.errors import LensboxError
from lensbox.runtime.sinks.base import Message

log = logging.getLogger("lensbox.mqtt")


def parse_mqtt_url(url: str) -> tuple[str, int, str]:
    """``mqtt://HOST:PORT/TOPIC`` -> (host, port, topic)."""
    parsed = urlparse(url)
    if parsed.scheme != "mqtt" or not parsed.hostname:
        raise LensboxError(f"{url}: expected mqtt://HOST:PORT/TOPIC")
    topic = parsed.path.lstrip("/")
    if not topic:
        raise LensboxError(f"{url}: no topic; expected mqtt://HOST:PORT/TOPIC")
    return parsed.hostname, parsed.port or 1883, topic


class MqttSink:
    """Publishes each message's JSON to ``topic``; the constructor takes a ready client."""

    name = "mqtt"

    def __init__(self, client: Any, topic: str, qos: int = 1) -> None:
        self.client = client
        self.topic = topic
        self.qos = qos
        self.published = 0
        self.dropped = 0
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, client_id: str = "", max_queued: int = 10_000) -> MqttSink:
        mqtt = require("paho.mqtt.client", extra="runtime")
        host, port, topic = parse_mqtt_url(url)
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id
        )
        client.max_queued_messages_set(max_queued)
        client.reconnect_delay_set(min_delay=1, max_delay=30)

        def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            log.info("MQTT connected to %s:%s (%s)", host, port, reason)

        def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            log.warning("MQTT disconnected from %s:%s (%s); reconnecting", host, port, reason)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.connect_async(host, port, keepalive=30)
        client.loop_start()
        return cls(client, topic)

    def __call__(self, message: Message) -> None:
        mqtt = require("paho.mqtt.client", extra="runtime")
        info = self.client.publish(self.topic, message.text, qos=self.qos)
        with self._lock:
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.warning(
                        "MQTT buffer full while the broker is unreachable: %d message(s) dropped",
                        self.dropped,
                    )
            else:
                self.published += 1

    def stats(self) -> dict[str, int]:
        return {"published": self.published, "dropped": self.dropped}

    def close(self, timeout: float = 1.5) -> None:
        """Give queued messages a moment to leave, then disconnect."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.client.want_write():
            time.sleep(0.05)
        self.client.disconnect()
        self.client.loop_stop()
