#!/usr/bin/python3
"""The seed scenario, written the way a user writes it with imaplib.

Usage: seed.py implicit|starttls PORT CAFILE

implicit: IMAP4_SSL on the implicit-TLS port (993 in production).
starttls: IMAP4 on the plain port (143); LOGIN must fail before STARTTLS
with imaplib's error, and work after it.

Every step checks what the server answered; the first mismatch ends the
script with a non-zero exit status and a message saying what was expected.
"""

import base64
import email
import email.policy
import imaplib
import re
import ssl
import sys
import time
from datetime import datetime, timedelta, timezone

from checks import check, fail, ok

MODE, PORT, CAFILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
USER, PASSWORD = 'alice@example.org', 'secret'


def nums(data):
    """The numbers of a SEARCH answer."""
    return [int(n) for n in data[0].split()] if data and data[0] else []


def fetch_map(data):
    """Maps sequence number to the bytes of one FETCH response, with any
    literal inlined as {n}<data>, from imaplib's mixed list of tuples and
    lines."""
    out = {}
    cur = None
    for item in data:
        if isinstance(item, tuple):
            head, lit = item
            m = re.match(rb'(\d+) \(', head)
            if m:
                cur = int(m.group(1))
                out[cur] = b''
            out[cur] += head + lit
        elif item is None:
            continue
        else:
            m = re.match(rb'(\d+) \(', item)
            if m and (cur is None or item.startswith(m.group(0))):
                cur = int(m.group(1))
                out[cur] = item
            else:
                out[cur] += item
    return out


def literal(data):
    """The literal of a single-item FETCH answer."""
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    fail('no literal in %r' % (data,))


def flags_of(data):
    m = re.search(rb'FLAGS \(([^)]*)\)', data if isinstance(data, bytes) else b' '.join(x for x in data if isinstance(x, bytes)))
    check(m is not None, 'no FLAGS in %r' % (data,))
    return set(m.group(1).decode().split())


def code(data, name):
    """The arguments of a response code such as [APPENDUID v uid]."""
    text = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
    m = re.search(r'\[' + name + r' ([^\]]*)\]', text)
    check(m is not None, 'no %s code in %r' % (name, data))
    return m.group(1).split()


# Messages as a mail client would upload them.
REPORT = (
    b'From: Bob Example <bob@example.org>\r\n'
    b'To: Alice Example <alice@example.org>\r\n'
    b'Subject: Quarterly report\r\n'
    b'Date: Mon, 02 Feb 2026 09:15:00 +0100\r\n'
    b'Message-ID: <report-2026q1@example.org>\r\n'
    b'MIME-Version: 1.0\r\n'
    b'Content-Type: text/plain; charset=us-ascii\r\n'
    b'\r\n'
    b'Hi Alice,\r\n\r\nthe budget for the next quarter is attached in spirit.\r\n\r\nBob\r\n'
)
INVITE = (
    b'From: Carol <carol@example.net>\r\n'
    b'To: Alice Example <alice@example.org>\r\n'
    b'Cc: Bob Example <bob@example.org>\r\n'
    b'Subject: Dinner on Friday?\r\n'
    b'Date: Fri, 01 Mar 2024 09:30:00 +0100\r\n'
    b'Message-ID: <dinner-42@example.net>\r\n'
    b'\r\n'
    b'Shall we meet at eight?\r\n'
)
PNG = bytes(range(256)) * 3
GREETING = (
    b'From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>\r\n'
    b'To: alice@example.org\r\n'
    b'Subject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n'
    b'Date: Tue, 03 Feb 2026 18:00:00 +0100\r\n'
    b'Message-ID: <gruesse@example.de>\r\n'
    b'MIME-Version: 1.0\r\n'
    b'Content-Type: multipart/mixed; boundary="==outer=="\r\n'
    b'\r\n'
    b'This is a multi-part message in MIME format.\r\n'
    b'--==outer==\r\n'
    b'Content-Type: text/plain; charset=utf-8\r\n'
    b'Content-Transfer-Encoding: quoted-printable\r\n'
    b'\r\n'
    b'Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln!\r\n'
    b'--==outer==\r\n'
    b'Content-Type: image/png; name="logo.png"\r\n'
    b'Content-Transfer-Encoding: base64\r\n'
    b'Content-Disposition: attachment; filename="logo.png"\r\n'
    b'\r\n'
    + base64.encodebytes(PNG).replace(b'\n', b'\r\n') +
    b'--==outer==--\r\n'
)
NEWSLETTER = (
    b'From: News <news@example.com>\r\n'
    b'To: alice@example.org\r\n'
    b'Subject: Weekly digest\r\n'
    b'Date: Wed, 04 Feb 2026 07:00:00 +0000\r\n'
    b'Message-ID: <digest-7@example.com>\r\n'
    b'MIME-Version: 1.0\r\n'
    b'Content-Type: multipart/alternative; boundary=alt\r\n'
    b'\r\n'
    b'--alt\r\n'
    b'Content-Type: text/plain; charset=us-ascii\r\n'
    b'\r\n'
    b'Top stories this week.\r\n'
    b'--alt\r\n'
    b'Content-Type: text/html; charset=us-ascii\r\n'
    b'\r\n'
    b'<html><body><h1>Top stories</h1></body></html>\r\n'
    b'--alt--\r\n'
)
REMINDER = (
    b'From: Carol <carol@example.net>\r\n'
    b'To: Alice Example <alice@example.org>\r\n'
    b'Subject: Reminder: report due\r\n'
    b'Date: Thu, 05 Feb 2026 12:00:00 +0100\r\n'
    b'Message-ID: <reminder-1@example.net>\r\n'
    b'\r\n'
    b'Please send the report by Monday.\r\n'
)

ctx = ssl.create_default_context(cafile=CAFILE)

if MODE == 'implicit':
    mail = imaplib.IMAP4_SSL('127.0.0.1', PORT, ssl_context=ctx)
elif MODE == 'starttls':
    mail = imaplib.IMAP4('127.0.0.1', PORT)
    check('STARTTLS' in mail.capabilities, 'no STARTTLS in %r' % (mail.capabilities,))
    check('LOGINDISABLED' in mail.capabilities, 'no LOGINDISABLED before TLS: %r' % (mail.capabilities,))
    try:
        mail.login(USER, PASSWORD)
        fail('LOGIN before STARTTLS succeeded')
    except imaplib.IMAP4.error as e:
        check('PRIVACYREQUIRED' in str(e), 'LOGIN before STARTTLS: unexpected error %s' % e)
        print('login before STARTTLS refused: %s' % e)
    ok(mail.starttls(ssl_context=ctx), 'STARTTLS')
    check('LOGINDISABLED' not in mail.capabilities and 'STARTTLS' not in mail.capabilities,
          'capabilities after STARTTLS: %r' % (mail.capabilities,))
else:
    fail('unknown mode ' + MODE)

data = ok(mail.login(USER, PASSWORD), 'LOGIN')
check(b'UIDPLUS' in data[0] and b'MOVE' in data[0], 'LOGIN OK lacks capabilities: %r' % data)

data = ok(mail.select('INBOX'), 'SELECT INBOX')
check(data == [b'0'], 'fresh INBOX: want 0 messages, got %r' % data)
uidvalidity = int(mail.response('UIDVALIDITY')[1][0])

# APPEND, one with flags and a date; APPENDUID tells the new UIDs.
uids = {}
dinner_date = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
for name, flags, date, msg in [
    ('report', None, None, REPORT),
    ('invite', r'(\Flagged \Seen)', imaplib.Time2Internaldate(dinner_date), INVITE),
    ('greeting', None, None, GREETING),
    ('newsletter', None, None, NEWSLETTER),
    ('reminder', None, None, REMINDER),
]:
    data = ok(mail.append('INBOX', flags, date, msg), 'APPEND ' + name)
    v, uid = code(data, 'APPENDUID')
    check(int(v) == uidvalidity, 'APPENDUID validity %s, want %d' % (v, uidvalidity))
    uids[name] = int(uid)
check(sorted(uids.values()) == list(uids.values()), 'APPENDUID not ascending: %r' % uids)
data = ok(mail.noop(), 'NOOP')
data = ok(mail.select('INBOX'), 'SELECT INBOX again')
check(data == [b'5'], 'INBOX: want 5 messages, got %r' % data)

# SEARCH by several criteria.
def search(*criteria, charset=None):
    return nums(ok(mail.search(charset, *criteria), 'SEARCH %r' % (criteria,)))

for criteria, want in [
    (('ALL',), [1, 2, 3, 4, 5]),
    (('FROM', '"carol@example.net"'), [2, 5]),
    (('SUBJECT', '"report"'), [1, 5]),
    (('(SUBJECT "report" FROM "bob")',), [1]),
    (('FLAGGED',), [2]),
    (('UNSEEN',), [1, 3, 4, 5]),
    (('BEFORE', '02-Mar-2024'), [2]),
    (('SENTSINCE', '03-Feb-2026'), [3, 4, 5]),
    (('OR', 'FROM', 'news', 'CC', 'bob'), [2, 4]),
    (('BODY', 'budget'), [1]),
    (('TEXT', '"Top stories"'), [4]),
    (('HEADER', 'Message-ID', '<reminder-1@example.net>'), [5]),
    (('LARGER', '1000'), [3]),
    (('NOT', 'SEEN', 'SMALLER', '300'), [5]),
    (('2:4', 'UNFLAGGED'), [3, 4]),
]:
    got = search(*criteria)
    check(got == want, 'SEARCH %r: want %r, got %r' % (criteria, want, got))

# A non-ASCII search as imaplib users send it: CHARSET and a literal.
mail.literal = 'Grüße'.encode('utf-8')
got = search('SUBJECT', charset='UTF-8')
check(got == [3], 'SEARCH CHARSET UTF-8 SUBJECT Grüße: want [3], got %r' % got)
mail.literal = 'Schöne'.encode('utf-8')
got = search('BODY', charset='UTF-8')
check(got == [3], 'SEARCH CHARSET UTF-8 BODY Schöne (quoted-printable): want [3], got %r' % got)

got = nums(ok(mail.uid('SEARCH', None, 'ALL'), 'UID SEARCH ALL'))
check(got == sorted(uids.values()), 'UID SEARCH ALL: want %r, got %r' % (sorted(uids.values()), got))
got = nums(ok(mail.uid('SEARCH', None, 'FROM', 'carol'), 'UID SEARCH FROM carol'))
check(got == [uids['invite'], uids['reminder']], 'UID SEARCH FROM carol: got %r' % got)

# FETCH: the whole message, byte for byte; fetching it sets \Seen.
data = ok(mail.fetch('1', '(RFC822)'), 'FETCH RFC822')
check(literal(data) == REPORT, 'RFC822 differs from the appended message: %r' % literal(data))
check('\\Seen' in flags_of(ok(mail.fetch('1', '(FLAGS)'), 'FETCH FLAGS')), 'FETCH RFC822 did not set \\Seen')
parsed = email.message_from_bytes(literal(data), policy=email.policy.default)
check(parsed['Subject'] == 'Quarterly report', 'parsed subject %r' % parsed['Subject'])

# BODY.PEEK[HEADER] leaves \Seen alone.
data = ok(mail.fetch('3', '(BODY.PEEK[HEADER])'), 'FETCH BODY.PEEK[HEADER]')
header = GREETING[:GREETING.index(b'\r\n\r\n') + 4]
check(literal(data) == header, 'BODY.PEEK[HEADER]: %r' % literal(data))
check('\\Seen' not in flags_of(ok(mail.fetch('3', '(FLAGS)'), 'FETCH FLAGS')), 'BODY.PEEK set \\Seen')

data = ok(mail.fetch('3', '(BODY.PEEK[2])'), 'FETCH BODY.PEEK[2]')
check(base64.b64decode(literal(data)) == PNG, 'attachment does not decode to the original bytes')
data = ok(mail.fetch('3', '(BODY.PEEK[1])'), 'FETCH BODY.PEEK[1]')
check(literal(data) == b'Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln!', 'BODY[1]: %r' % literal(data))

data = ok(mail.fetch('1:5', '(ENVELOPE)'), 'FETCH ENVELOPE')
env = fetch_map(data)
check(sorted(env) == [1, 2, 3, 4, 5], 'ENVELOPE for %r' % sorted(env))
check(env[1].startswith(b'1 (ENVELOPE ("Mon, 02 Feb 2026 09:15:00 +0100" "Quarterly report" (("Bob Example" NIL "bob" "example.org"))'),
      'ENVELOPE 1: %r' % env[1])
check(b'"<report-2026q1@example.org>")' in env[1], 'ENVELOPE 1 Message-ID: %r' % env[1])
check(b'(("Bob Example" NIL "bob" "example.org"))' in env[2] and b'"<dinner-42@example.net>"' in env[2],
      'ENVELOPE 2 Cc or Message-ID: %r' % env[2])
check(b'"=?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?="' in env[3], 'ENVELOPE 3 keeps the encoded subject: %r' % env[3])

data = ok(mail.fetch('3', '(BODYSTRUCTURE)'), 'FETCH BODYSTRUCTURE')
bs = data[0]
for want in [
    b'("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 42 0',
    b'("image" "png" ("name" "logo.png") NIL NIL "base64" ',
    b'("attachment" ("filename" "logo.png"))',
    b'"mixed" ("boundary" "==outer==")',
]:
    check(want.lower() in bs.lower(), 'BODYSTRUCTURE lacks %r: %r' % (want, bs))
data = ok(mail.fetch('4', '(BODYSTRUCTURE)'), 'FETCH BODYSTRUCTURE 4')
check(b'"alternative"' in data[0].lower() and b'("text" "html"' in data[0].lower(), 'BODYSTRUCTURE 4: %r' % data)

data = ok(mail.fetch('2', '(FLAGS INTERNALDATE RFC822.SIZE)'), 'FETCH FLAGS INTERNALDATE')
check({'\\Flagged', '\\Seen'} <= flags_of(data[0]), 'flags of the appended message: %r' % data)
m = re.search(rb'INTERNALDATE "([^"]+)"', data[0])
check(m is not None, 'no INTERNALDATE: %r' % data)
got = imaplib.Internaldate2tuple(b'INTERNALDATE "' + m.group(1) + b'"')
check(time.mktime(got) == dinner_date.timestamp(), 'INTERNALDATE %s, want %s' % (m.group(1), dinner_date))
check(b'RFC822.SIZE %d' % len(INVITE) in data[0], 'RFC822.SIZE: %r' % data)

# STORE +FLAGS / -FLAGS, with a keyword, and the silent form.
data = ok(mail.store('1', '+FLAGS', r'(\Answered $Important)'), 'STORE +FLAGS')
check({'\\Answered', '$Important', '\\Seen'} <= flags_of(data[0]), 'STORE +FLAGS answer: %r' % data)
data = ok(mail.store('2', '-FLAGS', r'(\Flagged)'), 'STORE -FLAGS')
check('\\Flagged' not in flags_of(data[0]), 'STORE -FLAGS answer: %r' % data)
data = ok(mail.store('4', '+FLAGS.SILENT', r'\Seen'), 'STORE +FLAGS.SILENT')
check(data == [None], 'STORE .SILENT answered %r' % data)
check(search('KEYWORD', '$Important') == [1], 'KEYWORD search after STORE')
check(search('FLAGGED') == [], 'FLAGGED search after -FLAGS')
check(search('UNSEEN') == [3, 5], 'UNSEEN after STORE: %r' % search('UNSEEN'))

# CREATE, COPY, and MOVE (UID MOVE and plain MOVE, as users send them).
ok(mail.create('Receipts'), 'CREATE Receipts')
data = ok(mail.copy('1:2', 'Receipts'), 'COPY')
v, src, dst = code(data, 'COPYUID')
check(src == '%d:%d' % (uids['report'], uids['invite']), 'COPYUID source set %s' % src)
data = ok(mail.status('Receipts', '(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)'), 'STATUS Receipts')
check(re.search(rb'MESSAGES 2 UIDNEXT 3 UIDVALIDITY %s UNSEEN 0\)' % v.encode(), data[0]), 'STATUS after COPY: %r' % data)

mail.response('COPYUID')  # forget older codes
typ, data = mail.uid('MOVE', str(uids['greeting']), 'Receipts')
check(typ == 'OK', 'UID MOVE: %s %r' % (typ, data))
moved = mail.response('COPYUID')[1]
check(moved and moved[-1] is not None and moved[-1].split()[1] == str(uids['greeting']).encode(),
      'UID MOVE: COPYUID %r' % (moved,))
expunged = mail.response('EXPUNGE')[1]
check(expunged == [b'3'], 'UID MOVE: want EXPUNGE 3, got %r' % (expunged,))

typ, data = mail._simple_command('MOVE', '1', 'Receipts')
check(typ == 'OK', 'MOVE: %s %r' % (typ, data))
expunged = mail.response('EXPUNGE')[1]
check(expunged == [b'1'], 'MOVE: want EXPUNGE 1, got %r' % (expunged,))
data = ok(mail.select('INBOX'), 'SELECT INBOX after MOVE')
check(data == [b'3'], 'INBOX after two MOVEs: %r' % data)
got = nums(ok(mail.uid('SEARCH', None, 'ALL'), 'UID SEARCH'))
check(got == [uids['invite'], uids['newsletter'], uids['reminder']], 'INBOX UIDs after MOVE: %r' % got)

data = ok(mail.status('Receipts', '(MESSAGES)'), 'STATUS Receipts')
check(b'MESSAGES 4' in data[0], 'Receipts after MOVE: %r' % data)

# EXPUNGE.
ok(mail.store('2', '+FLAGS', r'\Deleted'), 'STORE \\Deleted')
data = ok(mail.expunge(), 'EXPUNGE')
check(data == [b'2'], 'EXPUNGE answered %r' % data)
got = nums(ok(mail.uid('SEARCH', None, 'ALL'), 'UID SEARCH'))
check(got == [uids['invite'], uids['reminder']], 'INBOX UIDs after EXPUNGE: %r' % got)

# LIST and STATUS.
data = ok(mail.list(), 'LIST')
names = {}
for line in data:
    m = re.match(rb'\(([^)]*)\) "/" "?([^"]*)"?$', line)
    check(m is not None, 'LIST line %r' % line)
    names[m.group(2).decode()] = m.group(1).decode().split()
for want in ['INBOX', 'Receipts', 'Sent', 'Trash']:
    check(want in names, 'LIST lacks %s: %r' % (want, data))
check('\\Sent' in names['Sent'], 'Sent lacks \\Sent: %r' % names)
data = ok(mail.list('""', 'R*'), 'LIST R*')
check(data == [b'(\\HasNoChildren) "/" Receipts'], 'LIST "" R*: %r' % data)
data = ok(mail.status('INBOX', '(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)'), 'STATUS INBOX')
check(re.search(rb'MESSAGES 2 RECENT \d+ UIDNEXT %d UIDVALIDITY %d UNSEEN 1\)' % (uids['reminder'] + 1, uidvalidity), data[0]),
      'STATUS INBOX: %r' % data)

# CREATE, RENAME and DELETE a folder, with hierarchy.
ok(mail.create('Projects/2026'), 'CREATE Projects/2026')
data = ok(mail.list('""', 'Projects*'), 'LIST Projects*')
check(data == [b'(\\HasChildren) "/" Projects', b'(\\HasNoChildren) "/" Projects/2026'], 'LIST after CREATE: %r' % data)
ok(mail.rename('Projects/2026', 'Projects/Done'), 'RENAME')
data = ok(mail.list('""', 'Projects/%'), 'LIST Projects/%')
check(data == [b'(\\HasNoChildren) "/" Projects/Done'], 'LIST after RENAME: %r' % data)
typ, data = mail.select('Projects/2026')
check(typ == 'NO', 'SELECT of the old name: %s %r' % (typ, data))
ok(mail.delete('Projects/Done'), 'DELETE Projects/Done')
ok(mail.delete('Projects'), 'DELETE Projects')
data = ok(mail.list('""', 'Projects*'), 'LIST after DELETE')
check(data == [None], 'LIST after DELETE: %r' % data)

# What else users script: a message built with the email package (its
# as_bytes() has LF line ends; imaplib sends CRLF), a large attachment (a
# synchronizing literal of several megabytes), UID FETCH/STORE/COPY, a
# folder name with a space, a read-only SELECT, subscriptions.
from email.message import EmailMessage
built = EmailMessage()
built['From'] = 'Alice Example <alice@example.org>'
built['To'] = 'Bob Example <bob@example.org>'
built['Subject'] = 'Scan attached'
built['Message-ID'] = '<scan-1@example.org>'
built.set_content('The scan is attached.\n')
SCAN = bytes((i * 7919) % 251 for i in range(3 * 1024 * 1024))
built.add_attachment(SCAN, maintype='application', subtype='pdf', filename='scan.pdf')
raw = built.as_bytes()
check(b'\r\n' not in raw, 'the email package wrote CRLF')
data = ok(mail.append('INBOX', r'(\Seen)', imaplib.Time2Internaldate(time.time()), raw), 'APPEND of an EmailMessage')
scan_uid = code(data, 'APPENDUID')[1]
# imaplib quotes nothing itself: users quote names with spaces.
ok(mail.create('"Old Projects"'), 'CREATE with a space')
ok(mail.select('INBOX'), 'SELECT INBOX')
data = ok(mail.uid('FETCH', scan_uid, '(RFC822.SIZE BODY.PEEK[])'), 'UID FETCH BODY.PEEK[]')
crlf = raw.replace(b'\n', b'\r\n')
check(literal(data) == crlf, 'the EmailMessage came back changed (%d bytes, want %d)' % (len(literal(data)), len(crlf)))
check(b'RFC822.SIZE %d' % len(crlf) in data[0][0], 'RFC822.SIZE of the EmailMessage: %r' % data[0][0][:80])
back = email.message_from_bytes(literal(data), policy=email.policy.default)
att = [p for p in back.iter_attachments()]
check(len(att) == 1 and att[0].get_filename() == 'scan.pdf' and att[0].get_content() == SCAN, 'the attachment did not survive')
data = ok(mail.uid('STORE', scan_uid, '+FLAGS', r'(\Flagged)'), 'UID STORE')
check('\\Flagged' in flags_of(data[0]) and b'UID ' + scan_uid.encode() in data[0], 'UID STORE answer %r' % data)
ok(mail.uid('COPY', scan_uid, '"Old Projects"'), 'UID COPY')
copied = mail.response('COPYUID')[1]  # uid() returns no tagged data
check(copied[-1].split()[1:] == [scan_uid.encode(), b'1'], 'UID COPY: COPYUID %r' % copied)
data = ok(mail.list('""', '"Old*"'), 'LIST Old*')
check(data == [b'(\\HasNoChildren) "/" "Old Projects"'], 'LIST of a name with a space: %r' % data)
ok(mail.subscribe('"Old Projects"'), 'SUBSCRIBE')
data = ok(mail.lsub('""', '"Old*"'), 'LSUB')
check(data == [b'() "/" "Old Projects"'], 'LSUB: %r' % data)
ok(mail.check(), 'CHECK')
ok(mail.unselect(), 'UNSELECT')
data = ok(mail.select('"Old Projects"', readonly=True), 'EXAMINE')
check(data == [b'1'], 'EXAMINE: %r' % data)
typ, data = mail.store('1', '+FLAGS', r'\Deleted')
check(typ == 'NO' and b'READ-ONLY' in data[0], 'STORE in a read-only mailbox: %s %r' % (typ, data))
ok(mail.close(), 'CLOSE after EXAMINE')
data = ok(mail.status('"Old Projects"', '(MESSAGES)'), 'STATUS')
check(b'MESSAGES 1' in data[0], 'CLOSE after EXAMINE expunged: %r' % data)
data = ok(mail.namespace(), 'NAMESPACE')
check(data == [b'(("" "/")) NIL NIL'], 'NAMESPACE: %r' % data)
ok(mail.select('INBOX'), 'SELECT INBOX')
ok(mail.uid('STORE', scan_uid, '+FLAGS.SILENT', r'(\Deleted)'), 'UID STORE \\Deleted')
ok(mail.uid('EXPUNGE', scan_uid), 'UID EXPUNGE')

# CLOSE expunges silently; LOGOUT says BYE.
ok(mail.select('INBOX'), 'SELECT INBOX')
ok(mail.store('1', '+FLAGS.SILENT', r'\Deleted'), 'STORE \\Deleted')
ok(mail.close(), 'CLOSE')
data = ok(mail.status('INBOX', '(MESSAGES)'), 'STATUS after CLOSE')
check(b'MESSAGES 1' in data[0], 'CLOSE did not expunge: %r' % data)
typ, data = mail.logout()
check(typ == 'BYE', 'LOGOUT: %s %r' % (typ, data))
print('seed scenario (%s) passed' % MODE)
