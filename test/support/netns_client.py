#!/usr/bin/env python3
"""A viewer on another host of test_netns.py, run there with ``ip netns exec``.

    netns_client.py get HOST PORT TARGET          one JSON line: status, headers, body
    netns_client.py stream HOST PORT TARGET       one JSON line per frame until killed

A stream frame is decoded and told apart: "live" (the test pattern's white first bar at
the left edge) or "placeholder" (the web server's dark "no signal" picture).
"""
import json
import os
import socket
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # test/: support
from support.stream_client import _read_head, _read_headers  # noqa: E402

TIMEOUT_S = 30.0


def connect(host, port, target):
    sock = socket.create_connection((host, int(port)), TIMEOUT_S)
    sock.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (target, host)).encode('latin-1'))
    reader = sock.makefile('rb')
    status_line, headers = _read_head(reader)
    return sock, reader, int(status_line.split()[1]), headers


def kind_of(image):
    edge = float(image[image.shape[0] // 3:image.shape[0] * 2 // 3, 2:image.shape[1] // 20].mean())
    return 'live' if edge > 200 else 'placeholder' if edge < 60 else 'other %.0f' % edge


def get(host, port, target):
    sock, reader, status, headers = connect(host, port, target)
    length = headers.get('content-length')
    body = reader.read(int(length)) if length is not None else reader.read()
    sock.close()
    text = body.decode('utf-8', 'replace') if not headers.get('content-type', '').startswith('image/') else ''
    print(json.dumps({'status': status, 'headers': headers, 'body': text, 'bytes': len(body)}))


def stream(host, port, target):
    sock, reader, status, headers = connect(host, port, target)
    print(json.dumps({'status': status, 'headers': headers}), flush=True)
    if status != 200:
        return
    reader.readline()  # the first boundary
    while True:
        part = _read_headers(reader)
        payload = reader.read(int(part['content-length']))
        reader.readline()
        reader.readline()
        image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        print(json.dumps({'t': time.time(), 'stamp': float(part['x-timestamp']),
                          'kind': 'undecodable' if image is None else kind_of(image),
                          'shape': None if image is None else list(image.shape)}), flush=True)


if __name__ == '__main__':
    {'get': get, 'stream': stream}[sys.argv[1]](*sys.argv[2:5])
