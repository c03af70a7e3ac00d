"""Python's smtplib against postfach's SMTP listeners, as a user scripts it:

    s = smtplib.SMTP('127.0.0.1', 587); s.starttls(); s.login(...);
    s.send_message(msg)

then implicit TLS on 465, the MX on 25, LMTP, and the refusals a script
meets: login before TLS, a wrong password, a From that is someone else's,
an unknown recipient, relaying.

Usage: smtp.py SUBMISSION_PORT SUBMISSIONS_PORT MX_PORT LMTP_PORT CERTFILE
"""

import smtplib
import ssl
import sys
from email.message import EmailMessage

from checks import check, fail

submission, submissions, mx, lmtp = (int(p) for p in sys.argv[1:5])
cafile = sys.argv[5]
USER, PASSWORD = 'alice@example.org', 'secret'

# The self-signed certificate names 127.0.0.1: full verification works.
ctx = ssl.create_default_context(cafile=cafile)


def message(sender, to, subject):
    msg = EmailMessage()
    msg['From'] = sender
    msg['To'] = to
    msg['Subject'] = subject
    msg.set_content('Sent by smtplib: ' + subject + '\n')
    return msg


# 587: STARTTLS, login, send_message, exactly as the issue writes it.
s = smtplib.SMTP('127.0.0.1', submission)
code, _ = s.ehlo()
check(code == 250, 'EHLO: %d' % code)
check(s.has_extn('starttls') and not s.has_extn('auth'), 'before TLS: STARTTLS and no AUTH, got %r' % s.esmtp_features)
try:
    s.login(USER, PASSWORD)
    fail('login before STARTTLS succeeded')
except smtplib.SMTPNotSupportedError:
    pass
code, _ = s.starttls(context=ctx)
check(code == 220, 'STARTTLS: %d' % code)
s.ehlo()
check('PLAIN' in s.esmtp_features.get('auth', '') and s.has_extn('requiretls'), 'after TLS: %r' % s.esmtp_features)
try:
    s.login(USER, 'wrong password')
    fail('a wrong password logged in')
except smtplib.SMTPAuthenticationError as e:
    check(e.smtp_code == 535, 'wrong password: %r' % e)
code, _ = s.login(USER, PASSWORD)
check(code == 235, 'login: %d' % code)
refused = s.send_message(message('Alice <alice@example.org>', 'Bob <bob@example.org>', 'smtplib 587'))
check(refused == {}, 'send_message refused %r' % refused)

# Someone else's From header behind our own envelope sender: refused at
# the end of data.
try:
    s.send_message(message('Bob <bob@example.org>', 'bob@example.org', 'spoofed'), from_addr=USER)
    fail('a spoofed From was accepted')
except smtplib.SMTPDataError as e:
    check(e.smtp_code == 550 and b'5.7.1' in e.smtp_error, 'spoofed From: %r' % e)
# Someone else's envelope sender: refused at MAIL.
try:
    s.sendmail('bob@example.org', ['bob@example.org'], message('alice@example.org', 'bob@example.org', 'x').as_bytes())
    fail('a spoofed envelope sender was accepted')
except smtplib.SMTPSenderRefused as e:
    check(e.smtp_code == 550, 'spoofed sender: %r' % e)
# Bytes are sent as they are (smtplib converts only str): bare LF line
# ends are refused (RFC 5321 section 2.3.8; "\n.\n" is SMTP smuggling).
try:
    s.sendmail(USER, ['bob@example.org'], message(USER, 'bob@example.org', 'bare LF').as_bytes())
    fail('a message with bare LF line ends was accepted')
except smtplib.SMTPDataError as e:
    check(e.smtp_code == 550 and b'5.6.0' in e.smtp_error, 'bare LF: %r' % e)
# One unknown recipient of two: the other gets it.
refused = s.send_message(message('alice@example.org', 'bob@example.org', 'smtplib partial'),
                         to_addrs=['bob@example.org', 'nobody@example.org'])
check(list(refused) == ['nobody@example.org'] and refused['nobody@example.org'][0] == 550, 'partial: %r' % refused)
s.quit()

# 465: implicit TLS.
with smtplib.SMTP_SSL('127.0.0.1', submissions, context=ctx) as s:
    s.login(USER, PASSWORD)
    s.send_message(message('alice@example.org', 'bob@example.org', 'smtplib 465'))

# 25: the MX takes mail for local users, without AUTH, and relays nothing.
with smtplib.SMTP('127.0.0.1', mx) as s:
    s.starttls(context=ctx)
    check(not s.has_extn('auth'), 'AUTH on the MX: %r' % s.esmtp_features)
    s.send_message(message('carol@remote.test', 'bob@example.org', 'smtplib mx'))
    try:
        s.sendmail('carol@remote.test', ['someone@elsewhere.test'], b'Subject: relay\r\n\r\nx\r\n')
        fail('the MX relayed')
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients['someone@elsewhere.test']
        check(code == 550 and b'5.7.1' in text, 'relay: %r' % e.recipients)

# LMTP, one recipient: smtplib reads one reply after the data, and LMTP
# sends one per recipient.
with smtplib.LMTP('127.0.0.1', lmtp) as s:
    refused = s.send_message(message('carol@remote.test', 'alice@example.org', 'smtplib lmtp'))
    check(refused == {}, 'lmtp refused %r' % refused)

print('smtplib: ok')
