"""Benchmark results: the targets of issue 5 judged, then JSON, a Markdown table and a PNG plot.

``results`` (built by run_bench.py) holds 'machine', 'floors' {size: {decode,
encode, publish_jpeg, publish_raw, subscribe_jpeg, subscribe_raw}: cpu_pct}, 'windows' (one per measured case) and optionally 'memory'.
"""
import json
import os

FRAME_PERIOD_MS = 1000.0 / 30


def size_label(window):
    return '%dx%d' % (window['width'], window['height'])


def case_label(window):
    viewers = '%d x %s' % (window['clients'], window['stream_type']) if window['clients'] else 'no viewer'
    return '%s %s, %s%s' % (size_label(window), window['source'], viewers,
                            ', raw sub' if window['raw_subscriber'] else '')


def select(windows, **criteria):
    return [w for w in windows if all(w.get(k) == v for k, v in criteria.items())]


def cpu(window, process):
    return window['processes'][process]['cpu_pct']


def _check(label, value, limit, unit='', at_least=False):
    met = value is not None and (value >= limit if at_least else value <= limit)
    return {'case': label, 'value': value, 'limit': limit, 'unit': unit, 'at_least': at_least, 'met': met}


def evaluate_targets(results):
    """[{name, text, checks: [...], status: met|not met|not measured}] for every target of issue 5."""
    windows, floors = results['windows'], results['floors']
    targets = []

    def ratio_checks(found, process, floor_kind, limit):
        return [_check(case_label(w), cpu(w, process) / floors[size_label(w)][floor_kind], limit, 'x floor')
                for w in found]

    targets.append(('capture_raw', 'Capture node with one raw subscriber: CPU <= 1.15 x decode floor',
                    ratio_checks(select(windows, raw_subscriber=True, clients=0), 'capture_node', 'decode', 1.15)))
    targets.append(('capture_compressed', 'Capture node, MJPG source, only compressed subscribers: '
                    'CPU <= 0.35 x decode floor',
                    ratio_checks(select(windows, source='file', raw_subscriber=False,
                                        stream_type='ros_compressed'), 'capture_node', 'decode', 0.35)))
    mjpeg_types = ('mjpeg', 'mjpeg_q95')  # served with the camera's JPEG, or encoded by the server
    targets.append(('server_mjpeg_1', 'Web server, mjpeg, 1 client: CPU <= 1.6 x encode floor',
                    ratio_checks([w for w in select(windows, raw_subscriber=False, clients=1)
                                  if w['stream_type'] in mjpeg_types], 'web_server', 'encode', 1.6)))
    scale_checks = []
    for many in [w for w in select(windows, raw_subscriber=False, clients=16) if w['stream_type'] in mjpeg_types]:
        one = select(windows, raw_subscriber=False, stream_type=many['stream_type'], clients=1,
                     width=many['width'], source=many['source'])
        if one:
            scale_checks.append(_check(case_label(many), cpu(many, 'web_server') / max(cpu(one[0], 'web_server'), 0.1),
                                       2.0, 'x 1 client'))
    targets.append(('server_mjpeg_16', 'Web server, mjpeg, 16 clients: CPU <= 2 x its CPU with 1 client',
                    scale_checks))
    targets.append(('server_ros_compressed', 'Web server, ros_compressed from an MJPG source, 1 client: '
                    'CPU <= 0.25 x encode floor',
                    ratio_checks(select(windows, source='file', raw_subscriber=False,
                                        stream_type='ros_compressed', clients=1), 'web_server', 'encode', 0.25)))
    client_checks = []
    for w in select(windows, width=1280, clients=16):
        summary = w['client_summary']
        client_checks.append(_check(case_label(w) + ': frames', 100 * summary['frames_ratio_min'], 99.0, '%',
                                    at_least=True))
        client_checks.append(_check(case_label(w) + ': p95', summary['latency_ms_p95_max'], FRAME_PERIOD_MS, 'ms'))
    targets.append(('clients_720p_16', 'Every client, 16 clients at 1280x720x30: >= 99 % of source frames, '
                    'latency p95 < 33 ms', client_checks))
    memory = results.get('memory')
    targets.append(('server_memory', 'Web server RSS growth < 5 MB over a 5-minute connect/leave run',
                    [_check('%.0f s, %d visits' % (memory['seconds'], memory['churn'].get('cycles', 0)),
                            memory['growth_mb'], 5.0, 'MB')] if memory else []))
    judged = []
    for name, text, checks in targets:
        status = 'not measured' if not checks else ('met' if all(c['met'] for c in checks) else 'not met')
        judged.append({'name': name, 'text': text, 'checks': checks, 'status': status})
    return judged


def _fmt(value, digits=1):
    return '-' if value is None else ('%.*f' % (digits, value))


def _check_text(check):
    return '%s: %s %s (%s %s)' % (check['case'], _fmt(check['value'], 2), check['unit'],
                                  '>=' if check['at_least'] else '<=', check['limit'])


def markdown(results):
    machine, floors = results['machine'], results['floors']
    lines = ['# camera_server benchmark (%s mode)' % results['mode'], '',
             'Machine: %s, %s cores, %s, Python %s, OpenCV %s; commit %s; load average before/after: %s / %s; '
             'run %s, %.0f s.' % (machine['cpu'], machine['cores'], machine['kernel'], machine['python'],
                                  machine['opencv'], machine['commit'], machine['loadavg_before'],
                                  machine.get('loadavg_after', '-'), machine['date'],
                                  results.get('duration_s', 0)),
             '', 'CPU is %% of one core over a %.0f s window after %.0f s of warm-up. Ratios are to the floors '
             'measured in the same run; "sys" is the part spent in the kernel (socket copies).' % (results['window_s'], results['warmup_s']), '',
             '## Floors', '', '| size | decode floor (VideoCapture.read, 30 fps) | '
             'encode floor (cv2.imencode q95, 30 fps) | rospy publish alone, JPEG / raw bgr8 (x decode) '
             '| rospy subscribe alone, JPEG / raw bgr8 (x encode) |', '|---|---|---|---|---|']

    def pair(floor, kinds, reference):
        return ' / '.join('%.1f %% (%.2f)' % (floor[kind], floor[kind] / floor[reference]) if kind in floor
                          else '-' for kind in kinds)
    for size, floor in sorted(floors.items()):
        lines.append('| %s | %.1f %% | %.1f %% | %s | %s |' % (
            size, floor['decode'], floor['encode'], pair(floor, ('publish_jpeg', 'publish_raw'), 'decode'),
            pair(floor, ('subscribe_jpeg', 'subscribe_raw'), 'encode')))
    lines += ['', 'The rospy columns are a bare rospy publisher sending the same frames at 30 fps to one bare '
              'subscriber (queue_size=1, as the nodes): what TCPROS alone costs each side, with no capture, '
              'decode or encode. They are not targets; they show how much of a node\'s CPU no design of '
              'its own can remove.']
    lines += ['', '## Targets', '', '| target | status | figures |', '|---|---|---|']
    for target in results['targets']:
        figures = '<br>'.join(_check_text(c) + ('' if c['met'] else ' **not met**') for c in target['checks'])
        lines.append('| %s | %s | %s |' % (target['text'], target['status'].upper(), figures or '-'))
    lines += ['', '## Cases', '',
              '| size | source | raw sub | type | clients | capture CPU % (x decode) | server CPU % (x encode) '
              '| server RSS MB | encodes/s | client fps min | latency median ms | latency p95 ms (worst) '
              '| frames % (worst) | other load % |',
              '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for w in results['windows']:
        floor = floors[size_label(w)]
        summary = w.get('client_summary') or {}
        raw = w.get('raw') or {}
        lines.append('| %s | %s | %s | %s | %d | %.1f (%.2f; sys %.1f) | %.1f (%.2f; sys %.1f) | %.1f | %s | %s '
                     '| %s | %s | %s | %.0f |' % (
            size_label(w), w['source'], 'yes (%s fps)' % _fmt(raw.get('fps')) if w['raw_subscriber'] else 'no',
            w['stream_type'] or '-', w['clients'],
            cpu(w, 'capture_node'), cpu(w, 'capture_node') / floor['decode'],
            w['processes']['capture_node']['kernel_cpu_pct'],
            cpu(w, 'web_server'), cpu(w, 'web_server') / floor['encode'],
            w['processes']['web_server']['kernel_cpu_pct'],
            w['processes']['web_server']['rss_mb'], _fmt(w.get('encodes_per_s')),
            _fmt(summary.get('fps_min')), _fmt(summary.get('latency_ms_median')),
            _fmt(summary.get('latency_ms_p95_max')),
            _fmt(100 * summary['frames_ratio_min'] if summary else None), w['other_load_pct']))
    memory = results.get('memory')
    if memory:
        lines += ['', '## Memory', '', 'Web server RSS (median of the first / last %.0f s after a %.0f s warm-up) '
                  '%.1f MB then %.1f MB: growth %.1f MB, peak %.1f MB, '
                  'over %.0f s of viewers connecting and leaving (%d visits, %d frames, errors %s).' % (
                      memory['span_s'], memory['warmup_s'], memory['rss_start_mb'], memory['rss_end_mb'],
                      memory['growth_mb'], memory['rss_peak_mb'], memory['seconds'],
                      memory['churn'].get('cycles', 0), memory['churn'].get('frames', 0),
                      memory['churn'].get('errors') or 'none')]
    if results.get('video_markdown'):  # video_bench.py's section (its own files hold the details)
        lines += ['', '#' + results['video_markdown'].rstrip('\n')]
    return '\n'.join(lines) + '\n'


def plot(results, path):
    """PNG: web server CPU and worst p95 latency against clients; web server RSS during the memory run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    memory = results.get('memory')
    figure, axes = plt.subplots(1, 3 if memory else 2, figsize=(16 if memory else 11, 4.5))
    series = {}
    for w in results['windows']:
        if w['clients'] and not w['raw_subscriber']:
            key = '%s %s %s' % (size_label(w), w['source'], w['stream_type'])
            series.setdefault(key, []).append(w)
    for key, found in sorted(series.items()):
        found.sort(key=lambda w: w['clients'])
        counts = [w['clients'] for w in found]
        axes[0].plot(counts, [cpu(w, 'web_server') for w in found], marker='o', label=key)
        axes[1].plot(counts, [w['client_summary']['latency_ms_p95_max'] for w in found], marker='o', label=key)
    axes[0].set(xlabel='clients', ylabel='web server CPU (% of one core)', xscale='log', title='Web server CPU')
    axes[1].set(xlabel='clients', ylabel='latency p95, worst client (ms)', xscale='log',
                title='Capture to client latency')
    axes[1].axhline(FRAME_PERIOD_MS, color='grey', linestyle='--', linewidth=1)
    for axis in axes[:2]:
        axis.set_xticks([1, 4, 16])
        axis.set_xticklabels(['1', '4', '16'])
        axis.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    if memory:
        times, rss = zip(*memory['rss_series']) if memory['rss_series'] else ((), ())
        axes[2].plot(times, rss)
        axes[2].set(xlabel='s', ylabel='web server RSS (MB)', title='Memory, viewers connecting and leaving')
        axes[2].grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def save(out_dir, stem, results, text, plot_to):
    """Writes STEM.json (``results``), STEM.md (``text``) and STEM.png (``plot_to(results, path)``)
    into ``out_dir``; returns ``text``."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, stem + '.json'), 'w') as json_file:
        json.dump(results, json_file, indent=1, sort_keys=True)
    with open(os.path.join(out_dir, stem + '.md'), 'w') as md_file:
        md_file.write(text)
    plot_to(results, os.path.join(out_dir, stem + '.png'))
    return text


def write(results, out_dir):
    """Judge the targets, then write results.json, results.md and results.png into ``out_dir``."""
    results['targets'] = evaluate_targets(results)
    return save(out_dir, 'results', results, markdown(results), plot)
