"""Basic authentication without sockets: what parses as credentials, and the constant-time check."""
import base64
import hmac

import pytest

from camera_server import auth


def basic(raw):
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


GOOD = basic(b'viewer:s3cret')


def test_well_formed_credentials_parse():
    assert auth.parse_basic_auth(basic(b'user:pa:ss')) == b'user:pa:ss'
    assert auth.parse_basic_auth('basic   ' + GOOD.split()[1]) == b'viewer:s3cret'  # scheme is case-insensitive
    assert auth.parse_basic_auth(basic(u'j\u00fcrgen:pw'.encode('utf-8'))) == u'j\u00fcrgen:pw'.encode('utf-8')


@pytest.mark.parametrize('value', [
    None, '', 'Basic', 'Basic ', GOOD.replace('Basic ', 'Bearer '), GOOD.replace(' ', ''),
    GOOD[:-2],  # padding cut: not strict base64
    GOOD[:12] + '!' + GOOD[12:],  # a stray character Python's lenient decoder would drop
    GOOD[:12] + '\n' + GOOD[12:],
    'Basic ' + GOOD.split()[1] * 2,
    basic(b'viewers3cret'), basic(b':s3cret'), basic(b'viewer:'), basic(b':'),
    u'Basic dmlld2VyOnMzY3JldA\u00e9=', u'Basic \u2603',
    basic(b'viewer:' + b'x' * 8000),  # 10 KB of header
])
def test_malformed_values_are_not_credentials(value):
    assert auth.parse_basic_auth(value) is None


def test_only_an_accepted_entry_passes():
    check = auth.BasicAuth(['viewer:s3cret', u'j\u00fcrgen:pw'])
    assert check.enabled and not auth.BasicAuth([]).enabled
    assert check.accepts(GOOD) and check.accepts(basic(u'j\u00fcrgen:pw'.encode('utf-8')))
    for value in (basic(b'viewer:s3cre'), basic(b'viewer:s3cret '), basic(b'Viewer:s3cret'),
                  GOOD[:12] + '!' + GOOD[12:], basic(b'viewer:s3cret\x00'), None):
        assert not check.accepts(value), value


def test_every_entry_is_compared_whatever_the_outcome(monkeypatch):
    """No early exit: the first entry matching costs as many comparisons as none matching."""
    calls = []
    real = hmac.compare_digest

    def counted(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)
    monkeypatch.setattr(auth.hmac, 'compare_digest', counted)
    check = auth.BasicAuth(['viewer:s3cret', 'other:pw', 'third:longer-password-here'])
    for value in (GOOD, basic(b'other:pw'), basic(b'nobody:x'), 'garbage', None):
        del calls[:]
        check.accepts(value)
        assert len(calls) == 3 and set(calls) == {(32, 32)}, (value, calls)


def test_credentials_file_errors_name_their_source(tmp_path):
    path = tmp_path / 'users'
    path.write_text(u'# viewers\nviewer:s3cret\n\n')
    assert auth.load_credentials(str(path), 'env:pw') == ('viewer:s3cret', 'env:pw')
    path.write_text(u'viewer\n')
    with pytest.raises(ValueError) as error:
        auth.load_credentials(str(path), '')
    assert '~auth_file' in str(error.value) and 'user:password' in str(error.value)
    with pytest.raises(ValueError) as error:
        auth.load_credentials('', ':pw')
    assert '$CAMERA_SERVER_AUTH' in str(error.value)
    with pytest.raises(ValueError) as error:
        auth.load_credentials(str(tmp_path / 'absent'), '')
    assert 'cannot be read' in str(error.value)
