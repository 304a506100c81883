"""bench/streamers.py's short mode: both pipelines of server.launch on the 720p MJPG file, each
figure there and plausible; without mjpg-streamer's source the run says so and has no such row.

Not the targets (docs/benchmark.md has the full run): one relation only, which holds on any
machine because it is counted, not timed: the one-process pipeline holds fewer pages than the
two nodes (one Python process fewer), measured in the same run.
"""
import json
import struct

import pytest

from support.bench_runs import run_short_mode

SHORT_RUN_TIMEOUT = 300  # two pipelines, two windows each: about a minute on an idle 2-core machine
pytestmark = pytest.mark.timeout(SHORT_RUN_TIMEOUT + 120)


def frame_numbers_visible():
    """Whether /proc/PID/pagemap shows page frame numbers here, which the bench's distinct-pages
    figure counts: it takes CAP_SYS_ADMIN, which an unprivileged container lacks (then 0)."""
    touched = bytearray(b'x' * 64)
    with open('/proc/self/pagemap', 'rb') as pagemap:
        pagemap.seek(id(touched) // 4096 * 8)
        entry, = struct.unpack('<Q', pagemap.read(8))
    return bool(entry & ((1 << 55) - 1))


def pages_mb(window):
    """(MB, what) the pipeline's processes hold: their distinct pages where this machine shows
    them, else the sum of their PSS (also counted, not timed)."""
    if frame_numbers_visible():
        return window['distinct_mb'], 'distinct pages'
    return window['memory']['all']['pss_mb'], 'PSS (no page frame numbers here)'


@pytest.fixture(scope='module')
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('streamers')
    printed = run_short_mode('streamers.py', out, SHORT_RUN_TIMEOUT,
                             ['--mjpg-streamer-source', str(out / 'no-such-source')])
    with open(str(out / 'streamers.json')) as results_file:
        return out, json.load(results_file), printed


def test_writes_the_table_the_plot_and_says_why_mjpg_streamer_is_missing(short_run):
    out, results, printed = short_run
    assert (out / 'streamers.md').read_text() == printed
    assert 'mjpg-streamer: no mjpg-streamer source at' in printed and '| mjpg-streamer (C) |' not in printed, printed
    png = (out / 'streamers.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000, 'streamers.png: %d bytes' % len(png)
    assert [t['status'] for t in results['targets']] == ['not measured'] * 3, results['targets']


def test_every_window_has_plausible_figures(short_run):
    _, results, _ = short_run
    windows = results['windows']
    assert sorted((w['pipeline'], w['viewers']) for w in windows) == [
        ('one_process', 1), ('one_process', 4), ('two_nodes', 1), ('two_nodes', 4)], windows
    most = 100 * results['machine']['cores']
    for w in windows:
        label = '%s, %d viewer(s)' % (w['pipeline'], w['viewers'])
        assert 0 < w['cpu']['nodes']['cpu_pct'] <= w['cpu']['all']['cpu_pct'] < most, (label, w['cpu'])
        # roslaunch, rosmaster, rosout and the node(s)
        assert len(w['processes']) == (4 if w['pipeline'] == 'one_process' else 5), (label, w['processes'])
        for process in w['processes']:
            assert 0 < process['uss_mb'] <= process['pss_mb'] <= process['rss_mb'], (label, process)
        assert w['memory']['rosmaster']['pss_mb'] > 5, (label, w['memory'])
        if frame_numbers_visible():
            assert w['distinct_mb'] > w['memory']['nodes']['uss_mb'], (label, w['memory'], w['distinct_mb'])
        else:
            assert w['distinct_mb'] is None, (label, 'a distinct-pages figure without page frame numbers',
                                              w['distinct_mb'])
        fps = [client['fps'] for client in w['clients']]
        assert len(fps) == w['viewers'] and all(0 < f <= 31 for f in fps), (label, w['clients'])


def test_one_process_holds_fewer_pages_than_two_nodes(short_run):
    _, results, _ = short_run
    held = dict(((w['pipeline'], w['viewers']), pages_mb(w)) for w in results['windows'])
    for viewers in (1, 4):
        assert held['one_process', viewers][0] < held['two_nodes', viewers][0], held
