"""The benchmark's short mode runs the real pipeline and yields every figure, each plausible.

It does not judge the targets (those are for the full run on a quiet machine): it
fails when a figure is missing, zero where work was done, or impossible (negative
latency, p95 below the median, more frames than the source made).
"""
import json

import pytest

from support.bench_runs import run_short_mode

SHORT_RUN_TIMEOUT = 300  # the short mode takes about a minute on an idle 2-core machine
pytestmark = pytest.mark.timeout(SHORT_RUN_TIMEOUT + 120)  # run_short_mode's own end takes up to 60 s
TARGETS = ('capture_raw', 'capture_compressed', 'server_mjpeg_1', 'server_mjpeg_16',
           'server_ros_compressed', 'clients_720p_16', 'server_memory')


@pytest.fixture(scope='module')
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('bench')
    printed = run_short_mode('run_bench.py', out, SHORT_RUN_TIMEOUT)
    with open(str(out / 'results.json')) as results_file:
        results = json.load(results_file)
    return out, results, printed


def viewer_windows(results):
    return [w for w in results['windows'] if w['clients']]


def test_writes_json_markdown_and_png(short_run):
    out, results, printed = short_run
    markdown = (out / 'results.md').read_text()
    assert markdown == printed, 'the printed table differs from results.md'
    assert '| Capture node with one raw subscriber' in markdown, markdown[:2000]
    png = (out / 'results.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000, 'results.png: %d bytes' % len(png)
    assert results['machine']['cores'] >= 1 and results['machine']['cpu'], results['machine']


def test_cases_cover_short_mode(short_run):
    _, results, _ = short_run
    cases = sorted((w['stream_type'] or '-', w['clients'], w['raw_subscriber']) for w in results['windows'])
    assert cases == sorted([('-', 0, False), ('-', 0, True), ('mjpeg', 1, False), ('mjpeg', 4, False),
                            ('ros_compressed', 1, False), ('ros_compressed', 4, False),
                            ('mjpeg_q95', 1, False)]), cases


def test_floors_are_plausible(short_run):
    _, results, _ = short_run
    for size, floor in results['floors'].items():
        for kind in ('decode', 'encode', 'publish_jpeg', 'publish_raw', 'subscribe_jpeg', 'subscribe_raw'):
            # Work was done, so more than nothing; one loop's thread can use at most one core.
            assert 0 < floor[kind] < 100, '%s %s floor: %r %% of a core' % (size, kind, floor[kind])


def test_process_figures_are_plausible(short_run):
    _, results, _ = short_run
    most = 100 * results['machine']['cores']  # % of a core: no process uses more than every core
    for w in results['windows']:
        processes = w['processes']
        capture = processes['capture_node']
        assert 0 < capture['cpu_pct'] < most, 'capture node CPU %r %% of a core in %r, %d cores' % (
            capture['cpu_pct'], w['stream_type'], results['machine']['cores'])
        for name in ('capture_node', 'web_server', 'ros_master'):
            assert processes[name]['rss_mb'] > 5, '%s RSS %r MB' % (name, processes[name]['rss_mb'])
        if w['clients']:
            server_cpu = processes['web_server']['cpu_pct']
            assert 0 < server_cpu < most, 'web server CPU %r %% of a core with %d clients, %d cores' % (
                server_cpu, w['clients'], results['machine']['cores'])
            assert processes['clients']['pids'] == w['clients'], processes['clients']


def run_ms(results):
    """A case's warm-up and window in ms: the frames a viewer times arrive in its window, after
    its warm-up, so none waited longer than both together; a larger figure is a clock or unit error."""
    return 1000.0 * (results['warmup_s'] + results['window_s'])


def test_viewer_figures_are_plausible(short_run):
    _, results, _ = short_run
    for w in viewer_windows(results):
        label = '%s x %d' % (w['stream_type'], w['clients'])
        assert len(w['clients_detail']) == w['clients'], label
        for client in w['clients_detail']:
            assert client['error'] is None, '%s: %s' % (label, client['error'])
            # At least a third of what the web server received in the same window, never more
            # (that rate, not a fixed one, is this machine's baseline).
            assert 0.33 * w['input_fps'] <= client['fps'] <= 1.1 * w['input_fps'] + 1, \
                '%s: %r fps for %r fps received' % (label, client['fps'], w['input_fps'])
            median, p95 = client['latency_ms_median'], client['latency_ms_p95']
            assert 0 <= median <= p95 <= client['latency_ms_max'] < run_ms(results), \
                '%s: latency %r, the run %.0f ms' % (label, client, run_ms(results))
            assert client['dropped'] >= 0 and client['bytes'] > client['frames'] * 1000, client
        summary = w['client_summary']
        assert summary and 0 < summary['frames_ratio_min'] <= 1, '%s: %r' % (label, summary)
        assert w['encodes_per_s'] is not None and w['encodes_per_s'] >= 0, '%s: encodes/s %r' % (
            label, w['encodes_per_s'])
        assert w['input_fps'] is not None and 0 < w['input_fps'] <= 31, '%s: web server input %r fps from a ' \
            '30 fps source' % (label, w['input_fps'])
        if w['stream_type'] == 'mjpeg_q95':  # the server encodes each received frame once, whatever the viewers
            assert 0.33 * w['input_fps'] <= w['encodes_per_s'] <= 1.1 * w['input_fps'] + 1, \
                '%s: %r encodes/s for %r fps received' % (label, w['encodes_per_s'], w['input_fps'])


def test_raw_subscriber_figures_are_plausible(short_run):
    _, results, _ = short_run
    raw_windows = [w for w in results['windows'] if w['raw_subscriber']]
    assert raw_windows, 'no window with a raw subscriber'
    for w in raw_windows:
        raw = w['raw']
        # The source's own 30 fps, plus one frame of counting, is the most any receiver can get.
        assert raw and 0 < raw['fps'] <= 31, 'raw subscriber of a 30 fps source: %r' % (raw,)
        assert 0 <= raw['latency_ms_median'] <= raw['latency_ms_p95'] < run_ms(results), \
            'raw subscriber latency %r, the run %.0f ms' % (raw, run_ms(results))


def test_every_target_is_judged(short_run):
    _, results, _ = short_run
    statuses = dict((t['name'], t['status']) for t in results['targets'])
    assert sorted(statuses) == sorted(TARGETS), statuses
    assert set(statuses.values()) <= {'met', 'not met', 'not measured'}, statuses
    for name in ('capture_raw', 'capture_compressed', 'server_mjpeg_1', 'server_ros_compressed'):
        assert statuses[name] != 'not measured', '%s has no figure in the short mode' % name


def test_video_case_figures_are_plausible(short_run):
    """One video case: h264 next to MJPEG q80 on the same frames, every figure present."""
    out, _, printed = short_run
    with open(str(out / 'video_results.json')) as video_file:
        video = json.load(video_file)
    windows = dict((w['type'], w) for w in video['windows'])
    assert sorted(windows) == ['h264', 'mjpeg_q80'], sorted(windows)
    h264, mjpeg = windows['h264'], windows['mjpeg_q80']
    assert 0 < h264['bytes_per_s'] < mjpeg['bytes_per_s'], (h264['bytes_per_s'], mjpeg['bytes_per_s'])
    assert not h264['errors'] and h264['fps_min'] > 0, h264
    # The video short mode's viewers run 3 s of warm-up and 3 s of window: no frame they read can be older.
    assert 0 <= h264['latency_ms_median'] <= h264['latency_ms_p95_max'] < 6000, h264
    assert h264['processes']['encoder']['cpu_pct'] > 0, h264['processes']
    assert h264['server_output']['encoder'] in ('libx264', 'h264_v4l2m2m'), h264['server_output']
    quality = video['ssim']['h264']
    assert quality['frames'] > 10 and 0.5 < quality['mean'] <= 1.0, quality
    floor = video['encoder_floor']['h264']
    assert floor['cpu_pct'] > 0 and 0 < floor['fps'] <= 31, floor  # at most the source's 30 fps, plus one
    joins, = video['joins']
    first = joins['first_frame_s']
    # The bench reads each joiner for at most 10 s: a join counted is a join within that.
    assert joins['type'] == 'h264' and first['count'] == 3 and 0 < first['median'] <= first['p95'] <= 10, joins
    assert joins['undecodable'] == 0 and joins['watcher_quiet']['fps'] > 0 and joins['watcher_joins']['fps'] > 0, joins
    assert joins['page_first_picture_ms'] or joins['page_not_measured'], joins
    assert len(video['targets']) >= 3 and '# Video streams benchmark' in printed, video['targets']
    png = (out / 'video_results.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000, len(png)
