"""A real WebKit engine: Debian's WebKitGTK MiniBrowser under Xvfb, driven in real time over
WebDriver (WebKitWebDriver, its HTTP protocol spoken here with the standard library).

Safari on a Mac, iPhone or iPad is WebKit; this is the same engine with GStreamer for media.
The API is devtools.Chromium's, so a test can drive either:

    with WebKit() as browser:              # or the ``webkit`` fixture of conftest.py
        browser.open('http://127.0.0.1:%d/stream_viewer?topic=/camera/image_raw' % port)
        stats = browser.wait_for('viewerStats.frames > 30 && viewerStats', 20, '30 frames')
        image = browser.screenshot()       # BGR numpy array of the viewport

Every call has a deadline; a failure is an AssertionError carrying the page's console output
(what it logged after ``open`` returned). Leaving the ``with`` block ends the session, kills the
driver's process group (MiniBrowser and its WebKit processes) and the X server.
"""
import base64
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from support.ci import require
from support.devtools import RealTimeBrowser, decode_png
from support.ros_master import free_port
from support.stream_client import http_get

START_TIMEOUT = 30.0  # s for Xvfb, the driver and MiniBrowser to come up
CALL_TIMEOUT = 30.0  # s for one WebDriver command to answer
MINIBROWSER = '/usr/lib/*/webkit2gtk-4.1/MiniBrowser'  # Debian's path, under the machine's multiarch triplet
PACKAGES = 'apt-get install webkit2gtk-driver xvfb gstreamer1.0-libav gstreamer1.0-plugins-good gstreamer1.0-plugins-bad'

# Runs ``arguments[0]`` as a script in the page, the way DevTools' Runtime.evaluate does (global
# scope, the last statement's value, a promise awaited), and answers {value} or {error}.
EVALUATE = '''var done = arguments[arguments.length - 1], expression = arguments[0];
Promise.resolve().then(function () { return (0, eval)(expression); }).then(
  function (value) { done({value: value === undefined ? null : value}); },
  function (error) { done({error: String(error && error.stack || error)}); });'''
# Keeps what the page logs from now on, for failure messages.
KEEP_CONSOLE = '''(function () {
  var lines = window.keptConsole = [];
  ['log', 'warn', 'error'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      lines.push(level + ': ' + Array.prototype.join.call(arguments, ' '));
      return original.apply(console, arguments);
    };
  });
  window.addEventListener('error', function (event) { lines.push('uncaught: ' + event.message); });
  window.addEventListener('unhandledrejection', function (event) { lines.push('unhandled: ' + event.reason); });
})(); 0'''


class WebKit(RealTimeBrowser):
    """One MiniBrowser window on its own X display; ``open``, ``evaluate``, ``wait_for``, ``screenshot``, ``close``."""

    def __init__(self, width=1280, height=900):
        binaries = glob.glob(MINIBROWSER)
        require(binaries and shutil.which('WebKitWebDriver') and shutil.which('Xvfb'),
                'WebKitGTK, its WebDriver or Xvfb is not installed (%s)' % PACKAGES)
        self._session = None
        self._processes = []
        self._log = tempfile.TemporaryFile()
        try:
            display = self._start_x_server(width, height)
            self._port = free_port()
            self._processes.append(subprocess.Popen(
                ['WebKitWebDriver', '--port=%d' % self._port], env=dict(os.environ, DISPLAY=display),
                stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True))
            self._wait_for_driver()
            options = {'binary': binaries[0], 'args': ['--automation']}
            reply = self._call('POST', '/session', {'capabilities': {'alwaysMatch': {
                'browserName': 'MiniBrowser', 'pageLoadStrategy': 'none', 'webkitgtk:browserOptions': options}}})
            self._session = '/session/' + reply['sessionId']
            self._call('POST', self._session + '/window/rect', {'width': width, 'height': height})
            self._call('POST', self._session + '/timeouts', {'script': int(CALL_TIMEOUT * 1000)})
        except BaseException:
            self.close()
            raise

    def open(self, url, timeout=30.0):
        """Navigate to ``url`` and wait until its document is parsed (its scripts and streams may go on).

        Not until its load event: an <img> showing an endless multipart stream may hold that back.
        """
        self.evaluate('window.leftBehind = true')
        self._call('POST', self._session + '/url', {'url': url})
        self.wait_for('!window.leftBehind && document.readyState !== "loading"', timeout, 'the page %s to load' % url)
        self.evaluate(KEEP_CONSOLE)

    def open_in_frame(self, origin, path, before_scripts, timeout=30.0):
        """The page at ``path`` of ``origin`` in a frame filling the window, after ``before_scripts``
        (JavaScript, with ``frame`` its window) ran in it: WebDriver has no script that runs before a
        page's own. Written into the frame, the page keeps the frame's window (and what the scripts
        did to it); the test reaches its globals as ``frames[0]``."""
        self.open(origin + '/health')  # any document of the same origin, to hold the frame
        self.evaluate('''fetch(%s).then(function (reply) { return reply.text(); }).then(function (html) {
          var element = document.createElement('iframe');
          element.style.cssText = 'position: fixed; left: 0; top: 0; width: 100%%; height: 100%%; border: 0';
          document.body.appendChild(element);
          (function (frame) { %s })(element.contentWindow);
          var page = element.contentDocument;
          page.open(); page.write(html); page.close();
        })''' % (json.dumps(path), before_scripts))
        self.wait_for('frames[0].document.readyState !== "loading"', timeout, 'the page %s to load in a frame' % path)

    def evaluate(self, expression, timeout=CALL_TIMEOUT):
        """The JSON value of ``expression`` in the page; a promise is awaited. A page exception fails."""
        reply = self._call('POST', self._session + '/execute/async', {'script': EVALUATE, 'args': [expression]},
                           timeout)
        if reply is None or 'error' in reply:
            raise AssertionError('the page threw on %r: %s%s' % (expression[:200], reply and reply['error'],
                                                                  self._console_tail()))
        return reply['value']

    def screenshot(self):
        """The viewport as it is now, a BGR numpy array (decoded from WebKit's PNG)."""
        return decode_png(base64.b64decode(self._call('GET', self._session + '/screenshot')))

    def close(self):
        """End the session, kill the driver's and the X server's process groups; safe to call twice."""
        if self._session is not None:
            try:
                self._call('DELETE', self._session, timeout=10.0)
            except Exception:  # the browser may be gone already; its processes are killed below either way
                pass
            self._session = None
        for process in reversed(self._processes):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(5)
                    break
                except OSError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._processes = []
        self._log.close()

    def _start_x_server(self, width, height):
        """Starts Xvfb on the first free display (it says which on a pipe); returns ':N'."""
        read_end, write_end = os.pipe()
        try:
            self._processes.append(subprocess.Popen(
                ['Xvfb', '-displayfd', str(write_end), '-screen', '0', '%dx%dx24' % (width, height), '-nolisten', 'tcp'],
                pass_fds=(write_end,), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True))
            os.close(write_end)
            write_end = None
            deadline, number = time.time() + START_TIMEOUT, b''
            while not number.endswith(b'\n'):
                assert time.time() < deadline, 'Xvfb named no display within %.0f s: %s' % (START_TIMEOUT, self._output())
                chunk = os.read(read_end, 16)
                assert chunk, 'Xvfb exited at start: %s' % self._output()
                number += chunk
            return ':' + number.decode().strip()
        finally:
            os.close(read_end)
            if write_end is not None:
                os.close(write_end)

    def _wait_for_driver(self):
        deadline = time.time() + START_TIMEOUT
        while True:
            try:
                if http_get(self._port, '/status', timeout=2.0)[0] == 200:
                    return
            except (OSError, AssertionError):
                pass
            assert self._processes[-1].poll() is None, 'WebKitWebDriver exited at start: %s' % self._output()
            assert time.time() < deadline, 'WebKitWebDriver did not answer within %.0f s: %s' % (
                START_TIMEOUT, self._output())
            time.sleep(0.1)

    def _call(self, method, path, body=None, timeout=CALL_TIMEOUT):
        """One WebDriver command: its value, or an AssertionError with the driver's error."""
        data = json.dumps(body).encode('utf-8') if body is not None else b''
        headers = [('Content-Type', 'application/json'), ('Content-Length', str(len(data)))]
        status, _, reply = http_get(self._port, path, headers, timeout + 5.0, method, body=data)
        value = json.loads(reply.decode('utf-8'))['value'] if reply else None
        if status != 200:
            raise AssertionError('WebDriver %s %s: %s %s%s' % (method, path, status, value, self._output()))
        return value

    def _console_tail(self):
        try:
            lines = self._call('POST', self._session + '/execute/sync',
                               {'script': 'return window.keptConsole || [];', 'args': []}, 5.0)
        except Exception as error:  # the page may be what broke: say so instead
            lines = ['(console not readable: %s)' % error]
        return ('\npage console:\n  ' + '\n  '.join(lines[-40:])) if lines else ''

    def _output(self):
        self._log.seek(0)
        return self._log.read()[-2000:].decode('utf-8', 'replace')
