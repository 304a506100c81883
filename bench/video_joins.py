"""The video benchmark's joins: a new viewer's first picture, and what a viewer already watching
gets meanwhile, per video type (issue 17).

For each type, one watcher reads the stream for the whole case. After a window without joins,
``joins`` viewers join at random moments of a group of pictures: each is read until its first
whole frame (seconds from before connecting), which is then decoded alone by ffprobe (it must
be one keyframe). When Chromium and python3-websocket are installed, as many viewer pages
join in headless Chromium (test/support/devtools.py) and say, in viewerStats, when they
painted their first picture and their first one at the live edge, from the page's request
for the stream. The watcher's frames/s, bytes a frame and keyframe intervals without joins,
during the HTTP joins and during the page joins, and the frames the server dropped for it, show
whether the joins cost it anything (Chromium decoding the joined stream shares the two cores).
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from client import percentile
from pipeline import BENCH_DIR, wait_until
from video_client import read_video

QUIET_S = 8.0  # the watcher's window without joins
PAGE_TIMEOUT_S = 10.0  # for a joining page to paint a live picture


class Watcher(object):
    """A viewer reading the stream in a thread: (receive time, bytes, keyframe) of every whole frame."""

    def __init__(self, url):
        self.frames = []
        self._stop = False
        self._thread = threading.Thread(target=self._read, args=(url,), name='watcher')
        self._thread.daemon = True
        self._thread.start()

    def _read(self, url):
        for recv, _, size, keyframe in read_video(url, time.time() + 3600):
            self.frames.append((recv, size, keyframe))
            if self._stop:
                return

    def stop(self):
        self._stop = True
        self._thread.join(5.0)

    def window(self, start, end):
        """{fps, bytes_per_frame, keyframe_intervals} of the frames received in [start, end)."""
        inside = [f for f in self.frames if start <= f[0] < end]
        keys = [i for i, f in enumerate(inside) if f[2]]
        return {'fps': len(inside) / (end - start), 'bytes_per_frame': sum(f[1] for f in inside) / max(len(inside), 1),
                'keyframe_intervals': sorted(set(b - a for a, b in zip(keys, keys[1:])))}


def first_frame(url, path):
    """Seconds from before connecting to ``url``'s first whole frame; the stream up to it goes to ``path``."""
    asked = time.time()
    for recv, _, _, _ in read_video(url, asked + 10.0, path, 1):
        return recv - asked
    raise IOError('no frame from %s' % url)


def decodes_alone(path):
    """True when ffprobe decodes ``path`` as exactly one keyframe."""
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame',
                          '-of', 'csv=p=0', path], stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out.split() == ['1']


def chromium():
    """A headless Chromium of the tests (support/devtools.py), or the reason there is none."""
    if not shutil.which('chromium'):
        return None, 'chromium is not installed'
    try:
        import websocket  # noqa: F401 (what devtools.py drives Chromium with)
    except ImportError:
        return None, 'python3-websocket is not installed'
    sys.path.insert(0, os.path.join(os.path.dirname(BENCH_DIR), 'test'))
    from support.devtools import Chromium
    return Chromium(), None


def page_joins(browser, page_url, joins, period):
    """[first picture ms, live edge ms] of ``joins`` viewer pages opened at random moments."""
    figures = []
    for _ in range(joins):
        time.sleep(random.uniform(0, period))
        browser.open(page_url)
        figures.append(browser.wait_for('viewerStats.liveEdgeMs !== null && [viewerStats.firstFrameMs, '
                                        'viewerStats.liveEdgeMs]', PAGE_TIMEOUT_S, 'a live picture in the page'))
    return figures


def summary(values):
    values = sorted(values)
    return {'count': len(values), 'median': percentile(values, 0.5), 'p95': percentile(values, 0.95),
            'max': values[-1] if values else None}


def join_case(pipeline, kind, joins, log):
    """The figures of ``joins`` HTTP joins and ``joins`` page joins of a running ``kind`` output."""
    url = pipeline.stream_url(kind)
    watcher = Watcher(url)
    browser, why_not = None, None
    scratch = tempfile.mkdtemp(prefix='video_joins_')
    try:
        wait_until(lambda: len(watcher.frames) >= 70, 40, 'the %s watcher to get 70 frames' % kind)
        output = [o for t in pipeline.health()['topics'] for o in t['outputs'] if o['type'] == kind][0]
        quiet = time.time()
        time.sleep(QUIET_S)
        start = time.time()
        period = output['gop'] / max(watcher.window(quiet, start)['fps'], 1.0)  # a group of pictures, s
        waits, undecodable = [], 0
        for index in range(joins):
            time.sleep(random.uniform(0, period))
            path = os.path.join(scratch, 'join%d' % index)
            waits.append(first_frame(url, path))
            undecodable += not decodes_alone(path)
        http_end = time.time()
        browser, why_not = chromium()
        pages = None
        if browser is not None:
            pages = page_joins(browser, url.replace('/stream?', '/stream_viewer?'), joins, period)
        end = time.time()
        viewers = [o for t in pipeline.health()['topics'] for o in t['outputs'] if o['type'] == kind][0]['viewers']
    finally:
        watcher.stop()
        if browser is not None:
            browser.close()
        shutil.rmtree(scratch, ignore_errors=True)
    case = {'type': kind, 'gop': output['gop'], 'joins': joins, 'first_frame_s': summary(waits),
            'undecodable': undecodable, 'watcher_quiet': watcher.window(quiet, start),
            'watcher_joins': watcher.window(start, http_end),
            'watcher_page_joins': watcher.window(http_end, end) if pages else None,
            'watcher_dropped': max(v['frames_dropped'] for v in viewers),
            'page_first_picture_ms': summary([p[0] for p in pages]) if pages else None,
            'page_live_edge_ms': summary([p[1] for p in pages]) if pages else None,
            'page_not_measured': why_not, 'loadavg': os.getloadavg()[0]}
    log('%s joins: first whole frame p95 %.3f s (%d undecodable); page first picture p95 %s; watcher %.1f -> %.1f '
        'fps, %.0f -> %.0f bytes a frame (HTTP joins)' % (
            kind, case['first_frame_s']['p95'], undecodable,
            '%.0f ms' % case['page_first_picture_ms']['p95'] if pages else why_not, case['watcher_quiet']['fps'],
            case['watcher_joins']['fps'], case['watcher_quiet']['bytes_per_frame'],
            case['watcher_joins']['bytes_per_frame']))
    return case


# Issue 17's targets: a joiner's first whole frame at an HTTP client, and its first picture
# painted in Chromium, from the request, at the 95th percentile.
FIRST_FRAME_P95_S = 0.25
FIRST_PICTURE_P95_MS = 400


def evaluate(cases):
    """[(target, met, text)] of the join cases."""
    checks = []
    for case in cases:
        kind, first = case['type'], case['first_frame_s']
        checks.append(('new %s viewer: first whole frame p95 <= %.2f s, decodable alone' % (kind, FIRST_FRAME_P95_S),
                       first['p95'] <= FIRST_FRAME_P95_S and not case['undecodable'],
                       'median %.3f s, p95 %.3f s, max %.3f s over %d joins; %d not decodable alone' % (
                           first['median'], first['p95'], first['max'], first['count'], case['undecodable'])))
        page = case['page_first_picture_ms']
        if page:
            live = case['page_live_edge_ms']
            checks.append(('new %s page in Chromium: first picture p95 <= %d ms' % (kind, FIRST_PICTURE_P95_MS),
                           page['p95'] <= FIRST_PICTURE_P95_MS,
                           'median %.0f ms, p95 %.0f ms; at the live edge median %.0f ms, p95 %.0f ms, max %.0f ms' % (
                               page['median'], page['p95'], live['median'], live['p95'], live['max'])))
    return checks


def markdown(cases):
    """The join section of video_results.md."""
    if not cases:
        return []
    lines = ['Joins at random moments of a group of pictures (default gop). The viewer already watching: '
             'without joins / during the HTTP joins / during the page joins (Chromium on the same cores), and '
             'the frames the server dropped for it:', '',
             '| type | gop | HTTP first whole frame p95 s | page first picture p95 ms | page live edge p95 ms | '
             'watcher fps | watcher bytes a frame | watcher keyframe intervals | dropped | load |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for case in cases:
        windows = [w for w in (case['watcher_quiet'], case['watcher_joins'], case['watcher_page_joins']) if w]
        page, live = case['page_first_picture_ms'], case['page_live_edge_ms']
        lines.append('| %s | %d | %.3f | %s | %s | %s | %s | %s | %d | %.1f |' % (
            case['type'], case['gop'], case['first_frame_s']['p95'],
            '%.0f' % page['p95'] if page else 'not measured: %s' % case['page_not_measured'],
            '%.0f' % live['p95'] if live else '-', ' / '.join('%.1f' % w['fps'] for w in windows),
            ' / '.join('%.0f' % w['bytes_per_frame'] for w in windows),
            ' / '.join(str(w['keyframe_intervals']) for w in windows), case['watcher_dropped'], case['loadavg']))
    return lines
