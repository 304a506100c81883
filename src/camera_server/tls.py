"""HTTPS for the built-in server: the server's TLS context from ~certfile/~keyfile; no sockets here.

Python 2.7.9+ and 3 (ssl.SSLContext). Non-blocking TLS sockets say "not now" with
SSLWantReadError/SSLWantWriteError rather than EAGAIN (their errno numbers collide with
unrelated ones): WANT_IO is what the non-blocking readers and the stream writer catch.
"""
import ssl

from camera_server.compat import tls_server_context
from camera_server.params import ConfigError

WANT_IO = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _read(name, path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as err:
        raise ConfigError('~%s: %r cannot be read: %s; accepted values: a PEM file, or "" for plain HTTP'
                          % (name, path, err))


def server_context(certfile, keyfile):
    """An SSLContext serving ``certfile`` (PEM chain) with ``keyfile`` (PEM key; '' = in certfile); None for plain HTTP.

    Raises ConfigError naming the parameter when a file is missing, is not what it should be,
    or the key does not match the certificate.
    """
    if not certfile:
        if keyfile:
            raise ConfigError('~keyfile: %r is set but ~certfile is empty; accepted values: both, or '
                              '~certfile alone (key in the same file), or neither for plain HTTP' % keyfile)
        return None
    if b'-----BEGIN CERTIFICATE-----' not in _read('certfile', certfile):
        raise ConfigError('~certfile: %r holds no PEM certificate; accepted values: a PEM file '
                          '(-----BEGIN CERTIFICATE-----)' % certfile)
    key_name, key_path = ('keyfile', keyfile) if keyfile else ('certfile', certfile)
    if b'PRIVATE KEY-----' not in _read(key_name, key_path):
        raise ConfigError('~%s: %r holds no PEM private key; accepted values: a PEM file with the '
                          "certificate's private key" % (key_name, key_path))
    context = tls_server_context()
    try:
        context.load_cert_chain(certfile, keyfile or None)
    except (ssl.SSLError, IOError, OSError) as err:
        raise ConfigError('~certfile %r and ~keyfile %r: not a usable certificate and matching key: %s'
                          % (certfile, keyfile, err))
    return context
