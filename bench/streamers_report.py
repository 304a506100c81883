"""streamers.py's results: issue 18's targets judged, a Markdown table, a PNG plot and the JSON.

Every ratio is taken between two windows of the same round (the same minutes of the shared
machine), then the median over the rounds is reported; the table's absolute figures are
medians over the rounds too.
"""
import statistics

import report

PIPELINES = ('one_process', 'two_nodes', 'two_nodes_before', 'mjpg_streamer')
LABELS = {'one_process': 'one process (pipeline:=one_process)', 'two_nodes': 'two nodes (pipeline:=two_nodes)',
          'two_nodes_before': 'two nodes before issue 18', 'mjpg_streamer': 'mjpg-streamer (C)'}


def cpu(window):
    return window['cpu']['all']['cpu_pct']


def pss_with_master(window):
    """PSS of the nodes and rosmaster (issue 18's "whole pipeline, rosmaster included"); the whole
    process for mjpg-streamer."""
    memory = window['memory']
    if 'nodes' not in memory:
        return memory['all']['pss_mb']
    return memory['nodes']['pss_mb'] + memory['rosmaster']['pss_mb']


def windows_of(results, pipeline, viewers):
    return dict((w['round'], w) for w in results['windows'] if w['pipeline'] == pipeline and w['viewers'] == viewers)


def median_ratio(results, figure, pipeline, other, viewers, other_viewers=None):
    """Median over the rounds of figure(pipeline's window) / figure(other's window) of the same round."""
    mine, theirs = windows_of(results, pipeline, viewers), windows_of(results, other, other_viewers or viewers)
    ratios = [figure(mine[r]) / figure(theirs[r]) for r in sorted(set(mine) & set(theirs)) if figure(theirs[r]) > 0]
    return statistics.median(ratios) if ratios else None


def median_of(results, figure, pipeline, viewers):
    values = [figure(w) for w in windows_of(results, pipeline, viewers).values()]
    return statistics.median(values) if values else None


def slowest_viewer_fps(window):
    fps = [c.get('fps') for c in window['clients'] if c.get('error') is None and c.get('fps') is not None]
    return min(fps) if len(fps) == len(window['clients']) else 0.0


def worst_p95(window):
    values = [c.get('latency_ms_p95') for c in window['clients'] if c.get('latency_ms_p95') is not None]
    return max(values) if values else None


def evaluate_targets(results):
    few, many = min(results['mode']['viewers']), max(results['mode']['viewers'])
    checks = [('cpu_one_viewer', 'one process: CPU at %d viewer <= 2 x mjpg-streamer' % few,
               median_ratio(results, cpu, 'one_process', 'mjpg_streamer', few), 2.0),
              ('cpu_many_viewers', 'one process: CPU at %d viewers <= mjpg-streamer' % many,
               median_ratio(results, cpu, 'one_process', 'mjpg_streamer', many), 1.0),
              ('memory', 'one process: PSS of the nodes and rosmaster at %d viewer <= 60 %% of the two nodes '
               'before issue 18' % few, median_ratio(results, pss_with_master, 'one_process', 'two_nodes_before', few),
               0.6)]
    return [{'name': name, 'text': text, 'ratio': ratio, 'limit': limit,
             'status': 'not measured' if ratio is None else ('met' if ratio <= limit else 'not met')}
            for name, text, ratio, limit in checks]


def fmt(value, pattern):
    return '-' if value is None else pattern % value


def markdown(results, targets):
    machine = results['machine']
    windows = results['windows']
    loads = [w['loadavg'] for w in windows]
    others = [max(0.0, w['machine']['busy_cores_pct'] - cpu(w)) for w in windows]
    lines = ['# One process, two nodes, mjpg-streamer', '',
             '%s, %d cores, Python %s, OpenCV %s, commit %s, %s. Video %s at %d fps, %d round(s) of every '
             'pipeline, %.0f s windows after %.0f s of warm-up; load average %.1f-%.1f, other programs %.0f-%.0f %% '
             'of the %d00 %% of CPU during the windows. mjpg-streamer: %s.' % (
                 machine['cpu'], machine['cores'], machine['python'], machine['opencv'], machine['commit'],
                 machine['date'], results['video'], 30, results['mode']['rounds'], results['mode']['window_s'],
                 results['mode']['warmup_s'], min(loads), max(loads), min(others), max(others), machine['cores'],
                 results['mjpg_streamer']), '',
             '| target | status | ratio (median over rounds) |', '| --- | --- | --- |']
    for target in targets:
        lines.append('| %s | %s | %s (limit %.1f) |' % (target['text'], target['status'], fmt(target['ratio'], '%.2f'),
                                                       target['limit']))
    lines += ['', '| pipeline | viewers | CPU, % of a core | x mjpg-streamer | nodes\' CPU | slowest viewer fps | '
              'worst p95 latency ms | PSS nodes + rosmaster MB | x two nodes before | PSS all MB | RSS all MB | '
              'distinct pages MB |', '| --- |' + ' --- |' * 11]
    for pipeline in PIPELINES:
        for viewers in results['mode']['viewers']:
            if not windows_of(results, pipeline, viewers):
                continue
            lines.append('| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                LABELS[pipeline], viewers, fmt(median_of(results, cpu, pipeline, viewers), '%.1f'),
                fmt(median_ratio(results, cpu, pipeline, 'mjpg_streamer', viewers), '%.2f'),
                fmt(median_of(results, nodes_cpu, pipeline, viewers) if pipeline != 'mjpg_streamer' else None, '%.1f'),
                fmt(median_of(results, slowest_viewer_fps, pipeline, viewers), '%.1f'),
                fmt(median_of(results, worst_p95, pipeline, viewers), '%.1f'),
                fmt(median_of(results, pss_with_master, pipeline, viewers), '%.0f'),
                fmt(median_ratio(results, pss_with_master, pipeline, 'two_nodes_before', viewers), '%.2f'),
                fmt(median_of(results, lambda w: w['memory']['all']['pss_mb'], pipeline, viewers), '%.0f'),
                fmt(median_of(results, lambda w: w['memory']['all']['rss_mb'], pipeline, viewers), '%.0f'),
                fmt(median_of(results, lambda w: w['distinct_mb'], pipeline, viewers), '%.0f')))
    few, many = min(results['mode']['viewers']), max(results['mode']['viewers'])
    lines += ['', 'Where the CPU goes (medians over the rounds, % of a core): the nodes, the ROS processes '
              'around them, and what each viewer past the first adds.', '',
              '| pipeline | nodes at %d viewer | roslaunch + rosmaster + rosout at %d viewer | per added viewer |'
              % (few, few), '| --- | --- | --- | --- |']
    for pipeline in PIPELINES:
        if not windows_of(results, pipeline, few):
            continue
        ros = pipeline != 'mjpg_streamer'
        lines.append('| %s | %s | %s | %s |' % (
            LABELS[pipeline], fmt(median_of(results, nodes_cpu, pipeline, few) if ros else None, '%.2f'),
            fmt(median_of(results, lambda w: cpu(w) - nodes_cpu(w), pipeline, few) if ros else None, '%.2f'),
            fmt(per_added_viewer(results, pipeline, few, many), '%.3f')))
    return '\n'.join(lines) + '\n'


def nodes_cpu(window):
    return window['cpu']['nodes']['cpu_pct']


def per_added_viewer(results, pipeline, few, many):
    """Median over the rounds of (CPU with ``many`` viewers - CPU with ``few``) / (many - few)."""
    low, high = windows_of(results, pipeline, few), windows_of(results, pipeline, many)
    slopes = [(cpu(high[r]) - cpu(low[r])) / (many - few) for r in sorted(set(low) & set(high))]
    return statistics.median(slopes) if slopes and many > few else None


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    present = [p for p in PIPELINES if any(w['pipeline'] == p for w in results['windows'])]
    viewer_counts = results['mode']['viewers']
    figure, (cpu_axes, memory_axes) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(viewer_counts)
    for offset, viewers in enumerate(viewer_counts):
        values = [median_of(results, cpu, p, viewers) or 0 for p in present]
        cpu_axes.bar([i + offset * width for i in range(len(present))], values, width,
                     label='%d viewer%s' % (viewers, '' if viewers == 1 else 's'))
    cpu_axes.set_xticks([i + width * (len(viewer_counts) - 1) / 2.0 for i in range(len(present))])
    cpu_axes.set_xticklabels([LABELS[p].split(' (')[0] for p in present], rotation=15)
    cpu_axes.set_ylabel('CPU, % of one core (whole pipeline)')
    cpu_axes.legend()
    few = min(viewer_counts)
    for key, label in (('pss', 'PSS, nodes + rosmaster'), ('distinct', 'distinct pages, every process')):
        figure_of = pss_with_master if key == 'pss' else (lambda w: w['distinct_mb'] or 0)
        values = [median_of(results, figure_of, p, few) or 0 for p in present]
        shift = 0 if key == 'pss' else 0.4
        memory_axes.bar([i + shift for i in range(len(present))], values, 0.4, label=label)
    memory_axes.set_xticks([i + 0.2 for i in range(len(present))])
    memory_axes.set_xticklabels([LABELS[p].split(' (')[0] for p in present], rotation=15)
    memory_axes.set_ylabel('MB with %d viewer' % few)
    memory_axes.legend()
    figure.suptitle('1280x720 MJPG at 30 fps, %s' % results['machine']['date'])
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write(results, out_dir):
    """Writes streamers.json, streamers.md and streamers.png; returns the Markdown."""
    results['targets'] = evaluate_targets(results)
    return report.save(out_dir, 'streamers', results, markdown(results, results['targets']), plot)
