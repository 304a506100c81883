"""The built-in web server in this process on port 0, fed by fake topics (tests of the server tier)."""
import json

from camera_server.web_params import DEFAULT_CONFIG
from camera_server.web_server import CameraWebServer
from support.fake_topics import Camera, FakeTopics
from support.logs import RecordingLog
from support.stream_client import http_get


class Harness(object):
    def __init__(self, **config):
        self.topics = FakeTopics()
        self.log = RecordingLog()
        self.server = CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG._replace(**config),
                                      self.topics.topic_types, self.topics.subscribe, self.log)
        self.server.start()
        self.port = self.server.port
        self.cameras = []

    def camera(self, **kwargs):
        cam = Camera(self.topics, **kwargs).start()
        self.cameras.append(cam)
        return cam

    def health(self):
        status, _, body = http_get(self.port, '/health')
        assert status == 200, status
        return json.loads(body.decode('utf-8'))

    def close(self):
        for cam in self.cameras:
            cam.stop()
        self.server.stop()
