#!/usr/bin/env python3
"""Loads the Forescale dashboard in headless Chromium and reports what a user would see.

Usage: dashboard_probe.py BASE_URL SCREENSHOT_DIR [TIMEOUT_SECONDS]

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in,
fd 4 out, NUL-terminated JSON), so no WebSocket library is needed. For the policy list and
then one policy page (the first listed) it waits until the page says it drew data
(body[data-state="ready"], every chart's data-points > 0, the event stream no longer
"connecting…"), collects DOM facts, takes a screenshot, and repeats the policy page at a
phone's width. Prints one JSON object.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

base, shots = sys.argv[1].rstrip("/"), sys.argv[2]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    print(json.dumps({"error": "chromium not found"}))
    sys.exit(3)

to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()


def child_fds():
    # Move the pipe ends out of the way first: os.pipe may have returned 3 or 4 itself.
    a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
    os.dup2(a, 3)
    os.dup2(b, 4)


profile = tempfile.mkdtemp(prefix="forescale-chromium-")
process = subprocess.Popen(
    [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
     "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
    preexec_fn=child_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_chrome_r)
os.close(from_chrome_w)
buffer = b""
next_id = 0


def send(method, params=None, session=None):
    global next_id, buffer
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    while True:
        while b"\0" not in buffer:
            chunk = os.read(from_chrome_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            buffer += chunk
        raw, buffer = buffer.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply.get("result", {})


def evaluate(session, expression):
    result = send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
    if "exceptionDetails" in result:
        raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
    return result["result"].get("value")


FACTS = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(s => ({id: s.id, points: Number(s.dataset.points || 0),
    paths: s.querySelectorAll('path[data-series]').length, bands: s.querySelectorAll('polygon').length, actions: s.querySelectorAll('path.action').length}));
  return {state: document.body.dataset.state, title: document.title, live: document.getElementById('live').textContent,
    policies: [...document.querySelectorAll('tr[data-policy]')].map(r => r.dataset.policy),
    charts, events: document.querySelectorAll('#events tr').length, modelRows: document.querySelectorAll('#model tr').length,
    promotions: document.querySelectorAll('#promotions tr').length, headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
    scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    overflowing: [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5),
    externalResources: performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith(location.origin)),
    error: (document.querySelector('.error') || {}).textContent || null};
})()"""


def visit(session, url, width, height, mobile, name, want_charts):
    send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session)
    send("Page.navigate", {"url": url}, session)
    deadline = time.time() + timeout
    facts = None
    while time.time() < deadline:
        try:
            facts = evaluate(session, FACTS)
        except RuntimeError:
            facts = None  # navigating
        # Ready, charts drawn (when wanted) and the event stream no longer connecting: the
        # page renders before the EventSource opens, and on a busy machine that can lag.
        if (facts and facts["state"] == "ready" and facts["live"] != "connecting…"
                and (not want_charts or (facts["charts"] and all(c["points"] > 0 for c in facts["charts"])))):
            break
        time.sleep(0.5)
    shot = send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
    path = os.path.join(shots, name + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    facts = facts or {"state": "never-loaded"}
    facts["screenshot"] = path
    facts["screenshotBytes"] = os.path.getsize(path)
    return facts


report = {}
try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    send("Page.enable", {}, session)
    report["list"] = visit(session, base + "/", 1280, 900, False, "policies", False)
    first = (report["list"].get("policies") or ["default/none"])[0]
    namespace, name = first.split("/", 1)
    page = f"{base}/#/policies/{namespace}/{name}"
    report["policy"] = visit(session, page, 1280, 1000, False, "policy", True)
    # A fresh load (another URL), as a phone would make, not a resize of the desktop page.
    report["phone"] = visit(session, f"{base}/?width=390#/policies/{namespace}/{name}", 390, 844, True, "policy-phone", True)
finally:
    try:
        send("Browser.close")
    except Exception:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(profile, ignore_errors=True)
print(json.dumps(report))
