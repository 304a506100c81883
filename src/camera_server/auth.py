"""HTTP basic authentication: the accepted credentials and their check; no sockets here.

Every accepted entry is compared with what the client sent, as SHA-256 digests of equal
length through hmac.compare_digest, and all of them always are (no early exit), so the
time a check takes says nothing about how much of a password was right or which entry
came close. A header that is not exactly ``Basic <base64 of user:password>`` (strict
base64, a colon, a non-empty user and password) never matches anything.
"""
import base64
import binascii
import hashlib
import hmac
import re

from camera_server.compat import to_bytes

AUTH_ENV = 'CAMERA_SERVER_AUTH'  # "user:password", the alternative to ~auth_file
MAX_TOKEN_CHARS = 4096  # a longer Authorization value is refused before any decoding
_BASE64 = re.compile(r'^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$')


def load_credentials(auth_file, env_value):
    """The accepted 'user:password' entries from ``auth_file`` (one per line, # comments) and ``env_value``.

    Raises ValueError naming the source when it cannot be read or an entry is not user:password.
    """
    entries = []
    if auth_file:
        try:
            with open(auth_file) as handle:
                lines = handle.read().splitlines()
        except (IOError, OSError) as err:
            raise ValueError('~auth_file %r cannot be read: %s' % (auth_file, err))
        entries += [(line.strip(), '~auth_file ' + auth_file) for line in lines
                    if line.strip() and not line.strip().startswith('#')]
    if env_value:
        entries.append((env_value.strip(), '$' + AUTH_ENV))
    for entry, origin in entries:
        user, sep, password = entry.partition(':')
        if not (user and sep and password):
            raise ValueError('%s: each credential must be user:password (non-empty user and password)' % origin)
    return tuple(entry for entry, _ in entries)


def parse_basic_auth(header_value):
    """The b'user:password' bytes of an ``Authorization: Basic ...`` value, or None when it is not one.

    None for another scheme, a token that is not strict base64 (Python's decoder silently
    drops stray characters), no colon, an empty user or password, or a value over MAX_TOKEN_CHARS.
    """
    if not header_value or len(header_value) > MAX_TOKEN_CHARS:
        return None
    scheme, _, token = header_value.strip().partition(' ')
    token = token.strip()
    if scheme.lower() != 'basic' or not token or not _BASE64.match(token):
        return None
    try:
        decoded = base64.b64decode(to_bytes(token))
    except (binascii.Error, TypeError, ValueError, UnicodeError):
        return None
    user, sep, password = decoded.partition(b':')
    if not (user and sep and password):
        return None
    return decoded


class BasicAuth(object):
    """The check of an Authorization header against ``entries`` ('user:password' strings)."""

    def __init__(self, entries):
        self._digests = tuple(hashlib.sha256(to_bytes(entry)).digest() for entry in entries)

    @property
    def enabled(self):
        return bool(self._digests)

    def accepts(self, header_value):
        """True when ``header_value`` carries one of the entries; constant time in what was sent."""
        given = parse_basic_auth(header_value)
        digest = hashlib.sha256(given or b'').digest()
        matched = False
        for accepted in self._digests:
            matched |= hmac.compare_digest(digest, accepted)
        return given is not None and matched
