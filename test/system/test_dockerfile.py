"""docker/Dockerfile and docker/Makefile without a Docker engine.

The Melodic branch of the dependency step cannot run here (no Melodic image, no ROS
repository), so it runs under bash with apt-get and gpg replaced by recorders and the
system paths moved into a temporary folder: what it writes and calls is asserted.
The Debian branch, the entrypoint and the health check run for real in test_docker.py.
"""
import json
import os
import re
import stat
import subprocess

import pytest

from support import REPO
from support.dockerfile import DOCKER_DIR, build_arguments, dockerfile_instructions

ROS_SNAPSHOT_KEY = '4B63CF8FDE49746E98FA01DDAD19BAB3CBF125EA'


def dependency_step():
    """Index and script of the RUN that installs the dependencies (the one that runs apt-get)."""
    for index, (keyword, arguments) in enumerate(dockerfile_instructions()):
        if keyword == 'RUN' and 'apt-get install' in arguments:
            return index, arguments
    pytest.fail('docker/Dockerfile has no RUN with apt-get install')


def test_base_image_argument_defaults_to_the_pi4_image():
    instructions = dockerfile_instructions()
    assert instructions[0] == ('ARG', 'BASE_IMAGE=ryuichiueda/ubuntu18.04-pi4-ros-image'), instructions[0]
    assert instructions[1] == ('FROM', '${BASE_IMAGE}'), instructions[1]


def test_dependencies_are_installed_before_the_package_is_copied():
    """A code change only invalidates the layers after COPY: the apt step stays cached."""
    instructions = dockerfile_instructions()
    dependency_index, _ = dependency_step()
    copy_package = [i for i, (keyword, arguments) in enumerate(instructions)
                    if keyword == 'COPY' and arguments.split()[0] == '.']
    assert copy_package, 'no COPY of the build context (the package) in %s' % instructions
    assert dependency_index < copy_package[0], (
        'apt step is instruction %d, package COPY is %d' % (dependency_index, copy_package[0]))


def test_port_healthcheck_and_exec_entrypoint():
    instructions = dict((keyword, arguments) for keyword, arguments in dockerfile_instructions())
    assert instructions.get('EXPOSE') == '8080', instructions.get('EXPOSE')
    healthcheck = instructions.get('HEALTHCHECK', '')
    assert 'CMD' in healthcheck and 'healthcheck.sh' in healthcheck, healthcheck
    interval = re.search(r'--interval=(\d+)s', healthcheck)
    assert interval and 5 <= int(interval.group(1)) <= 60, 'health interval: %s' % healthcheck
    # Exec form: no /bin/sh -c in front, so the entrypoint is PID 1 and receives SIGTERM.
    entrypoint = json.loads(instructions['ENTRYPOINT'])
    assert entrypoint == ['/usr/local/bin/entrypoint.sh'], entrypoint
    with open(os.path.join(DOCKER_DIR, 'entrypoint.sh')) as script:
        text = script.read()
    assert 'exec roslaunch camera_server server.launch ${server:+"$server"} "$@"' in text, text
    for name in ('entrypoint.sh', 'healthcheck.sh'):
        mode = os.stat(os.path.join(DOCKER_DIR, name)).st_mode
        assert mode & stat.S_IXUSR, '%s is not executable (mode %o)' % (name, mode)


@pytest.mark.parametrize('args,expected', [
    ([], ['camera_server', 'server.launch', 'server:=builtin']),
    (['device:=test', 'port:=9000'], ['camera_server', 'server.launch', 'server:=builtin', 'device:=test',
                                      'port:=9000']),
    (['device:=test', 'server:=web_video_server'], ['camera_server', 'server.launch', 'device:=test',
                                                    'server:=web_video_server']),
    (['server:=auto'], ['camera_server', 'server.launch', 'server:=auto'])])
def test_entrypoint_defaults_to_the_builtin_server_unless_told(tmp_path, args, expected):
    """The entrypoint runs with a recording roslaunch and the workspace's setup moved to tmp_path."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    roslaunch = bin_dir / 'roslaunch'
    roslaunch.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    roslaunch.chmod(0o755)
    setup = tmp_path / 'setup.bash'
    setup.write_text('')
    with open(os.path.join(DOCKER_DIR, 'entrypoint.sh')) as script:
        text = script.read().replace('/catkin_ws/devel/setup.bash', str(setup)).replace('/opt/ros/', str(tmp_path) + '/none/')
    entrypoint = tmp_path / 'entrypoint.sh'
    entrypoint.write_text(text)
    result = subprocess.run(['bash', str(entrypoint)] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PATH='%s:/usr/bin:/bin' % bin_dir), timeout=30)
    assert result.returncode == 0 and result.stdout.decode().split() == expected, result.stdout.decode()


def test_dockerignore_keeps_git_and_caches_out_of_the_context():
    with open(os.path.join(REPO, '.dockerignore')) as ignore:
        patterns = set(line.strip() for line in ignore if line.strip() and not line.startswith('#'))
    missing = {'.git', '**/__pycache__', '**/*.pyc', 'build', 'devel'} - patterns
    assert not missing, 'not ignored: %s' % sorted(missing)


def write_executable(path, text):
    with open(path, 'w') as script:
        script.write(text)
    os.chmod(path, 0o755)


def run_dependency_step(tmp_path, melodic, old_ros_source=True):
    """Runs the Dockerfile's dependency RUN with the base's paths moved under tmp_path.

    apt-get, gpg and gpgconf are recorders: each call goes to calls.log; every
    `apt-get update` also records the apt sources it would read at that moment.
    """
    root = str(tmp_path)
    bin_dir = os.path.join(root, 'bin')
    for folder in ('bin', 'etc/apt/sources.list.d', 'usr/share/keyrings', 'opt/ros'):
        os.makedirs(os.path.join(root, folder))
    if melodic:
        os.makedirs(os.path.join(root, 'opt/ros/melodic'))
    with open(os.path.join(root, 'etc/apt/sources.list'), 'w') as sources:
        sources.write('deb http://ports.ubuntu.example/ubuntu-ports bionic main\n')
    if old_ros_source:
        with open(os.path.join(root, 'etc/apt/sources.list.d/ros-latest.list'), 'w') as sources:
            sources.write('deb http://packages.ros.org/ros/ubuntu bionic main\n')
    calls = os.path.join(root, 'calls.log')
    write_executable(os.path.join(bin_dir, 'apt-get'), (
        '#!/bin/bash\necho "apt-get $*" >> %(calls)s\n'
        'if [ "$1" = update ]; then cat %(root)s/etc/apt/sources.list %(root)s/etc/apt/sources.list.d/* '
        '| sed "s/^/  source: /" >> %(calls)s; fi\n') % {'calls': calls, 'root': root})
    write_executable(os.path.join(bin_dir, 'gpg'), (
        '#!/bin/bash\necho "gpg $*" >> %s\n'
        'case "$*" in *--export*) printf "exported key";; esac\n') % calls)
    write_executable(os.path.join(bin_dir, 'gpgconf'), '#!/bin/bash\necho "gpgconf $*" >> %s\n' % calls)

    _, script = dependency_step()
    for system_path in ('/opt/ros', '/etc/apt', '/usr/share/keyrings'):
        script = script.replace(system_path, root + system_path)
    script = script.replace('/usr/bin/roslaunch', os.path.join(root, 'bin/roslaunch'))
    env = dict(os.environ, PATH=bin_dir + ':/usr/bin:/bin', **build_arguments())
    result = subprocess.run(['/bin/bash', '-o', 'pipefail', '-c', script], env=env, cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    log = open(calls).read() if os.path.exists(calls) else ''
    return result, log


@pytest.mark.parametrize('old_ros_source', [True, False], ids=['expired-ros-source', 'no-ros-source'])
def test_melodic_branch_repairs_the_ros_apt_source_then_installs_the_packages(tmp_path, old_ros_source):
    result, log = run_dependency_step(tmp_path, melodic=True, old_ros_source=old_ros_source)
    output = result.stdout.decode()
    assert result.returncode == 0, 'exit %d\n%s\ncalls:\n%s' % (result.returncode, output, log)
    updates = log.split('apt-get update')[1:]
    assert len(updates) == 2, 'expected 2 apt-get update calls:\n%s' % log
    # The expired ROS source must be gone before the first update, or the update fails.
    assert 'packages.ros.org' not in updates[0], 'first update still reads the old source:\n%s' % log
    snapshot_line = ('deb [signed-by=/usr/share/keyrings/ros1-snapshots-archive-keyring.gpg] '
                     'http://snapshots.ros.org/melodic/final/ubuntu bionic main')
    assert snapshot_line.replace('/usr/share', str(tmp_path) + '/usr/share') in updates[1], (
        'second update does not read the ROS snapshot repository:\n%s' % log)
    assert 'gpg --batch --keyserver hkp://keyserver.ubuntu.com:80 --recv-keys %s' % ROS_SNAPSHOT_KEY in log, log
    keyring = tmp_path / 'usr/share/keyrings/ros1-snapshots-archive-keyring.gpg'
    assert keyring.read_bytes() == b'exported key', 'keyring content: %r' % keyring.read_bytes()
    installs = [line.split() for line in log.splitlines() if line.startswith('apt-get install')]
    installed = set(word for words in installs for word in words if not word.startswith('-'))
    melodic_packages = set(build_arguments()['MELODIC_PACKAGES'].split())
    assert melodic_packages <= installed, 'missing from apt-get install: %s\n%s' % (
        sorted(melodic_packages - installed), log)
    assert 'ROS Melodic base' in output, output


def test_unknown_base_fails_with_a_message_naming_what_was_expected(tmp_path):
    result, log = run_dependency_step(tmp_path, melodic=False)
    output = result.stdout.decode()
    assert result.returncode != 0, 'exit 0 on a base without ROS:\n%s' % output
    assert 'unsupported base image' in output and '/opt/ros/melodic' in output, output
    assert 'apt-get' not in log, 'apt-get ran on an unsupported base:\n%s' % log


FAKE_DOCKER = """#!/bin/sh
# Prints the docker command instead of running it; `image inspect NAME` succeeds only for
# the images listed in FAKE_DOCKER_IMAGES (what this fake machine holds).
if [ "$1 $2" = "image inspect" ]; then
  for image in $FAKE_DOCKER_IMAGES; do [ "$image" = "$3" ] && exit 0; done
  exit 1
fi
echo "docker $*"
"""


def make(*args, **env):
    """docker/Makefile with a fake docker: prints the docker commands it would run, runs none.
    Keyword arguments go to the environment (images=: the images the fake docker holds)."""
    fake = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'camera_server-fake-docker-%d' % os.getpid())
    write_executable(fake, FAKE_DOCKER)
    environment = dict(os.environ, FAKE_DOCKER_IMAGES=env.pop('images', ''), **env)
    result = subprocess.run(['make', '--no-print-directory', '-s', '-C', DOCKER_DIR, 'DOCKER=' + fake] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment, timeout=30)
    return result.returncode, result.stdout.decode()


def test_makefile_build_uses_the_pi4_base_unless_told_otherwise():
    code, output = make('build')
    assert code == 0, output
    assert '--build-arg BASE_IMAGE=ryuichiueda/ubuntu18.04-pi4-ros-image' in output, output
    assert '-f %s/docker/Dockerfile -t camera-server %s' % (REPO, REPO) in output, output
    assert '--platform' not in output, 'the lecture\'s build on the Pi is a plain build: %s' % output
    code, output = make('build', 'BASE_IMAGE=ryuichiueda/ubuntu18.04-ros-image', 'DOCKER_BUILD_ARGS=--network host')
    assert code == 0, output
    assert '--network host --build-arg BASE_IMAGE=ryuichiueda/ubuntu18.04-ros-image' in output, output


def test_makefile_run_publishes_port_8080_and_the_camera():
    code, output = make('run')
    assert code == 0, output
    assert '-p 8080:8080' in output and '--device=/dev/video0:/dev/video0' in output, output
    assert '--name camera-server' in output and '--rm' in output, output
    code, output = make('run', 'DEVICE=/dev/video2', 'ARGS=width:=1280 height:=720')
    assert '--device=/dev/video2:/dev/video0' in output and output.rstrip().endswith(
        'camera-server width:=1280 height:=720'), output


def test_makefile_install_is_run_restarted_on_boot():
    """install runs what run runs, with a restart policy instead of --rm (the two conflict)."""
    code, run = make('run', 'DEVICE=/dev/video2', 'ARGS=width:=640')
    code, install = make('install', 'DEVICE=/dev/video2', 'ARGS=width:=640')
    assert code == 0, install
    assert install.strip() == run.strip().replace(' --rm ', ' --restart unless-stopped '), (run, install)
    code, output = make('uninstall')
    assert code == 0 and output.strip() == 'docker container rm -f camera-server', output


def binfmt_entry(tmp_path, text):
    path = tmp_path / 'qemu-aarch64'
    path.write_text(text)
    return str(path)


REGISTERED = 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n'


def test_makefile_build_pi4_builds_the_arm64_image_on_the_pi4_base(tmp_path):
    code, output = make('build-pi4', BINFMT_ENTRY=binfmt_entry(tmp_path, REGISTERED))
    assert code == 0, output
    assert output.strip() == (
        'docker image build --build-arg BASE_IMAGE=ryuichiueda/ubuntu18.04-pi4-ros-image -f %s/docker/Dockerfile '
        '--platform linux/arm64 -t camera-server:pi4 %s' % (REPO, REPO)), output


@pytest.mark.skipif(os.uname()[4] == 'aarch64', reason='an arm64 machine needs no emulation')
@pytest.mark.parametrize('entry', [None, 'disabled\nflags: PF\n', 'enabled\nflags: P\n'],
                         ids=['not-registered', 'disabled', 'without-fix-binary-flag'])
def test_makefile_build_pi4_without_emulation_says_how_to_install_it(tmp_path, entry):
    path = binfmt_entry(tmp_path, entry) if entry else str(tmp_path / 'missing')
    code, output = make('build-pi4', BINFMT_ENTRY=path)
    assert code == 2, 'exit %d: %s' % (code, output)
    assert len(output.splitlines()) == 1, 'expected one line: %r' % output
    assert 'arm64' in output and 'sudo apt-get install qemu-user-static binfmt-support' in output, output
    assert 'docker' not in output.replace('docker image', ''), 'docker ran: %s' % output


@pytest.mark.parametrize('images, source', [('camera-server', 'camera-server'),
                                            ('camera-server camera-server:pi4', 'camera-server:pi4')],
                         ids=['on-the-pi-after-make-build', 'on-a-laptop-after-make-build-pi4'])
def test_makefile_push_tags_the_image_with_the_given_name(images, source):
    code, output = make('push', 'IMAGE=you/camera-server', 'TAG=pi4', images=images)
    assert code == 0, output
    assert 'docker image tag %s you/camera-server:pi4' % source in output, output
    assert 'docker image push you/camera-server:pi4' in output, output
    code, output = make('push')
    assert code != 0 and 'IMAGE=' in output, 'push without IMAGE: exit %d\n%s' % (code, output)
    assert 'docker image push' not in output, output
