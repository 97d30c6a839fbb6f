#!/usr/bin/env python3
"""Loads pages in headless Chromium and reports what a user would see.

Usage: dashboard_probe.py VIEWS_JSON SCREENSHOT_DIR [TIMEOUT_SECONDS]

VIEWS_JSON is a list of {"name", "url", "width", "height", "charts": bool}. Drives Chromium
over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out,
NUL-terminated JSON), so no WebSocket library is needed. For each view it waits until the
page says it drew data (the dashboard's body[data-state="ready"], or a loaded static page;
every chart's data-points > 0 when charts are wanted; the dashboard's live indicator past
"connecting…"), collects DOM facts (charts with their series, shaded windows, rules,
actions, legend and ticks; tables; anything wider than the viewport), and saves a
screenshot NAME.png of the whole page. Prints one JSON object keyed by view name.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

views, shots = json.loads(sys.argv[1]), sys.argv[2]
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
  const texts = (root, selector) => [...root.querySelectorAll(selector)].map(e => e.textContent);
  const charts = [...document.querySelectorAll('svg.chart')].map(s => ({id: s.id, points: Number(s.dataset.points || 0),
    series: [...new Set([...s.querySelectorAll('[data-series]')].map(e => e.dataset.series))],
    calendar: s.querySelectorAll('rect.window.w-calendar').length, overloads: s.querySelectorAll('rect.window.w-overload').length,
    rules: texts(s, 'text.rule-label'), actions: s.querySelectorAll('path.action').length,
    legend: texts(s, 'text.legend'), units: texts(s, 'text.unit'),
    yTicks: texts(s, 'text.tick:not([data-tick])'), timeTicks: texts(s, 'text.tick[data-tick]'),
    width: Math.round(s.getBoundingClientRect().width)}));
  const live = document.getElementById('live');
  return {state: document.body.dataset.state || document.readyState, title: document.title, live: live ? live.textContent : null,
    policies: [...document.querySelectorAll('tr[data-policy]')].map(r => r.dataset.policy),
    comparison: [...document.querySelectorAll('tr[data-comparison]')].map(r => [...r.children].map(c => c.textContent)),
    comparisonHead: texts(document, '#comparison th'), policyHead: texts(document, '#policies th'),
    headerHeights: [...document.querySelectorAll('thead th')].map(th => Math.round(th.getBoundingClientRect().height)),
    charts, events: document.querySelectorAll('#events tr').length, modelRows: document.querySelectorAll('#model tr').length,
    promotions: document.querySelectorAll('#promotions tr').length, headings: texts(document, 'h2'),
    scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    overflowing: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll')).map(e => e.tagName + '.' + e.className).slice(0, 5),
    externalResources: performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith(location.origin)),
    error: (document.querySelector('.error') || {}).textContent || null};
})()"""


def visit(session, view):
    send("Emulation.setDeviceMetricsOverride", {"width": view["width"], "height": view["height"], "deviceScaleFactor": 1,
                                               "mobile": view["width"] < 600}, session)
    # A fresh load per view (a URL differing only in its fragment would not reload).
    send("Page.navigate", {"url": "about:blank"}, session)
    send("Page.navigate", {"url": view["url"]}, session)
    deadline = time.time() + timeout
    facts = None
    while time.time() < deadline:
        try:
            facts = evaluate(session, FACTS)
        except RuntimeError:
            facts = None  # navigating
        if (facts and facts["state"] in ("ready", "complete") and facts["live"] != "connecting…"
                and (not view.get("charts") or (facts["charts"] and all(c["points"] > 0 for c in facts["charts"])))):
            break
        time.sleep(0.5)
    shot = send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
    path = os.path.join(shots, view["name"] + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    facts = facts or {"state": "never-loaded"}
    facts["screenshot"] = path
    return facts


report = {}
try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    send("Page.enable", {}, session)
    for view in views:
        report[view["name"]] = visit(session, view)
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
