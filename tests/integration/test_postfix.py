"""Postfix in front of Pillarbox, the way Dovecot fits it, with Debian's
real Postfix (a private instance, postfix_instance.py): SMTP AUTH through
Pillarbox's Dovecot-protocol socket (smtpd_sasl_type = dovecot), recipients
validated at RCPT time through Pillarbox's socketmap, mail delivered over
LMTP and read back with imaplib."""

import imaplib
import os
import shutil
import smtplib
import socket
import stat
import uuid

import pytest

from conftest import message, wait_for
from postfix_instance import PostfixInstance, socket_dir
from test_visibility import fail2ban_hosts, log_lines

USERS = {"alice": "secret", "bob": "pw"}


@pytest.fixture
def sockets():
    path = socket_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_pillarbox(make_server, sockets):
    srv = make_server(users=USERS, start=False)
    srv.sections["auth"]["postfix_socket"] = os.path.join(sockets, "auth")
    srv.sections.setdefault("delivery", {}).update(
        {"domains": ["example.org"], "socketmap_socket": os.path.join(sockets, "map")})
    srv.write_config()
    srv.start()
    srv.auth_socket = os.path.join(sockets, "auth")
    srv.map_socket = os.path.join(sockets, "map")
    wait_for(lambda: os.path.exists(srv.map_socket), what="the socketmap socket")
    return srv


def imap_subjects(srv, user):
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    try:
        imap.login(user, USERS[user])
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        if typ != "OK":
            return []
        return [part[1].decode(errors="replace").strip() for part in data if isinstance(part, tuple)]
    except imaplib.IMAP4.error:
        return []
    finally:
        imap.logout()


def wait_delivered(srv, pf, user, subject):
    try:
        wait_for(lambda: f"Subject: {subject}" in imap_subjects(srv, user), timeout=60,
                 interval=0.5, what=f"{subject} in {user}'s INBOX")
    except AssertionError:
        raise AssertionError(f"{subject} not delivered to {user}; maillog:\n{pf.log()}\n"
                             f"pillarbox log:\n{srv.log()[-4000:]}")


def test_sockets_have_their_modes(make_server, sockets):
    srv = start_pillarbox(make_server, sockets)
    for path in (srv.auth_socket, srv.map_socket):
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    # A stale socket (left by a killed server) is replaced at the next start.
    srv.kill()
    assert os.path.exists(srv.auth_socket)
    srv.start()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(srv.auth_socket)
        assert s.recv(4096).startswith(b"VERSION\t1\t")


def test_submission_with_dovecot_sasl(make_server, sockets):
    srv = start_pillarbox(make_server, sockets)
    main_cf = f"""\
mydestination = example.org
local_recipient_maps =
local_transport = lmtp:inet:127.0.0.1:{srv.ports["lmtp"]}
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {srv.auth_socket}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
"""
    with PostfixInstance(main_cf) as pf:
        # Refused: a wrong password, an unknown user (the same answer).
        for user, password in (("alice", "wrong"), ("nobody", "secret")):
            with smtplib.SMTP("127.0.0.1", pf.smtpd_port, timeout=30) as s:
                s.ehlo("client.test")
                assert s.has_extn("auth"), pf.log()
                with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                    s.login(user, password)
                assert e.value.smtp_code == 535, e.value
        # Accepted, with the address as login name; then relayed over LMTP.
        subject = f"submitted-{uuid.uuid4().hex[:8]}"
        with smtplib.SMTP("127.0.0.1", pf.smtpd_port, timeout=30) as s:
            s.ehlo("client.test")
            mechanisms = s.esmtp_features["auth"].upper().split()
            assert "PLAIN" in mechanisms and "LOGIN" in mechanisms, mechanisms
            s.login("alice@example.org", "secret")
            assert s.sendmail("alice@example.org", ["bob@example.org"],
                              message(subject=subject, to="bob@example.org")) == {}
        wait_delivered(srv, pf, "bob", subject)
        assert "sasl_username=alice" in pf.log(tail=100000), pf.log()

    # Every refused attempt is a fail2ban line naming the end client.
    assert log_lines(srv, r'login failed: proto=postfix-sasl session=\d+ rip=127\.0\.0\.1 '
                          r'user=alice reason="wrong password"')
    assert log_lines(srv, r'login failed: proto=postfix-sasl .*user=nobody reason="unknown user"')
    hosts = fail2ban_hosts(srv.log())
    assert hosts and set(hosts) == {"127.0.0.1"}, hosts
    # Transcripts never show the password.
    assert not log_lines(srv, r"AGFsaWNl|c2VjcmV0|d3Jvbmc")


def test_socketmap_rejects_unknown_recipients_at_rcpt(make_server, sockets):
    srv = start_pillarbox(make_server, sockets)
    main_cf = f"""\
mydestination =
virtual_mailbox_domains = example.org
virtual_mailbox_maps = socketmap:unix:{srv.map_socket}:virtual
virtual_transport = lmtp:inet:127.0.0.1:{srv.ports["lmtp"]}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
"""
    with PostfixInstance(main_cf) as pf:
        subject = f"validated-{uuid.uuid4().hex[:8]}"
        with smtplib.SMTP("127.0.0.1", pf.smtpd_port, timeout=30) as s:
            s.ehlo("client.test")
            s.mail("sender@postfix.test")
            code, text = s.rcpt("nobody@example.org")
            assert 500 <= code < 600, (code, text, pf.log())
            code, text = s.rcpt("alice@example.org")
            assert code == 250, (code, text, pf.log())
            code, text = s.data(message(subject=subject, to="alice@example.org"))
            assert code == 250, (code, text)
        wait_delivered(srv, pf, "alice", subject)
        assert "nobody@example.org" not in "".join(
            line for line in pf.log(tail=100000).splitlines() if "status=" in line)
