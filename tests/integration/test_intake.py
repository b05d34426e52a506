"""Mail intake end to end: SMTP and LMTP into the real server, driven by
Python's smtplib, raw LMTP, swaks and a private Postfix instance, plus a
SIGKILL during a burst of LMTP deliveries."""

import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from conftest import message, require_program, wait_for
from postfix_instance import PostfixInstance


def views(srv, user):
    return srv.cli("views", user).stdout.decode(errors="replace")


def inbox_count(srv, user):
    m = re.search(r"INBOX: (\d+) message", views(srv, user))
    return int(m.group(1)) if m else 0


def has_subject(srv, user, subject):
    return re.search(r"(?<![\w-])" + re.escape(subject) + r"(?![\w-])", views(srv, user)) is not None


class RawLmtp:
    """A minimal LMTP client that reads one reply per recipient after DATA
    (smtplib.LMTP reads only one)."""

    def __init__(self, address):
        if isinstance(address, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(address)
        else:
            self.sock = socket.create_connection(address, timeout=30)
        self.sock.settimeout(30)
        self.buf = b""
        assert self.reply()[0] == 220

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def deliver(self, sender, rcpts, body):
        """Pipelines the envelope; returns (rcpt replies, data replies)."""
        data = body.replace("\r\n.", "\r\n..")
        if data.startswith("."):
            data = "." + data
        out = f"MAIL FROM:<{sender}>\r\n" + "".join(f"RCPT TO:<{r}>\r\n" for r in rcpts) + "DATA\r\n"
        self.sock.sendall(out.encode())
        assert self.reply()[0] == 250
        rcpt_replies = [self.reply() for _ in rcpts]
        accepted = sum(1 for code, _ in rcpt_replies if code == 250)
        code, text = self.reply()
        if accepted == 0:
            return rcpt_replies, []
        assert code == 354, text
        self.sock.sendall(data.encode() + b".\r\n")
        return rcpt_replies, [self.reply() for _ in range(accepted)]

    def close(self):
        try:
            self.cmd("QUIT")
        finally:
            self.sock.close()


# --- SMTP with smtplib -------------------------------------------------------------


def test_smtp_smtplib_delivers_to_local_users(make_server):
    srv = make_server(users={"alice": "secret", "bob": "pw"})
    with smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=30) as s:
        code, caps = s.ehlo("client.test")
        assert code == 250
        for ext in (b"PIPELINING", b"8BITMIME", b"ENHANCEDSTATUSCODES", b"CHUNKING", b"SIZE"):
            assert ext in caps
        refused = s.sendmail("sender@example.org", ["alice@localhost", "BOB@localhost"],
                             message(subject="smtp-one", to="alice@localhost"))
        assert refused == {}
    assert has_subject(srv, "alice", "smtp-one")
    assert has_subject(srv, "bob", "smtp-one")


def test_smtp_refuses_open_relay(make_server):
    srv = make_server()
    with smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=30) as s:
        s.ehlo("client.test")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("sender@example.org", ["someone@example.com"], message(subject="relay"))
        code, text = e.value.recipients["someone@example.com"]
        assert code == 550 and text.startswith(b"5.7.1")
        # Still refused after authenticating: local delivery only.
        s.login("alice", "secret")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("alice@localhost", ["someone@example.com"], message(subject="relay2"))
    assert inbox_count(srv, "alice") == 0


def test_smtp_catch_all_auto_creates_users(make_server):
    srv = make_server(config={"smtp": {"catch_all": True},
                              "dev": {"auto_create_users": True, "auto_create_password": "devpw"}})
    with smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=30) as s:
        s.sendmail("app@dev.test", ["newperson@anywhere.example"], message(subject="catch-all"))
    assert has_subject(srv, "newperson", "catch-all")


# --- LMTP ------------------------------------------------------------------------------


@pytest.fixture
def lmtp_server(make_server):
    sockdir = tempfile.mkdtemp(prefix="pbl", dir="/tmp")
    path = os.path.join(sockdir, "lmtp.sock")
    srv = make_server(users={"alice": "secret", "bob": "pw", "carol": "pw"}, start=False)
    srv.sections["lmtp"]["listen"] = [f"127.0.0.1:{srv.ports['lmtp']}", f"unix:{path}"]
    srv.write_config()
    srv.start()
    srv.lmtp_socket = path
    yield srv
    shutil.rmtree(sockdir, ignore_errors=True)


def test_lmtp_smtplib_tcp_and_unix_socket(lmtp_server):
    srv = lmtp_server
    with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=30) as s:
        s.ehlo("mta.test")  # smtplib sends LHLO for LMTP
        assert s.sendmail("a@example.org", ["alice@example.org"], message(subject="lmtp-tcp")) == {}
    with smtplib.LMTP(srv.lmtp_socket, timeout=30) as s:
        assert s.sendmail("a@example.org", ["bob@example.org"], message(subject="lmtp-unix")) == {}
    assert has_subject(srv, "alice", "lmtp-tcp")
    assert has_subject(srv, "bob", "lmtp-unix")


def test_lmtp_reply_per_recipient(lmtp_server):
    srv = lmtp_server
    c = RawLmtp(srv.lmtp_socket)
    assert c.cmd("LHLO mta.test")[0] == 250
    rcpt, data = c.deliver("s@example.org", ["alice@x.test", "nobody@x.test", "bob@x.test", "carol@x.test"],
                           message(subject="lmtp-multi"))
    assert [code for code, _ in rcpt] == [250, 550, 250, 250]
    assert [code for code, _ in data] == [250, 250, 250]
    assert "<alice@x.test>" in data[0][1] and "<carol@x.test>" in data[2][1]
    c.close()
    for user in ("alice", "bob", "carol"):
        assert has_subject(srv, user, "lmtp-multi")


def test_lmtp_over_quota_recipient(lmtp_server):
    srv = lmtp_server
    srv.cli("user", "quota", "bob", "100", "0")
    c = RawLmtp(("127.0.0.1", srv.ports["lmtp"]))
    c.cmd("LHLO mta.test")
    rcpt, data = c.deliver("s@example.org", ["alice@x.test", "bob@x.test"],
                           message(subject="quota", body="x" * 500 + "\r\n"))
    assert [code for code, _ in rcpt] == [250, 250]
    assert data[0][0] == 250
    assert data[1][0] == 552 and data[1][1].startswith("5.2.2")
    c.close()
    assert inbox_count(srv, "bob") == 0
    assert has_subject(srv, "alice", "quota")


# --- swaks -----------------------------------------------------------------------------


def swaks(*args):
    exe = require_program("swaks")
    r = subprocess.run([exe, *args], capture_output=True, timeout=60)
    # swaks --tls needs Net::SSLeay (scripts/deps.sh --test installs it).
    assert b"requires Net::SSLeay" not in r.stdout + r.stderr, "libnet-ssleay-perl is not installed"
    return r


@pytest.mark.parametrize("mode", ["plain", "starttls", "auth-plain", "auth-login"])
def test_swaks(make_server, mode):
    srv = make_server()
    subject = f"swaks-{mode}"
    args = ["--server", "127.0.0.1", "--port", str(srv.ports["smtp"]), "--helo", "swaks.test",
            "--from", "sender@example.org", "--to", "alice@localhost",
            "--header", f"Subject: {subject}", "--timeout", "30"]
    if mode == "starttls":
        args += ["--tls"]
    if mode.startswith("auth"):
        args += ["--auth", mode.split("-")[1].upper(), "--auth-user", "alice",
                 "--auth-password", "secret"]
    r = swaks(*args)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out + r.stderr.decode(errors="replace")
    if mode == "starttls":
        assert "220 2.0.0 Ready to start TLS" in out
    if mode.startswith("auth"):
        assert "235 2.7.0" in out
    assert has_subject(srv, "alice", subject)


def test_swaks_bad_password_is_refused(make_server):
    srv = make_server()
    r = swaks("--server", "127.0.0.1", "--port", str(srv.ports["smtp"]), "--to", "alice@localhost",
              "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong", "--timeout", "30")
    assert r.returncode != 0
    assert "535 5.7.8" in r.stdout.decode(errors="replace")


# --- durability ----------------------------------------------------------------------------


def test_sigkill_during_lmtp_burst_loses_nothing_acknowledged(make_server):
    srv = make_server(users={"alice": "secret", "bob": "pw"})
    acked = []
    lock = threading.Lock()
    stop = threading.Event()
    per_thread = 150

    def worker(n):
        try:
            with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=30) as s:
                for i in range(per_thread):
                    if stop.is_set():
                        return
                    subject = f"dur-{n}-{i}"
                    rcpt = "alice@x.test" if i % 2 == 0 else "bob@x.test"
                    s.sendmail("s@example.org", [rcpt], message(subject=subject))
                    with lock:
                        acked.append((rcpt.split("@")[0], subject))
        except (smtplib.SMTPException, OSError):
            pass  # the server died under us: expected

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 30 or not any(t.is_alive() for t in threads), timeout=60,
             what="some deliveries")
    srv.kill()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert acked, "no delivery was acknowledged before the kill"
    print(f"acknowledged before SIGKILL: {len(acked)}")
    srv.start()
    text = {u: views(srv, u) for u in ("alice", "bob")}
    missing = [(u, s) for u, s in acked
               if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", text[u]) is None]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged messages lost: {missing[:10]}"


# --- Postfix delivering over LMTP ---------------------------------------------------------


def test_postfix_delivers_over_lmtp(make_server):
    srv = make_server(users={"alice": "secret", "bob": "pw"})
    main_cf = f"""\
mydestination = example.org
local_recipient_maps =
local_transport = lmtp:inet:127.0.0.1:{srv.ports["lmtp"]}
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
"""
    with PostfixInstance(main_cf) as pf:
        subject = f"via-postfix-{uuid.uuid4().hex[:8]}"
        with smtplib.SMTP("127.0.0.1", pf.smtpd_port, timeout=30) as s:
            s.sendmail("sender@postfix.test", ["alice@example.org", "bob@example.org"],
                       message(subject=subject, to="alice@example.org"))
        try:
            wait_for(lambda: has_subject(srv, "alice", subject) and has_subject(srv, "bob", subject),
                     timeout=60, interval=0.5, what="the message to arrive through Postfix")
        except AssertionError:
            raise AssertionError("message did not arrive through Postfix; maillog:\n" + pf.log())
        assert "status=sent" in pf.log()
