"""The threaded HTTP server behind web_video_server's URLs; no rospy here.

CameraWebServer accepts connections and reads their request heads in one thread (see
request_heads.HeadReader: a whole-head deadline, a cap on connections still sending, TLS
handshakes), then handles each complete request in a short daemon thread (handler_pool.HandlerPool, at most
``max_handler_threads`` at once); CameraRequestHandler routes /, /stream, /stream_viewer, /snapshot,
/health and the pages' scripts and style sheet under /assets/ (web_files). A /stream handler
sends the reply head, hands the socket to the one StreamWriter thread that writes every
stream, and ends. Topics come from two
injected callables: ``topic_types()`` (name -> message type of every advertised
topic) and ``subscribe(topic, msg_type, callback)`` (see fanout.StreamHub), so tests
drive the server with fake topics and real HTTP clients.
"""
import io
import logging
import socket
import threading
import traceback

from camera_server import http_replies as replies, url_api
from camera_server.auth import BasicAuth
from camera_server.compat import BaseHTTPRequestHandler, monotonic
from camera_server.fanout import StreamHub
from camera_server.ffmpeg_probe import EncoderUnavailable, VideoEncoders
from camera_server.framing import AdvanceFramer, MultipartFramer, VideoFramer, multipart_type
from camera_server.handler_pool import HandlerPool
from camera_server.health import health_report
from camera_server.liveness import LivenessMonitor
from camera_server.request_heads import HeadReader, close_connection, listen
from camera_server.stream_writer import StreamWriter
from camera_server.video_output import VideoOutput
from camera_server.viewer import stream_viewer_page, topic_list_page
from camera_server.web_files import ASSET_PREFIX, load_assets

AUTH_EXEMPT_PATHS = ('/health',)  # Docker's HEALTHCHECK needs no credentials


class CameraRequestHandler(BaseHTTPRequestHandler):
    """One connection: one request, one reply, then close (HTTP/1.0 like web_video_server).

    ``head`` is the request head HeadReader has already read: the standard library parses it
    from memory, and the socket is only written to.
    """

    server_version = replies.SERVER_NAME

    def __init__(self, request, client_address, server, head):
        self._head = head
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def setup(self):
        self.connection = self.request
        self.connection.settimeout(self.server.config.send_timeout)
        self.rfile = io.BytesIO(self._head)
        self.wfile = self.connection.makefile('wb', 0)

    def parse_request(self):
        if not self.raw_requestline.strip():  # the standard library would close without a word
            self.send_error(400, 'empty request line')
            return False
        return BaseHTTPRequestHandler.parse_request(self)

    def do_GET(self):
        try:
            self._dispatch()
        except url_api.HttpError as err:
            self._send(replies.error_reply(err.status, err.reason, self.server.config.cors_origin,
                                         err.headers))
        except (socket.error, socket.timeout) as err:  # the client went away mid-reply
            self.server.log.debug('%s: connection lost: %s' % (self.client_address[0], err))
        except Exception:  # a defect here must cost one reply, never the server
            self.server.handle_error(self.request, self.client_address)
            self.send_error(500, 'internal error, see the web server log')

    # web_video_server answers every method the same way.
    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def do_OPTIONS(self):
        """CORS preflight: the CORS headers and nothing else, for any path.

        Open with authentication on too: a browser never sends credentials with a preflight
        (Fetch standard), so a 401 here would break authenticated cross-origin use. It routes
        nothing, subscribes nothing and says nothing but the headers of cors_headers().
        """
        self._send(replies.reply(204, 'text/plain', b'', self.server.config.cors_origin))

    def send_error(self, code, message=None, explain=None):
        """Called by the standard library for malformed requests: one line of plain text."""
        self.close_connection = True
        reason = message or replies.REASONS.get(code, 'error')
        try:
            self._send(replies.error_reply(code, reason, self.server.config.cors_origin))
        except (socket.error, socket.timeout):
            pass

    def log_message(self, fmt, *args):
        self.server.log.debug('%s: %s' % (self.client_address[0], fmt % args))

    def _send(self, data):
        self.connection.sendall(data)

    def _dispatch(self):
        path, params = url_api.parse_target(self.path)
        if path not in AUTH_EXEMPT_PATHS:
            self._check_auth()
        route = {'/': self._topic_list, '/stream': self._stream, '/stream_viewer': self._stream_viewer,
                 '/snapshot': self._snapshot, '/health': self._health}.get(path)
        asset = self.server.assets.get(path)
        if asset is not None:
            self._send(replies.asset_reply(asset.body, asset.content_type, asset.etag,
                                           self.headers.get('If-None-Match'), self.server.config.cors_origin))
        elif route is None:
            raise url_api.HttpError(404, 'nothing at %s: the paths are /, /stream, /stream_viewer, '
                                         '/snapshot, /health and %s...' % (path[:200], ASSET_PREFIX))
        else:
            route(params)

    def _check_auth(self):
        auth = self.server.auth
        if auth.enabled and not auth.accepts(self.headers.get('Authorization')):
            raise url_api.HttpError(401, 'authentication required',
                                  [('WWW-Authenticate', 'Basic realm="camera_server"')])

    def _html(self, text):
        self._send(replies.reply(200, 'text/html; charset=utf-8', text.encode('utf-8'),
                               self.server.config.cors_origin))

    def _topic_list(self, params):
        self._html(topic_list_page(self.server.topic_types()))

    def _stream_viewer(self, params):
        request = url_api.parse_stream_request(params, self.server.config.default_stream_type)
        url_api.plan_source(request, self.server.topic_types())  # 404 now rather than in the page
        params = dict(params, topic=request.topic)
        self._html(stream_viewer_page(request.topic, request.type, params))

    def _attach(self, request, wake=None):
        limit = self.server.config.max_clients
        if 0 < limit <= self.server.hub.client_count():
            raise url_api.HttpError(503, 'server busy: %d clients already (~max_clients=%d)' % (limit, limit))
        topic, msg_type, spec = url_api.plan_source(request, self.server.topic_types())
        return self.server.hub.attach(topic, msg_type, spec, description=self.path[:200], wake=wake)

    def _snapshot(self, params):
        request = url_api.parse_stream_request(params, snapshot=True)
        client = self._attach(request)
        try:
            # A stale topic's cached frame is old news, and the frame may be a placeholder.
            silent = self.server.liveness.reason(client.output.feed)
            frame = None if silent else client.next_frame(self.server.config.snapshot_timeout)
            if frame is not None:  # the topic may have gone stale during the wait: then it is a placeholder
                silent = self.server.liveness.reason(client.output.feed)
        finally:
            self.server.hub.detach(client)
        if silent:
            raise url_api.HttpError(503, 'topic %s has no signal: %s' % (request.topic, silent))
        if frame is None:
            raise url_api.HttpError(504, 'no image arrived on %s within %.1f s'
                                  % (request.topic, self.server.config.snapshot_timeout))
        self._send(replies.snapshot_reply(frame.payload, frame.stamp, frame.content_type,
                                        self.server.config.cors_origin))

    def _stream(self, params):
        config = self.server.config
        request = url_api.parse_stream_request(params, config.default_stream_type)
        if request.video is not None:
            try:
                self.server.video_encoders.check(request.type)
            except EncoderUnavailable as err:
                raise url_api.HttpError(501, str(err))
            framer = VideoFramer(request.type)
        elif url_api.wants_advance_headers(params, self.headers.get('Accept')):
            # The first part's type, before any frame: what the output encodes (a camera's own is JPEG).
            framer = AdvanceFramer('image/png' if request.type == 'png' else 'image/jpeg')
        else:
            framer = MultipartFramer(multipart_type(self.headers.get('Accept')))
        client = self._attach(request, wake=self.server.writer.send_now)
        try:
            self.connection.settimeout(config.send_timeout)
            self._send(framer.head(config.cors_origin))
        except Exception:
            self.server.hub.detach(client)
            raise
        self.server.hand_over(self.connection, client, self.client_address[0], framer)

    def _health(self, params):
        server = self.server
        stats = health_report(server.hub, server.liveness, server.started, server.config.max_clients)
        self._send(replies.reply(200, 'application/json', replies.safe_json(stats), self.server.config.cors_origin))


class CameraWebServer(object):
    """The HTTP server: one thread accepts and reads heads, a short thread per request, one for all streams."""

    request_queue_size = 1024  # connections the kernel holds until the accept thread takes them (Linux caps it at somaxconn)
    max_handler_threads = 128  # requests handled at once (a snapshot waits in one up to ~snapshot_timeout); more wait their turn

    def __init__(self, address, config, topic_types, subscribe, log=None):
        self.config = config
        self.auth = BasicAuth(config.credentials)
        self.topic_types = topic_types
        self.assets = load_assets()  # {path: web_files.Asset}, read once: the files change only with the package
        self.log = log or logging.getLogger(__name__)
        self.video_encoders = VideoEncoders(config.ffmpeg, config.h264_encoder, self.log)
        self.hub = StreamHub(subscribe, self.log.info, {'video': VideoOutput.factory(self.video_encoders)})
        self._handed_over = set()  # sockets of streams, now the writer's
        self.started = monotonic()
        self._serve_thread = None
        self.socket = listen(address, self.request_queue_size)
        self.port = self.socket.getsockname()[1]
        self._handlers = HandlerPool(self._handle, self._refuse, self.max_handler_threads, config.max_pending_requests)
        self._heads = HeadReader(self.socket, self._handlers.submit, config.request_timeout,
                                 config.max_pending_requests, config.tls, self.log, config.cors_origin)
        self.writer = StreamWriter(self.hub.detach, config.send_timeout, config.publish_rate, self.log)
        self.liveness = LivenessMonitor(self.hub, config.stale_after, config.placeholders, self.log)

    def _refuse(self, sock, waiting):
        sock.setblocking(False)
        try:
            sock.send(replies.busy_reply(waiting, self.config.max_pending_requests, self.config.cors_origin))
        except (socket.error, ValueError):
            pass
        sock.close()

    def _handle(self, sock, address, head):
        """One request, in a handler thread; its connection is closed after, unless it became a stream."""
        try:
            CameraRequestHandler(sock, address, self, head)
        except Exception:
            self.handle_error(sock, address)
        finally:
            if sock in self._handed_over:
                self._handed_over.discard(sock)
            else:
                close_connection(sock)

    def hand_over(self, request, client, peer, framer):
        """Gives a stream's socket, its head sent, to the stream writer; the handler thread then ends."""
        self._handed_over.add(request)
        self.writer.add(request, client, peer, framer)

    def handle_error(self, request, client_address):
        self.log.error('unexpected error serving %s: %s' % (client_address[0], traceback.format_exc()))

    def start(self):
        """Serve in a background thread named 'http accept'."""
        self._serve_thread = threading.Thread(target=self._heads.run, name='http accept')
        self._serve_thread.daemon = True
        self._serve_thread.start()

    def stop(self):
        """Stop accepting, drop every client and subscription."""
        self._heads.stop()
        if self._serve_thread is not None:
            self._serve_thread.join(5.0)
            self._serve_thread = None
        self._handlers.close()
        self.socket.close()
        self.liveness.close()
        self.writer.close()
        self.hub.close()
