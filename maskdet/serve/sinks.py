"""Where events go: a webhook (JSON POST), an MQTT broker, a shell command.

Frames never wait for a sink: :meth:`EventSink.publish` only puts the event in the sink's
bounded queue (one that is full drops it and counts it) and a thread of the sink's own does
the delivery, retrying with backoff. Each sink counts what it delivered, retried, dropped and
gave up, for ``/metrics`` and ``/v1/health``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BackendError
from ..versions import MASKDET_VERSION
from ..video.alerts import Alert, AlertCommand
from .config import MQTT_PASSWORD_ENV, MqttConfig, WebhookConfig
from .storage import Event

logger = logging.getLogger(__name__)


class EventSink:
    """A destination of events. Subclasses deliver in :meth:`_deliver` (in the sink's
    thread) and return True when delivered, False to retry later; raising
    :class:`PermanentFailure` gives the event up at once."""

    kind = "sink"

    def __init__(self, name: str, queue_size: int = 1000, retry_delay: float = 1.0,
                 max_retry_delay: float = 60.0, max_attempts: int = 0) -> None:
        self.name = name
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.max_attempts = max_attempts
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._closing = threading.Event()
        self._busy = False
        self.delivered = 0
        self.failures = 0
        """Failed attempts (each retry that failed counts)."""
        self.dropped = 0
        """Events not queued because the queue was full."""
        self.given_up = 0
        """Events given up: too many attempts, refused for good, or pending at shutdown."""
        self._thread = threading.Thread(target=self._run, name=f"maskdet-sink-{name}",
                                        daemon=True)
        self._thread.start()

    def publish(self, message: Mapping[str, Any]) -> bool:
        """Queue a message (an event's dict) without waiting; False when the queue was full
        (the message is dropped and counted)."""
        try:
            self._queue.put_nowait(dict(message))
        except queue.Full:
            self.dropped += 1
            logger.warning("%s: the queue is full (%d); an event was dropped", self.name,
                           self._queue.maxsize)
            return False
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize() + (1 if self._busy else 0)

    def stats(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "delivered": self.delivered,
                "failures": self.failures, "dropped": self.dropped,
                "given_up": self.given_up, "pending": self.pending}

    def _run(self) -> None:
        self._start()
        while True:
            try:
                message = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._closing.is_set():
                    break
                continue
            self._busy = True
            try:
                self._send(message)
            finally:
                self._busy = False
        self._stop()

    def _send(self, message: dict[str, Any]) -> None:
        delay, attempt = self.retry_delay, 0
        while True:
            attempt += 1
            try:
                if self._deliver(message):
                    self.delivered += 1
                    return
                reason = "not delivered"
            except PermanentFailure as exc:
                self.failures += 1
                self.given_up += 1
                logger.warning("%s: an event was refused (%s); not retried", self.name, exc)
                return
            except Exception as exc:  # a broken receiver must not end the sink
                reason = str(exc) or type(exc).__name__
            self.failures += 1
            if (self.max_attempts and attempt >= self.max_attempts) or self._closing.is_set():
                self.given_up += 1
                logger.warning("%s: an event was given up after %d attempts (%s)", self.name,
                               attempt, reason)
                return
            if attempt == 1:
                logger.warning("%s: delivery failed (%s); retrying with backoff", self.name,
                               reason)
            if self._closing.wait(delay):
                continue  # shutting down: one more try at once, then give up
            delay = min(self.max_retry_delay, max(delay * 2, 0.01))

    def _start(self) -> None:
        """Set up in the sink's thread (a connection, a client)."""

    def _stop(self) -> None:
        """Tear down in the sink's thread."""

    def _deliver(self, message: dict[str, Any]) -> bool:
        raise NotImplementedError

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued for up to ``timeout`` seconds, then stop; what is left is
        counted as given up."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        self._closing.set()
        self._thread.join(timeout=max(0.1, deadline - time.monotonic()) + 1.0)
        left = 0
        while True:  # taken here, so that the thread (if still busy) gives none up twice
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            left += 1
        if left:
            self.given_up += left
            logger.warning("%s: %d events not delivered at shutdown", self.name, left)


class PermanentFailure(Exception):
    """A receiver refused an event in a way that retrying cannot change."""


class WebhookSink(EventSink):
    """POSTs each event as JSON to a URL (``httpx``). 2xx is delivered; 5xx, 408, 429 and
    network errors are retried with backoff; any other status gives the event up."""

    kind = "webhook"

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self._client: Any = None
        super().__init__(f"webhook {config.url}", config.queue_size, config.retry_delay,
                         config.max_retry_delay, config.max_attempts)

    def _start(self) -> None:
        import httpx

        headers = {"User-Agent": f"maskdet/{MASKDET_VERSION}", **self.config.headers}
        self._client = httpx.Client(timeout=self.config.timeout, headers=headers,
                                    follow_redirects=False, trust_env=False)

    def _stop(self) -> None:
        if self._client is not None:
            self._client.close()

    def _deliver(self, message: dict[str, Any]) -> bool:
        response = self._client.post(self.config.url, json=message)
        if 200 <= response.status_code < 300:
            return True
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}")
        raise PermanentFailure(f"HTTP {response.status_code}")


class MqttSink(EventSink):
    """Publishes each event to ``{topic}/{camera}/alerts`` and, every ``stats_interval``
    seconds, each camera's numbers to ``{topic}/{camera}/stats`` (as maskcam does); a
    retained ``{topic}/status`` says ``online`` (``offline`` as the broker's last will).
    Needs ``paho-mqtt`` (``pip install "maskdet[mqtt]"``)."""

    kind = "mqtt"

    def __init__(self, config: MqttConfig,
                 statistics: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None
                 ) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise BackendError('MQTT events need paho-mqtt: pip install "maskdet[mqtt]"') \
                from None
        self.config = config
        self.statistics = statistics
        self.connected = threading.Event()
        self.stats_published = 0
        self._mqtt = mqtt
        super().__init__(f"mqtt {config.host}:{config.port}", config.queue_size, 1.0, 30.0)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=config.client_id or f"maskdet-{id(self):x}")
        client.max_queued_messages_set(config.queue_size)
        if config.username:
            client.username_pw_set(config.username, os.environ.get(MQTT_PASSWORD_ENV))
        if config.tls:
            client.tls_set()
        client.will_set(f"{config.topic}/status", "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.reconnect_delay_set(1, 30)
        self._client = client
        client.connect_async(config.host, config.port, keepalive=30)
        client.loop_start()
        self._stats_thread = threading.Thread(target=self._publish_statistics,
                                              name="maskdet-mqtt-stats", daemon=True)
        self._stats_thread.start()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if getattr(reason_code, "is_failure", False):
            logger.warning("%s: the broker refused the connection (%s)", self.name,
                           reason_code)
            return
        self.connected.set()
        client.publish(f"{self.config.topic}/status", "online", qos=1, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self.connected.clear()

    def _deliver(self, message: dict[str, Any]) -> bool:
        if not self.connected.wait(timeout=1.0):
            raise RuntimeError("not connected to the broker")
        topic = f"{self.config.topic}/{message.get('camera', 'service')}/alerts"
        info = self._client.publish(topic, json.dumps(message), qos=self.config.qos)
        if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
            raise RuntimeError(self._mqtt.error_string(info.rc))
        return True

    def _publish_statistics(self) -> None:
        while not self._closing.wait(self.config.stats_interval):
            if self.statistics is None or not self.connected.is_set():
                continue
            for camera, numbers in self.statistics().items():
                info = self._client.publish(f"{self.config.topic}/{camera}/stats",
                                            json.dumps({"camera": camera, **numbers}),
                                            qos=0)
                if info.rc == self._mqtt.MQTT_ERR_SUCCESS:
                    self.stats_published += 1

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "connected": self.connected.is_set(),
                "stats_published": self.stats_published}

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        if self.connected.is_set():
            info = self._client.publish(f"{self.config.topic}/status", "offline", qos=1,
                                        retain=True)
            try:
                info.wait_for_publish(timeout=1.0)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()


class CommandSink(EventSink):
    """Runs a shell command for each event, as ``maskdet video --on-violation`` does
    (:class:`~maskdet.video.AlertCommand`); ``{camera}`` in it and ``MASKDET_CAMERA`` in
    its environment name the camera, ``{snapshot}`` is the snapshot's file."""

    kind = "command"

    def __init__(self, command: str,
                 snapshot_path: Callable[[str], Path | None] = lambda snap_id: None) -> None:
        self.command = command
        self.snapshot_path = snapshot_path
        self._commands: dict[str, AlertCommand] = {}
        super().__init__("command", 100, 1.0, 1.0, max_attempts=1)

    def _deliver(self, message: dict[str, Any]) -> bool:
        camera = str(message["camera"])
        runner = self._commands.get(camera)
        if runner is None:
            runner = AlertCommand(self.command.replace("{camera}", shlex.quote(camera)),
                                  env={"MASKDET_CAMERA": camera})
            self._commands[camera] = runner
        snap = message.get("snapshot")
        alert = Alert(track_id=message["track"], label=message["label"],
                      since=message["time"] - message["duration"], time=message["time"],
                      frame=message["frame"], box=tuple(message["box"]),  # type: ignore[arg-type]
                      snapshot=self.snapshot_path(snap) if snap else None)
        failed = runner.failed
        runner(alert)
        if runner.failed > failed:
            raise PermanentFailure("the command could not be started")
        return True

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        for runner in self._commands.values():
            runner.close(timeout=timeout)


class EventSinks:
    """All the sinks of a service: :meth:`publish` hands an event to each."""

    def __init__(self, sinks: list[EventSink] | None = None) -> None:
        self.sinks = list(sinks or [])

    def publish(self, event: Event) -> None:
        message = {"type": "violation", **event.to_dict()}
        for sink in self.sinks:
            sink.publish(message)

    def stats(self) -> list[dict[str, Any]]:
        return [sink.stats() for sink in self.sinks]

    def close(self, timeout: float = 5.0) -> None:
        for sink in self.sinks:
            sink.close(timeout)
