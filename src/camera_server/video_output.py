"""The h264/vp8/vp9 outputs of the fan-out: one ffmpeg encoder per distinct output, shared.

A VideoOutput is a fanout.Output whose encoder thread feeds an ffmpeg subprocess
(video_encoder) instead of a JPEG encoder; the encoder's reader thread packs every frame
(framing's fMP4 or WebM packer) and hands it to every VideoClient (video_clients.py), then
wakes the one stream writer, as the image outputs do. A new client starts with the
initialization segment and the current group of pictures, so it needs no new keyframe.

The encoder starts with the first viewer and stops after the last (the hub's lifecycle of
every output). One that dies is restarted at the next frame, at most once per
``RESTART_INTERVAL_S``, and said once; a new frame size starts a new encoder, whose new
initialization segment every client gets before its next frame.
"""
import threading

from camera_server.compat import monotonic
from camera_server.fanout import Output
from camera_server.ffmpeg_probe import HARDWARE_H264
from camera_server.framing import VideoFragment, video_packer
from camera_server.render import RenderError, output_pixels
from camera_server.video_clients import GroupOfPictures, VideoClient
from camera_server.video_encoder import EncoderError, FfmpegEncoder, even_size

RESTART_INTERVAL_S = 1.0  # a failing encoder is started again at most this often
DEFAULT_FPS = 30  # the encoder's frame rate while the topic's rate is not measured yet
RATE_SAMPLES = 10  # messages the topic's rate is measured over before the encoder trusts it
# The default keyframe interval, in seconds of the topic's rate. At equal quality (libx264 crf 23,
# 640x480 30 fps) 2 s takes 8-14 % fewer bytes than 1 s; 4 s saves 4-6 % more, 10 s 7-10 %
# more, but a joiner's burst (the group of pictures, see video_clients) and what its decoder
# must go through before the newest frame grow with it, and so does a slow viewer's wait for
# the next keyframe (measured in headless Chromium, live edge p95 70 ms at 2 s, 285 ms at 10 s).
GOP_S = 2
# The default bitrate grows with pixels ** 0.75 (a larger frame needs fewer bits per pixel):
# 1280x720 1.1 Mbit/s (SSIM 0.97 at 1.42 Mbit/s in the benchmark, 1/9 of MJPEG q80), 640x480 482 kbit/s.
BITRATE_FACTOR = 37.0
MIN_BITRATE = 100000


def default_bitrate(width, height):
    """The bitrate (bits/s) when the query gives none: by frame size."""
    return max(MIN_BITRATE, int(round(BITRATE_FACTOR * (width * height) ** 0.75 / 1000.0)) * 1000)


class VideoOutput(Output):
    """An h264/vp8/vp9 output: one ffmpeg for every client, packed per frame."""

    def __init__(self, feed, spec, log, encoders):
        Output.__init__(self, feed, spec, log)
        self.codec = spec.video.codec
        self._encoders = encoders
        self._encoder = None
        self._encoder_lock = threading.Lock()  # start/stop against the reader thread's exit
        self._retry_at = 0.0
        self._failing = False  # said once until frames flow again
        self._restarts = 0
        self._fps = DEFAULT_FPS
        self._packer = video_packer(self.codec)
        self._latest_init = None
        self._init_of = (None, None)  # (encoder, its initialization segment)
        self._gop = GroupOfPictures()  # what a new client starts with
        self._gop_lock = threading.Lock()  # a joiner gets each frame once: in the group or delivered
        self.settings = None  # the resolved VideoSettings of the running encoder
        self.keyframes = 0
        self.size = None

    @classmethod
    def factory(cls, encoders):
        """The hub's constructor for mode 'video' outputs using ``encoders``."""
        return lambda feed, spec, log: cls(feed, spec, log, encoders)

    def new_client(self, description, wake):
        return VideoClient(self, description, wake)

    def add(self, client):
        with self._gop_lock:
            client.join(self._gop.frames)
            self._set_clients(self._clients | frozenset([client]))

    def _publish(self, message):
        """Encoder thread: one message into ffmpeg (started, restarted or resized as needed)."""
        try:
            img = even_size(output_pixels(message, self.spec, self.feed.decode.pixels))
        except RenderError as err:
            if str(err) != self._last_error:
                self._log('topic %s: %s' % (self.feed.topic, err))
                self._last_error = str(err)
            return
        size = (img.shape[1], img.shape[0])
        encoder = self._encoder
        if encoder is not None and (encoder.width, encoder.height) != size:
            self._log('%s %s: frame size %dx%d -> %dx%d, new encoder'
                      % (self.codec, self.feed.topic, encoder.width, encoder.height, size[0], size[1]))
            self._stop_encoder()
            encoder = None
        if encoder is None:
            encoder = self._start_encoder(size)
            if encoder is None:
                return
        try:
            encoder.encode(img, message.stamp)
        except EncoderError:  # ffmpeg is gone (maybe before this output knew it as its encoder)
            self._on_exit(encoder, encoder.failure())
            return
        self.encodes.tick()

    def _start_encoder(self, size):
        if monotonic() < self._retry_at or self._stopped:
            return None
        rate = self.feed.input.rate() if self.feed.input.total >= RATE_SAMPLES else 0
        self._fps = int(round(rate)) if 1 <= rate <= 120 else DEFAULT_FPS
        settings = self.spec.video._replace(
            bitrate=self.spec.video.bitrate or default_bitrate(*size),
            gop=self.spec.video.gop or GOP_S * self._fps)
        name = self._encoders.encoder(self.codec)
        try:
            encoder = FfmpegEncoder(self._encoders.ffmpeg(), self.codec, name, size[0], size[1], self._fps,
                                    settings, self._on_encoded, self._on_exit,
                                    'encoder %s %s' % (self.feed.topic, self.codec))
        except EncoderError as err:
            self._retry_at = monotonic() + RESTART_INTERVAL_S
            self._report('cannot start the %s encoder for %s: %s' % (self.codec, self.feed.topic, err))
            return None
        with self._encoder_lock:
            if self._stopped:
                encoder.close()
                return None
            self._encoder = encoder
            self.settings = settings
        return encoder

    def _stop_encoder(self):
        with self._encoder_lock:
            encoder, self._encoder = self._encoder, None
        if encoder is not None:
            encoder.close()

    def _report(self, text):
        if not self._failing:
            self._log(text)
        self._failing = True

    def _on_exit(self, encoder, reason):
        """ffmpeg ended by itself (seen by its reader or the encoder thread, whichever is first):
        the next frame starts a new one."""
        with self._encoder_lock:
            if self._encoder is not encoder:
                return
            self._encoder = None
        self._retry_at = monotonic() + RESTART_INTERVAL_S
        self._restarts += 1
        if encoder.encoder == HARDWARE_H264:
            self._encoders.hardware_failed(reason)
        self._report('%s encoder for %s stopped (%s); restarting it' % (self.codec, self.feed.topic, reason))

    def _on_encoded(self, encoder, sample):
        """Reader thread: pack one frame and hand it to every client."""
        owner, init = self._init_of
        if owner is not encoder:  # this encoder's first frame
            init = self._packer.init_segment(encoder.width, encoder.height, encoder.fps, encoder.avcc)
            if init is None:
                return
            if init == self._latest_init:
                init = self._latest_init  # the same bytes: clients that have them do not get them again
            self._latest_init = init
            self._init_of = (encoder, init)
            self.size = (encoder.width, encoder.height)
        seq = next(self._seq)
        part = self._packer.fragment(seq, sample, self._fps)
        self._failing = False  # the next failure is said again
        self.frames.tick(len(part))
        if sample.keyframe:
            self.keyframes += 1
        frame = VideoFragment(seq, sample.stamp, sample.keyframe, init, part)
        with self._gop_lock:
            self._gop.add(frame)
            clients = self._clients
        for client in clients:
            client.deliver(frame)
        for wake in self._wakes:
            wake()

    def stop(self):
        Output.stop(self)
        self._stop_encoder()

    def stats(self):
        stats = Output.stats(self)
        encoder = self._encoder
        stats.update(encoder=encoder.encoder if encoder else None,
                     encoder_pid=encoder.pid if encoder else None,
                     bitrate_bps=int(self.frames.amount_rate() * 8),
                     target_bitrate_bps=self.settings.bitrate if self.settings else None,
                     gop=self.settings.gop if self.settings else None,
                     frame_size=list(self.size) if self.size else None,
                     frames_total=self.frames.total, keyframes=self.keyframes, encoder_restarts=self._restarts,
                     joiner_frames=len(self._gop.frames),
                     viewers=[{'id': c.id, 'frames_sent': c.frames_sent, 'frames_dropped': c.frames_dropped}
                              for c in self._clients])
        return stats
