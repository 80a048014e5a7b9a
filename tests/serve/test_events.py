"""Events: a webhook receiver on loopback (one that fails and recovers: retried, nothing lost
up to the queue's bound, the overflow counted), MQTT through a real broker (mosquitto,
started here on a free loopback port), the shell command, and a camera's alert end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
from fastapi.testclient import TestClient

from maskdet.serve.config import MqttConfig, WebhookConfig
from maskdet.serve.sinks import CommandSink, MqttSink, WebhookSink
from tests.serve.conftest import free_port, make_app, wait_for


def event(n: int, camera: str = "door") -> dict:
    return {"type": "violation", "id": n, "camera": camera, "track": n, "label": "without_mask",
            "duration": 3.2, "time": 1_800_000_000.0 + n, "frame": 10 * n,
            "box": [10, 20, 30, 40], "snapshot": None}


def hook(receiver, **values) -> WebhookConfig:
    return WebhookConfig(url=receiver.url, **{"retry_delay": 0.05, "max_retry_delay": 0.2,
                                             "timeout": 2.0, **values})


def test_the_webhook_posts_each_event_as_json(receiver):
    sink = WebhookSink(hook(receiver))
    for n in range(1, 6):
        assert sink.publish(event(n))
    wait_for(lambda: sink.delivered == 5, 10, what="5 deliveries")
    sink.close()
    assert receiver.bodies == [event(n) for n in range(1, 6)]  # all, in order
    assert sink.stats() == {"name": f"webhook {receiver.url}", "kind": "webhook",
                            "delivered": 5, "failures": 0, "dropped": 0, "given_up": 0,
                            "pending": 0}


def test_a_failing_receiver_is_retried_until_it_recovers(receiver):
    receiver.status = lambda n: 503 if n <= 4 else 200  # four failures, then up again
    sink = WebhookSink(hook(receiver))
    for n in range(1, 4):
        sink.publish(event(n))
    wait_for(lambda: sink.delivered == 3, 15, what="delivery after the recovery")
    sink.close()
    assert [b["id"] for b in receiver.bodies] == [1, 2, 3]  # nothing lost, in order
    assert sink.failures == 4 and sink.given_up == 0 and sink.dropped == 0
    assert receiver.requests == 7


def test_nothing_is_lost_up_to_the_queue_bound_and_the_overflow_is_counted(receiver):
    down = threading.Event()
    down.set()
    receiver.status = lambda n: 503 if down.is_set() else 200
    sink = WebhookSink(hook(receiver, queue_size=3))
    sink.publish(event(1))
    wait_for(lambda: sink.failures >= 1, 5, what="a first failed attempt")  # 1 is in flight
    published = [sink.publish(event(n)) for n in range(2, 8)]
    assert published == [True, True, True, False, False, False]  # 3 queued, 3 dropped
    assert sink.dropped == 3 and sink.pending == 4
    down.clear()  # the receiver recovers
    wait_for(lambda: sink.delivered == 4, 15, what="the queued events")
    sink.close()
    assert [b["id"] for b in receiver.bodies] == [1, 2, 3, 4]
    assert sink.stats()["dropped"] == 3 and sink.given_up == 0


def test_a_refusal_is_not_retried_and_attempts_can_be_bounded(receiver):
    receiver.status = 400
    sink = WebhookSink(hook(receiver))
    sink.publish(event(1))
    wait_for(lambda: sink.given_up == 1, 5)
    assert receiver.requests == 1 and sink.failures == 1
    sink.close()
    receiver.status = 500
    bounded = WebhookSink(hook(receiver, max_attempts=3))
    bounded.publish(event(2))
    wait_for(lambda: bounded.given_up == 1, 5)
    bounded.close()
    assert receiver.requests == 4 and bounded.failures == 3


def test_publishing_never_waits_for_a_slow_receiver(receiver):
    receiver.delay = 1.0
    sink = WebhookSink(hook(receiver, queue_size=100))
    start = time.perf_counter()
    for n in range(50):
        sink.publish(event(n))
    assert time.perf_counter() - start < 0.1  # the frames' thread goes on at once
    sink.close(timeout=0.5)
    # what could not go out is counted (the one in flight when its attempt ends)
    wait_for(lambda: sink.delivered + sink.given_up == 50, 5)


def test_events_left_at_shutdown_are_counted(receiver):
    receiver.status = 503
    sink = WebhookSink(hook(receiver, queue_size=10))
    for n in range(4):
        sink.publish(event(n))
    sink.close(timeout=0.3)
    assert sink.delivered == 0 and sink.given_up == 4 and sink.pending == 0


def test_the_command_runs_for_each_event_with_the_camera(tmp_path):
    out = tmp_path / "alerts.txt"
    sink = CommandSink(f'echo "{{camera}} $MASKDET_CAMERA {{track}} {{label}}" >> {out}')
    sink.publish(event(1, "front-door"))
    sink.publish(event(2, "hall"))
    wait_for(lambda: sink.delivered == 2, 5)
    sink.close()
    wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 2, 5)
    assert sorted(out.read_text().splitlines()) == ["front-door front-door 1 without_mask",
                                                    "hall hall 2 without_mask"]


def test_a_camera_alert_reaches_the_webhook(receiver, sample_clip):
    app = make_app(cameras=[{"id": "door", "source": str(sample_clip), "alert_after": 0.3}],
                   events={"webhook": [{"url": receiver.url}]})
    with TestClient(app) as client:
        wait_for(lambda: client.get("/v1/cameras/door").json()["state"] == "ended", 30)
        events = client.get("/v1/events").json()["events"]
        wait_for(lambda: len(receiver.bodies) == len(events), 10, what="the webhook")
        assert receiver.bodies == [{"type": "violation", **e} for e in events]
        first = receiver.bodies[0]
        assert first["camera"] == "door" and first["label"] == "without_mask"
        assert first["snapshot_url"] and client.get(first["snapshot_url"]).status_code == 200
        sinks = client.get("/v1/health").json()["sinks"]
        assert sinks[0]["id"] == "webhook-1" and sinks[0]["delivered"] == len(events)


# -- MQTT ------------------------------------------------------------------------------------
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if shutil.which("mosquitto", path="/usr/sbin") else None)


@pytest.fixture
def broker(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; .ci/run does)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        import socket

        def listening():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        wait_for(listening, 10, what="mosquitto listening")
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


class Subscriber:
    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-subscriber")
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, m.payload, m.retain))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(5)

    def on(self, topic: str) -> list:
        return [json.loads(p) if p.startswith(b"{") else p.decode()
                for t, p, _ in list(self.messages) if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mqtt_events_and_statistics_through_a_real_broker(broker):
    numbers = {"door": {"state": "live", "frames": 120, "people": {"with_mask": 3}},
               "hall": {"state": "stalled", "frames": 7, "people": {"with_mask": 0}}}
    subscriber = Subscriber(broker, "site/#")
    sink = MqttSink(MqttConfig(port=broker, topic="site", stats_interval=0.3),
                    statistics=lambda: numbers)
    try:
        assert sink.connected.wait(5)
        sink.publish(event(1, "door"))
        sink.publish(event(2, "hall"))
        wait_for(lambda: sink.delivered == 2, 5)
        wait_for(lambda: subscriber.on("site/door/alerts") and subscriber.on("site/hall/alerts")
                 and subscriber.on("site/hall/stats"), 5, what="the messages")
        assert subscriber.on("site/door/alerts") == [event(1, "door")]
        assert subscriber.on("site/hall/alerts") == [event(2, "hall")]
        stats = subscriber.on("site/door/stats")[0]
        assert stats == {"camera": "door", **numbers["door"]}
        assert "online" in subscriber.on("site/status")
        assert sink.stats()["connected"] and sink.stats_published >= 2
    finally:
        sink.close()
        subscriber.close()
    late = Subscriber(broker, "site/status")  # the retained status says it went offline
    wait_for(lambda: late.on("site/status"), 5)
    assert late.on("site/status") == ["offline"]
    late.close()


def test_mqtt_without_a_broker_counts_and_does_not_block():
    sink = MqttSink(MqttConfig(port=free_port(), topic="site", queue_size=5))
    start = time.perf_counter()
    for n in range(8):
        sink.publish(event(n))
    assert time.perf_counter() - start < 0.1
    assert not sink.connected.is_set() and sink.dropped >= 2
    sink.close(timeout=0.5)
    wait_for(lambda: sink.given_up + sink.dropped == 8, 5)  # each counted once
    assert sink.delivered == 0
