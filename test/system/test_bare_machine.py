"""The README's two commands on a bare Debian 12, as a new user runs them.

A debootstrap minbase of Debian 12 with git and ca-certificates only, imported as a local
image (nothing can be pulled) and run unprivileged with the host's network, gets a fresh clone
of this repository. In it, the run command (`bash tools/start`) must install what is missing,
build, say it shows the test pattern, and serve frames that decode, without installing any
package that only the tests need; the packages and megabytes it installed are printed (the
figures of docs/install.md). Then the test command (`bash tools/test`, a few test files) must
run what the container allows, say in one line each why it cannot run the docker, mount,
netns, python27 and arm64 tiers, and pass; with CI=true those lines make it fail. This is how
`make` was found missing from the package list. Debian's packages are downloaded once into
~/.cache/camera_server/bare-apt and kept there.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import cv2
import numpy as np
import pytest

from support import REPO
from support.ci import require
from support.ros_master import free_port
from support.stream_client import MjpegStream
from support.docker_rig import docker, require_engine

SUITE = 'bookworm'
BARE_PACKAGES = 'git,ca-certificates'
BARE_IMAGE = 'camera-server-bare:debian12'
# As in Debian's own container images: dpkg does not fsync every file (the install takes minutes less).
DPKG_UNSAFE_IO = ('etc/dpkg/dpkg.cfg.d/docker-apt-speedup', 'force-unsafe-io\n')
RECIPE = hashlib.sha256(('minbase %s %s %r' % (SUITE, BARE_PACKAGES, DPKG_UNSAFE_IO)).encode()).hexdigest()[:16]
APT_CACHE = os.path.expanduser('~/.cache/camera_server/bare-apt')
START_EXIT = 'the run command ended'
INSTALL_DEADLINE_S = 1500  # apt-get of ROS and OpenCV on a slow mirror, then catkin_make
TEST_COMMAND_DEADLINE_S = 2700  # the same plus the test bench (Chromium, WebKit, Docker, qemu), then the tests
PATTERN_NOTE = 'no camera at /dev/video0, so showing the built-in test pattern'
TEST_COMMAND_RERUN_DEADLINE_S = 900  # everything installed: the deselections, a test file, the rostests
SUBSET = 'test_url_api or test_fanout or test_params'  # a few quick test files
# What an unprivileged container cannot do: mount (so no debootstrap, no Python 2.7), start
# dockerd (so no Docker and no arm64 images), create network namespaces.
TIERS_NOT_IN_A_CONTAINER = {'docker', 'mount', 'netns', 'python27', 'arm64'}
# The first test may make the image (mirror, clone, debootstrap: up to 2100 s) before its commands.
IMAGE_DEADLINE_S = 2100
pytestmark = [pytest.mark.docker, pytest.mark.mount]


def run(command, timeout=600):
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)


def bare_image():
    """The minbase image, built once per recipe (debootstrap + docker import)."""
    label = docker('image', 'inspect', '-f', '{{index .Config.Labels "camera_server.recipe"}}', BARE_IMAGE)
    if label.returncode == 0 and label.stdout.strip() == RECIPE:
        return BARE_IMAGE
    require(shutil.which('debootstrap'), 'debootstrap is not installed')
    mirror = run(['sh', os.path.join(REPO, '.ci', 'debian_mirror.sh')])
    assert mirror.returncode == 0, mirror.stdout
    root = tempfile.mkdtemp(prefix='camera_server-bare-', dir='/var/tmp')
    try:
        made = run(['debootstrap', '--variant=minbase', '--include=' + BARE_PACKAGES, SUITE, root,
                    mirror.stdout.strip()], timeout=900)
        assert made.returncode == 0, 'debootstrap failed:\n%s' % made.stdout[-3000:]
        with open(os.path.join(root, 'etc', 'apt', 'sources.list'), 'w') as sources:
            sources.write('deb %s %s main\n' % (mirror.stdout.strip(), SUITE))
        with open(os.path.join(root, DPKG_UNSAFE_IO[0]), 'w') as config:
            config.write(DPKG_UNSAFE_IO[1])
        tar = subprocess.Popen(['tar', '-C', root, '-c', '.'], stdout=subprocess.PIPE)
        imported = subprocess.run(['docker', 'import', '--change', 'LABEL camera_server.recipe=' + RECIPE,
                                   '--change', 'CMD ["/bin/bash"]', '-', BARE_IMAGE], stdin=tar.stdout,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        tar.wait()
        assert imported.returncode == 0, imported.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return BARE_IMAGE


class BareMachine(object):
    """A running bare container (PID 1 sleeps) with a clone of the repository at /work/camera_server."""

    def __init__(self, image, clone):
        self.name = 'camera-server-bare-%s' % uuid.uuid4().hex[:8]
        self.master_port = free_port()
        os.makedirs(APT_CACHE, exist_ok=True)
        started = docker('run', '-d', '--init', '--name', self.name, '--network', 'host',
                         '-e', 'ROS_MASTER_URI=http://127.0.0.1:%d' % self.master_port, '-e', 'ROS_IP=127.0.0.1',
                         '-v', '%s:/work/camera_server' % clone, '-v', '%s:/var/cache/apt/archives' % APT_CACHE,
                         image, 'sleep', 'infinity')
        assert started.returncode == 0, started.stdout

    def shell(self, script, timeout=INSTALL_DEADLINE_S, detach=False):
        args = ['exec'] + (['-d'] if detach else []) + ['-w', '/work/camera_server', self.name, 'bash', '-c', script]
        return docker(*args, timeout=timeout)

    def remove(self):
        docker('rm', '-f', self.name)


@pytest.fixture
def machine():
    """A fresh bare container for each test, so that none sees what another installed."""
    require_engine()
    clone = tempfile.mkdtemp(prefix='camera_server-clone-')
    cloned = run(['git', 'clone', '-q', REPO, clone])
    assert cloned.returncode == 0, cloned.stdout
    box = BareMachine(bare_image(), clone)
    try:
        yield box
    finally:
        box.remove()
        shutil.rmtree(clone, ignore_errors=True)


def installed_packages(machine):
    """{package: installed size in KiB} of what dpkg has installed on the machine."""
    listing = machine.shell("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Installed-Size}\\n'", 60).stdout
    return dict((words[1], int(words[2]) if len(words) > 2 else 0)
                for words in (line.split() for line in listing.splitlines()) if words[0] == 'ii')


def dependency_closure(machine, packages):
    """The packages and everything they depend on (recursively, no recommends), as the machine's apt sees it."""
    listed = machine.shell('apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks '
                           '--no-replaces --no-enhances %s' % ' '.join(sorted(packages)), 120)
    assert listed.returncode == 0, listed.stdout[-2000:]
    return set(line.split(':')[0] for line in listed.stdout.splitlines() if line and line[0] not in ' <')


def debian_packages(use):
    """What tools/debian-packages USE lists (the same repository as the clone)."""
    listed = run([os.path.join(REPO, 'tools', 'debian-packages'), use], timeout=30)
    assert listed.returncode == 0, listed.stdout
    return set(listed.stdout.split())


def port_is_free(port):
    import socket
    sock = socket.socket()
    try:
        sock.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def read_frames(port, count):
    """``count`` JPEG payloads of the camera stream, or [] while nothing serves it yet."""
    try:
        stream = MjpegStream(port, '/stream?topic=/camera/image_raw', timeout=10)
    except OSError:
        return []
    try:
        return [stream.read_frame()[1] for _ in range(count)] if stream.status == 200 else []
    finally:
        stream.close()


@pytest.mark.timeout(IMAGE_DEADLINE_S + INSTALL_DEADLINE_S + 600)
def test_run_command_installs_builds_and_serves_the_test_pattern_without_the_test_bench(machine):
    assert machine.shell('command -v make catkin_make roslaunch || true', 60).stdout.strip() == '', \
        'the bare image already has build tools'
    before = installed_packages(machine)
    # The README's words; port:= (which tools/start passes on) only where 8080 is taken on this host.
    port = 8080 if port_is_free(8080) else free_port()
    command = 'bash tools/start' + ('' if port == 8080 else ' port:=%d' % port)
    started = time.time()
    # The exit line ends the wait at once when the command fails (an apt error, say).
    machine.shell('%s > /tmp/start.log 2>&1; echo "%s: exit $?" >> /tmp/start.log' % (command, START_EXIT),
                  detach=True)
    frames, log = [], ''
    try:
        while time.time() - started < INSTALL_DEADLINE_S and not frames and START_EXIT not in log:
            time.sleep(3)
            log = machine.shell('cat /tmp/start.log', 60).stdout
            if 'camera_server: open http://' in log:
                frames = read_frames(port, 30)
        assert frames, '%r served no stream (%.0f s, deadline %.0f s):\n%s' % (
            command, time.time() - started, INSTALL_DEADLINE_S, log[-4000:])
        first_frames_s = time.time() - started
        after = installed_packages(machine)
        added = set(after) - set(before)
        download = re.search(r'Need to get (?:[\d.,]+ [kMG]?B/)?([\d.,]+ [kMG]?B) of archives', log)
        print('%r on a bare Debian 12: %d packages, %.0f MB installed (%s downloaded), first frames after %.0f s; '
              'the largest: %s' % (command, len(added), sum(after[name] for name in added) / 1024.0,
                                   download.group(1) if download else '?', first_frames_s,
                                   ', '.join('%s %.0f MB' % (name, after[name] / 1024.0)
                                             for name in sorted(added, key=after.get, reverse=True)[:8])))
        assert PATTERN_NOTE in log, 'no word that the test pattern is shown:\n%s' % log[-3000:]
        images = [cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR) for payload in frames]
        assert all(img is not None and img.shape == (480, 640, 3) for img in images), \
            [None if img is None else img.shape for img in images]
        moving = float(np.abs(images[0].astype(int) - images[-1].astype(int)).mean())
        assert moving > 0.5, 'the test pattern does not move: mean difference %.2f over 30 frames' % moving
        # Only what the run packages need: the packages and what they depend on. Some test keys'
        # packages are among those (roslaunch needs rosmaster); the others and the bench must not be.
        needed = dependency_closure(machine, debian_packages('run'))
        assert added <= needed, 'installed beyond the run packages and their dependencies: %s' % sorted(added - needed)
        test_only = debian_packages('bench') - needed
        assert not added & test_only, 'the run command installed test-only packages: %s' % sorted(added & test_only)
    finally:
        machine.shell('pkill -INT -f roslaunch; sleep 3; pkill -KILL -f ros || true', 60)


def tiers_not_run(output):
    return set(re.findall(r'^test: tier (\w+) not run: ', output, re.M))


@pytest.mark.timeout(IMAGE_DEADLINE_S + TEST_COMMAND_DEADLINE_S + TEST_COMMAND_RERUN_DEADLINE_S + 600)
def test_test_command_runs_every_tier_the_container_allows_and_passes(machine):
    started = time.time()
    result = machine.shell('bash tools/test -k "%s"' % SUBSET, TEST_COMMAND_DEADLINE_S)
    tail = result.stdout[-4000:]
    print('tools/test -k "%s" in the bare container: %.0f s, exit %d; its output:\n%s' % (
        SUBSET, time.time() - started, result.returncode, result.stdout))
    summary = re.search(r'^test: (\d+) passed, (\d+) failed', result.stdout, re.M)
    assert result.returncode == 0 and summary and int(summary.group(1)) > 0 and summary.group(2) == '0', tail
    assert 'rostest exit 0' in result.stdout, tail
    assert tiers_not_run(result.stdout) == TIERS_NOT_IN_A_CONTAINER, tail
    # The same under CI=true: every test that ran passes, and the tiers not run fail the command.
    result = machine.shell('CI=true bash tools/test -k test_params', TEST_COMMAND_RERUN_DEADLINE_S)
    tail = result.stdout[-3000:]
    assert result.returncode != 0 and ' 0 failed' in result.stdout, tail
    assert 'CI=true and %d tier(s) not run' % len(TIERS_NOT_IN_A_CONTAINER) in result.stdout, tail
