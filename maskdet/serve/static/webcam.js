// Your webcam: frames go to the service over a WebSocket, one at a time (the next one when
// the answer to the last has come back); the frame sent is shown with the faces found drawn
// on it, so that the boxes sit where the faces were (the live video runs on beside it).
"use strict";

const COLORS = { with_mask: "#00c800", without_mask: "#e60000", mask_weared_incorrect: "#ffa500" };
const video = document.getElementById("video");
const overlay = document.getElementById("overlay");
const stats = document.getElementById("webcam-stats");
const grab = document.createElement("canvas");  // the frame on its way to the service
let frames = 0;
let socket = null;
window.maskdetWebcam = { frames: 0, boxesDrawn: 0, last: null };

function showError(text) { document.getElementById("webcam-error").textContent = text; }

function sendFrame() {
  if (!socket || socket.readyState !== WebSocket.OPEN || !video.videoWidth) {
    setTimeout(sendFrame, 100);
    return;
  }
  grab.width = video.videoWidth;
  grab.height = video.videoHeight;
  grab.getContext("2d").drawImage(video, 0, 0);
  grab.toBlob((blob) => socket.send(blob), "image/jpeg", 0.85);
}

function draw(result) {
  overlay.width = result.width;
  overlay.height = result.height;
  const ctx = overlay.getContext("2d");
  ctx.drawImage(grab, 0, 0);
  ctx.lineWidth = Math.max(2, result.width / 300);
  ctx.font = `${Math.max(12, result.width / 45)}px system-ui, sans-serif`;
  for (const face of result.faces) {
    const [x, y, w, h] = face.box;
    const color = COLORS[face.label] || "#00a0ff";
    ctx.strokeStyle = color;
    ctx.strokeRect(x, y, w, h);
    const text = `#${face.track} ${face.label} ${face.score.toFixed(2)}`;
    const tw = ctx.measureText(text).width;
    ctx.fillStyle = color;
    ctx.fillRect(x, Math.max(0, y - 18), tw + 6, 18);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 3, Math.max(13, y - 4));
    window.maskdetWebcam.boxesDrawn += 1;
  }
  const counts = Object.entries(result.counts).map(([k, v]) => `${k} ${v}`).join(", ");
  const rate = result.compliance_rate === null ? "" : `, masked ${Math.round(result.compliance_rate * 100)} %`;
  stats.textContent = `${result.faces.length} faces (${counts})${rate} · ${result.fps.toFixed(1)} fps`;
  stats.dataset.frames = frames;
  stats.dataset.faces = result.faces.length;
}

async function start() {
  let media;
  try {
    media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    showError(`No camera: ${error.message}`);
    return;
  }
  video.srcObject = media;
  await video.play();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/v1/webcam`);
  socket.onopen = () => { stats.textContent = "Connected."; sendFrame(); };
  socket.onmessage = (message) => {
    const result = JSON.parse(message.data);
    if (result.error) { showError(result.error); } else {
      frames += 1;
      window.maskdetWebcam.frames = frames;
      window.maskdetWebcam.last = result;
      draw(result);
    }
    sendFrame();
  };
  socket.onclose = (event) => { showError(`Disconnected${event.reason ? ": " + event.reason : ""}.`); };
}

start();
