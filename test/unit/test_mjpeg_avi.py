"""The MJPG AVI reader: the file's own JPEG chunks at the file's rate, looped, without OpenCV;
every other file (or a resize) handed to OpenCV's VideoFileSource."""
import io
import os
import struct
import time

import numpy as np
import pytest

from camera_server import mjpeg_avi, opencv_sources
from camera_server.mjpeg_avi import MjpegAviSource
from camera_server.sources import SourceError
from support.frames import read_index
from support.video_files import avi_jpeg_chunks, write_video


def avi_source(path, **kwargs):
    made = []

    def opencv_source():
        made.append(opencv_sources.VideoFileSource(path, **kwargs))
        return made[-1]
    source = MjpegAviSource(path, opencv_source=opencv_source, **kwargs)
    source.opencv_made = made
    return source


def test_frames_are_the_file_chunks_at_its_rate_and_loop(tmp_path):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 6, fps=25.0)
    chunks = avi_jpeg_chunks(path)
    source = avi_source(path, loop=True)
    source.open()
    assert 'AVI read without OpenCV' in source.description and '320x240 at 25 fps' in source.description, \
        source.description
    started = time.time()
    got = [source.read() for _ in range(13)]
    elapsed = time.time() - started
    assert [f.jpeg for f in got] == chunks * 2 + chunks[:1]
    assert [read_index(f.pixels()) for f in got[:6]] == list(range(6))
    assert not source.opencv_made
    # Paced at the file's 25 fps: 12 periods (0.48 s), give or take this machine's sleeps.
    assert 0.4 < elapsed < 1.5, '13 frames at 25 fps took %.2f s' % elapsed


def test_end_of_file_without_loop(tmp_path):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 3)
    source = avi_source(path, fps=1000, loop=False)
    source.open()
    assert [source.read() is not None for _ in range(3)] == [True] * 3
    assert source.read() is None


def test_missing_and_removed_file_are_source_errors(tmp_path):
    path = str(tmp_path / 'clip.avi')
    source = avi_source(path, fps=1000)
    with pytest.raises(SourceError) as error:
        source.open()
    assert 'video file %s does not exist' % path in str(error.value)
    write_video(path, 2)
    source.open()
    source.read(), source.read()
    os.rename(path, path + '.away')
    with pytest.raises(SourceError) as error:
        source.read()
    assert 'does not exist' in str(error.value) and not source.opencv_made


@pytest.mark.parametrize('case', ['lossless', 'resized'])
def test_other_files_go_to_opencv(tmp_path, case):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 3, fourcc='FFV1' if case == 'lossless' else 'MJPG')
    options = dict(fps=1000, width=160 if case == 'resized' else 0)
    source = avi_source(path, **options)
    source.open()
    assert len(source.opencv_made) == 1 and 'read by OpenCV' in source.description, source.description
    assert ('FFV1' if case == 'lossless' else 'resized to 160x120') in source.description, source.description
    opencv_alone = opencv_sources.VideoFileSource(path, **options)
    opencv_alone.open()
    for _ in range(3):
        assert np.array_equal(source.read().image, opencv_alone.read().image)


def riff(chunk_id, payload):
    return struct.pack('<4sI', chunk_id, len(payload)) + payload + (b'\0' if len(payload) % 2 else b'')


def test_opendml_continuation_audio_and_odd_sizes(tmp_path):
    """Frames in a second RIFF (AVIX), a 'rec ' list, an audio stream before the video one, odd sizes."""
    written = str(tmp_path / 'written.avi')
    write_video(written, 3)
    jpegs = avi_jpeg_chunks(written)
    jpegs[0] += b'\0' * (1 - len(jpegs[0]) % 2)  # padding after the end marker: an odd size
    avih = struct.pack('<I28xII', 50000, 320, 240) + b'\0' * 16
    audio = riff(b'LIST', b'strl' + riff(b'strh', b'auds' + b'\0' * 52))
    video = riff(b'LIST', b'strl' + riff(b'strh', struct.pack('<4s4s12xII', b'vids', b'MJPG', 1, 25) + b'\0' * 24)
                 + riff(b'strf', struct.pack('<16x4s', b'MJPG') + b'\0' * 20))
    header = riff(b'LIST', b'hdrl' + riff(b'avih', avih) + audio + video)
    movi = riff(b'LIST', b'movi' + riff(b'00wb', b'sound') + riff(b'01dc', jpegs[0])
                + riff(b'LIST', b'rec ' + riff(b'01dc', jpegs[1])) + riff(b'ix01', b'\0' * 24))
    more = riff(b'RIFF', b'AVIX' + riff(b'LIST', b'movi' + riff(b'JUNK', b'x' * 3) + riff(b'01dc', jpegs[2])))
    path = str(tmp_path / 'odml.avi')
    with open(path, 'wb') as out:
        out.write(riff(b'RIFF', b'AVI ' + header + movi + riff(b'idx1', b'\0' * 16)) + more)
    source = avi_source(path, fps=1000, loop=False)
    source.open()
    with open(path, 'rb') as stream:  # the stream's rate (25 fps), not the main header's 50 ms
        assert mjpeg_avi.read_header(stream) == (25.0, (320, 240), b'01dc')
    assert [source.read().jpeg for _ in range(3)] == jpegs and source.read() is None


def test_not_an_avi():
    with pytest.raises(mjpeg_avi.NotMjpegAvi):
        mjpeg_avi.read_header(io.BytesIO(b'\x1aE\xdf\xa3 a matroska file'))
