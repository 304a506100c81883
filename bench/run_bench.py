#!/usr/bin/python3
"""camera_server benchmark: the real pipeline's cost, latency and scale, against OpenCV floors.

Runs a ROS master, `roslaunch camera_server server.launch server:=builtin` on
generated sources (the test pattern and an MJPG file), and for each case N
HTTP viewers and optionally a raw image_raw subscriber, each in its own
process. Over a fixed window after a warm-up it measures CPU and RSS of every
process (/proc), each viewer's fps, latency (X-Timestamp to last byte) and
dropped frames, and encodes/s from /health. The decode and encode floors are
measured in the same run. Writes results.json, results.md and results.png to
--out and prints the Markdown, with every target of issue 5 as met / not met.

    . tools/setup test && /usr/bin/python3 bench/run_bench.py   # full run, about 21 min
    /usr/bin/python3 bench/run_bench.py --short --out /tmp/bench  # ~1 min, for the tests
"""
import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time

import cv2

import floors
import procstat
import report
import sources
import video_bench
from pipeline import BENCH_DIR, BenchError, Pipeline, require_ros_package, run_main, stop_group

FPS = 30
MODES = {
    'full': {'sizes': [(640, 480), (1280, 720)], 'sources': ['test', 'file'], 'client_counts': [1, 4, 16],
             'encode_client_counts': [1, 16], 'raw_variants': [False, True], 'warmup_s': 3.0,
             'window_s': 10.0, 'memory_s': 300.0, 'video': True},
    # The short mode (test suite): one size, the MJPG file, 1 and 4 viewers, the raw subscriber once.
    'short': {'sizes': [(640, 480)], 'sources': ['file'], 'client_counts': [1, 4], 'encode_client_counts': [1],
              'raw_variants': [False], 'warmup_s': 2.0, 'window_s': 3.0, 'memory_s': 0.0, 'video': True},
}
STREAM_TYPES = ['mjpeg', 'ros_compressed']
MEMORY_WARMUP_S = 30.0  # the allocator and caches settle before the growth is counted
SUBSCRIBER_DEADLINE_S = 60.0  # a bare rospy subscriber starting on a loaded machine
MEMORY_SPAN_S = 60.0  # the growth compares the median RSS of the first and the last minute


def log(message):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), message))
    sys.stderr.flush()


def machine_info():
    def first_line(path, prefix):
        with open(path) as info:
            for line in info:
                if line.startswith(prefix):
                    return line.split(':', 1)[1].strip()
        return '?'
    try:
        commit = subprocess.check_output(['git', 'describe', '--always', '--dirty'], cwd=BENCH_DIR,
                                         stderr=subprocess.DEVNULL).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        commit = '?'
    return {'cpu': first_line('/proc/cpuinfo', 'model name'), 'cores': os.cpu_count(),
            'memory': first_line('/proc/meminfo', 'MemTotal'), 'kernel': platform.release(),
            'python': platform.python_version(), 'opencv': cv2.__version__, 'commit': commit,
            'date': time.strftime('%Y-%m-%d %H:%M:%S %Z'), 'loadavg_before': os.getloadavg()[0]}


def collect_json(proc, timeout):
    """The JSON line a bench process prints, or {'error': ...}; the process is ended either way."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(proc, timeout=2.0)
        return {'error': 'no result within %.0f s' % timeout}
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {'error': 'exit %s, output %r' % (proc.returncode, out[-300:])}


FLOOR_TOPICS = {'publish_jpeg': ('/bench_floor/compressed', 'compressed', 'subscribe_jpeg'),
                'publish_raw': ('/bench_floor/image_raw', 'image', 'subscribe_raw')}


def wait_for_line(stream, line, timeout):
    """Reads ``stream`` (a pipe) until ``line`` comes; BenchError after ``timeout`` seconds or at its end."""
    deadline = time.time() + timeout
    while select.select([stream], [], [], max(0.0, deadline - time.time()))[0]:
        got = stream.readline()
        if not got:
            break
        if got.decode('utf-8', 'replace').strip() == line:
            return
    raise BenchError('no %r within %.0f s' % (line, timeout))


def measure_floor(pipeline, kind, path, warmup_s, window_s):
    """{kind: CPU %} of one floor loop (floors.py) over the window; a publish floor gets one
    bare rospy subscriber, whose CPU is the matching subscribe floor."""
    proc = pipeline.python_process('floors.py', [kind, '--file', path, '--fps', str(FPS),
                                                 '--seconds', str(warmup_s + window_s + 1.0)],
                                   'floor_%s.log' % kind)
    pids = {kind: [proc.pid]}
    subscriber = None
    if kind in FLOOR_TOPICS:
        topic, msg_type, subscribe_kind = FLOOR_TOPICS[kind]
        subscriber = pipeline.python_process('raw_subscriber.py', ['--topic', topic, '--type', msg_type],
                                             'floor_%s.log' % subscribe_kind)
        pids[subscribe_kind] = [subscriber.pid]
    try:
        if subscriber is not None:
            wait_for_line(proc.stdout, floors.SUBSCRIBER_CONNECTED, SUBSCRIBER_DEADLINE_S)
        time.sleep(warmup_s)
        sampler = procstat.Sampler(pids).start()
        time.sleep(window_s)
        figures = sampler.stop()
        if proc.wait(window_s + 30) != 0:
            raise BenchError('floors.py %s exited with %s' % (kind, proc.returncode))
    finally:
        stop_group(proc, timeout=2.0)
        if subscriber is not None:
            stop_group(subscriber, timeout=2.0)
    return dict((name, figures[name]['cpu_pct']) for name in pids)


def health_counters(health, topic='/camera/image_raw'):
    """{counter key: running total} from /health: encodes of each output, messages of each
    subscription to ``topic`` or its transports (``topic``/compressed); None when unreadable."""
    try:
        counters = {}
        for feed in health['topics']:
            if feed['topic'].startswith(topic):
                counters['messages', feed['topic']] = feed['messages_total']
            for out in feed['outputs']:
                key = ('encodes', feed['topic'], out['type'], out['width'], out['height'], out['quality'],
                       out['invert'])
                counters[key] = out['encodes_total']
        return counters
    except (KeyError, TypeError):
        return None


def rates_between(health_start, health_end, seconds):
    """{encodes_per_s, input_fps} over a window from the /health counters at its two ends.

    A counter born inside the window counts from zero; one gone by its end (an output of the
    previous case being released) does not count.
    """
    start, end = health_counters(health_start), health_counters(health_end)
    if start is None or end is None:
        return {'encodes_per_s': None, 'input_fps': None}
    rates = {'encodes': 0.0, 'messages': 0.0}
    for key, total in end.items():
        rates[key[0]] += (total - start.get(key, 0)) / seconds
    return {'encodes_per_s': rates['encodes'], 'input_fps': rates['messages']}


def summarize_clients(details):
    ok = [d for d in details if d.get('frames')]
    if not ok or len(ok) < len(details):
        return None
    return {
        'fps_min': min(d['fps'] for d in ok),
        'fps_median': statistics.median(d['fps'] for d in ok),
        'latency_ms_median': statistics.median(d['latency_ms_median'] for d in ok),
        'latency_ms_p95_max': max(d['latency_ms_p95'] for d in ok),
        'latency_ms_min': min(d['latency_ms_median'] for d in ok),
        'dropped_total': sum(d['dropped'] for d in ok),
        'frames_ratio_min': min(d['frames'] / float(d['frames'] + d['dropped']) for d in ok),
    }


def measure_window(pipeline, case, warmup_s, window_s):
    """Start the case's viewers (and raw subscriber), measure one window, return its figures."""
    start = time.time() + warmup_s
    end = start + window_s
    timing = ['--start', '%.3f' % start, '--end', '%.3f' % end, '--fps', str(FPS)]
    viewers, raw = [], None
    try:
        if case['raw_subscriber']:
            raw = pipeline.python_process('raw_subscriber.py', timing, 'raw_subscriber.log')
        for index in range(case['clients']):
            url = pipeline.stream_url(case['stream_type'])
            viewers.append(pipeline.python_process('client.py', ['--url', url] + timing, 'clients.log'))
        time.sleep(max(0.0, start - time.time()))
        groups = {'capture_node': [pipeline.capture_pid], 'web_server': [pipeline.server_pid],
                  'ros_master': [pipeline.master.pid], 'clients': [p.pid for p in viewers],
                  'raw_subscriber': [raw.pid] if raw else []}
        health_start = pipeline.health()
        sampler = procstat.Sampler(groups).start()
        time.sleep(max(0.0, end - time.time()))
        processes = sampler.stop()
        health_end = pipeline.health()
        details = [collect_json(p, window_s + 15) for p in viewers]
        raw_figures = collect_json(raw, 15) if raw else None
    finally:
        for proc in viewers + ([raw] if raw else []):
            stop_group(proc, timeout=2.0)
    machine = processes.pop('_machine')
    if health_end:
        health_end.pop('client_list', None)  # one entry per viewer: bulk without a figure
    ours = sum(p['cpu_pct'] for p in processes.values())
    window = dict(case, processes=processes, machine=machine, clients_detail=details,
                  client_summary=summarize_clients(details) if details else None,
                  raw=raw_figures, other_load_pct=max(0.0, machine['busy_cores_pct'] - ours),
                  health=health_end, **rates_between(health_start, health_end, machine['seconds']))
    return window


def cases_for(size, source, mode):
    """The windows measured on one running pipeline, cheapest first."""
    width, height = size
    base = {'width': width, 'height': height, 'source': source}
    cases = [dict(base, raw_subscriber=raw, stream_type=None, clients=0) for raw in (False, True)]
    for raw in mode['raw_variants']:
        for stream_type in STREAM_TYPES:
            for count in mode['client_counts']:
                cases.append(dict(base, raw_subscriber=raw, stream_type=stream_type, clients=count))
    for count in mode['encode_client_counts']:  # the server's own encode, one per frame for all
        cases.append(dict(base, raw_subscriber=False, stream_type='mjpeg_q95', clients=count))
    return cases


def memory_run(pipeline, seconds):
    """Web server RSS while churn.py's viewers connect and leave for ``seconds``."""
    proc = pipeline.python_process('churn.py', ['--base', 'http://127.0.0.1:%d' % pipeline.port,
                                                '--seconds', str(seconds), '--workers', '4'], 'churn.log')
    series, began = [], time.time()
    try:
        while proc.poll() is None and time.time() < began + seconds + 30:
            series.append((round(time.time() - began, 1), procstat.rss_bytes(pipeline.server_pid) / 1e6))
            time.sleep(5.0)
        churn = collect_json(proc, 30)
    finally:
        stop_group(proc, timeout=2.0)
    return dict(memory_growth(series), seconds=seconds, churn=churn)


def memory_growth(series, warmup_s=MEMORY_WARMUP_S, span_s=MEMORY_SPAN_S):
    """RSS figures of a [(seconds, MB)] series.

    RSS swings by tens of MB as buffers come and go: the growth compares the medians of
    the first and the last ``span_s`` after the warm-up rather than two single samples.
    """
    settled = [(t, rss) for t, rss in series if t >= warmup_s] or series
    first = [rss for t, rss in settled if t < settled[0][0] + span_s]
    last = [rss for t, rss in settled if t > settled[-1][0] - span_s]
    start_mb, end_mb = statistics.median(first), statistics.median(last)
    return {'warmup_s': warmup_s, 'span_s': span_s, 'rss_series': series,
            'rss_start_mb': start_mb, 'rss_end_mb': end_mb, 'growth_mb': end_mb - start_mb,
            'rss_peak_mb': max(rss for _, rss in series)}


def run(mode, out_dir):
    require_ros_package()
    began = time.time()
    results = {'mode': mode['name'], 'machine': machine_info(), 'warmup_s': mode['warmup_s'],
               'window_s': mode['window_s'], 'floors': {}, 'windows': []}
    source_dir = os.path.join(BENCH_DIR, 'out', 'sources')
    pipeline = Pipeline(os.path.join(out_dir, 'logs'))
    try:
        pipeline.start_master()
        for width, height in mode['sizes']:
            path = sources.mjpg_file(source_dir, width, height, FPS)
            label = '%dx%d' % (width, height)
            results['floors'][label] = {}
            for kind in ('decode', 'encode', 'publish_jpeg', 'publish_raw'):
                results['floors'][label].update(measure_floor(pipeline, kind, path, mode['warmup_s'],
                                                              mode['window_s']))
            log('floors %s: %s' % (label, results['floors'][label]))
            for source in mode['sources']:
                log('pipeline %s %s' % (label, source))
                if source == 'test':
                    pipeline.start('test', width, height, FPS, '%s_test' % label)
                else:  # the file has this size: a size given would ask the node to resize
                    pipeline.start(path, 0, 0, FPS, '%s_file' % label)
                try:
                    for case in cases_for((width, height), source, mode):
                        window = measure_window(pipeline, case, mode['warmup_s'], mode['window_s'])
                        results['windows'].append(window)
                        log('%s: capture %.1f %%, server %.1f %%, viewers %s' % (
                            report.case_label(window), window['processes']['capture_node']['cpu_pct'],
                            window['processes']['web_server']['cpu_pct'], window['client_summary']))
                    if mode['memory_s'] and (width, height) == mode['sizes'][-1] and source == 'file':
                        log('memory run, %.0f s' % mode['memory_s'])
                        results['memory'] = memory_run(pipeline, mode['memory_s'])
                finally:
                    pipeline.stop()
        if mode['video']:
            log('video streams (%s mode)' % mode['name'])
            video_mode = dict(video_bench.MODES[mode['name']], name=mode['name'])
            results['video_markdown'] = video_bench.run(video_mode, out_dir, pipeline)
    finally:
        pipeline.close()
    results['machine']['loadavg_after'] = os.getloadavg()[0]
    results['duration_s'] = time.time() - began
    return report.write(results, out_dir)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--short', action='store_true', help='a few seconds per case, 1 and 4 viewers (tests)')
    parser.add_argument('--out', default=os.path.join(BENCH_DIR, 'out', 'latest'),
                        help='folder for results.json/.md/.png and logs (default bench/out/latest)')
    parser.add_argument('--sizes', help='subset for investigations, e.g. 1280x720')
    parser.add_argument('--sources', help='subset for investigations: test, file or test,file')
    parser.add_argument('--raw', choices=['no', 'yes', 'both'], help='viewer cases without/with a raw subscriber')
    parser.add_argument('--memory-seconds', type=float, help='length of the memory run (0: none)')
    parser.add_argument('--no-video', action='store_true', help='skip the video streams (video_bench.py)')
    args = parser.parse_args(argv)
    mode = dict(MODES['short' if args.short else 'full'], name='short' if args.short else 'full')
    if args.sizes:
        mode['sizes'] = [tuple(int(v) for v in size.split('x')) for size in args.sizes.split(',')]
    if args.sources:
        mode['sources'] = args.sources.split(',')
    if args.raw:
        mode['raw_variants'] = {'no': [False], 'yes': [True], 'both': [False, True]}[args.raw]
    if args.memory_seconds is not None:
        mode['memory_s'] = args.memory_seconds
    if args.no_video:
        mode['video'] = False
    return run_main('benchmark', lambda: run(mode, os.path.abspath(args.out)))


if __name__ == '__main__':
    sys.exit(main())
