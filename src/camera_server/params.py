"""A node's private parameters as a schema: read once at start, validated, with clear errors.

A schema is a tuple of Param: the name, the default, and the function that validates a
value. ``read_params(schema, get_param)`` takes any ``get_param(name, default)`` callable
(``rospy.get_param`` with ``~`` names in a node, a dict lookup in the tests). Each node has
its schema (capture_params.py, web_params.py); the launch files and the README's tables
carry the same names and defaults (test/unit/test_params.py checks them).
"""
from collections import namedtuple

# One private parameter; ``parse(name, value)`` returns the value validated or raises ConfigError.
Param = namedtuple('Param', 'name default parse')


class ConfigError(ValueError):
    """A parameter with a value this package cannot use; the message names both and what is accepted."""


def number(name, value, kind, minimum, maximum=None, exclusive_min=False):
    """``value`` of parameter ``name`` as ``kind`` within the bounds, or ConfigError."""
    try:
        if isinstance(value, bool) or value is None:
            raise ValueError
        number = kind(value)
        if kind is int and float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError('~%s: %r is not a number; accepted values: %s'
                          % (name, value, _range_text(kind, minimum, maximum, exclusive_min)))
    too_low = number <= minimum if exclusive_min else number < minimum
    if too_low or (maximum is not None and number > maximum):
        raise ConfigError('~%s: %r is out of range; accepted values: %s'
                          % (name, value, _range_text(kind, minimum, maximum, exclusive_min)))
    return number


def _range_text(kind, minimum, maximum, exclusive_min):
    word = 'an integer' if kind is int else 'a number'
    low = ('> %s' if exclusive_min else '>= %s') % minimum
    return '%s %s%s' % (word, low, '' if maximum is None else ' and <= %s' % maximum)


def boolean(name, value):
    """``value`` of parameter ``name`` as a bool (true/false, 1/0, yes/no, on/off), or ConfigError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off'):
        return False
    raise ConfigError('~%s: %r is not a boolean; accepted values: true, false' % (name, value))


def choice(name, value, accepted):
    """``value`` when it is one of ``accepted``, or ConfigError listing them."""
    if value not in accepted:
        raise ConfigError('~%s: %r is not supported; accepted values: %s'
                          % (name, value, ', '.join(repr(a) if a == '' else a for a in accepted)))
    return value


def integer(minimum, maximum=None):
    return lambda name, value: number(name, value, int, minimum, maximum)


def real(minimum, maximum=None, exclusive_min=False):
    return lambda name, value: number(name, value, float, minimum, maximum, exclusive_min)


def one_of(accepted, normalise=lambda value: value):
    return lambda name, value: choice(name, normalise(value), accepted)


def text(name, value):
    return str(value)


def defaults(schema):
    """{name: default} of ``schema``."""
    return dict((param.name, param.default) for param in schema)


def read_params(schema, get_param):
    """{name: validated value} of every parameter of ``schema``; raises ConfigError on the first bad one."""
    return dict((param.name, param.parse(param.name, get_param(param.name, param.default))) for param in schema)


def unknown_params(node_name, param_names, known):
    """Names of ``node_name``'s own private parameters (among ``param_names``) not in ``known``: typos, mostly."""
    prefix = node_name.rstrip('/') + '/'
    private = set(name[len(prefix):] for name in param_names if name.startswith(prefix))
    return sorted(name for name in private - set(known) if '/' not in name)


def unknown_warning(node_name, param_names, schema):
    """The warning line about ``node_name``'s private parameters that ``schema`` does not know, or None."""
    unknown = unknown_params(node_name, param_names, defaults(schema))
    if not unknown:
        return None
    return ('ignoring unknown parameter(s) %s; the parameters are %s'
            % (', '.join('~' + name for name in unknown), ', '.join(sorted(defaults(schema)))))
