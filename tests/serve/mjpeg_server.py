"""A camera for the tests: serves MJPEG over HTTP (``multipart/x-mixed-replace``) on
127.0.0.1, as network cameras do, from frames made of the sample photos.

Run as ``python mjpeg_server.py PORT [FPS]``; it prints ``ready`` when it listens. The tests
run it as a process of its own so that they can freeze it (SIGSTOP) and kill it (SIGKILL)
as a camera hangs and dies, and start it again on the same port.
"""

from __future__ import annotations

import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

import maskdet

BOUNDARY = "camera-frame"


def frames(width: int = 320, height: int = 240) -> list[bytes]:
    """JPEGs of the sample photos, each shifted a few pixels at a time (a panning camera)."""
    out = []
    for path in maskdet.samples.paths():
        photo = cv2.resize(maskdet.read_image(path), (width + 40, height))
        for dx in range(0, 40, 4):
            ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(photo[:, dx:dx + width]))
            out.append(buffer.tobytes())
    return out


class Handler(BaseHTTPRequestHandler):
    jpegs: list[bytes] = []
    fps = 15.0

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        i = 0
        try:
            while True:
                jpeg = self.jpegs[i % len(self.jpegs)]
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg
                                 + b"\r\n")
                self.wfile.flush()
                i += 1
                time.sleep(1.0 / self.fps)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(ThreadingHTTPServer):
    allow_reuse_address = True  # restarted on the same port at once
    daemon_threads = True


def main() -> None:
    port = int(sys.argv[1])
    Handler.fps = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
    Handler.jpegs = frames()
    socketserver.TCPServer.allow_reuse_address = True
    with Server(("127.0.0.1", port), Handler) as server:
        print("ready", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
