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
# room for its system and other programs. What is held to it: the container's anonymous memory
# (the cgroup's "rss": roslaunch, rosmaster, rosout and the node's own pages, which only swap could
# free). Not docker stats' figure: that adds the page cache charged to the container, which swung by
# 55 MiB between identical runs here (59 MiB of the image's files when this container was the first
# to read them since the image was built, 5 MiB on a rerun) and which the kernel drops under the limit.
# The processes' PSS is printed too: it counts their libraries' pages, wherever those are charged.
MEMORY_TARGET_MIB = 128
SOURCE = '/camera/image_raw/compressed'  # what plain mjpeg forwards: the camera's own JPEG


def messages(port):
    status, _, body = http_get(port, '/health')
    assert status == 200, status
    topics = [t for t in json.loads(body.decode('utf-8'))['topics'] if t['topic'] == SOURCE]
    return topics[0]['messages_total'] if topics else None


def pss_mib(name):
    """The PSS of all the container's processes together (their libraries included), in MiB, read
    from the host's /proc."""
    total_kib = 0
    for pid in docker('top', name, '-o', 'pid').stdout.split()[1:]:
        with open('/proc/%s/smaps_rollup' % pid) as rollup:
            total_kib += sum(int(line.split()[1]) for line in rollup if line.startswith('Pss:'))
    return total_kib / 1024.0


def cgroup_mib(name):
    """{figure: MiB}: docker stats' memory figure and the cgroup's anonymous memory and page cache."""
    usage = docker('stats', '--no-stream', '--format', '{{.MemUsage}}', name).stdout.split('/')[0].strip()
    number, unit = float(usage.rstrip('KMGiB')), usage.lstrip('0123456789.')
    figures = {'docker stats': number * {'KiB': 1 / 1024.0, 'MiB': 1.0, 'GiB': 1024.0, 'B': 1 / 1048576.0}.get(unit, 1.0)}
    stat = docker('exec', name, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.stat || cat /sys/fs/cgroup/memory.stat')
    words = stat.stdout.split()
    fields = dict(zip(words[::2], words[1::2]))
    for label, keys in (('anonymous', ('total_rss', 'anon')), ('page cache', ('total_cache', 'file'))):  # cgroup v1, v2
        known = [fields[key] for key in keys if fields.get(key, '').isdigit()]
        if known:
            figures[label] = int(known[0]) / 1048576.0
    return figures


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
            try:
                headers, payload = streams[i].read_frame()
            except Exception:  # the stream is closed under it at the end of the test
                if done.is_set():
                    return
                raise
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
        memory_pss, memory_cgroup = pss_mib(container.name), cgroup_mib(container.name)
    finally:
        done.set()
        for stream in streams:
            stream.close()
    source_fps = (last - first) / elapsed
    viewer_fps = [count / elapsed for count in counts]
    figures = 'source %.1f fps, viewers %s fps, container memory of %s: %s, processes\' PSS %.0f MiB' % (
        source_fps, ', '.join('%.1f' % f for f in viewer_fps), MEMORY,
        ', '.join('%s %.0f MiB' % item for item in sorted(memory_cgroup.items())), memory_pss)
    print(figures)
    assert container.state('.State.OOMKilled') == 'false' and container.state('.State.Running') == 'true', \
        '%s; state %s' % (figures, container.state('json .State'))
    # Held to the source's own rate, whatever it is here; give or take a frame at each end of the window.
    assert last > first, 'the camera delivered nothing in the window: %s' % figures
    assert min(counts) >= MIN_RATIO * (last - first) - 2, '%s; frames: source %d, viewers %s' % (
        figures, last - first, counts)
    assert 'Killed' not in container.logs() and 'MemoryError' not in container.logs(), container.logs()[-2000:]
    assert 'anonymous' in memory_cgroup, 'no anonymous memory in the cgroup\'s memory.stat: %s' % figures
    assert memory_cgroup['anonymous'] <= MEMORY_TARGET_MIB, '%s; the target: %d MiB of anonymous memory' % (
        figures, MEMORY_TARGET_MIB)
    container.stop()
