"""The service's settings: a TOML file read into checked values, one-line errors naming the
key, the token from the environment or a file, and the security rule for other addresses."""

from __future__ import annotations

import pytest

from maskdet.serve import ConfigError, load_config
from maskdet.serve.config import TOKEN_ENV, camera_from_dict, config_from_dict, is_loopback

SITE = """
[server]
port = 8080
cors_origins = ["https://intranet.example"]

[model]
model = "hog-svm"
min_confidence = { without_mask = 0.7 }

[privacy]
blur_method = "blur"

[storage]
max_snapshots = 20
snapshot_max_age = 3600

[[cameras]]
id = "entrance"
source = "rtsp://user:secret@10.0.0.5/stream1"
every = 3
alert_after = 5.0
stall_seconds = 4

[[cameras]]
id = "hall"
source = 0
name = "Main hall"
detect_scale = 0.5

[[events.webhook]]
url = "http://127.0.0.1:9000/maskdet"
queue_size = 50
headers = { Authorization = "Bearer receiver-secret" }

[events.mqtt]
host = "127.0.0.1"
topic = "site/masks"
stats_interval = 10

[events.command]
run = "notify-send 'no mask at {camera}'"
"""


def test_a_site_file_is_read_into_typed_settings(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    path = tmp_path / "site.toml"
    path.write_text(SITE)
    config = load_config(path)
    assert (config.host, config.port, config.model) == ("127.0.0.1", 8080, "hog-svm")
    assert config.cors_origins == ("https://intranet.example",)
    assert config.min_confidence == {"without_mask": 0.7}
    assert config.blur_faces is True and config.blur_method == "blur"  # on by default
    assert (config.max_snapshots, config.snapshot_max_age) == (20, 3600.0)
    entrance, hall = config.cameras
    assert (entrance.id, entrance.every, entrance.alert_after, entrance.stall_seconds) == (
        "entrance", 3, 5.0, 4.0)
    assert (hall.source, hall.title, hall.detect_scale, hall.stall_seconds) == (
        0, "Main hall", 0.5, 10.0)
    assert hall.stream_options() == {"every": 2, "detect_scale": 0.5, "classify_every": 1,
                                     "min_face": 0, "min_confidence": None,
                                     "alert_after": 3.0}
    (hook,) = config.webhooks
    assert hook.queue_size == 50 and hook.headers == {"Authorization": "Bearer receiver-secret"}
    assert (config.mqtt.topic, config.mqtt.stats_interval, config.mqtt.port) == (
        "site/masks", 10.0, 1883)
    assert config.command == "notify-send 'no mask at {camera}'"
    assert config.token is None and config.loopback_only
    config.check_security()  # loopback needs no token
    # command-line options over the file
    assert load_config(path, port=9000, model=None).port == 9000


@pytest.mark.parametrize(("text", "message"), [
    ("[server]\nhots = 'x'", "[server]: unknown key 'hots' (known: cors_origins, host"),
    ("[server]\nport = 'eighty'", "[server]: port must be a whole number, got 'eighty'"),
    ("[server]\nport = 70000", "[server]: port must be between 0 and 65535, got 70000"),
    ("[privacy]\nblur_faces = 'yes'", "[privacy]: blur_faces must be true or false"),
    ("[privacy]\nblur_method = 'smudge'", "blur_method must be one of pixelate, blur"),
    ("[[cameras]]\nsource = 0", "[[cameras]] #1: id is missing"),
    ("[[cameras]]\nid = '../etc'\nsource = 0", "id must be 1-64 letters, digits"),
    ("[[cameras]]\nid = 'a'\nsource = 0\n[[cameras]]\nid = 'a'\nsource = 1",
     "camera id 'a' is used twice"),
    ("[[cameras]]\nid = 'a'\nsource = 0\nevery = 0", "[[cameras]] #1 (a): every must be "
                                                      "between 1 and 1000, got 0"),
    ("[[cameras]]\nid = 'a'\nsource = -1", "a camera index is 0 or more"),
    ("[[cameras]]\nid = 'a'\nsource = 0\nzoom = 2", "unknown key 'zoom'"),
    ("[[events.webhook]]\nurl = 'ftp://x'", "url must be an http:// or https:// URL"),
    ("[events.mqtt]\ntopic = 'a/#'", "topic must be a topic prefix without wildcards"),
    ("[events.command]\nrn = 'x'", "[events.command]: unknown key 'rn'"),
    ("[model]\nmin_confidence = 2", "[model]: min_confidence must be between 0.0 and 1.0"),
    ("cameras = 3", "[[cameras]]: must be an array of tables"),
    ("[server\nport = 1", "not valid TOML"),
])
def test_a_wrong_setting_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "site.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value) and str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file$"):
        load_config(tmp_path / "nope.toml")


def test_the_token_comes_from_the_environment_or_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    token_file = tmp_path / "token"
    token_file.write_text("file-token-0123456789\n")
    data = {"server": {"host": "0.0.0.0", "token_file": str(token_file)}}
    assert config_from_dict(data).token == "file-token-0123456789"
    monkeypatch.setenv(TOKEN_ENV, "env-token-0123456789")
    assert config_from_dict(data).token == "env-token-0123456789"  # the environment wins
    assert "env-token" not in repr(config_from_dict(data))  # never shown
    config_from_dict(data).check_security()
    monkeypatch.setenv(TOKEN_ENV, "short")
    with pytest.raises(ConfigError, match="MASKDET_API_TOKEN: the API token must be at least 16"):
        config_from_dict(data)
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ConfigError, match="token_file .*missing: cannot read"):
        config_from_dict({"server": {"token_file": str(tmp_path / "missing")}})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "maskdet.example"])
def test_listening_beyond_loopback_needs_a_token(monkeypatch, host):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = config_from_dict({"server": {"host": host}})
    assert not config.loopback_only
    with pytest.raises(ConfigError, match=f"listening on {host} .not loopback. needs an API "
                                          "token: set MASKDET_API_TOKEN"):
        config.check_security()


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.0.2", True),
                                                 ("::1", True), ("[::1]", True),
                                                 ("localhost", True), ("0.0.0.0", False),
                                                 ("10.0.0.1", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_camera_from_the_api_is_never_a_file(tmp_path):
    camera = camera_from_dict({"id": "door", "source": "rtsp://10.0.0.5/s"}, from_api=True)
    assert camera.source == "rtsp://10.0.0.5/s"
    assert camera_from_dict({"id": "usb", "source": 1}, from_api=True).source == 1
    for source in ("/etc/passwd", "../clip.avi", "file:///etc/passwd", str(tmp_path)):
        with pytest.raises(ConfigError, match="files only from the config file"):
            camera_from_dict({"id": "x", "source": source}, "the request", from_api=True)
    # the config file may name files
    assert camera_from_dict({"id": "clip", "source": "clip.avi"}).source == "clip.avi"


def test_the_defaults_are_safe():
    config = load_config()
    assert config.host == "127.0.0.1" and config.token is None and config.cors_origins == ()
    assert config.blur_faces and not config.stats_only
    assert (config.max_upload_bytes, config.max_pixels) == (20_000_000, 40_000_000)
    assert config.snapshot_dir is None  # a private temporary folder
