"""A camera file that goes away under server.launch (both pipelines): the real capture stops, the
built-in server says stale and sends its placeholder, then live frames on the same connection."""
import os
import shutil
import tempfile
import time

import numpy as np
import pytest

from camera_server import placeholder
from support.stream_client import MjpegStream, http_get
from support.video_files import write_video
from support.waits import wait_until
from support.web_checks import PIPELINES, TOPIC, decode, server_launch


@pytest.mark.parametrize('pipeline', PIPELINES)
def test_real_nodes_camera_file_gone_placeholder_then_back_on_the_same_connection(pipeline):
    """server.launch with an MJPG file that disappears: the real capture stops delivering."""
    folder = tempfile.mkdtemp(prefix='camera_server_liveness_')
    path = os.path.join(folder, 'clip.avi')
    write_video(path, 60, fourcc='MJPG', fps=30.0)
    try:
        with server_launch(device=path, loop='true', reconnect_interval='0.2', stale_after='1.0',
                           pipeline=pipeline) as launched:
            stream = MjpegStream(launched.port, '/stream?topic=%s' % TOPIC)
            try:
                live_headers, _ = stream.read_frame()
                os.rename(path, path + '.away')
                gone_at = time.time()
                wait_until(lambda: [t for t in launched.health()['topics'] if t['stale']], 5, '/health says stale')
                topic = [t for t in launched.health()['topics'] if t['topic'] == TOPIC + '/compressed'][0]
                assert topic['stale_reason'].startswith('no message for'), topic
                status, _, body = http_get(launched.port, '/snapshot?topic=%s' % TOPIC)
                assert status == 503 and b'no signal: no message for' in body, (status, body)
                wait_until(lambda: 'stale, no message for' in launched.log(), 10, 'the server logged the fault')
                while True:  # the placeholder: its flat dark background in every corner, text in the middle
                    headers, payload = stream.read_frame()
                    image = decode(payload).astype(int)
                    corners = np.concatenate([image[:8, :8], image[:8, -8:], image[-8:, :8], image[-8:, -8:]])
                    if abs(corners - placeholder.BACKGROUND[0]).max() < 12:
                        break
                    assert time.time() < gone_at + 10, 'no placeholder 10 s after the file went'
                assert image.shape == (240, 320, 3) and (image > 200).any(), image.shape
                os.rename(path + '.away', path)
                back_at = time.time()
                while True:  # a live frame captured after the file came back
                    headers, payload = stream.read_frame()
                    corners = decode(payload)[:8, :8].astype(int)
                    if float(headers['x-timestamp']) > back_at and abs(corners - placeholder.BACKGROUND[0]).max() >= 12:
                        break
                    assert time.time() < back_at + 5, 'no live frame 5 s after the file came back'
                wait_until(lambda: not [t for t in launched.health()['topics'] if t['stale']], 3, '/health live')
                time.sleep(1.0)
            finally:
                stream.close()
            try:
                wait_until(lambda: 'messages again after' in launched.log(), 20, 'the recovery logged')
            except AssertionError as err:
                raise AssertionError('%s; /health %s; log:\n%s' % (err, launched.health(), launched.log()[-3000:]))
            lines = launched.log().splitlines()
            faults = [line for line in lines if 'stale, no message for' in line]
            recoveries = [line for line in lines if 'messages again after' in line]
            assert len(faults) == 1 and len(recoveries) == 1, (faults, recoveries, len(lines), lines[-5:])
    finally:
        shutil.rmtree(folder)
