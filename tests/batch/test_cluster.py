"""Batch work on a Dask cluster of two worker processes started by the tests: the same
results as one process, bad files counted, the model loaded once per worker, a worker or the
client killed mid-run and nothing lost, an unreachable scheduler."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from maskdet.batch import detect_files, read_results
from tests.batch.conftest import plain_detect
from tests.helpers import run_cli

pytest.importorskip("distributed", reason='needs dask.distributed: pip install "maskdet[dask]"')


def _lines(path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_two_workers_give_the_single_process_results(dask_client, photos, bad_files,
                                                     reference, tmp_path):
    paths = [*photos[:20], *bad_files, *photos[20:30]]
    summary = detect_files(paths, out=tmp_path / "r.jsonl", client=dask_client, chunk_size=3)
    records = list(read_results(tmp_path / "r.jsonl"))
    assert [r["path"] for r in records] == [str(p) for p in paths]  # once each, in order
    good = [r for r in records if "error" not in r]
    assert good == [reference[r["path"]] for r in good]  # boxes, labels, scores: all equal
    assert sum(len(r["faces"]) for r in good) > 100
    assert {r["path"] for r in records if "error" in r} == {str(p) for p in bad_files}
    assert (summary.processed, summary.failed) == (len(paths), 3)


def test_each_worker_loads_the_model_once_and_no_tensorflow(dask_client, photos):
    from maskdet.batch import cluster
    from maskdet.batch.tasks import DetectorSpec

    spec, _ = DetectorSpec.create()
    chunks = [[str(p)] for p in photos[:12]]  # 12 tasks
    results = cluster.chunk_results(dask_client, spec, "detect", chunks)
    got = [next(results) for _ in chunks]  # the run is not over: its plugin is still there
    assert [chunk[0]["path"] for chunk in got] == [c[0] for c in chunks]

    def state(dask_worker):
        import sys

        import cv2

        builds = [p.builds for name, p in dask_worker.plugins.items()
                  if name.startswith("maskdet-detector-")]
        return builds, "tensorflow" in sys.modules, cv2.getNumThreads()

    threads = max(1, os.cpu_count() // 2)  # the cores shared by the two workers
    assert list(dask_client.run(state).values()) == [([1], False, threads)] * 2
    results.close()  # the run ends: its plugin is dropped
    assert list(dask_client.run(state).values()) == [([], False, threads)] * 2


def test_a_worker_killed_mid_run_loses_nothing(dask_client, photos, reference, tmp_path):
    out = tmp_path / "r.jsonl"
    done: dict = {}
    run = threading.Thread(target=lambda: done.update(summary=detect_files(
        photos, out=out, client=dask_client, chunk_size=2)))
    run.start()
    deadline = time.monotonic() + 120
    while _lines(out) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    busy = [worker for worker, keys in dask_client.processing().items() if keys]
    pids = dask_client.run(os.getpid)
    written = _lines(out)
    os.kill(pids[busy[0]], signal.SIGKILL)  # a worker with a chunk in hand
    run.join(timeout=180)
    assert 0 < written < len(photos)  # it was killed mid-run
    assert done["summary"].processed == len(photos) and done["summary"].failed == 0
    records = list(read_results(out))
    assert records == [reference[str(p)] for p in photos]  # every photo once, in order
    dask_client.wait_for_workers(2, timeout=120)  # the nanny restarted it
    assert pids[busy[0]] not in dask_client.run(os.getpid).values()


def test_the_client_killed_mid_run_then_resume(dask_client, photos, reference, tmp_path,
                                               capsys):
    out = tmp_path / "r.jsonl"
    command = [sys.executable, "-m", "maskdet", "detect", str(photos[0].parent), "--workers",
               "2", "--out", str(out), "--chunk-size", "2", "--quiet"]
    run = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while _lines(out) < 3 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(run.pid, signal.SIGKILL)  # the client, its scheduler and its workers
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, run.stderr.read().decode()
    written = _lines(out)
    assert 3 <= written < len(photos)
    out.write_bytes(out.read_bytes()[:-30])  # as if it died writing its last line
    code, stdout, err = run_cli(capsys, "detect", photos[0].parent, "--out", out, "--resume",
                                "--scheduler", dask_client.scheduler.address)
    assert code == 0, err
    assert "last line was cut short" in err and f"{written - 1} already in {out}" in err
    assert list(read_results(out)) == [reference[str(p)] for p in photos]


def test_cli_on_a_scheduler_prints_what_plain_detect_prints(dask_client, photos, bad_files,
                                                            capsys):
    paths = [*photos[:4], bad_files[0]]
    address = dask_client.scheduler.address
    for options in (["--json"], []):
        plain = run_cli(capsys, "detect", *paths, *options)
        batch = run_cli(capsys, "detect", *paths, *options, "--scheduler", address,
                        "--chunk-size", "1")
        assert batch == plain and plain[0] == 1  # the bad file: status 1
        assert f"maskdet: error: {bad_files[0]}: empty file" in plain[2]


def test_an_unreachable_scheduler_is_one_line(capsys):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    code, out, err = run_cli(capsys, "detect", "x.jpg", "--scheduler", f"tcp://127.0.0.1:{port}",
                             "--connect-timeout", "1")
    assert code == 1 and out == ""
    assert err == (f"maskdet: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} "
                   "(no answer within 1 s)\n")
    assert time.monotonic() - start < 30  # bounded by the timeout, not Dask's 30 s default


def test_batch_evaluation_equals_evaluate_model(dask_client, photos, reference, tmp_path):
    import cv2

    from maskdet.batch import evaluate_model as evaluate_on_dask
    from maskdet.evaluation import evaluate_model
    from tests.helpers import voc_xml

    # Labelled photos: the faces found, some relabelled or left out, one made up.
    root = tmp_path / "scenes"
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    for k, photo in enumerate(photos[:10]):
        image = cv2.imread(str(photo))
        cv2.imwrite(str(root / "images" / f"p{k}.png"), image)
        objects = []
        for j, face in enumerate(reference[str(photo)]["faces"]):
            x, y, w, h = face["box"]
            label = face["label"] if (j + k) % 4 else "mask_weared_incorrect"
            if (j + k) % 5:
                objects.append((label, (x, y, x + w, y + h)))
        objects.append(("without_mask", (5, 5, 45, 45)))
        (root / "annotations" / f"p{k}.xml").write_text(
            voc_xml(f"p{k}.png", image.shape[1], image.shape[0], objects))
    expected = evaluate_model("cnn", root, end_to_end=True, min_face=20)
    got = evaluate_on_dask("cnn", root, client=dask_client, min_face=20, chunk_size=2,
                           out=tmp_path / "e.jsonl")
    assert got.to_dict() == expected.to_dict()
    assert 0 < got.metrics["per_class"]["with_mask"]["ap"] < 1
    # Resumed after a cut line, in this process: the same metrics.
    out = tmp_path / "e.jsonl"
    out.write_bytes(out.read_bytes()[:-40])
    again = evaluate_on_dask("cnn", root, min_face=20, out=out, resume=True)
    assert again.to_dict() == expected.to_dict()
    assert len(list(read_results(out))) == 10
    # The faces left out of the annotations, listed: ignored alike on the cluster.
    left_out = {f"p{k}": [face["box"] for j, face in enumerate(reference[str(photo)]["faces"])
                          if not (j + k) % 5] for k, photo in enumerate(photos[:10])}
    expected = evaluate_model("cnn", root, end_to_end=True, min_face=20, unlabelled=left_out)
    got = evaluate_on_dask("cnn", root, client=dask_client, min_face=20, chunk_size=2,
                           unlabelled=left_out)
    assert got.to_dict() == expected.to_dict()
    assert expected.metrics["ignored_unlabelled"] == sum(map(len, left_out.values())) > 0


def test_cli_evaluate_on_a_scheduler(dask_client, tmp_path, capsys):
    from tests.helpers import write_voc_scenes

    root = write_voc_scenes(tmp_path / "scenes", 4)
    plain = run_cli(capsys, "evaluate", "cnn", root, "--end-to-end", "--json")
    batch = run_cli(capsys, "evaluate", "cnn", root, "--end-to-end", "--json", "--scheduler",
                    dask_client.scheduler.address, "--out", tmp_path / "e.jsonl")
    assert batch == plain and plain[0] == 0
    assert len(list(read_results(tmp_path / "e.jsonl"))) == 4
    code, _, err = run_cli(capsys, "evaluate", "cnn", root, "--workers", "2")
    assert code == 1 and err == ("maskdet: error: --workers applies to --end-to-end "
                                 "evaluation only\n")


@pytest.mark.shared
def test_mask_scenes_on_two_workers_equal_one_process(dask_client, scenes_dir, tmp_path):
    from maskdet.images import list_image_files

    paths = list_image_files(scenes_dir / "images")[:40]  # the 16-bit RGBA ones among them
    summary = detect_files(paths, out=tmp_path / "r.jsonl", client=dask_client)
    records = list(read_results(tmp_path / "r.jsonl"))
    expected = plain_detect(paths)
    assert summary.failed == 0 and records == [expected[str(p)] for p in paths]
    assert json.dumps(records).count('"without_mask"') > 0


def test_a_file_that_kills_its_worker_fails_alone(photos, reference, tmp_path):
    """A "photo" of 4 GB (sparse: zeros) fills its worker's memory until the nanny kills the
    worker, every time: its chunk is retried file by file, and only it fails. (Under the
    default pixel limit it is refused before it is read: the limit is raised so that it is
    read, which also shows that workers read under the client's limit.)"""
    import dask
    from distributed import Client, LocalCluster

    from maskdet.images import pixel_limit

    poison = tmp_path / "huge.jpg"
    with open(poison, "wb") as f:
        f.truncate(4 << 30)
    paths = [*photos[:3], poison, *photos[3:6]]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="500MiB",
                         dashboard_address=":0", silence_logs=50) as cluster, \
            Client(cluster) as client:
        with pixel_limit(1_000_000_000):  # files up to 7.5 GiB may be read
            summary = detect_files(paths, out=tmp_path / "r.jsonl", client=client,
                                   chunk_size=4)
    records = list(read_results(tmp_path / "r.jsonl"))
    assert [r["path"] for r in records] == [str(p) for p in paths]
    assert records[3] == {"path": str(poison), "error": f"{poison}: its worker process died "
                          "every time it processed this file (out of memory, or a crash)"}
    assert [r for r in records if "error" not in r] == [reference[str(p)]
                                                        for p in [*photos[:3], *photos[3:6]]]
    assert summary.failed == 1


def test_workers_read_under_the_clients_pixel_limit(dask_client, photos, tmp_path):
    from maskdet.images import pixel_limit

    with pixel_limit(1000):
        summary = detect_files(photos[:2], out=tmp_path / "r.jsonl", client=dask_client)
    errors = [r["error"] for r in read_results(tmp_path / "r.jsonl")]
    assert summary.failed == 2 and all("is over the limit of 0.001 MP" in e for e in errors)


def test_a_lost_scheduler_is_one_line_and_resume_continues(dask_client, photos, reference,
                                                           tmp_path, capsys):
    from distributed import LocalCluster

    out = tmp_path / "r.jsonl"
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0",
                           silence_logs=50)

    def close_when_started():
        deadline = time.monotonic() + 120
        while _lines(out) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        cluster.close()

    closer = threading.Thread(target=close_when_started)
    closer.start()
    code, _, err = run_cli(capsys, "detect", photos[0].parent, "--out", out, "--chunk-size",
                           "2", "--scheduler", cluster.scheduler_address,
                           "--connect-timeout", "2")
    closer.join()
    assert code == 1 and 0 < _lines(out) < len(photos)
    assert err.endswith("maskdet: error: the Dask cluster dropped a task (cancelled); the "
                        "results so far are kept, --resume continues\n")
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "detect", photos[0].parent, "--out", out, "--resume",
                           "--scheduler", dask_client.scheduler.address)
    assert code == 0, err
    assert list(read_results(out)) == [reference[str(p)] for p in photos]
