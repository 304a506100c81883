#!/usr/bin/env python3
"""A viewer on another host of test_netns.py, run there with ``ip netns exec``.

    netns_client.py get HOST PORT TARGET          one JSON line: status, headers, body
    netns_client.py stream HOST PORT TARGET       one JSON line per frame until killed

A stream frame is decoded and told apart: "live" (the test pattern's white first bar at
the left edge) or "placeholder" (the web server's dark "no signal" picture).
"""
import json
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # test/: support
from support.stream_client import MjpegStream, http_get  # noqa: E402

TIMEOUT_S = 30.0


def kind_of(image):
    edge = float(image[image.shape[0] // 3:image.shape[0] * 2 // 3, 2:image.shape[1] // 20].mean())
    return 'live' if edge > 200 else 'placeholder' if edge < 60 else 'other %.0f' % edge


def get(host, port, target):
    status, headers, body = http_get(int(port), target, timeout=TIMEOUT_S, host=host)
    text = body.decode('utf-8', 'replace') if not headers.get('content-type', '').startswith('image/') else ''
    print(json.dumps({'status': status, 'headers': headers, 'body': text, 'bytes': len(body)}))


def stream(host, port, target):
    viewer = MjpegStream(int(port), target, timeout=TIMEOUT_S, host=host)
    print(json.dumps({'status': viewer.status, 'headers': viewer.headers}), flush=True)
    while viewer.status == 200:
        part, payload = viewer.read_frame()
        image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        print(json.dumps({'t': time.time(), 'stamp': float(part['x-timestamp']),
                          'kind': 'undecodable' if image is None else kind_of(image),
                          'shape': None if image is None else list(image.shape)}), flush=True)


if __name__ == '__main__':
    {'get': get, 'stream': stream}[sys.argv[1]](*sys.argv[2:5])
