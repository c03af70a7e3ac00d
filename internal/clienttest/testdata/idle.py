#!/usr/bin/python3
"""IDLE from Python, timing how fast the server pushes changes.

Usage: idle.py PORT CAFILE

imaplib in Python 3.11 has no idle(): like users do, the script sends the
raw command with _new_tag() and send(), and reads lines with readline().
A reader thread timestamps each pushed line; the main thread APPENDs, and
later EXPUNGEs, on a second connection. Prints
"push latency exists: N ms" and "push latency expunge: N ms", measured
from just before the second connection sends its command, and fails if a
push takes a second or more.
"""

import imaplib
import queue
import re
import ssl
import sys
import threading
import time

from checks import check, fail, ok

PORT, CAFILE = int(sys.argv[1]), sys.argv[2]
USER, PASSWORD = 'alice@example.org', 'secret'
LIMIT = 1.0  # seconds


ctx = ssl.create_default_context(cafile=CAFILE)
MSG = (b'From: Bob <bob@example.org>\r\nTo: alice@example.org\r\n'
       b'Subject: ping %d\r\nMessage-ID: <ping-%d@example.org>\r\n\r\nping\r\n')

idler = imaplib.IMAP4_SSL('127.0.0.1', PORT, ssl_context=ctx)
ok(idler.login(USER, PASSWORD), 'LOGIN (idler)')
data = ok(idler.select('INBOX'), 'SELECT (idler)')
check(data == [b'0'], 'fresh INBOX has %r messages' % data)
check('IDLE' in idler.capabilities, 'no IDLE capability: %r' % (idler.capabilities,))
idler.sock.settimeout(10)

other = imaplib.IMAP4_SSL('127.0.0.1', PORT, ssl_context=ctx)
ok(other.login(USER, PASSWORD), 'LOGIN (other)')

tag = idler._new_tag()
idler.send(tag + b' IDLE\r\n')
line = idler.readline()
check(line.startswith(b'+'), 'IDLE: want a continuation, got %r' % line)

lines = queue.Queue()


def read_pushes():
    while True:
        try:
            line = idler.readline()
        except OSError as e:
            lines.put((time.monotonic(), e))
            return
        lines.put((time.monotonic(), line))
        if not line or line.startswith(tag):
            return


reader = threading.Thread(target=read_pushes, daemon=True)
reader.start()


def wait_for(pattern, since, what):
    """Waits for a pushed line matching pattern; returns its delay."""
    deadline = time.monotonic() + 5
    while True:
        try:
            when, line = lines.get(timeout=max(0, deadline - time.monotonic()))
        except queue.Empty:
            fail('%s: nothing pushed within 5 s' % what)
        if isinstance(line, Exception) or not line:
            fail('%s: connection failed: %r' % (what, line))
        if re.match(pattern, line):
            return when - since
        # Other untagged data (FETCH flags, RECENT) may come first.
        check(line.startswith(b'* '), '%s: unexpected line %r' % (what, line))


# A new message on another connection arrives as EXISTS.
sent = time.monotonic()
ok(other.append('INBOX', None, None, MSG % (1, 1)), 'APPEND (other)')
appended = time.monotonic()
delay = wait_for(rb'\* 1 EXISTS\r\n', sent, 'EXISTS after APPEND')
print('push latency exists: %.1f ms' % (delay * 1000))
# Most of that is imaplib's APPEND: it writes the literal and the final
# CRLF separately, and Nagle's algorithm holds the CRLF until the server's
# delayed ACK (about 40 ms on Linux). The push itself follows the commit.
print('(the APPEND itself took %.1f ms)' % ((appended - sent) * 1000))
check(delay < LIMIT, 'EXISTS took %.3f s' % delay)

# A second message, then an expunge of the first, arrives as EXPUNGE.
ok(other.append('INBOX', None, None, MSG % (2, 2)), 'APPEND 2 (other)')
wait_for(rb'\* 2 EXISTS\r\n', sent, 'EXISTS after the second APPEND')
ok(other.select('INBOX'), 'SELECT (other)')
ok(other.store('1', '+FLAGS.SILENT', r'\Deleted'), 'STORE (other)')
sent = time.monotonic()
data = ok(other.expunge(), 'EXPUNGE (other)')
check(data == [b'1'], 'EXPUNGE answered %r' % data)
delay = wait_for(rb'\* 1 EXPUNGE\r\n', sent, 'EXPUNGE')
print('push latency expunge: %.1f ms' % (delay * 1000))
check(delay < LIMIT, 'EXPUNGE took %.3f s' % delay)

# DONE ends IDLE with the tagged OK.
idler.send(b'DONE\r\n')
reader.join(5)
check(not reader.is_alive(), 'no tagged response to DONE')
last = None
while not lines.empty():
    last = lines.get()[1]
check(isinstance(last, bytes) and last.startswith(tag + b' OK'), 'IDLE ended with %r' % (last,))

# The connection is usable afterwards: the idler sees one message.
data = ok(idler.select('INBOX'), 'SELECT after IDLE')
check(data == [b'1'], 'INBOX after IDLE: %r' % data)
idler.logout()
other.logout()
print('idle scenario passed')
