"""package.xml is the one list of dependencies.

rosdep resolves every key offline, against the rosdistro snapshot in ../shared/rosdistro
(beside the repository, or beside the main checkout of a git worktree; CAMERA_SERVER_ROSDISTRO
names another), for ROS Melodic on Ubuntu 18.04 (with rosdep/python2.yaml as a source, as
docs/install.md tells Melodic users) and for ROS Noetic on Ubuntu 20.04. The Debian 12
packages of tools/start and tools/test, and those docker/Dockerfile installs, are what the
keys stand for; the run command's hold nothing that only the tests need.
"""
import os
import subprocess

import pytest
from catkin_pkg.package import parse_package

from support import REPO
from support.ci import require
from support.dockerfile import build_arguments

pytestmark = pytest.mark.timeout(300)

TOOLS = os.path.join(REPO, 'tools')
RUN_KINDS = ('buildtool_depends', 'build_depends', 'build_export_depends', 'exec_depends')
ALL_KINDS = RUN_KINDS + ('test_depends',)
# The list of what the run command must never install on a bare Debian 12.
NEVER_FOR_RUNNING = {'chromium', 'qemu-user-static', 'debootstrap', 'docker.io', 'python3-hypothesis',
                     'python3-matplotlib'}
# (distribution, rosdep --os, ROS_PYTHON_VERSION, the repository's extra rosdep sources)
DISTRIBUTIONS = [('melodic', 'ubuntu:bionic', '2', ['rosdep/python2.yaml']),
                 ('noetic', 'ubuntu:focal', '3', [])]


def package_keys(python_version, kinds):
    """package.xml's keys of these kinds whose condition holds for this Python, in file order, once each."""
    package = parse_package(os.path.join(REPO, 'package.xml'))
    package.evaluate_conditions({'ROS_PYTHON_VERSION': python_version})
    keys = []
    for kind in kinds:
        keys += [dep.name for dep in getattr(package, kind) if dep.evaluated_condition and dep.name not in keys]
    return keys


def read_list(name):
    """The non-comment lines of tools/``name`` as lists of words."""
    with open(os.path.join(TOOLS, name)) as listing:
        return [line.split('#')[0].split() for line in listing if line.split('#')[0].strip()]


def debian12_table():
    return dict((words[0], words[1:]) for words in read_list('debian12-keys.txt'))


def debian12_packages(kinds):
    table = debian12_table()
    packages = []
    for key in package_keys('3', kinds):
        packages += [name for name in table[key] if name not in packages]
    return packages


def test_the_debian12_table_names_every_key_of_package_xml_once():
    keys = [words[0] for words in read_list('debian12-keys.txt')]
    repeated = sorted(set(key for key in keys if keys.count(key) > 1))
    assert not repeated, 'keys listed twice in tools/debian12-keys.txt: %s' % repeated
    declared = set(package_keys('3', ALL_KINDS))
    assert set(keys) == declared, 'missing from the table: %s; not in package.xml: %s' % (
        sorted(declared - set(keys)), sorted(set(keys) - declared))


def test_the_run_command_installs_nothing_that_only_the_tests_need():
    running = set(debian12_packages(RUN_KINDS))
    bench = set(words[0] for words in read_list('test-bench-packages.txt'))
    assert not running & (NEVER_FOR_RUNNING | bench), sorted(running & (NEVER_FOR_RUNNING | bench))
    assert NEVER_FOR_RUNNING <= set(debian12_packages(ALL_KINDS)) | bench, (
        'not installed by the test command: %s' % sorted(NEVER_FOR_RUNNING - set(debian12_packages(ALL_KINDS)) - bench))


@pytest.mark.parametrize('use,kinds', [('run', RUN_KINDS), ('test', ALL_KINDS), ('bench', ALL_KINDS)])
def test_tools_debian_packages_reads_package_xml_as_catkin_does(use, kinds):
    """tools/debian-packages parses package.xml with sed (a bare machine has no Python): it must
    agree with catkin_pkg's parser and condition evaluation."""
    printed = subprocess.run([os.path.join(TOOLS, 'debian-packages'), use], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=30)
    expected = debian12_packages(kinds)
    if use == 'bench':
        expected += [words[0] for words in read_list('test-bench-packages.txt')]
    assert printed.returncode == 0 and printed.stdout.split() == expected, '%s\nexpected: %s' % (
        printed.stdout, ' '.join(expected))


def test_the_dockerfile_installs_the_run_packages_on_debian():
    assert build_arguments()['DEBIAN12_PACKAGES'].split() == debian12_packages(RUN_KINDS)


def git_paths(*args):
    """Absolute paths git prints for ``args`` in the repository (none where it fails)."""
    result = subprocess.run(['git', '-C', REPO] + list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            universal_newlines=True, timeout=30)
    return [line for line in result.stdout.splitlines() if os.path.isabs(line)] if result.returncode == 0 else []


def rosdistro_snapshot():
    """The snapshot's folder, or None: ``shared/rosdistro`` beside this checkout, the main checkout
    of a worktree or the local repository this one was cloned from, or beside a folder above them."""
    if os.environ.get('CAMERA_SERVER_ROSDISTRO'):
        return os.environ['CAMERA_SERVER_ROSDISTRO']
    checkouts = [REPO] + [os.path.dirname(path) for path in
                          git_paths('rev-parse', '--path-format=absolute', '--git-common-dir')]
    checkouts += git_paths('config', '--get', 'remote.origin.url')
    for checkout in checkouts:
        folder = os.path.dirname(os.path.abspath(checkout))
        while True:
            candidate = os.path.join(folder, 'shared', 'rosdistro')
            if os.path.exists(os.path.join(candidate, 'index-v4.yaml')):
                return candidate
            if os.path.dirname(folder) == folder:
                break
            folder = os.path.dirname(folder)
    return None


class OfflineRosdep(object):
    """rosdep with its sources, cache and index in ``home``: the snapshot's key files plus
    ``extra_sources`` (paths in the repository), and no way out to the network."""

    def __init__(self, home, distribution, os_name, python_version, extra_sources):
        snapshot = rosdistro_snapshot()
        require(snapshot, 'no rosdistro snapshot at ../shared/rosdistro (CAMERA_SERVER_ROSDISTRO names one)')
        require(subprocess.run(['sh', '-c', 'command -v rosdep'], stdout=subprocess.DEVNULL).returncode == 0,
                'rosdep is not installed (Debian package python3-rosdep2)')
        self.arguments = ['--rosdistro', distribution, '--os', os_name]
        sources = os.path.join(home, 'sources.list.d')
        os.makedirs(sources)
        with open(os.path.join(sources, '10-camera_server.list'), 'w') as listing:
            listing.writelines('yaml file://%s\n' % os.path.join(REPO, path) for path in extra_sources)
        with open(os.path.join(sources, '20-default.list'), 'w') as listing:
            listing.writelines('yaml file://%s/rosdep/%s.yaml\n' % (snapshot, name) for name in ('base', 'python'))
        # A proxy nobody listens on: any attempt to reach the network fails the test.
        self.env = dict(os.environ, ROSDISTRO_INDEX_URL='file://%s/index-v4.yaml' % snapshot,
                        ROSDEP_SOURCE_PATH=sources, ROS_HOME=os.path.join(home, 'ros'),
                        ROS_PYTHON_VERSION=python_version, http_proxy='http://127.0.0.1:9',
                        https_proxy='http://127.0.0.1:9')
        self.env.pop('ROS_DISTRO', None)
        updated = self.run('update', '--include-eol-distros')
        assert updated.returncode == 0, 'rosdep update (offline):\n%s' % updated.stdout

    def run(self, *args, **streams):
        streams.setdefault('stderr', subprocess.STDOUT)
        return subprocess.run(['rosdep'] + list(args), env=self.env, stdout=subprocess.PIPE,
                              universal_newlines=True, timeout=240, **streams)

    def resolve(self, keys):
        """{key: [apt packages]} of the keys rosdep resolves (the others are missing)."""
        printed = self.run('resolve', *(list(keys) + self.arguments), stderr=subprocess.DEVNULL).stdout
        lines = printed.splitlines() + ['', '']
        # A resolved key prints three lines: #ROSDEP[key], #<installer>, the packages; a missing one the first only.
        return dict((line[len('#ROSDEP['):-1], lines[i + 2].split()) for i, line in enumerate(lines)
                    if line.startswith('#ROSDEP[') and lines[i + 1].startswith('#')
                    and not lines[i + 1].startswith('#ROSDEP['))


@pytest.fixture(scope='module')
def rosdeps(tmp_path_factory):
    """{distribution: OfflineRosdep}"""
    return dict((distribution, OfflineRosdep(str(tmp_path_factory.mktemp('rosdep-' + distribution)), distribution,
                                             os_name, python_version, extra_sources))
                for distribution, os_name, python_version, extra_sources in DISTRIBUTIONS)


@pytest.mark.parametrize('distribution, python_version', [(d[0], d[2]) for d in DISTRIBUTIONS])
def test_rosdep_resolves_every_key_offline(rosdeps, distribution, python_version):
    rosdep = rosdeps[distribution]
    keys = package_keys(python_version, ALL_KINDS)
    missing = [key for key in keys if key not in rosdep.resolve(keys)]
    assert not missing, 'keys rosdep cannot resolve for %s: %s' % (' '.join(rosdep.arguments), missing)
    # What a ROS user runs (docs/install.md), in simulation.
    installed = rosdep.run('install', '--from-paths', REPO, '--ignore-src', '--simulate', '--reinstall', '-y',
                           *rosdep.arguments)
    assert installed.returncode == 0 and 'apt-get install' in installed.stdout, installed.stdout


def test_the_dockerfile_installs_what_rosdep_resolves_for_melodic(rosdeps):
    """Each run key has at least one of its packages in MELODIC_PACKAGES, which holds no other."""
    resolved = rosdeps['melodic'].resolve(package_keys('2', RUN_KINDS))
    installed = set(build_arguments()['MELODIC_PACKAGES'].split())
    uncovered = sorted(key for key, packages in resolved.items() if not installed & set(packages))
    assert not uncovered, 'keys none of whose packages MELODIC_PACKAGES has: %s' % [
        (key, resolved[key]) for key in uncovered]
    unexplained = installed - set(name for packages in resolved.values() for name in packages)
    assert not unexplained, 'MELODIC_PACKAGES names packages no key stands for: %s' % sorted(unexplained)
