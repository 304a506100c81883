"""Which ffmpeg and which of its encoders this machine has: probed once per process, no rospy, no sockets.

An encoder that is missing is an EncoderUnavailable with one line saying what to install;
the web layer answers it with 501.
"""
import os
import subprocess
import threading

ENCODERS = {'vp8': 'libvpx', 'vp9': 'libvpx-vp9'}  # h264: libx264 or h264_v4l2m2m, see choose_h264_encoder
HARDWARE_H264 = 'h264_v4l2m2m'
H264_ENCODER_CHOICES = ('auto', 'v4l2m2m', 'libx264')  # ~h264_encoder
MISSING_FFMPEG = 'ffmpeg'  # the package that provides the command, on Debian and Ubuntu alike


class EncoderUnavailable(Exception):
    """A stream type this machine cannot encode; the message says what is missing."""


def find_executable(name):
    """The path of command ``name`` (or ``name`` itself when it is a path that runs), or None."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    for folder in os.environ.get('PATH', os.defpath).split(os.pathsep):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _run(command):
    """(exit code, output text) of a short ffmpeg run."""
    proc = subprocess.Popen(command, stdin=open(os.devnull, 'rb'), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = proc.communicate()[0]
    return proc.returncode, output.decode('utf-8', 'replace')


_PROBES = {}  # (probe, ffmpeg path) -> result: every server of a process (the tests') asks once
_PROBES_LOCK = threading.Lock()


def _once(probe):
    """``probe(ffmpeg)`` run once per ffmpeg path in this process."""
    def cached(ffmpeg):
        with _PROBES_LOCK:
            key = (probe.__name__, ffmpeg)
            if key not in _PROBES:
                _PROBES[key] = probe(ffmpeg)
            return _PROBES[key]
    cached.__doc__ = probe.__doc__
    return cached


@_once
def available_encoders(ffmpeg):
    """The names ``ffmpeg -encoders`` lists."""
    _, text = _run([ffmpeg, '-hide_banner', '-encoders'])
    names = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and len(fields[0]) == 6 and fields[0][0] == 'V':
            names.add(fields[1])
    return names


@_once
def hardware_h264_works(ffmpeg):
    """(True, '') when h264_v4l2m2m encodes a few frames here, else (False, why)."""
    code, text = _run([ffmpeg, '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i',
                       'testsrc=size=320x240:rate=30', '-frames:v', '5', '-pix_fmt', 'yuv420p',
                       '-c:v', HARDWARE_H264, '-f', 'null', '-'])
    lines = [line for line in text.splitlines() if line.strip()]
    return code == 0, (lines[-1] if lines else 'exit code %d' % code)


def choose_h264_encoder(ffmpeg, forced, log):
    """The H.264 encoder for ``~h264_encoder`` = ``forced`` (auto, v4l2m2m, libx264); says why in the log."""
    if forced == 'libx264':
        return 'libx264'
    if HARDWARE_H264 not in available_encoders(ffmpeg):
        if forced == 'v4l2m2m':
            log.warning('h264: ~h264_encoder is v4l2m2m but this ffmpeg has no %s; using libx264' % HARDWARE_H264)
        return 'libx264'
    works, why = hardware_h264_works(ffmpeg)
    if works:
        log.info('h264: using the hardware encoder %s' % HARDWARE_H264)
        return HARDWARE_H264
    log.info('h264: the hardware encoder %s does not work here (%s); using libx264' % (HARDWARE_H264, why))
    return 'libx264'


class VideoEncoders(object):
    """Which ffmpeg and which encoders this server uses.

    Probed once, in a thread started with the server: the probe runs ffmpeg twice (its encoder
    list, a hardware H.264 trial), seconds on a loaded machine, which the first viewer would
    otherwise wait for. A request that comes first waits for the probe.
    """

    def __init__(self, ffmpeg, h264_encoder, log):
        self._ffmpeg, self._h264_choice, self._log = ffmpeg, h264_encoder, log
        self._lock = threading.Lock()
        self._probed = None  # (ffmpeg path or None, encoder names)
        self._h264 = None
        probe = threading.Thread(target=self._probe_all, name='video encoder probe')
        probe.daemon = True
        probe.start()

    def _probe_all(self):
        if self._probe()[0] is not None:
            self.encoder('h264')

    def _probe(self):
        with self._lock:
            if self._probed is None:
                path = find_executable(self._ffmpeg)
                self._probed = (path, available_encoders(path) if path else set())
            return self._probed

    def check(self, codec):
        """Raises EncoderUnavailable with one line when ``codec`` cannot be encoded here."""
        path, names = self._probe()
        if path is None:
            raise EncoderUnavailable('type=%s needs %s, which is not installed: install the package %s'
                            % (codec, self._ffmpeg, MISSING_FFMPEG))
        needed = 'libx264' if codec == 'h264' else ENCODERS[codec]
        if needed not in names:
            raise EncoderUnavailable('type=%s needs the encoder %s, which %s lacks' % (codec, needed, path))

    def ffmpeg(self):
        return self._probe()[0]

    def encoder(self, codec):
        """The ffmpeg encoder name for ``codec``; for h264 chosen by ~h264_encoder, once."""
        if codec != 'h264':
            return ENCODERS[codec]
        path = self._probe()[0]
        with self._lock:
            if self._h264 is None:
                self._h264 = choose_h264_encoder(path, self._h264_choice, self._log)
            return self._h264

    def hardware_failed(self, reason):
        """The hardware encoder failed while encoding: libx264 from now on (said once)."""
        with self._lock:
            if self._h264 == HARDWARE_H264:
                self._log.warning('h264: %s failed (%s); using libx264 from now on' % (HARDWARE_H264, reason))
                self._h264 = 'libx264'
