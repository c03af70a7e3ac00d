"""Assertions shared by the Python client scripts: a failure prints one
line to stderr and exits non-zero, which fails the Go test running it."""

import sys


def fail(what):
    print('FAIL: ' + what, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def ok(result, what):
    """Asserts an imaplib (typ, data) result is OK and returns data."""
    typ, data = result
    check(typ == 'OK', '%s: want OK, got %s %r' % (what, typ, data))
    return data
