"""`pillarbox import` and `pillarbox export` with mail written by real
tools: a Dovecot that received mail over LMTP and had flags, keywords and
folders set over IMAP (its Maildir, dovecot-uidlist and dovecot-keywords),
an mbox written by formail, .eml files; then what IMAP (UID, FLAGS,
INTERNALDATE, RFC822.SIZE, BODY[]) and POP3 (UIDL) answer on both sides.
Also the round trip export -> import, reruns that add nothing, and an
import killed with SIGKILL and run again."""

import imaplib
import os
import poplib
import re
import shutil
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import BIN, wait_for
from dovecot_instance import DovecotInstance



def lmtp_message(i, extra_body=""):
    return (f"From: Sender {i} <s{i}@example.org>\r\nTo: alice@example.org\r\n"
            f"Subject: message {i}\r\nMessage-ID: <m{i}@example.org>\r\n"
            f"Date: Thu, 26 Nov 2026 10:00:{i:02d} +0000\r\n\r\n"
            f"Body {i}.\r\n{extra_body}").encode()


def mailbox_state(imap, mailbox):
    """{uid: (flags set, internaldate epoch, size, body)}, uidvalidity, uidnext."""
    typ, _ = imap.select(f'"{mailbox}"', readonly=True)
    assert typ == "OK", mailbox
    typ, st = imap.status(f'"{mailbox}"', "(UIDVALIDITY UIDNEXT)")
    m = re.search(rb"UIDVALIDITY (\d+)", st[0])
    n = re.search(rb"UIDNEXT (\d+)", st[0])
    out = {}
    typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta, body = item
        uid = int(re.search(rb"UID (\d+)", meta).group(1))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).split()) - {b"\\Recent"}
        date = re.search(rb'INTERNALDATE "([^"]+)"', meta).group(1).decode()
        epoch = time.mktime(imaplib.Internaldate2tuple(b'INTERNALDATE "' + date.encode() + b'"'))
        size = int(re.search(rb"RFC822\.SIZE (\d+)", meta).group(1))
        out[uid] = (flags, epoch, size, body)
    return out, int(m.group(1)), int(n.group(1))


def pop3_uidls(port, user, password):
    p = poplib.POP3("127.0.0.1", port, timeout=10)
    p.user(user)
    p.pass_(password)
    _, lines, _ = p.uidl()
    p.quit()
    return sorted(line.split()[1] for line in lines)


def imap_login(port, user="alice", password="secret"):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(user, password)
    return imap


def populate_dovecot(dv):
    """Mail delivered over LMTP, folders, flags and keywords over IMAP."""
    lmtp = smtplib.LMTP("127.0.0.1", dv.lmtp_port)
    for i in range(1, 7):
        extra = "From the start of a line\r\n>From quoted\r\n" if i == 2 else ""
        assert lmtp.sendmail(f"s{i}@example.org", ["alice"], lmtp_message(i, extra)) == {}
    lmtp.quit()
    imap = imap_login(dv.imap_port)
    for box in ("Work", "Work/Projects", "Sent Items", "Entw&APw-rfe"):
        assert imap.create(f'"{box.replace("/", ".")}"')[0] == "OK", box
    imap.select("INBOX")
    imap.uid("STORE", "1", "+FLAGS", r"(\Seen \Flagged)")
    imap.uid("STORE", "2", "+FLAGS", r"(\Answered $Label1 Work)")
    imap.uid("STORE", "3", "+FLAGS", r"(\Deleted)")
    imap.expunge()  # a gap in the UIDs: 1 2 4 5 6
    imap.uid("STORE", "5", "+FLAGS", r"(\Draft custom_kw)")
    date = imaplib.Time2Internaldate(1700000000)
    imap.append('"Work.Projects"', r"(\Seen Important)", date,
                b"From: a@example.org\r\nSubject: appended\r\n\r\nkept date\r\n")
    imap.append('"Sent Items"', r"(\Seen)", imaplib.Time2Internaldate(1600000000),
                b"From: alice@example.org\r\nSubject: sent\r\n\r\nsent body\r\n")
    imap.append('"Entw&APw-rfe"', r"(\Draft)", date, b"Subject: draft\r\n\r\nx\r\n")
    imap.logout()


def dovecot_view(dv):
    imap = imap_login(dv.imap_port)
    view = {box: mailbox_state(imap, box) for box in ("INBOX", "Work.Projects", "Sent Items",
                                                     "Entw&APw-rfe")}
    imap.logout()
    return view, pop3_uidls(dv.pop3_port, "alice", "secret")


def pillarbox_view(server, user="alice", password="secret",
                   names=("INBOX", "Work/Projects", "Sent", "Entw&APw-rfe")):
    imap = imap_login(server.ports["imap"], user, password)
    view = [mailbox_state(imap, box) for box in names]
    imap.logout()
    return view, pop3_uidls(server.ports["pop3"], user, password)


@pytest.fixture
def dovecot_maildir(tmp_path):
    """A copy of a Dovecot user's Maildir after real use, with what
    Dovecot's IMAP and POP3 answered about it."""
    dv = DovecotInstance(tmp_path / "dovecot", {"alice": "secret"})
    copy = tmp_path / "Maildir"
    with dv:
        populate_dovecot(dv)
        view, uidls = dovecot_view(dv)
        shutil.copytree(dv.maildir("alice"), copy)
    return copy, view, uidls


def test_dovecot_maildir_imports_with_uids_flags_dates_and_uidls(dovecot_maildir, make_server):
    maildir, dv_view, dv_uidls = dovecot_maildir
    assert os.path.exists(maildir / "dovecot-uidlist")
    assert os.path.exists(maildir / "dovecot-keywords")
    server = make_server()  # running: the import goes through the live store
    imap = imap_login(server.ports["imap"])
    imap.select("INBOX")
    r = server.cli("import", "alice", str(maildir))
    out = r.stdout.decode()
    assert "imported: 8 messages" in out, out
    # The session that had INBOX selected sees the new mail.
    def exists():
        imap.noop()
        return imap.untagged_responses.get("EXISTS", [b"0"])[-1] == b"5"

    wait_for(exists, timeout=10, what="EXISTS 5 in the session that had INBOX selected")
    imap.logout()
    pb_view, pb_uidls = pillarbox_view(server)
    # Same UIDs, flags, dates, sizes, bytes, UIDVALIDITY and UIDNEXT.
    for (dv_box, dv_state), pb_state in zip(dv_view.items(), pb_view):
        assert pb_state == dv_state, dv_box
    assert pb_uidls == dv_uidls
    assert sorted(dv_uidls)[0].startswith(b"00000001")  # Dovecot's %08Xu%08Xv
    # A rerun adds nothing.
    r = server.cli("import", "alice", str(maildir))
    assert "imported: 0 messages" in r.stdout.decode() and "8 already there" in r.stdout.decode()
    assert pillarbox_view(server) == (pb_view, pb_uidls)


def test_round_trip_maildir_mbox_eml(dovecot_maildir, make_server, tmp_path):
    maildir, _, _ = dovecot_maildir
    src = make_server()
    src.cli("import", "alice", str(maildir))
    before = pillarbox_view(src)
    for fmt in ("maildir", "mbox", "eml"):
        out = tmp_path / f"export-{fmt}"
        src.cli("export", "alice", str(out), "--format", fmt)
        dst = make_server(users={"alice": "secret"})
        r = dst.cli("import", "alice", str(out))
        assert "failed" not in r.stdout.decode(), r.stdout.decode() + r.stderr.decode()
        after = pillarbox_view(dst)
        if fmt in ("maildir", "mbox"):
            # Messages, flags, keywords, dates, UIDs, UIDVALIDITY and POP3 UIDLs.
            assert after == before, fmt
        else:
            # .eml files keep bytes and dates only.
            for (a, _, _), (b, _, _) in zip(after[0], before[0]):
                assert sorted((d, s, body) for _, d, s, body in a.values()) == \
                    sorted((d, s, body) for _, d, s, body in b.values())
        # Dovecot reads the exported Maildir with the same UIDs.
        if fmt == "maildir":
            dv = DovecotInstance(tmp_path / "dovecot2", {"alice": "secret"})
            home = os.path.join(dv.dir, "home", "alice")
            shutil.copytree(out, os.path.join(home, "Maildir"))
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", "nobody:", home], check=True)
            with dv:
                imap = imap_login(dv.imap_port)
                inbox = mailbox_state(imap, "INBOX")
                imap.logout()
                assert inbox == before[0][0]
                assert pop3_uidls(dv.pop3_port, "alice", "secret") == before[1]
        dst.stop()


def formail_mbox(path, count):
    """An mbox written by formail (procmail), one message at a time."""
    formail = shutil.which("formail")
    assert formail, "formail (procmail) is not installed (scripts/deps.sh --test)"
    with open(path, "wb") as f:
        for i in range(count):
            msg = lmtp_message(i % 60, "From the middle\r\n" if i % 7 == 0 else "")
            msg = msg.replace(b"\r\n", b"\n").replace(b"<m", f"<n{i}-".encode(), 1)
            r = subprocess.run([formail, "-a", f"Message-ID: <f{i}@example.org>"], input=msg,
                               capture_output=True, check=True)
            f.write(r.stdout)


def test_formail_mbox_and_eml_folder(make_server, tmp_path):
    mbox = tmp_path / "inbox.mbox"
    formail_mbox(mbox, 25)
    text = mbox.read_bytes()
    assert text.startswith(b"From ") and b"\n>From the middle" in text
    server = make_server()
    r = server.cli("import", "alice", str(mbox), "--mailbox", "Lists/formail")
    assert "imported: 25 messages" in r.stdout.decode(), r.stdout.decode()
    imap = imap_login(server.ports["imap"])
    state, _, _ = mailbox_state(imap, "Lists/formail")
    bodies = [b for _, _, _, b in state.values()]
    assert len(bodies) == 25
    # The escaping of formail is undone.
    assert sum(b"\r\nFrom the middle\r\n" in b for b in bodies) == 4
    # .eml files: a folder, dates from the files.
    eml = tmp_path / "eml"
    eml.mkdir()
    for i in range(3):
        p = eml / f"{i}.eml"
        p.write_bytes(lmtp_message(i))
        os.utime(p, (1500000000 + i, 1500000000 + i))
    server.cli("import", "alice", str(eml), "--mailbox", "Saved")
    state, _, _ = mailbox_state(imap, "Saved")
    assert sorted(d for _, d, _, _ in state.values()) == [1500000000, 1500000001, 1500000002]
    imap.logout()


def test_errors_are_clear(make_server, tmp_path):
    server = make_server()
    r = server.cli("import", "nobody-here", str(tmp_path), check=False)
    assert r.returncode == 67 and b"no such user" in r.stderr and b"--create-user" in r.stderr
    r = server.cli("import", "alice", str(tmp_path / "missing"), check=False)
    assert r.returncode == 65 and b"no such file or directory" in r.stderr
    bad = tmp_path / "bad.mbox"
    bad.write_bytes(b"From a Thu Nov 26 10:00:00 2026\n\n\nFrom b Thu Nov 26 10:00:00 2026\nS: ok\n\nx\n")
    r = server.cli("import", "alice", str(bad), check=False)
    assert r.returncode == 65, r
    assert b"failed: " in r.stderr and b"empty message" in r.stderr
    assert b"imported: 1 messages" in r.stdout
    r = server.cli("import", "newbie", str(bad), "--create-user", "--dry-run", check=False)
    assert b"dry run: 1 messages" in r.stdout
    # A dry run creates nobody, and says so.
    assert b"would create user newbie" in r.stdout and b"created user" not in r.stdout, r.stdout
    assert b"newbie" not in server.cli("user", "list").stdout


def test_sigkill_during_import_then_rerun_has_no_duplicates(make_server, tmp_path):
    mbox = tmp_path / "big.mbox"
    count = 3000
    with open(mbox, "wb") as f:
        for i in range(count):
            f.write(f"From s{i}@example.org Thu Nov 26 10:{i // 60 % 60:02d}:{i % 60:02d} 2026\n"
                    f"Message-ID: <k{i}@example.org>\nSubject: {i}\n\n{'x' * 2000}\n\n".encode())
    server = make_server()
    proc = subprocess.Popen([BIN, "import", "alice", str(mbox), "--config", server.config_path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def some_stored():
        imap = imap_login(server.ports["imap"])
        n = int(imap.select("INBOX", readonly=True)[1][0])
        imap.logout()
        return n > 0

    wait_for(some_stored, timeout=30, what="part of the import")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The store is consistent after the kill (checked while the server runs).
    verify = server.cli("verify", check=False)
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    server.cli("import", "alice", str(mbox), timeout=300)
    assert server.cli("verify", check=False).returncode == 0
    imap = imap_login(server.ports["imap"])
    n = int(imap.select("INBOX", readonly=True)[1][0])
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    ids = [x[1].strip() for x in data if isinstance(x, tuple)]
    imap.logout()
    assert n == count
    assert len(set(ids)) == count


def test_progress_line_on_a_terminal_only(make_server, tmp_path):
    import pty

    mbox = tmp_path / "p.mbox"
    mbox.write_bytes(b"".join(
        f"From a Thu Nov 26 10:00:{i:02d} 2026\nSubject: {i}\n\nx\n\n".encode() for i in range(20)))
    server = make_server()
    quiet = server.cli("import", "alice", str(mbox), "--mailbox", "Q1")
    assert quiet.stderr == b""
    master, slave = pty.openpty()
    proc = subprocess.Popen([BIN, "import", "alice", str(mbox), "--mailbox", "Q2", "--config",
                             server.config_path], stdout=subprocess.PIPE, stderr=slave,
                            stdin=subprocess.DEVNULL)
    os.close(slave)
    out, _ = proc.communicate(timeout=60)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.returncode == 0
    assert b"20 messages" in seen and b"msg/s" in seen and b"MiB/s" in seen, seen
    assert b"imported: 20 messages" in out
