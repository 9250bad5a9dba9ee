#!/usr/bin/python3
"""check_page.py -- drives examples/web in real headless Chromium and checks it.

  check_page.py SITE_DIR ARTIFACT_DIR [--cli TEXTDIFF] [--chromium PATH]

SITE_DIR is the built page (build-wasm/examples/web: index.html, app.js, the
module, the model). The script serves it on a loopback port (http.server in a
thread), starts Chromium headless with the DevTools protocol on a loopback
port, and over that protocol (python3-websocket, no npm) it:
  1. waits for the page to load the module and the model (window.tdiff.state),
  2. runs an infill of TEXT with STEPS steps, seed SEED, BUDGET_MS per frame,
  3. checks the result: every hole filled (no mask token left), the text
     around the holes unchanged, the tokens and the step count equal to
     `textdiff infill --json` with the same seed and steps (--cli: the native
     tool, TDIFF_FORCE_ISA=scalar), and the page's frame times (see
     PAINT_SLACK_MS and MAX_GAP_MS below),
  4. saves screenshots (ARTIFACT_DIR/web-infill-running.png during the
     infill, web-infill.png after it) and the frame times (web-frames.json).
Exits 0 when every check passes, 1 when one fails, 77 (meson's skip) when
Chromium or python3-websocket is missing.
"""
import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TEXT = ("It is a truth universally [MASK:3] that a single man in possession of a good "
        "[MASK:2], must be in want of a [MASK].")
HOLE_TOKENS = 4  # app.js: a bare [MASK] is [MASK:4]
STEPS = 16
SEED = 7
BUDGET_MS = 6
# The page never freezes: every frame runs at most BUDGET_MS of steps plus the
# one step it cannot cut, then yields to the browser, which paints. A step of
# the bundled model costs ~0.35 s in wasm on a free core (scalar kernels,
# docs/embedding.md) and several times that on a loaded CI machine, so the
# checks are relative to the step, not to a wall-clock frame rate:
#  - no frame ran more steps than its budget allows (one past the budget);
#  - every frame began at most PAINT_SLACK_MS after the previous frame's work
#    ended (the browser got control back and painted in between);
#  - no frame did more than MAX_FRAME_SHARE of the infill's work (a frozen
#    page does all of it in one frame), and no gap exceeds MAX_GAP_MS.
PAINT_SLACK_MS = 500
MAX_FRAME_SHARE = 0.5
MAX_GAP_MS = 6000
LOAD_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120
# More infills compared token for token with the native tool (text, steps,
# seed): fewer steps than masked tokens (several commits a step), a leading
# hole, another seed.
EXTRA_CASES = [('[MASK:5] said Elizabeth, "I am [MASK:6] Mr. Darcy."', 4, 123)]

try:
    import websocket  # Debian: python3-websocket
except ImportError:
    print("check_page: python3-websocket is not installed: skipped")
    sys.exit(77)


def log(msg):
    print(f"check_page: {msg}", flush=True)


class Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".gguf": "application/octet-stream"}

    def log_message(self, *args):
        pass


class Cdp:
    """A minimal DevTools-protocol client: one websocket, numbered calls."""

    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr, timeout_s, what):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.1)
        raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")


def find_chromium(given):
    for c in [given, "chromium", "chromium-browser", "google-chrome"]:
        if c and shutil.which(c):
            return shutil.which(c)
    return None


def start_chromium(exe, profile):
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-dev-shm-usage", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
            f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            "--window-size=1000,800", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Chromium writes its port to DevToolsActivePort in the profile once listening.
    port_file = os.path.join(profile, "DevToolsActivePort")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        if os.path.exists(port_file):
            lines = open(port_file).read().split()
            if len(lines) >= 2:
                return proc, int(lines[0])
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("chromium did not open its DevTools port in 30 s")


def page_target(port):
    import urllib.request
    for _ in range(50):
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise RuntimeError("no page target in chromium")


def cpu_seconds(root_pid):
    """User + system CPU time of root_pid and its descendants (Linux /proc), so
    the step cost can be reported apart from the load of a shared machine."""
    children, total = {}, 0.0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append((int(d), int(fields[11]) + int(fields[12])))
    todo, tick = [root_pid], os.sysconf("SC_CLK_TCK")
    while todo:
        for pid, ticks in children.get(todo.pop(), []):
            total += ticks / tick
            todo.append(pid)
    return total


def native_infill(cli, text, steps=STEPS, seed=SEED):
    """The same infill through the native tool, scalar kernels (the wasm build's)."""
    env = dict(os.environ, TDIFF_FORCE_ISA="scalar")
    r = subprocess.run([cli, "infill", text, "--steps", str(steps), "--seed", str(seed), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"textdiff infill failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


def check(cdp, cli, browser_pid, artifacts):
    failures = []
    tdiff = cdp.wait("window.tdiff && window.tdiff.state !== 'loading' && window.tdiff.state", LOAD_TIMEOUT_S,
                     "the module and the model")
    if tdiff != "ready":
        raise RuntimeError(f"page did not get ready: {cdp.eval('window.tdiff.error')}")
    t0, cpu0 = time.monotonic(), cpu_seconds(browser_pid)
    started = cdp.eval(f"window.tdiffInfill({json.dumps(TEXT)}, {STEPS}, {SEED}, {BUDGET_MS})")
    if not started:
        raise RuntimeError(f"infill did not start: {cdp.eval('window.tdiff.error')}")
    # a picture of the animation: the canvas part-filled, while the infill runs
    cdp.wait("window.tdiff.state !== 'running' || window.tdiff.frames.length >= 3", RUN_TIMEOUT_S, "three frames")
    if cdp.eval("window.tdiff.state") == "running":
        shot = cdp.call("Page.captureScreenshot", format="png")
        with open(os.path.join(artifacts, "web-infill-running.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    state = cdp.wait("['done', 'error'].includes(window.tdiff.state) && window.tdiff.state", RUN_TIMEOUT_S,
                     "the infill")
    wall, cpu = time.monotonic() - t0, cpu_seconds(browser_pid) - cpu0
    if state != "done":
        raise RuntimeError(f"infill failed in the page: {cdp.eval('window.tdiff.error')}")
    result = cdp.eval("window.tdiff.result")
    frames = cdp.eval("window.tdiff.frames")
    shot = cdp.call("Page.captureScreenshot", format="png")
    with open(os.path.join(artifacts, "web-infill.png"), "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    log(f"screenshots in {artifacts}")
    text = result["text"]
    log(f"page result: {text!r}")

    # holes filled, fixed text unchanged: the pieces between holes appear in order
    pieces = [p for p in TEXT.replace("[MASK]", f"[MASK:{HOLE_TOKENS}]").split("]") if p]
    fixed = [p.split("[MASK:")[0] for p in pieces]
    pos = 0
    for f in fixed:
        k = text.find(f, pos)
        if k < 0:
            failures.append(f"fixed text {f!r} not found in order in the result")
            break
        pos = k + len(f)
    native = None
    if cli:
        native = native_infill(cli, TEXT.replace("[MASK]", f"[MASK:{HOLE_TOKENS}]"))
        log(f"native result: {native['text']!r}")
        if native["tokens"] != result["tokens"]:
            failures.append(f"tokens differ from the native tool's: wasm {result['tokens']} native {native['tokens']}")
        else:
            log(f"tokens equal to the native tool's ({len(native['tokens'])} tokens, seed {SEED})")
    # no hole left: the page counts masked positions in the last canvas it drew
    masked_left = cdp.eval("window.tdiff.maskedLeft")
    if masked_left != 0:
        failures.append(f"{masked_left} masked positions left after the infill")
    n_steps = sum(f["steps"] for f in frames)
    if cli and n_steps != native["steps"]:
        failures.append(f"the page ran {n_steps} steps, the native tool {native['steps']}")

    gaps = [f["gap"] for f in frames[1:]]
    works = [f["work"] for f in frames]
    max_gap = max(gaps) if gaps else 0.0
    # the browser's share of each gap: what is left after the previous frame's work
    paint = [frames[i]["gap"] - frames[i - 1]["work"] for i in range(1, len(frames))]
    summary = {"frames": len(frames), "steps": n_steps, "max_gap_ms": max_gap, "max_paint_ms": max(paint, default=0.0),
               "max_work_ms": max(works), "min_work_ms": min(works),
               "mean_work_ms_per_step": sum(works) / max(n_steps, 1),
               "cpu_ms_per_step": 1000 * cpu / max(n_steps, 1), "wall_s": wall, "budget_ms": BUDGET_MS,
               "paint_slack_ms": PAINT_SLACK_MS, "max_gap_bound_ms": MAX_GAP_MS,
               "max_frame_share": max(works) / max(sum(works), 1e-9)}
    log("frames: " + json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in summary.items()}))
    if len(frames) < 2:
        failures.append(f"the infill ran in {len(frames)} frame(s): not spread over frames")
    for i, f in enumerate(frames):
        per_step = f["work"] / max(f["steps"], 1)
        if f["steps"] > 1 and (f["steps"] - 1) * per_step > BUDGET_MS + per_step:
            failures.append(f"frame {i} ran {f['steps']} steps ({f['work']:.1f} ms) for a {BUDGET_MS} ms budget")
    if max(paint, default=0.0) > PAINT_SLACK_MS:
        failures.append(f"a frame began {max(paint):.1f} ms after the previous one's work: the page stalled")
    if max(works) > MAX_FRAME_SHARE * sum(works):
        failures.append(f"one frame did {max(works):.1f} of {sum(works):.1f} ms of work: the page froze")
    if max_gap > MAX_GAP_MS:
        failures.append(f"longest frame gap {max_gap:.1f} ms > {MAX_GAP_MS} ms: the page froze")
    for text2, steps2, seed2 in EXTRA_CASES if cli else []:
        if not cdp.eval(f"window.tdiffInfill({json.dumps(text2)}, {steps2}, {seed2}, {BUDGET_MS})"):
            raise RuntimeError(f"infill did not start: {cdp.eval('window.tdiff.error')}")
        if cdp.wait("['done', 'error'].includes(window.tdiff.state) && window.tdiff.state", RUN_TIMEOUT_S,
                    "the second infill") != "done":
            raise RuntimeError(f"infill failed in the page: {cdp.eval('window.tdiff.error')}")
        got, want = cdp.eval("window.tdiff.result"), native_infill(cli, text2, steps2, seed2)
        log(f"page result: {got['text']!r}")
        if got["tokens"] != want["tokens"]:
            failures.append(f"{text2!r}: tokens differ from the native tool's: wasm {got['tokens']} "
                            f"native {want['tokens']}")
        else:
            log(f"tokens equal to the native tool's ({len(want['tokens'])} tokens, {steps2} steps, seed {seed2})")
    return failures, summary, frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("site")
    ap.add_argument("artifacts")
    ap.add_argument("--cli", help="the native textdiff tool, for the token comparison")
    ap.add_argument("--chromium")
    a = ap.parse_args()
    exe = find_chromium(a.chromium)
    if not exe:
        log("chromium is not installed: skipped")
        return 77
    for f in ["index.html", "app.js", "textdiff-web.js", "textdiff-web.wasm", "austen-llada.gguf"]:
        if not os.path.exists(os.path.join(a.site, f)):
            log(f"{a.site}/{f} is missing (build the web target)")
            return 1
    os.makedirs(a.artifacts, exist_ok=True)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=a.site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    profile = tempfile.mkdtemp(prefix="tdiff-chromium-")
    proc = None
    try:
        proc, port = start_chromium(exe, profile)
        cdp = Cdp(page_target(port))
        cdp.call("Runtime.enable")
        cdp.call("Page.enable")
        cdp.call("Page.navigate", url=url)
        log(f"{exe} headless, page {url}")
        failures, summary, frames = check(cdp, a.cli, proc.pid, a.artifacts)
        with open(os.path.join(a.artifacts, "web-frames.json"), "w") as f:
            json.dump({"summary": summary, "frames": frames}, f, indent=1)
    except Exception as e:  # any protocol or page failure fails the test
        log(f"FAIL: {e}")
        return 1
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    for f in failures:
        log(f"FAIL: {f}")
    if not failures:
        log("PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
