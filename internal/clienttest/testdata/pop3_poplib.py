#!/usr/bin/python3
"""Download and delete every message with poplib, the way the POP3 issue
writes it, then check that a second session finds the maildrop empty.

Usage: pop3_poplib.py implicit|stls PORT CAFILE COUNT

implicit: POP3_SSL on the implicit-TLS port (995 in production).
stls: POP3 on the plain port (110); USER must fail before stls() with
the server's reason, and work after it.

Prints one line per message retrieved: "message N OCTETS SHA256", the
digest over the message as poplib returns it (lines joined with CRLF,
with a final CRLF), for the Go test to compare with what it stored.
"""

import hashlib
import poplib
import ssl
import sys

from checks import check, fail

MODE, PORT, CAFILE, COUNT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

ctx = ssl.create_default_context(cafile=CAFILE)

if MODE == 'implicit':
    p = poplib.POP3_SSL('127.0.0.1', PORT, context=ctx)
elif MODE == 'stls':
    p = poplib.POP3('127.0.0.1', PORT)
    caps = p.capa()
    check('STLS' in caps, 'no STLS before TLS: %r' % (caps,))
    check('USER' not in caps and 'SASL' not in caps, 'CAPA offers passwords before TLS: %r' % (caps,))
    try:
        p.user('alice@example.org')
        fail('USER before STLS succeeded')
    except poplib.error_proto as e:
        check(e.args[0].startswith(b'-ERR [AUTH] ') and b'STLS' in e.args[0], 'USER before STLS: %r' % (e.args,))
        print('USER before STLS refused: %s' % e.args[0].decode())
    p.stls(context=ctx)
    caps = p.capa()
    check('USER' in caps and 'STLS' not in caps, 'CAPA after STLS: %r' % (caps,))
else:
    fail('unknown mode ' + MODE)

caps = p.capa()
for c in ('TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'UTF8'):
    check(c in caps, 'CAPA lacks %s: %r' % (c, caps))

# The script, as a user writes it (with the checks around it).
p.user('alice@example.org'); p.pass_('secret')
count, size = p.stat()
check(count == COUNT, 'STAT says %d messages, want %d' % (count, COUNT))

_, listing, _ = p.list()
sizes = {int(n): int(o) for n, o in (l.split() for l in listing)}
_, uidls, _ = p.uidl()
check(len(uidls) == count and len(set(uidls)) == count, 'UIDL: %r' % (uidls[:5],))
check(sum(sizes.values()) == size, 'LIST sizes add up to %d, STAT says %d' % (sum(sizes.values()), size))

for i in range(1, count + 1):
    _, lines, octets = p.retr(i)
    check(octets == sizes[i], 'message %d: RETR brought %d octets, LIST said %d' % (i, octets, sizes[i]))
    data = b'\r\n'.join(lines) + b'\r\n'
    print('message %d %d %s' % (i, octets, hashlib.sha256(data).hexdigest()))
    p.dele(i)
resp = p.quit()
check(resp.startswith(b'+OK'), 'QUIT: %r' % (resp,))

# A second session: nothing left.
p = poplib.POP3_SSL('127.0.0.1', PORT, context=ctx) if MODE == 'implicit' else poplib.POP3('127.0.0.1', PORT)
if MODE == 'stls':
    p.stls(context=ctx)
p.user('alice@example.org'); p.pass_('secret')
count, size = p.stat()
check((count, size) == (0, 0), 'after deleting everything: STAT %d %d' % (count, size))
p.quit()
print('done')
