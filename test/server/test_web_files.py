"""The pages' scripts and style sheet (www/, web_files.py): every one a page refers to is served
by the real server with its type, an ETag and a revalidation rule, and the templates are not."""
import os
import re

import pytest

from camera_server import web_files
from support.stream_client import http_get


def referred_assets(port, target):
    status, _, body = http_get(port, target)
    assert status == 200, (target, status)
    return re.findall(r'(?:src|href)="(%s[^"]+)"' % web_files.ASSET_PREFIX, body.decode('utf-8'))


def test_every_asset_a_page_refers_to_is_served_with_type_etag_and_revalidation(harness):
    server = harness()
    topic = server.camera().topic
    referred = set(referred_assets(server.port, '/') + referred_assets(server.port, '/stream_viewer?topic=' + topic))
    on_disk = set(web_files.ASSET_PREFIX + name for name in os.listdir(web_files.WWW) if name.endswith(('.js', '.css')))
    assert referred == on_disk, 'referred %s, in www/ %s' % (sorted(referred), sorted(on_disk))
    for path in sorted(referred):
        status, headers, body = http_get(server.port, path)
        with open(os.path.join(web_files.WWW, path[len(web_files.ASSET_PREFIX):]), 'rb') as source:
            assert status == 200 and body == source.read(), (path, status, len(body))
        kind = 'text/css' if path.endswith('.css') else 'text/javascript'
        assert headers['content-type'] == kind + '; charset=utf-8', (path, headers)
        assert headers['cache-control'] == 'no-cache' and headers['x-content-type-options'] == 'nosniff', headers
        etag = headers['etag']
        assert re.match(r'^"[0-9a-f]{20}"$', etag), etag
        status, again, body = http_get(server.port, path, [('If-None-Match', 'W/"old", ' + etag)])
        assert status == 304 and body == b'' and again['etag'] == etag, (path, status, again, body[:100])
        status, _, body = http_get(server.port, path, [('If-None-Match', '"old"')])
        assert status == 200 and len(body) == int(headers['content-length']), (path, status)


@pytest.mark.parametrize('path', ['/assets/stream_viewer.html', '/assets/', '/assets/../web_files.py',
                                  '/assets/nope.js', '/assets/viewer.js/'])
def test_templates_and_other_paths_are_not_served(harness, path):
    status, _, body = http_get(harness().port, path)
    assert status == 404, (path, status, body[:200])
