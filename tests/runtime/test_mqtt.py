"""Results reach a real MQTT broker (Debian's mosquitto on a free loopback port), survive an
outage of the broker within the buffer, and never stop the pipeline."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from lensbox.runtime.engine import Engine
from lensbox.runtime.pipeline import BufferPolicy, Pipeline
from lensbox.runtime.sinks.mqtt import MqttSink, parse_mqtt_url
from lensbox.runtime.sources import TestPatternSource
from tests.helpers import free_port
from tests.helpers.mqtt_broker import Broker, requires_mosquitto

pytestmark = requires_mosquitto


class Subscriber:
    """A persistent-session QoS 1 subscriber, so the broker keeps its messages across outages."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[dict] = []
        self.raw: list[bytes] = []
        self._ready = threading.Event()
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id="lensbox-test-sub",
            clean_session=False,
        )
        client.reconnect_delay_set(0.1, 0.5)

        def on_connect(c, _u, _f, _r, _p):  # type: ignore[no-untyped-def]
            c.subscribe(topic, qos=1)

        def on_subscribe(*_args):  # type: ignore[no-untyped-def]
            self._ready.set()

        def on_message(_c, _u, message):  # type: ignore[no-untyped-def]
            self.raw.append(message.payload)
            self.messages.append(json.loads(message.payload))

        client.on_connect, client.on_subscribe, client.on_message = (
            on_connect,
            on_subscribe,
            on_message,
        )
        client.connect("127.0.0.1", port)
        client.loop_start()
        assert self._ready.wait(5)
        self.client = client

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_url_parsing() -> None:
    assert parse_mqtt_url("mqtt://127.0.0.1:1884/lensbox/dev/results") == (
        "127.0.0.1",
        1884,
        "lensbox/dev/results",
    )


def test_every_result_arrives_in_order_and_survives_a_broker_outage(
    broker: Broker, colour_model: Path
) -> None:
    topic = "lensbox/test/results"
    subscriber = Subscriber(broker.port, topic)
    sink = MqttSink.open(f"mqtt://127.0.0.1:{broker.port}/{topic}")
    assert _wait_for(lambda: sink.client.is_connected(), 5)
    source = TestPatternSource(width=96, height=64, fps=40)
    pipeline = Pipeline(
        source,
        Engine.open(colour_model),
        sinks=[sink],
        policy=BufferPolicy.WAIT,
        pace=True,
        max_frames=400,
    )
    pipeline.start()
    assert _wait_for(lambda: len(subscriber.messages) >= 40, 10)

    broker.stop()  # 5 s outage while the pipeline keeps publishing
    during = pipeline.stats.frames
    time.sleep(5)
    assert pipeline.stats.frames > during + 100, "the runtime must keep running"
    assert pipeline.stats.state == "running"
    broker.start()

    assert pipeline.wait(30)
    pipeline.close()
    assert _wait_for(lambda: len({m["frame_index"] for m in subscriber.messages}) >= 400, 30)
    subscriber.close()
    indexes = [m["frame_index"] for m in subscriber.messages]
    first_seen = list(dict.fromkeys(indexes))  # QoS 1 is at-least-once: drop repeats
    assert first_seen == list(range(400)), "every frame, in order"
    assert all(m["task"] == "classify" and "label" in m for m in subscriber.messages)
    assert sink.dropped == 0


def test_full_buffer_drops_are_counted_not_fatal(tmp_path: Path, colour_model: Path) -> None:
    port = free_port()  # nothing listens here
    sink = MqttSink.open(f"mqtt://127.0.0.1:{port}/t", max_queued=20)
    source = TestPatternSource(width=64, height=48)
    pipeline = Pipeline(source, Engine.open(colour_model), sinks=[sink], max_frames=60)
    pipeline.start()
    assert pipeline.wait(20)
    pipeline.close()
    assert pipeline.stats.frames == 60
    assert sink.dropped >= 60 - 20 - 1 and sink.stats()["dropped"] == sink.dropped
