"""``maskdet serve``'s errors, before it listens: one line, exit status 1 (the service itself,
on a real uvicorn, is tested in tests/serve/test_server.py)."""

from __future__ import annotations

import pytest

from maskdet.serve.config import TOKEN_ENV
from tests.helpers import run_cli


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "nope.toml"], "maskdet: error: nope.toml: no such file"),
    (["--host", "0.0.0.0"], "maskdet: error: listening on 0.0.0.0 (not loopback) needs an "
                            "API token: set MASKDET_API_TOKEN or [server] token_file"),
    (["--model", "missing.maskdet"], "maskdet: error: "),
    (["--camera", "0", "--port", "70000"], "maskdet: error: settings (options): [server]: "
                                           "port must be between 0 and 65535, got 70000"),
])
def test_serve_refuses_to_start_in_one_line(capsys, monkeypatch, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setattr("uvicorn.Server.run", lambda self: pytest.fail("it started"))
    code, out, err = run_cli(capsys, "serve", *args)
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_serve_runs_the_configured_app(capsys, monkeypatch, tmp_path):
    (tmp_path / "site.toml").write_text('[server]\nport = 8123\n[model]\nmodel = "hog-svm"\n'
                                        '[[cameras]]\nid = "cam1"\nsource = "door.avi"\n')
    monkeypatch.chdir(tmp_path)
    started = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self: started.append(self.config))
    code, _, err = run_cli(capsys, "serve", "--config", "site.toml", "--port", "8124",
                           "--camera", "rtsp://10.0.0.5/s", "--camera", "1")
    assert code == 0, err
    (config,) = started
    assert (config.host, config.port) == ("127.0.0.1", 8124)
    service = config.app.state.service
    assert [(c.id, c.source) for c in service.config.cameras] == [
        ("cam1", "door.avi"), ("cam2", "rtsp://10.0.0.5/s"), ("cam3", 1)]
    assert service.classifier.backend_name == "hog-svm"


def test_without_the_serve_extra_it_says_what_to_install():
    import subprocess
    import sys

    code = ("import sys; sys.modules['fastapi'] = sys.modules['uvicorn'] = None\n"
            "from maskdet.cli import main\n"
            "sys.exit(main(['serve']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr == ('maskdet: error: maskdet serve needs fastapi, uvicorn: '
                          'pip install "maskdet[serve]"\n')
