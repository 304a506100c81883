"""A real headless Chromium driven over the DevTools protocol, in real time.

``--screenshot`` and ``--dump-dom`` run a page on virtual time and cannot watch a live
stream; this drives one tab over ``--remote-debugging-port`` with python3-websocket while
the page runs at wall-clock speed.

    with Chromium() as browser:            # or the ``browser`` fixture of conftest.py
        browser.open('http://127.0.0.1:%d/stream_viewer?topic=/camera/image_raw' % port)
        size = browser.wait_for('img.naturalWidth && [img.naturalWidth, img.naturalHeight]', 10,
                                'the first frame')
        fps = browser.evaluate('fetch("/health").then(r => r.json())')   # promises are awaited
        image = browser.screenshot()       # BGR numpy array of the viewport (cv2)

Every call has a deadline; a failure is an AssertionError carrying the page's console
output. Leaving the ``with`` block kills Chromium's whole process group and removes its profile.
"""
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import cv2
import numpy as np

from support.ci import require
from support.stream_client import http_get  # the tests' own plain HTTP client
from support.waits import poll, wait_until

# Chromium that talks to nobody but the page under test, keeps no state, and never throttles a
# page for being in the background (headless tabs count as hidden for some timers).
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--no-default-browser-check', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--disable-extensions', '--mute-audio', '--autoplay-policy=no-user-gesture-required',
         '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
         '--disable-backgrounding-occluded-windows', '--remote-allow-origins=*', '--remote-debugging-port=0']
START_TIMEOUT = 30.0  # s for Chromium to open its DevTools port (a slow CI machine, a cold disk)
CALL_TIMEOUT = 30.0  # s for one DevTools command to answer
CONSOLE_LINES = 40  # console lines kept for failure messages


class RealTimeBrowser(object):
    """What every driven browser offers on top of its own ``evaluate``, ``close`` and ``_console_tail``."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def wait_for(self, expression, timeout, what, interval=0.1):
        """The first truthy value of ``expression``, polled every ``interval`` s for at most ``timeout`` s."""
        value = poll(lambda: self.evaluate(expression), timeout, interval)
        if not value:
            raise AssertionError('%s: not within %.1f s (last value: %r)%s'
                                 % (what, timeout, value, self._console_tail()))
        return value


def decode_png(data):
    """A BGR numpy array of a browser's PNG screenshot."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, 'the screenshot (%d bytes) does not decode as PNG' % len(data)
    return image


class Chromium(RealTimeBrowser):
    """One headless Chromium with one tab; ``open``, ``evaluate``, ``wait_for``, ``screenshot``, ``close``."""

    def __init__(self, width=1280, height=900, flags=()):
        binary = shutil.which('chromium')
        require(binary, "Debian's chromium is not installed (apt-get install chromium)")
        try:
            import websocket
        except ImportError:
            websocket = None
        require(websocket, "python3-websocket is not installed (apt-get install python3-websocket)")
        self.console = []  # the page's console messages and uncaught exceptions, newest last
        self._ids = itertools.count(1)
        self._socket = None
        self._profile = tempfile.mkdtemp(prefix='camera_server_chromium_')
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [binary] + FLAGS + ['--user-data-dir=' + self._profile, '--window-size=%d,%d' % (width, height)]
            + list(flags) + ['about:blank'],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            port = self._devtools_port()
            self._socket = websocket.create_connection(self._page_socket_url(port), timeout=CALL_TIMEOUT,
                                                       suppress_origin=True)
            self._call('Runtime.enable')
            self._call('Page.enable')
        except BaseException:
            self.close()
            raise

    def open(self, url, timeout=30.0, before_scripts=''):
        """Navigate the tab to ``url`` and wait until its document has loaded (its script may go on).

        ``before_scripts`` (JavaScript) runs in the new document before the page's own
        scripts, here and in every page opened after it, e.g. to take a browser feature away.
        """
        if before_scripts:
            self._call('Page.addScriptToEvaluateOnNewDocument', source=before_scripts)
        reply = self._call('Page.navigate', url=url)
        assert not reply.get('errorText'), 'chromium could not open %s: %s' % (url, reply.get('errorText'))
        self.wait_for('document.readyState === "complete"', timeout, 'the page %s to load' % url)

    def evaluate(self, expression, timeout=CALL_TIMEOUT):
        """The JSON value of ``expression`` in the page; a promise is awaited. A page exception fails."""
        reply = self._call('Runtime.evaluate', timeout, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if 'exceptionDetails' in reply:
            details = reply['exceptionDetails']
            thrown = details.get('exception', {}).get('description') or details.get('text')
            raise AssertionError('the page threw on %r: %s%s' % (expression[:200], thrown, self._console_tail()))
        return reply['result'].get('value')

    def screenshot(self):
        """The viewport as it is now, a BGR numpy array (decoded from Chromium's PNG)."""
        return decode_png(base64.b64decode(self._call('Page.captureScreenshot', format='png')['data']))

    def close(self):
        """Kill Chromium's process group and remove its profile; safe to call twice."""
        if self._socket is not None:
            try:
                self._socket.close()
            except Exception:  # the browser may already be gone; it is killed below either way
                pass
            self._socket = None
        if self._process.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self._process.pid, sig)
                    self._process.wait(5)
                    break
                except OSError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _devtools_port(self):
        """The port Chromium chose, from the DevToolsActivePort file it writes into its profile."""
        path = os.path.join(self._profile, 'DevToolsActivePort')

        def written_port():
            if self._process.poll() is not None:
                raise AssertionError('chromium exited %d at start: %s' % (self._process.returncode, self._output()))
            try:
                with open(path) as active:
                    return int(active.readline().strip())
            except (IOError, ValueError):
                return None
        port = poll(written_port, START_TIMEOUT)
        assert port, 'chromium opened no DevTools port within %.0f s: %s' % (START_TIMEOUT, self._output())
        return port

    def _page_socket_url(self, port):
        def page_ids():
            status, _, body = http_get(port, '/json/list')
            targets = json.loads(body.decode('utf-8')) if status == 200 else []
            return [t['id'] for t in targets if t.get('type') == 'page']
        pages = wait_until(page_ids, START_TIMEOUT, 'a page target listed by chromium', interval=0.1)
        # Built here: Chromium names the host from our request's Host header, which has no port.
        return 'ws://127.0.0.1:%d/devtools/page/%s' % (port, pages[0])

    def _call(self, method, timeout=CALL_TIMEOUT, **params):
        """Send one command and return its result; events read meanwhile go to ``console``."""
        call_id = next(self._ids)
        self._socket.send(json.dumps({'id': call_id, 'method': method, 'params': params}))
        deadline = time.time() + timeout
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise AssertionError('chromium did not answer %s within %.0f s%s' % (method, timeout,
                                                                                   self._console_tail()))
            self._socket.settimeout(remaining)
            message = json.loads(self._socket.recv())
            if message.get('id') == call_id:
                if 'error' in message:
                    raise AssertionError('%s failed: %s' % (method, message['error']))
                return message.get('result', {})
            self._note_event(message)

    def _note_event(self, message):
        params = message.get('params', {})
        if message.get('method') == 'Runtime.consoleAPICalled':
            line = '%s: %s' % (params.get('type'), ' '.join(
                str(arg.get('value', arg.get('description', ''))) for arg in params.get('args', [])))
        elif message.get('method') == 'Runtime.exceptionThrown':
            details = params.get('exceptionDetails', {})
            line = 'uncaught: %s' % (details.get('exception', {}).get('description') or details.get('text'))
        else:
            return
        self.console = (self.console + [line])[-CONSOLE_LINES:]

    def _console_tail(self):
        return ('\npage console:\n  ' + '\n  '.join(self.console)) if self.console else ''

    def _output(self):
        self._log.seek(0)
        return self._log.read()[-2000:].decode('utf-8', 'replace')
