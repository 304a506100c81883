#!/usr/bin/python3
"""Soak: 16 viewers of a 1280x720 30 fps camera for 30 minutes, viewers coming and going,
the camera dropping for 10 s every 5 minutes; the web server must not drift.

The real pipeline (a ROS master, `server.launch server:=builtin` on a generated MJPG file;
the "camera drop" moves that file away, so the capture node loses its source and the web
server's topic goes stale). Of the viewers, --churners visit for 3 to 10 s and come back at
once (alternating mjpeg and ros_compressed), the others stay connected; each is its own
process (soak_viewer.py). Every --sample seconds it records the web server's RSS, threads
and open file descriptors (/proc), the source's input fps and staleness (/health), and per
viewer the frames received against the frames the source sent and the latency p95. Targets:
RSS growth under 5 MB after the warm-up, threads and fds back to their baseline once the
viewers have gone, no viewer below 99 % of the frames outside the drops. Writes soak.json and
soak.png to --out and prints a summary.

    . tools/setup test && nice /usr/bin/python3 bench/soak.py --out bench/results   # 30 minutes
    /usr/bin/python3 bench/soak.py --short --out /tmp/soak                        # about 90 s (the tests)
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import procstat
import sources
from pipeline import Pipeline, require_ros_package, run_main, stop_group
from run_bench import log, machine_info, memory_growth

WIDTH, HEIGHT, FPS = 1280, 720, 30
TOPIC = '/camera/image_raw'
MODES = {
    'full': {'seconds': 1800.0, 'sample_s': 10.0, 'drop_period_s': 300.0, 'drop_s': 10.0,
             'warmup_s': 120.0, 'span_s': 120.0},
    # One drop in the middle of a minute; the targets are not judged on so short a run.
    'short': {'seconds': 60.0, 'sample_s': 5.0, 'drop_period_s': 25.0, 'drop_s': 6.0,
              'warmup_s': 10.0, 'span_s': 10.0},
}
DROP_MARGIN_S = 6.0  # the file loop (4 s) may delay a drop's start; the capture node reopens each 1 s
SETTLE_S = 5.0  # after the last viewer, before threads and fds are compared with the baseline
TARGET_RSS_GROWTH_MB = 5.0
TARGET_FRAME_RATIO = 0.99


def process_counts(pid):
    """(threads, {fd: what it is}) of ``pid``."""
    with open('/proc/%d/status' % pid) as status:
        threads = [int(line.split()[1]) for line in status if line.startswith('Threads:')][0]
    fds = {}
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            fds[fd] = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:  # closed meanwhile
            pass
    return threads, fds


def server_sample(pipeline, began, fd_names=False):
    threads, fd_links = process_counts(pipeline.server_pid)
    fds = len(fd_links)
    health = pipeline.health() or {}
    topic = [t for t in health.get('topics', []) if t['topic'].startswith(TOPIC)]
    return {'t': round(time.time() - began, 1), 'rss_mb': procstat.rss_bytes(pipeline.server_pid) / 1e6,
            'threads': threads, 'fds': fds, 'clients': health.get('clients'),
            'input_fps': topic[0]['input_fps'] if topic else 0.0,
            'stale': bool(topic and topic[0].get('stale')),
            'fd_links': fd_links if fd_names else None}


def start_viewers(pipeline, mode, viewers, churners, t0, end, work_dir):
    procs = []
    for index in range(viewers):
        out = os.path.join(work_dir, 'viewer_%02d.jsonl' % index)
        args = ['--url', pipeline.stream_url('mjpeg'), '--t0', str(t0), '--end', str(end),
                '--bucket', str(mode['sample_s']), '--fps', str(FPS), '--drop-period', str(mode['drop_period_s']),
                '--drop-seconds', str(mode['drop_s']), '--drop-margin', str(DROP_MARGIN_S),
                '--seed', str(index), '--out', out]
        churning = index < churners
        if churning:
            args += ['--churn', '3', '10', '--alt-url', pipeline.stream_url('ros_compressed')]
        procs.append((index, churning, out, pipeline.python_process('soak_viewer.py', args,
                                                                    'viewer_%02d.log' % index)))
    return procs


def viewer_results(procs, end):
    viewers = []
    for index, churning, out, proc in procs:
        try:
            proc.wait(max(1.0, end + 60 - time.time()))
        finally:
            stop_group(proc, timeout=2.0)
        buckets = []
        if os.path.exists(out):
            with open(out) as lines:
                buckets = [json.loads(line) for line in lines if line.strip()]
        viewers.append({'viewer': index, 'churning': churning, 'buckets': buckets,
                        'stamps': set(s for b in buckets for s in b['stamps_ms']),
                        'spans': [span for b in buckets for span in b['visits']],
                        'period_expected': sum(b['expected'] for b in buckets),
                        'errors': [e for b in buckets for e in b['errors']]})
    # What the server sent at all: every stamp any viewer got. A viewer is judged against the
    # stamps inside its own visits (the source's own skips, e.g. at the file's loop point, are
    # not the server's; the period-based figure includes them).
    sent = set().union(*[v['stamps'] for v in viewers]) if viewers else set()
    ordered = sorted(sent)
    for viewer in viewers:
        expected = set()
        for first, last in viewer['spans']:
            expected.update(s for s in ordered if first <= s <= last)
        viewer['frames'] = len(viewer.pop('stamps') & expected)
        viewer['expected'] = len(expected)
        viewer['ratio'] = viewer['frames'] / float(len(expected)) if expected else None
        viewer['period_ratio'] = (sum(b['frames'] for b in viewer['buckets']) / float(viewer['period_expected'])
                                  if viewer['period_expected'] else None)
        viewer['visits'] = len(viewer.pop('spans'))
        for bucket in viewer['buckets']:
            del bucket['stamps_ms']  # the JSON keeps the counts, not 54,000 stamps per viewer
    return viewers


def per_sample_viewer_figures(samples, viewers, mode):
    """Adds to each sample the staying viewers' fps (min, median) and the worst latency p95."""
    for index, sample in enumerate(samples):
        bucket = int(round(sample['t'] / mode['sample_s'])) - 1  # the bucket that ended at this sample
        rows = [b for v in viewers for b in v['buckets'] if b['bucket'] == bucket and not v['churning']]
        fps = [b['frames'] / mode['sample_s'] for b in rows]
        p95 = [b['latency_ms_p95'] for b in rows if b['latency_ms_p95'] is not None]
        sample['viewer_fps_min'] = min(fps) if fps else None
        sample['viewer_fps_median'] = statistics.median(fps) if fps else None
        sample['latency_ms_p95_worst'] = max(p95) if p95 else None


def evaluate(results):
    memory, base, after = results['memory'], results['baseline'], results['after']
    ratios = [v['ratio'] for v in results['viewers'] if v['ratio'] is not None]
    worst = min(ratios) if ratios else None
    return [
        {'target': 'web server RSS growth after warm-up < %.0f MB' % TARGET_RSS_GROWTH_MB,
         'met': memory['growth_mb'] < TARGET_RSS_GROWTH_MB,
         'figure': '%+.1f MB (median of the first %.0f s after %.0f s warm-up: %.1f MB, of the last: %.1f MB; peak %.1f MB)'
                   % (memory['growth_mb'], memory['span_s'], memory['warmup_s'], memory['rss_start_mb'],
                      memory['rss_end_mb'], memory['rss_peak_mb'])},
        {'target': 'threads back to baseline', 'met': after['threads'] <= base['threads'],
         'figure': '%d before the viewers, %d at the peak, %d after' % (
             base['threads'], max(s['threads'] for s in results['samples']), after['threads'])},
        {'target': 'file descriptors back to baseline', 'met': after['fds'] <= base['fds'],
         'figure': '%d before the viewers, %d at the peak, %d after%s' % (
             base['fds'], max(s['fds'] for s in results['samples']), after['fds'], ''.join(
                 '; new: fd %s -> %s' % item for item in sorted(set(after['fd_links'].items())
                                                                - set(base['fd_links'].items()))))},
        {'target': 'every viewer >= %.0f %% of the frames outside the drops' % (100 * TARGET_FRAME_RATIO),
         'met': worst is not None and worst >= TARGET_FRAME_RATIO,
         'figure': 'worst viewer %.2f %% (%s)' % (100 * worst, ', '.join(
             '%d: %d/%d' % (v['viewer'], v['frames'], v['expected']) for v in results['viewers']
             if v['ratio'] is not None and v['ratio'] < TARGET_FRAME_RATIO) or 'none below')
         if worst is not None else 'no frames'},
        {'target': '(for information) every viewer against the source period, the source\'s own skips included',
         'met': None, 'figure': 'worst viewer %.2f %%' % (100 * min(
             v['period_ratio'] for v in results['viewers'] if v['period_ratio'] is not None))},
    ]


def summary(results):
    lines = ['# Soak: %d viewers (%d coming and going), %dx%d at %d fps, %.0f s, camera dropped %d times'
             % (results['viewers_total'], results['churners'], WIDTH, HEIGHT, FPS, results['seconds'],
                len(results['drops'])), '']
    for target in results['targets']:
        verdict = {True: 'met. ', False: 'NOT MET. ', None: ''}[target['met']]
        lines.append('- %s: %s%s' % (target['target'], verdict, target['figure']))
    latencies = [s['latency_ms_p95_worst'] for s in results['samples'] if s['latency_ms_p95_worst'] is not None]
    if latencies:
        lines.append('- latency p95 of the worst viewer per sample: median %.1f ms, max %.1f ms'
                     % (statistics.median(latencies), max(latencies)))
    lines.append('- visits: %d; viewer errors: %d' % (sum(v['visits'] for v in results['viewers']),
                                                      sum(len(v['errors']) for v in results['viewers'])))
    return '\n'.join(lines) + '\n'


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    samples = results['samples']
    t = [s['t'] / 60.0 for s in samples]
    figure, axes = plt.subplots(4, 1, figsize=(11, 11), sharex=True)
    axes[0].plot(t, [s['input_fps'] for s in samples], label='source input fps (/health)')
    axes[0].plot(t, [s['viewer_fps_min'] for s in samples], label='slowest staying viewer')
    axes[0].plot(t, [s['viewer_fps_median'] for s in samples], label='median staying viewer', alpha=0.6)
    axes[0].set(ylabel='frames/s', title='Soak: %d viewers at %dx%d, %d fps, the camera dropped every %.0f s'
                % (results['viewers_total'], WIDTH, HEIGHT, FPS, results['mode']['drop_period_s']))
    axes[1].plot(t, [s['latency_ms_p95_worst'] for s in samples], label='worst viewer p95')
    axes[1].set(ylabel='latency p95 (ms)')
    axes[2].plot(t, [s['rss_mb'] for s in samples], label='web server RSS')
    axes[2].set(ylabel='RSS (MB)')
    axes[3].plot(t, [s['threads'] for s in samples], label='threads')
    axes[3].plot(t, [s['fds'] for s in samples], label='open fds')
    for key, colour in (('threads', 'C0'), ('fds', 'C1')):  # before the first and after the last viewer
        axes[3].axhline(results['baseline'][key], color=colour, linestyle=':', linewidth=1)
        axes[3].plot([t[-1] + 0.3], [results['after'][key]], marker='o', color=colour)
    axes[3].set(ylabel='count', xlabel='minutes')
    for axis in axes:
        for low, high in results['drops']:
            axis.axvspan(low / 60.0, high / 60.0, color='red', alpha=0.12)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8, loc='lower left')
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def run(mode, out_dir, viewers, churners):
    require_ros_package()
    work_dir = tempfile.mkdtemp(prefix='camera_server_soak_')
    pipeline = Pipeline(os.path.join(out_dir, 'soak_logs'))
    procs = []
    try:
        clip = os.path.join(work_dir, 'camera.avi')  # a copy: moving it away must not touch the cache
        shutil.copy(sources.mjpg_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out', 'media'),
                                      WIDTH, HEIGHT, FPS), clip)
        pipeline.start_master()
        pipeline.start(clip, WIDTH, HEIGHT, FPS, 'soak')
        time.sleep(2.0)  # the start-up check's viewer has gone and the topic is released
        results = {'mode': mode, 'machine': machine_info(), 'viewers_total': viewers, 'churners': churners,
                   'seconds': mode['seconds']}
        began = time.time()
        results['baseline'] = server_sample(pipeline, began, fd_names=True)
        end = began + mode['seconds']
        log('soak: %d viewers for %.0f s; baseline %s' % (viewers, mode['seconds'], results['baseline']))
        procs = start_viewers(pipeline, mode, viewers, churners, began, end, work_dir)
        samples, drops = [], []
        next_sample = began + mode['sample_s']
        next_drop = began + mode['drop_period_s']
        restore_at = None  # while the camera is dropped: when it comes back
        while time.time() < end:
            now = time.time()
            if restore_at is None and now >= next_drop and next_drop + mode['drop_s'] < end:
                os.rename(clip, clip + '.away')
                restore_at = now + mode['drop_s']
            if restore_at is not None and now >= restore_at:
                os.rename(clip + '.away', clip)
                drops.append((round(next_drop - began, 1), round(now - began, 1)))
                log('soak: camera dropped %.0f-%.0f s' % drops[-1])
                next_drop += mode['drop_period_s']
                restore_at = None
            if now >= next_sample:
                samples.append(server_sample(pipeline, began))
                next_sample += mode['sample_s']
                if len(samples) % 6 == 0:
                    log('soak: %s' % samples[-1])
            due = [next_sample, end, restore_at if restore_at is not None else next_drop]
            time.sleep(max(0.0, min(due) - time.time()))
        results['viewers'] = viewer_results(procs, end)
        procs = []
        settled = time.time() + 30
        while (pipeline.health() or {}).get('clients') and time.time() < settled:
            time.sleep(0.5)
        time.sleep(SETTLE_S)
        results['after'] = server_sample(pipeline, began, fd_names=True)
        results['samples'], results['drops'] = samples, drops
        per_sample_viewer_figures(samples, results['viewers'], mode)
        results['memory'] = memory_growth([(s['t'], s['rss_mb']) for s in samples], mode['warmup_s'], mode['span_s'])
        results['targets'] = evaluate(results)
    finally:
        if os.path.exists(clip + '.away'):
            os.rename(clip + '.away', clip)
        for _, _, _, proc in procs:
            stop_group(proc, timeout=2.0)
        pipeline.close()
        shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'soak.json'), 'w') as json_file:
        json.dump(results, json_file, indent=1, sort_keys=True)
    plot(results, os.path.join(out_dir, 'soak.png'))
    return summary(results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--short', action='store_true', help='60 s with one drop (the test suite)')
    parser.add_argument('--out', required=True, help='folder for soak.json, soak.png and soak_logs/')
    parser.add_argument('--viewers', type=int, default=16)
    parser.add_argument('--churners', type=int, default=4, help='of the viewers, how many come and go')
    args = parser.parse_args(argv)
    mode = dict(MODES['short' if args.short else 'full'], name='short' if args.short else 'full')
    return run_main('soak', lambda: run(mode, os.path.abspath(args.out), args.viewers, args.churners))


if __name__ == '__main__':
    sys.exit(main())
