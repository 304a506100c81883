"""The web pages' files in www/ (package data, so found beside this module in a source
tree, a devel space, an install space and the Docker image alike).

- ``*.html``: templates (string.Template, ``${name}``) that viewer.py fills in; never served as they are.
- ``*.js``, ``*.css``: assets, served unchanged under ASSET_PREFIX with an ETag (see web_server).
"""
import hashlib
import io
import os
from collections import namedtuple
from string import Template

WWW = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'www')
ASSET_PREFIX = '/assets/'
ASSET_TYPES = {'.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8'}

# One asset as it goes out: its bytes, Content-Type and ETag (a hash of the bytes, quoted).
Asset = namedtuple('Asset', 'body content_type etag')


def template(name):
    """www/``name`` as a Template; its final newline is not part of it (fragments go inline)."""
    with io.open(os.path.join(WWW, name), encoding='utf-8') as source:
        return Template(source.read().rstrip('\n'))


def load_assets():
    """{URL path: Asset} of every script and style sheet in www/."""
    assets = {}
    for name in sorted(os.listdir(WWW)):
        content_type = ASSET_TYPES.get(os.path.splitext(name)[1])
        if content_type:
            with open(os.path.join(WWW, name), 'rb') as source:
                body = source.read()
            assets[ASSET_PREFIX + name] = Asset(body, content_type, '"%s"' % hashlib.sha1(body).hexdigest()[:20])
    return assets
