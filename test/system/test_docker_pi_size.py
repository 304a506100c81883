"""A Pi-sized container: `docker run --memory 256m --cpus 1` of the image (on the stand-in base)
serves four viewers of a 1280x720, 30 fps MJPG camera with no OOM kill, each at the source's rate,
in at most 128 MiB (the image's default: server.launch pipeline:=one_process).

The rate is held to the source's own, measured in the same window from /health (messages
the server received), so a slower machine does not fail it: each viewer gets at least 97 %
of what the camera delivered (29 of 30 fps).
"""
import json
import threading
import time

import pytest

from support.docker_rig import CAMERA_LISTING, IMAGE_TEST_TIMEOUT_S, containers, docker, image  # noqa: F401 (fixtures)
from support.stream_client import MjpegStream, http_get
from support.video_files import write_video

pytestmark = [pytest.mark.docker, pytest.mark.timeout(IMAGE_TEST_TIMEOUT_S)]

VIEWERS = 4
WINDOW_S = 10.0
MIN_RATIO = 0.97
MEMORY = '256m'
# Issue 18: half of the container's 256 MB, so that a Raspberry Pi Zero 2 W (512 MB in all) keeps
# room for its system and other programs. What docker stats counts: the container's memory without
# its inactive page cache (roslaunch, rosmaster, rosout and the node: about 113 MiB on 2026-12-06).
MEMORY_TARGET_MIB = 128
SOURCE = '/camera/image_raw/compressed'  # what plain mjpeg forwards: the camera's own JPEG


def messages(port):
    status, _, body = http_get(port, '/health')
    assert status == 200, status
    topics = [t for t in json.loads(body.decode('utf-8'))['topics'] if t['topic'] == SOURCE]
    return topics[0]['messages_total'] if topics else None


def memory_mb(name):
    """(use now without the page cache, from docker stats; the cgroup's peak with it, or None) in MiB."""
    usage = docker('stats', '--no-stream', '--format', '{{.MemUsage}}', name).stdout.split('/')[0].strip()
    number, unit = float(usage.rstrip('KMGiB')), usage.lstrip('0123456789.')
    now = number * {'KiB': 1 / 1024.0, 'MiB': 1.0, 'GiB': 1024.0, 'B': 1 / 1048576.0}.get(unit, 1.0)
    peak = docker('exec', name, 'cat', '/sys/fs/cgroup/memory/memory.max_usage_in_bytes').stdout.strip()  # cgroup v1
    return now, int(peak) / 1048576.0 if peak.isdigit() else None


def test_four_viewers_of_720p30_in_256_mb_and_one_cpu(containers, tmp_path):
    video = str(tmp_path / 'clip_720p.avi')
    write_video(video, 90, fourcc='MJPG', fps=30.0, width=1280, height=720)
    container = containers(['device:=/videos/clip.avi'],
                           ['-v', '%s:/videos/clip.avi:ro' % video, '--memory', MEMORY, '--memory-swap', MEMORY,
                            '--cpus', '1'])
    assert container.state('.HostConfig.Memory') == str(256 * 1024 * 1024), container.state('.HostConfig.Memory')
    assert container.state('.HostConfig.NanoCpus') == '1000000000', container.state('.HostConfig.NanoCpus')
    container.start_deadline_s *= 3  # one CPU for roscore and both nodes' Python start-ups; not what is judged
    container.wait_for_page(CAMERA_LISTING)
    streams = [MjpegStream(container.port, '/stream?topic=/camera/image_raw', timeout=10) for _ in range(VIEWERS)]
    counts = [0] * VIEWERS
    measuring = threading.Event()
    done = threading.Event()

    def read(i):
        while not done.is_set():
            headers, payload = streams[i].read_frame()
            if measuring.is_set() and payload[:2] == b'\xff\xd8':
                counts[i] += 1
    readers = [threading.Thread(target=read, args=(i,), name='viewer %d' % i) for i in range(VIEWERS)]
    try:
        for reader in readers:
            reader.daemon = True
            reader.start()
        time.sleep(3.0)  # warm-up: the subscription, the viewers' first frames
        first = messages(container.port)
        measuring.set()
        started = time.time()
        time.sleep(WINDOW_S)
        measuring.clear()
        elapsed = time.time() - started
        last = messages(container.port)
        memory_now, memory_peak = memory_mb(container.name)
    finally:
        done.set()
        for stream in streams:
            stream.close()
    source_fps = (last - first) / elapsed
    viewer_fps = [count / elapsed for count in counts]
    figures = 'source %.1f fps, viewers %s fps, container memory %.0f MiB of %s (peak with page cache %s MiB)' % (
        source_fps, ', '.join('%.1f' % f for f in viewer_fps), memory_now, MEMORY,
        '?' if memory_peak is None else '%.0f' % memory_peak)
    print(figures)
    assert container.state('.State.OOMKilled') == 'false' and container.state('.State.Running') == 'true', \
        '%s; state %s' % (figures, container.state('json .State'))
    # Held to the source's own rate, whatever it is here; give or take a frame at each end of the window.
    assert last > first, 'the camera delivered nothing in the window: %s' % figures
    assert min(counts) >= MIN_RATIO * (last - first) - 2, '%s; frames: source %d, viewers %s' % (
        figures, last - first, counts)
    assert 'Killed' not in container.logs() and 'MemoryError' not in container.logs(), container.logs()[-2000:]
    assert memory_now <= MEMORY_TARGET_MIB, '%s; the target: %d MiB' % (figures, MEMORY_TARGET_MIB)
    container.stop()
