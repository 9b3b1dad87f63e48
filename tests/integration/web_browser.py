#!/usr/bin/python3
"""Drive Debian's headless Chromium over the DevTools protocol through wsd's
web page: a student's login link, the start form, the stop button, and an
admin's view with its stop button. Prints PASS/FAIL lines like lib.sh and
keeps a screenshot of each page in ARTIFACTS.

The DevTools protocol needs nothing but Chromium and python3-websocket
(already a test dependency): no chromedriver to match, no npm.

usage: web_browser.py BASE_URL ARTIFACTS LINK_CMD_STUDENT LINK_CMD_ADMIN KEYFILE
  LINK_CMD_*: a shell command that prints a fresh login link (wsctl web).
  KEYFILE: the student's public key, pasted into the start form.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

BASE, ART, LINK_STUDENT, LINK_ADMIN, KEYFILE = sys.argv[1:6]
with open(KEYFILE) as f:
    KEY = f.read().strip()


def start_js(name):
    """Fill the start form (the way a user types) and submit it."""
    return ("(() => { document.getElementById('name').value = %s;"
            " document.getElementById('memory').value = '512m';"
            " document.getElementById('ssh_key').value = %s;"
            " document.getElementById('start').click(); })()" % (json.dumps(name), json.dumps(KEY)))
FAILS = 0


def ok(cond, what):
    global FAILS
    print(("PASS " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS += 1


class CDP:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=120, suppress_origin=True)
        self.n = 0
        self.events = []

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait(self, name, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    del self.events[: i + 1]
                    return e
            self.ws.settimeout(max(0.1, end - time.time()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break
        raise RuntimeError(f"no {name} within {timeout} s")

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def goto(self, url):
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait("Page.loadEventFired")

    def click_and_load(self, expr):
        """Run expr (which submits a form) and wait for the page it leads to."""
        self.events.clear()
        self.js(expr)
        self.wait("Page.loadEventFired")

    def shot(self, name):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path = os.path.join(ART, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        print(f"# screenshot {path}", flush=True)


def link(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout.strip()


def rows(cdp):
    return cdp.js(
        "Array.from(document.querySelectorAll('tr.ws')).map(r => "
        "[r.dataset.name, r.querySelector('.state').textContent])"
    )


def wait_state(cdp, name, states, timeout=60):
    """Reload until the workspace's row says one of states (or is gone, when states has None)."""
    end = time.time() + timeout
    while True:
        r = dict(rows(cdp))
        if r.get(name) in states or (None in states and name not in r):
            return r.get(name)
        if time.time() > end:
            return r.get(name, "gone")
        time.sleep(1)
        cdp.goto(BASE + "/")


def main():
    os.makedirs(ART, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="wslab-chromium.")
    port = 27290
    proc = subprocess.Popen(
        [
            "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
            "--remote-allow-origins=*", "about:blank",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    url = pages[0]["webSocketDebuggerUrl"]
                    break
            except OSError:
                pass
            time.sleep(0.2)
        if url is None:
            ok(False, "Chromium's DevTools endpoint answers")
            return
        cdp = CDP(url)
        cdp.call("Page.enable")
        cdp.call("Runtime.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=1400,
                 deviceScaleFactor=1, mobile=False)

        # --- not logged in ---
        cdp.goto(BASE + "/")
        ok("wsctl web" in cdp.js("document.body.innerText"), "browser: the page asks for a login link")
        cdp.shot("01-login-needed")

        # --- the student's login link ---
        cdp.goto(link(LINK_STUDENT))
        ok(cdp.js("location.pathname") == "/", "browser: the login link leads to the page, without the token in the address")
        ok(cdp.js("document.getElementById('start-form') !== null"), "browser: the student sees the start form")
        ok(cdp.js("document.cookie") == "", "browser: the session cookie is not readable by scripts (HttpOnly)")
        desc = cdp.js("document.querySelector('#template option').textContent")
        ok("<script>" in desc and cdp.js("document.querySelectorAll('script').length") == 1,
           "browser: a template description with <script> is shown as text, not run")
        ok(cdp.js("document.querySelector('#usage svg') !== null"), "browser: the GPU-hours chart is inline SVG")
        cdp.shot("02-student-home")

        # --- the start form (twice: one for the student to stop, one for the admin) ---
        for name in ("webws1", "webws2"):
            cdp.click_and_load(start_js(name))
            st = wait_state(cdp, name, ("ready",))
            ok(st == "ready", f"browser: the start form started {name} (state {st})")
        ok(cdp.js("document.querySelector('tr.ws[data-name=webws1] a.jupyter') !== null"),
           "browser: a ready workspace has its Jupyter link")
        ok(cdp.js("document.querySelector('tr.ws[data-name=webws1] pre.ssh') !== null"),
           "browser: and its ssh command")
        cdp.shot("03-student-started")

        # --- the stop button ---
        cdp.click_and_load("document.getElementById('stop-webws1').click()")
        st = wait_state(cdp, "webws1", (None, "stopped"))
        ok(st in (None, "stopped"), f"browser: the stop button stopped webws1 ({st or 'gone'})")
        ok(dict(rows(cdp)).get("webws2") == "ready", "browser: webws2 still runs")
        cdp.shot("04-student-stopped")

        # --- an error from the API, shown on the page ---
        cdp.click_and_load(start_js("webws2"))
        err = cdp.js("(document.getElementById('error') || {}).textContent || ''")
        ok("Refused (409)" in err, f"browser: starting a second webws2 shows the API's refusal ({err[:80]})")
        cdp.shot("05-student-refused")

        # --- an admin: every workspace, usage, audit, and stop any ---
        cdp.goto(link(LINK_ADMIN))
        ok(cdp.js("document.getElementById('admin-link') !== null"), "browser: an admin sees the Admin link")
        cdp.goto(BASE + "/admin")
        ok(cdp.js("document.getElementById('audit') !== null"), "browser: the admin view has the audit tail")
        ok(cdp.js("document.querySelector('#admin-usage svg') !== null"), "browser: and the usage chart")
        owners = cdp.js("Array.from(document.querySelectorAll('tr.ws td:first-child')).map(t => t.textContent)")
        ok(len(owners) >= 1, f"browser: the admin view lists the student's workspace ({owners})")
        cdp.shot("06-admin-view")
        btn = cdp.js("(document.querySelector('tr.ws[data-name=webws2] button.stop') || {}).id || ''")
        ok(btn != "", "browser: webws2 has an admin stop button")
        if btn:
            cdp.click_and_load(f"document.getElementById('{btn}').click()")
            ok(cdp.js("location.pathname") == "/admin", "browser: the admin stop leads back to the admin view")
            cdp.shot("07-admin-stopped")

        # --- logout ---
        cdp.click_and_load("document.getElementById('logout').click()")
        ok("wsctl web" in cdp.js("document.body.innerText"), "browser: after logout the page asks for a login link again")
        cdp.shot("08-logged-out")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


try:
    main()
except Exception as e:  # a step that could not run is a failure, said once
    ok(False, f"browser: {e}")
sys.exit(1 if FAILS else 0)
