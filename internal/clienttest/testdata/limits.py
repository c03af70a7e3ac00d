#!/usr/bin/python3
"""Message size limits as imaplib users meet them.

Usage: limits.py PORT CAFILE LIMIT

The server runs with a message size limit of LIMIT octets. imaplib always
sends synchronizing literals: an APPEND over the limit must come back as
NO [TOOBIG] instead of the continuation (imaplib returns it, it does not
raise), the same connection must go on working, and one just under the
limit must be stored intact.
"""

import imaplib
import ssl
import sys

from checks import check, fail

PORT, CAFILE, LIMIT = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def message(size):
    head = (b'From: Bob <bob@example.org>\r\nTo: alice@example.org\r\n'
            b'Subject: %d octets\r\nMessage-ID: <size-%d@example.org>\r\n\r\n' % (size, size))
    line = b'x' * 998 + b'\r\n'
    body = (line * (size // len(line) + 1))[:size - len(head) - 2] + b'\r\n'
    msg = head + body
    check(len(msg) == size, 'built %d octets, want %d' % (len(msg), size))
    return msg


ctx = ssl.create_default_context(cafile=CAFILE)
mail = imaplib.IMAP4_SSL('127.0.0.1', PORT, ssl_context=ctx)
typ, data = mail.login('alice@example.org', 'secret')
check(typ == 'OK', 'LOGIN: %s %r' % (typ, data))
# imaplib keeps the capabilities from before LOGIN; ask again.
typ, data = mail.capability()
check(typ == 'OK' and ('APPENDLIMIT=%d' % LIMIT).encode() in data[0].split(), 'no APPENDLIMIT=%d in %r' % (LIMIT, data))

typ, data = mail.append('INBOX', None, None, message(LIMIT + 1))
check(typ == 'NO' and data[0].startswith(b'[TOOBIG]'), 'APPEND of LIMIT+1 octets: %s %r' % (typ, data))
print('over the limit: %s %r' % (typ, data))

typ, data = mail.noop()
check(typ == 'OK', 'NOOP after the refused APPEND: %s %r' % (typ, data))
typ, data = mail.append('INBOX', None, None, message(LIMIT))
check(typ == 'OK', 'APPEND of LIMIT octets: %s %r' % (typ, data))
typ, data = mail.select('INBOX')
check(typ == 'OK' and data == [b'1'], 'SELECT: %s %r' % (typ, data))
typ, data = mail.fetch('1', '(RFC822.SIZE BODY.PEEK[])')
check(typ == 'OK' and data[0][1] == message(LIMIT), 'the message at the limit came back changed')
mail.logout()
print('limits scenario passed')
