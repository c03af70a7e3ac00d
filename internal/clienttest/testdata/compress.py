#!/usr/bin/python3
"""COMPRESS=DEFLATE (RFC 4978) from a client written with Python's zlib.

Usage: compress.py PORT CAFILE FLUSH

FLUSH is "sync" (Z_SYNC_FLUSH after each command, what most clients do)
or "partial" (Z_PARTIAL_FLUSH, which leaves the stream unaligned: a
decoder that waits for more bits than the client sent never answers).
The script logs in, turns on compression, appends a 1 MB message and a
small one, fetches both back and compares them, and logs out, all over
the compressed stream. Every read has a timeout, so a blocked decoder
fails the script instead of hanging it.
"""

import socket
import ssl
import sys
import zlib

from checks import check, fail

PORT, CAFILE, FLUSH = int(sys.argv[1]), sys.argv[2], sys.argv[3]
MODE = {'sync': zlib.Z_SYNC_FLUSH, 'partial': zlib.Z_PARTIAL_FLUSH}[FLUSH]


class Conn:
    def __init__(self):
        ctx = ssl.create_default_context(cafile=CAFILE)
        raw = socket.create_connection(('127.0.0.1', PORT), timeout=20)
        self.s = ctx.wrap_socket(raw, server_hostname='localhost')
        self.buf = b''
        self.comp = None
        self.decomp = None

    def send(self, data):
        if self.comp:
            data = self.comp.compress(data) + self.comp.flush(MODE)
        self.s.sendall(data)

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            fail('connection closed by the server')
        if self.decomp:
            chunk = self.decomp.decompress(chunk)
        self.buf += chunk

    def line(self):
        while b'\r\n' not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def command(self, tag, text):
        """Sends a command, returns (untagged lines, literals, tagged line)."""
        self.send(b'%s %s\r\n' % (tag, text))
        return self.responses(tag)

    def responses(self, tag):
        untagged, literals = [], []
        while True:
            line = self.line()
            if line.startswith(tag + b' '):
                return untagged, literals, line
            if line.endswith(b'}') and b'{' in line:
                n = int(line[line.rindex(b'{') + 1:-1])
                literals.append(self.exact(n))
                line += self.line()
            untagged.append(line)


def message(n, size):
    head = b'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: compressed %d\r\n\r\n' % n
    body = b''
    i = 0
    while len(body) < size:
        body += b'line %d of a message that compresses well, or not: %x\r\n' % (i, (i * 2654435761) % 2**32)
        i += 1
    return head + body


c = Conn()
greeting = c.line()
check(greeting.startswith(b'* OK'), 'greeting %r' % greeting)
_, _, tagged = c.command(b'a1', b'LOGIN alice@example.org secret')
check(tagged.startswith(b'a1 OK'), 'login: %r' % tagged)
check(b'COMPRESS=DEFLATE' in tagged, 'COMPRESS=DEFLATE not advertised: %r' % tagged)

_, _, tagged = c.command(b'a2', b'COMPRESS DEFLATE')
check(tagged.startswith(b'a2 OK'), 'compress: %r' % tagged)
check(c.buf == b'', 'data after the OK of COMPRESS arrived uncompressed: %r' % c.buf)
c.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
c.decomp = zlib.decompressobj(-15)

_, _, tagged = c.command(b'a3', b'SELECT INBOX')
check(tagged.startswith(b'a3 OK'), 'select: %r' % tagged)

msgs = [message(1, 1 << 20), message(2, 300)]
for i, m in enumerate(msgs):
    tag = b'p%d' % i
    c.send(b'%s APPEND INBOX {%d}\r\n' % (tag, len(m)))
    cont = c.line()
    check(cont.startswith(b'+'), 'append continuation: %r' % cont)
    # Send the literal in pieces, each flushed, as a client streaming a
    # large message does.
    for off in range(0, len(m), 100000):
        c.send(m[off:off + 100000])
    c.send(b'\r\n')
    _, _, tagged = c.responses(tag)
    check(tagged.startswith(tag + b' OK'), 'append %d: %r' % (i, tagged))

untagged, literals, tagged = c.command(b'a4', b'FETCH 1:* BODY.PEEK[]')
check(tagged.startswith(b'a4 OK'), 'fetch: %r' % tagged)
check(literals == msgs, 'fetched messages differ from appended ones (%d literals)' % len(literals))

# A second COMPRESS is refused, and the stream goes on working.
_, _, tagged = c.command(b'a5', b'COMPRESS DEFLATE')
check(tagged.startswith(b'a5 BAD'), 'second compress: %r' % tagged)
_, _, tagged = c.command(b'a6', b'NOOP')
check(tagged.startswith(b'a6 OK'), 'noop: %r' % tagged)

untagged, _, tagged = c.command(b'a7', b'LOGOUT')
check(any(l.startswith(b'* BYE') for l in untagged), 'no BYE: %r' % untagged)
check(tagged.startswith(b'a7 OK'), 'logout: %r' % tagged)
print('compress %s: ok' % FLUSH)
