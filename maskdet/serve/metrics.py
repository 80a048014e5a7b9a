"""Prometheus metrics of the service (``GET /metrics``), in a registry of each app's own.

Request latencies are a histogram observed as requests end; everything a camera or a sink
counts is read when Prometheus scrapes (a collector over their current numbers), so the
frame loop does no metric bookkeeping. Names follow Prometheus' conventions: ``maskdet_``,
base units, ``_total`` for counters, labels only of bounded sets (camera, label, state,
window, sink, route template -- never a path, a track or a file).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from .config import CAMERA_STATES

#: Request latency buckets (seconds): photo detection takes tens of milliseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The service's registry: request latencies, photos, build and model information, the
    process, and the numbers of cameras and sinks read from ``sources`` at each scrape."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, version: str, model: Mapping[str, str]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "maskdet_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.photos = Counter("maskdet_photos", "Photos sent to /v1/detect, by outcome",
                              ["outcome"], registry=self.registry)
        self.photo_faces = Counter("maskdet_photo_faces", "Faces found in photos, by label",
                                   ["label"], registry=self.registry)
        Info("maskdet_build", "maskdet's version", registry=self.registry).info(
            {"version": version})
        Info("maskdet_model", "The model and face detector in use",
             registry=self.registry).info(dict(model))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def watch(self, cameras: Callable[[], Sequence[Mapping[str, Any]]],
              sinks: Callable[[], Sequence[Mapping[str, Any]]],
              events: Callable[[], int]) -> None:
        """Read the cameras' and sinks' numbers at each scrape."""
        self.registry.register(_Snapshot(cameras, sinks, events))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Snapshot(Collector):
    def __init__(self, cameras, sinks, events) -> None:
        self.cameras, self.sinks, self.events = cameras, sinks, events

    def collect(self) -> Iterable[Metric]:
        yield from camera_families(self.cameras())
        yield from sink_families(self.sinks())
        total = CounterMetricFamily("maskdet_events", "Violation events raised")
        total.add_metric([], self.events())
        yield total


def camera_families(cameras: Sequence[Mapping[str, Any]]) -> Iterable[Metric]:
    """Metric families of the cameras' numbers (as ``CameraWorker.numbers`` gives them)."""
    def counter(name, doc, key):
        family = CounterMetricFamily(name, doc, labels=["camera"])
        for cam in cameras:
            family.add_metric([cam["id"]], cam[key])
        return family

    yield counter("maskdet_camera_frames", "Frames processed", "frames")
    yield counter("maskdet_camera_dropped_frames", "Stale live frames skipped", "dropped")
    yield counter("maskdet_camera_unreadable_frames", "Frames that could not be decoded",
                  "unreadable")
    yield counter("maskdet_camera_reconnects", "Times the source was reopened", "reconnects")
    yield counter("maskdet_camera_alerts", "Violation alerts raised", "alerts")
    fps = GaugeMetricFamily("maskdet_camera_fps", "Frames processed per second",
                            labels=["camera"])
    faces = CounterMetricFamily("maskdet_camera_faces", "Face sightings (a face in a frame)",
                                labels=["camera", "label"])
    in_view = GaugeMetricFamily("maskdet_camera_faces_in_view", "Faces in the latest frame",
                                labels=["camera", "label"])
    people = CounterMetricFamily("maskdet_camera_tracks", "Distinct people (tracks) counted",
                                 labels=["camera", "label"])
    compliance = GaugeMetricFamily("maskdet_camera_compliance_ratio",
                                   "Compliant share of face sightings in a window",
                                   labels=["camera", "window"])
    state = GaugeMetricFamily("maskdet_camera_state", "1 for the camera's current state",
                              labels=["camera", "state"])
    for cam in cameras:
        fps.add_metric([cam["id"]], cam["fps"])
        for label, n in cam["faces"].items():
            faces.add_metric([cam["id"], label], n)
        for label, n in cam["in_view"].items():
            in_view.add_metric([cam["id"], label], n)
        for label, n in cam["people"].items():
            if label not in ("compliant", "violating"):  # sums of the labels
                people.add_metric([cam["id"], label], n)
        for window, rate in cam["compliance"].items():
            if rate is not None:
                compliance.add_metric([cam["id"], window], rate)
        for name in CAMERA_STATES:
            state.add_metric([cam["id"], name], 1.0 if cam["state"] == name else 0.0)
    yield from (fps, faces, in_view, people, compliance, state)


def sink_families(sinks: Sequence[Mapping[str, Any]]) -> Iterable[Metric]:
    """Metric families of the event sinks' counts (labelled ``kind-N``, not by URL)."""
    families = {
        "delivered": CounterMetricFamily("maskdet_sink_delivered", "Events delivered",
                                         labels=["sink"]),
        "failures": CounterMetricFamily("maskdet_sink_failures", "Failed delivery attempts",
                                        labels=["sink"]),
        "dropped": CounterMetricFamily("maskdet_sink_dropped",
                                       "Events dropped: the sink's queue was full",
                                       labels=["sink"]),
        "given_up": CounterMetricFamily("maskdet_sink_given_up", "Events given up",
                                        labels=["sink"]),
        "pending": GaugeMetricFamily("maskdet_sink_pending", "Events waiting",
                                     labels=["sink"]),
    }
    for sink in sinks:
        for key, family in families.items():
            family.add_metric([sink["id"]], sink[key])
    yield from families.values()


class RequestTimer:
    """ASGI middleware that observes each HTTP request's latency by route template; live
    streams (routes in ``skip``) are left out, their length is the viewer's."""

    def __init__(self, app, metrics: ServiceMetrics, skip: Sequence[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.skip = set(skip)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if route not in self.skip:
                self.metrics.observe(scope["method"], route, status,
                                     time.perf_counter() - start)
