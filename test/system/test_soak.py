"""The soak benchmark's short mode: the real pipeline, 16 viewers, the camera dropped twice.

Not the soak targets (those need 30 minutes on a quiet machine): every figure is there and
plausible, the viewers came back after each drop, and no thread is left behind once they
have gone (a count, not a speed).
"""
import json

import pytest

from support.bench_runs import run_short_mode

SHORT_RUN_TIMEOUT = 400  # about 110 s on a busy 2-core machine
pytestmark = pytest.mark.timeout(SHORT_RUN_TIMEOUT + 120)  # run_short_mode's own end takes up to 60 s


@pytest.fixture(scope='module')
def soak(tmp_path_factory):
    out = tmp_path_factory.mktemp('soak')
    printed = run_short_mode('soak.py', out, SHORT_RUN_TIMEOUT)
    with open(str(out / 'soak.json')) as results_file:
        return out, json.load(results_file), printed


def test_figures_present_and_plausible(soak):
    out, results, printed = soak
    assert (out / 'soak.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert printed.startswith('# Soak: 16 viewers'), printed
    samples = results['samples']
    assert len(samples) >= 8, 'only %d samples in 60 s' % len(samples)
    assert all(s['rss_mb'] > 10 and s['threads'] > 0 and s['fds'] > 0 for s in samples), samples
    assert len(results['drops']) == 2, results['drops']
    assert any(s['stale'] for s in samples), 'the server never said stale during the drops: %s' % samples
    live = [s for s in samples if not s['stale'] and s['viewer_fps_min']]
    assert live and all(s['latency_ms_p95_worst'] > 0 for s in live), live
    assert {t['target'] for t in results['targets']} >= {'threads back to baseline'}, results['targets']


def test_every_viewer_got_frames_after_each_drop(soak):
    _, results, _ = soak
    first_drop_end = results['drops'][0][1]
    for viewer in results['viewers']:
        assert not viewer['errors'], (viewer['viewer'], viewer['errors'])
        late = [b for b in viewer['buckets'] if b['frames'] and b['bucket'] * results['mode']['sample_s'] > first_drop_end]
        assert late, 'viewer %d got no frame after the first drop' % viewer['viewer']
        assert viewer['ratio'] > 0.5, viewer  # loose: a busy CI machine may starve the viewers


def test_threads_back_to_baseline(soak):
    _, results, _ = soak
    base, after = results['baseline'], results['after']
    assert after['threads'] <= base['threads'], 'threads %d before the viewers, %d after' % (base['threads'], after['threads'])
    # rospy keeps one epoll per subscription until its topic object is garbage collected.
    extra = sorted(set(after['fd_links'].items()) - set(base['fd_links'].items()))
    assert len(extra) <= 1 and all('eventpoll' in link for _, link in extra), \
        'fds %d before the viewers, %d after; new: %s' % (base['fds'], after['fds'], extra)
