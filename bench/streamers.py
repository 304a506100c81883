#!/usr/bin/python3
"""One process, two nodes, a C streamer: the same MJPG file served by each, side by side in one run.

The benchmark's 1280x720 MJPG file at 30 fps goes through, in turn:
- ``one_process``: `roslaunch camera_server server.launch pipeline:=one_process` (this checkout);
- ``two_nodes``: the same with `pipeline:=two_nodes`;
- ``two_nodes_before`` (with --baseline REV): server.launch of commit REV, built from
  `git archive` into ~/.cache/camera_server/baseline/REV (the two nodes before issue 18);
- ``mjpg_streamer``: mjpg-streamer (C, `input_file` on the file's own JPEG frames, `output_http`),
  built with cmake from its public source in --mjpg-streamer-source when that is there;
  otherwise the run says so and has no such row.
Each ROS pipeline is one roslaunch that starts its own master, as the Docker image does. With
1 and 16 viewers (bench/client.py, one process each), over a window after a warm-up, it
measures the CPU of every process of the pipeline (roslaunch, rosmaster, rosout and the nodes;
mjpg-streamer's one process), and at the end of the window each process's RSS, PSS and USS
and the distinct pages of the whole pipeline (procstat.py). The pipelines take turns, round
after round, and every ratio is taken within a round, then the median over the rounds:
the machine's load changes between rounds, not within one pair of windows. Writes
streamers.json, streamers.md (printed) and streamers.png to --out.

    . tools/setup bench && /usr/bin/python3 bench/streamers.py --baseline cf7fe63 --out bench/results
    /usr/bin/python3 bench/streamers.py --short --out /tmp/streamers   # one round, short windows
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import procstat
import sources
import streamers_report
from pipeline import BENCH_DIR, BenchError, free_port, run_main, stop_group, wait_until
from run_bench import collect_json, log, machine_info

REPO = os.path.dirname(BENCH_DIR)
CACHE = os.path.expanduser('~/.cache/camera_server')
WIDTH, HEIGHT, FPS = 1280, 720, 30
MODES = {'full': {'rounds': 3, 'viewers': [1, 16], 'warmup_s': 3.0, 'window_s': 10.0},
         'short': {'rounds': 1, 'viewers': [1, 4], 'warmup_s': 2.0, 'window_s': 3.0}}
NODE_PROGRAMS = ('pipeline_node', 'capture_node', 'server')
START_DEADLINE_S = 60.0  # roslaunch, its master and the nodes' Python start-ups on a loaded machine


def mjpg_streamer(source_dir, build_dir):
    """(mjpg_streamer, input_file.so, output_http.so) built from ``source_dir`` into ``build_dir``
    (built on first use), or a string saying why there is none."""
    project = os.path.join(source_dir, 'mjpg-streamer-experimental')
    if not os.path.exists(os.path.join(project, 'CMakeLists.txt')):
        return 'no mjpg-streamer source at %s (its public repository, unpacked there, is built on first use)' % source_dir
    built = [os.path.join(build_dir, path) for path in ('mjpg_streamer', 'plugins/input_file/input_file.so',
                                                          'plugins/output_http/output_http.so')]
    if all(os.path.exists(path) for path in built):
        return built
    if not shutil.which('cmake'):
        return 'cmake is not installed: mjpg-streamer at %s cannot be built' % source_dir
    log('building mjpg-streamer from %s into %s' % (source_dir, build_dir))
    with open(os.path.join(CACHE, 'mjpg-streamer-build.log'), 'wb') as build_log:
        for command in (['cmake', '-S', project, '-B', build_dir, '-DCMAKE_BUILD_TYPE=Release'],
                        ['cmake', '--build', build_dir, '--target', 'mjpg_streamer', 'input_file', 'output_http']):
            if subprocess.call(command, stdout=build_log, stderr=subprocess.STDOUT) != 0:
                return 'building mjpg-streamer failed: see %s' % build_log.name
    return built


def baseline_workspace(rev):
    """The catkin workspace of camera_server at commit ``rev``, built on first use."""
    workspace = os.path.join(CACHE, 'baseline', rev)
    if os.path.exists(os.path.join(workspace, 'devel', 'setup.bash')):
        return workspace
    package = os.path.join(workspace, 'src', 'camera_server')
    os.makedirs(package, exist_ok=True)
    log('building camera_server %s into %s' % (rev, workspace))
    archive = subprocess.Popen(['git', '-C', REPO, 'archive', rev], stdout=subprocess.PIPE)
    if subprocess.call(['tar', '-x', '-C', package], stdin=archive.stdout) != 0 or archive.wait() != 0:
        raise BenchError('git archive %s failed' % rev)
    with open(os.path.join(workspace, 'build.log'), 'wb') as build_log:
        if subprocess.call(['catkin_make', '-C', workspace, '-DPYTHON_EXECUTABLE=/usr/bin/python3',
                            '-DCATKIN_ENABLE_TESTING=OFF'],
                           cwd=workspace, stdout=build_log, stderr=subprocess.STDOUT) != 0:
            raise BenchError('catkin_make of %s failed: see %s' % (rev, build_log.name))
    return workspace


class Streamer(object):
    """One pipeline under test: started, measured, stopped; ``pids()`` are its processes by role."""

    def __init__(self, name, command, log_dir, stream_path, env=None):
        self.name, self.command, self.stream_path = name, command, stream_path
        self.log_path = os.path.join(log_dir, '%s.log' % name)
        self.env = env
        self.process = None
        self.port = None

    def start(self):
        self.port = free_port()
        master_port = free_port()
        command = [part.format(port=self.port, master_port=master_port) for part in self.command]
        env = dict(os.environ, ROS_MASTER_URI='http://127.0.0.1:%d' % master_port, ROS_IP='127.0.0.1',
                   ROS_LOG_DIR=os.path.dirname(self.log_path), PYTHONUNBUFFERED='1', **(self.env or {}))
        with open(self.log_path, 'ab') as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(self._streams, START_DEADLINE_S, '%s streaming on port %d (log %s)'
                   % (self.name, self.port, self.log_path))

    def _streams(self):
        if self.process.poll() is not None:
            raise BenchError('%s exited with %s; see %s' % (self.name, self.process.returncode, self.log_path))
        from client import read_stream
        try:
            return any(True for _ in read_stream(self.url(), time.time() + 5, time.time() + 5, max_frames=1))
        except (IOError, OSError):
            return False

    def url(self):
        return 'http://127.0.0.1:%d%s' % (self.port, self.stream_path)

    def pids(self):
        """{role: [pids]}: 'all' is every process of the pipeline."""
        tree = procstat.descendants(self.process.pid)
        roles = {'all': tree}
        if self.name != 'mjpg_streamer':
            names = dict((pid, [os.path.basename(a) for a in procstat.read_cmdline(pid)[:3]]) for pid in tree)
            roles['nodes'] = [pid for pid in tree if set(names[pid]) & set(NODE_PROGRAMS)]
            roles['rosmaster'] = [pid for pid in tree if 'rosmaster' in names[pid]]
        return roles

    def stop(self):
        if self.process is not None:
            stop_group(self.process, timeout=10.0)
        self.process = None


def ros_streamer(name, video, log_dir, pipeline=None, workspace=None):
    launch = ['roslaunch', '-p', '{master_port}', 'camera_server', 'server.launch', 'server:=builtin',
              'port:={port}', 'address:=127.0.0.1', 'device:=%s' % video]
    if pipeline:
        launch.append('pipeline:=%s' % pipeline)
    if workspace:  # another commit's workspace: its setup replaces this one's package path
        launch = ['bash', '-c', '. "%s/devel/setup.bash" && exec "$@"' % workspace, 'roslaunch'] + launch
    return Streamer(name, launch, log_dir, '/stream?topic=/camera/image_raw')


def frames_folder(video, folder):
    """The JPEG frames of the MJPG file as numbered .jpg files (mjpg-streamer's input_file reads a folder)."""
    from camera_server.mjpeg_avi import MjpegAviSource
    if os.path.isdir(folder) and os.listdir(folder):
        return folder
    os.makedirs(folder, exist_ok=True)
    source = MjpegAviSource(video, fps=1e6, loop=False)
    source.open()
    index = 0
    frame = source.read()
    while frame is not None:
        with open(os.path.join(folder, 'frame_%05d.jpg' % index), 'wb') as jpeg:
            jpeg.write(frame.jpeg)
        index += 1
        frame = source.read()
    return folder


def measure(streamer, viewers, warmup_s, window_s):
    start = time.time() + warmup_s
    end = start + window_s
    timing = ['--start', '%.3f' % start, '--end', '%.3f' % end, '--fps', str(FPS)]
    clients = []
    with open(os.path.join(os.path.dirname(streamer.log_path), 'clients.log'), 'ab') as client_log:
        try:
            for _ in range(viewers):
                clients.append(subprocess.Popen([sys.executable, os.path.join(BENCH_DIR, 'client.py'), '--url',
                                                 streamer.url()] + timing, stdout=subprocess.PIPE,
                                                stderr=client_log, start_new_session=True, cwd=BENCH_DIR))
            time.sleep(max(0.0, start - time.time()))
            roles = streamer.pids()
            sampler = procstat.Sampler(roles).start()
            time.sleep(max(0.0, end - time.time()))
            cpu = sampler.stop()
            memory = dict((pid, procstat.memory(pid)) for pid in roles['all'])
            distinct = procstat.footprint_mb(roles['all'])
            details = [collect_json(client, window_s + 15) for client in clients]
        finally:
            for client in clients:
                stop_group(client, timeout=2.0)
    names = dict((pid, ' '.join(os.path.basename(a) for a in procstat.read_cmdline(pid)[:2])) for pid in memory)
    machine = cpu.pop('_machine')
    return {'pipeline': streamer.name, 'viewers': viewers, 'cpu': cpu, 'machine': machine,
            'loadavg': os.getloadavg()[0], 'distinct_mb': distinct,
            'memory': dict((role, dict((kind, sum(memory[pid][kind] for pid in pids if memory.get(pid)))
                                       for kind in ('rss_mb', 'pss_mb', 'uss_mb'))) for role, pids in roles.items()),
            'processes': [dict(memory[pid], pid=pid, program=names[pid]) for pid in roles['all'] if memory.get(pid)],
            'clients': details}


def run(mode, args):
    os.makedirs(args.out, exist_ok=True)
    log_dir = os.path.join(args.out, 'logs')
    os.makedirs(log_dir, exist_ok=True)
    video = sources.mjpg_file(os.path.join(BENCH_DIR, 'out', 'sources'), WIDTH, HEIGHT, FPS)
    streamers = [ros_streamer('one_process', video, log_dir, 'one_process'),
                 ros_streamer('two_nodes', video, log_dir, 'two_nodes')]
    if args.baseline:
        streamers.append(ros_streamer('two_nodes_before', video, log_dir, workspace=baseline_workspace(args.baseline)))
    found = mjpg_streamer(args.mjpg_streamer_source, os.path.join(CACHE, 'mjpg-streamer', 'build'))
    if isinstance(found, str):
        log('no mjpg-streamer row: %s' % found)
    else:
        frames = frames_folder(video, os.path.join(BENCH_DIR, 'out', 'sources', 'frames_%dx%d' % (WIDTH, HEIGHT)))
        binary, input_file, output_http = found
        streamers.append(Streamer('mjpg_streamer', [
            binary, '-i', '%s -f %s/ -e -d %.4f' % (input_file, frames, 1.0 / FPS),
            '-o', '%s -p {port} -l 127.0.0.1' % output_http], log_dir, '/?action=stream'))
    results = {'machine': machine_info(), 'mode': mode, 'baseline': args.baseline,
               'mjpg_streamer': found if isinstance(found, str) else 'built from %s' % args.mjpg_streamer_source,
               'video': os.path.basename(video), 'windows': []}
    for round_index in range(mode['rounds']):
        for streamer in streamers[round_index % len(streamers):] + streamers[:round_index % len(streamers)]:
            streamer.start()
            try:
                for viewers in mode['viewers']:
                    window = dict(measure(streamer, viewers, mode['warmup_s'], mode['window_s']), round=round_index)
                    results['windows'].append(window)
                    log('round %d %s, %d viewer(s): CPU %.1f %% of a core, PSS %.0f MB (load %.1f)' % (
                        round_index, streamer.name, viewers, window['cpu']['all']['cpu_pct'],
                        window['memory']['all']['pss_mb'], window['loadavg']))
            finally:
                streamer.stop()
    results['machine']['loadavg_after'] = os.getloadavg()[0]
    return streamers_report.write(results, args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--short', action='store_true', help='one round, 1 and 4 viewers, short windows (tests)')
    parser.add_argument('--out', default=os.path.join(BENCH_DIR, 'out', 'streamers'))
    parser.add_argument('--baseline', help='a commit whose two-node server.launch is measured too, e.g. cf7fe63')
    parser.add_argument('--mjpg-streamer-source', default=os.path.join(CACHE, 'mjpg-streamer', 'src'),
                        help="mjpg-streamer's source tree (default %(default)s)")
    parser.add_argument('--rounds', type=int, help='rounds of every pipeline (default 3, short 1)')
    args = parser.parse_args(argv)
    mode = dict(MODES['short' if args.short else 'full'], name='short' if args.short else 'full')
    if args.rounds:
        mode['rounds'] = args.rounds
    args.out = os.path.abspath(args.out)
    return run_main('streamers benchmark', lambda: run(mode, args))


if __name__ == '__main__':
    sys.exit(main())
