"""Real IMAP clients against the real binary: curl (imap:// and imaps://),
mbsync (isync) syncing a mailbox tree both ways with a local Maildir, and
Node's imapflow (connect, list, fetch, IDLE)."""

import glob
import imaplib
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import SOURCE_DIR, message, require_program, unverified_ssl_context, wait_for

USER, PASSWORD = "alice", "secret"
NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def imap_login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    conn.login(USER, PASSWORD)
    return conn


# --- curl ------------------------------------------------------------------

def curl(*args, check=True):
    r = subprocess.run(["curl", "-sS", "--max-time", "20", "-u", f"{USER}:{PASSWORD}", *args],
                       capture_output=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"curl {args} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
    return r


def test_curl_list_fetch_search(server):
    require_program("curl")
    first = message(subject="curl one", body="first body\r\n")
    second = message(subject="curl two", body="second body\r\n")
    server.deliver(USER, first)
    server.deliver(USER, second)
    base = f"imap://127.0.0.1:{server.ports['imap']}"

    listing = curl(base + "/").stdout.decode()
    assert "INBOX" in listing
    assert "Trash" in listing

    got = curl(base + "/INBOX;UID=1").stdout
    assert got == first.encode()
    got = curl(base + "/INBOX;UID=2;SECTION=TEXT").stdout
    assert got == b"second body\r\n"
    got = curl(base + "/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)").stdout
    assert got == b"Subject: curl two\r\n\r\n"

    out = curl(base + "/INBOX", "-X", "SEARCH ALL").stdout.decode()
    assert re.search(r"\* SEARCH 1 2\r?\n", out), out
    out = curl(base + "/INBOX", "-X", 'SEARCH SUBJECT "two"').stdout.decode()
    assert re.search(r"\* SEARCH 2\r?\n", out), out
    out = curl(base + "/INBOX", "-X", "UID FETCH 1:* (FLAGS)").stdout.decode()
    assert "FETCH" in out and "UID 2" in out

    # A bad command: curl reports the failure, the server lives on.
    bad = curl(base + "/INBOX", "-X", "FETCH 1 (NOSUCH)", check=False)
    assert bad.returncode != 0
    assert curl(base + "/INBOX;UID=1").stdout == first.encode()


def test_curl_imaps_starttls_and_upload(server, tmp_path):
    require_program("curl")
    msg = message(subject="uploaded", body="via curl\r\n")
    path = tmp_path / "msg.eml"
    path.write_bytes(msg.encode())
    # APPEND via upload over STARTTLS.
    curl("-k", "--ssl-reqd", "-T", str(path), f"imap://127.0.0.1:{server.ports['imap']}/Archive")
    got = curl("-k", f"imaps://127.0.0.1:{server.ports['imaps']}/Archive;UID=1").stdout
    assert got == msg.encode()
    listing = curl("-k", f"imaps://127.0.0.1:{server.ports['imaps']}/").stdout.decode()
    assert "Archive" in listing


# --- mbsync ------------------------------------------------------------------

def mbsync_config(server, tmp_path, tls):
    maildir = tmp_path / "mail"
    maildir.mkdir(exist_ok=True)
    cert = os.path.join(server.data_dir, "tls", "cert.pem")
    port = server.ports["imaps"] if tls else server.ports["imap"]
    lines = [
        "IMAPAccount pb",
        "Host 127.0.0.1",
        f"Port {port}",
        f"User {USER}",
        f"Pass {PASSWORD}",
        "AuthMechs LOGIN",
    ]
    if tls:
        lines += ["SSLType IMAPS", f"CertificateFile {cert}"]
    else:
        lines += ["SSLType None"]
    lines += [
        "",
        "IMAPStore pb-remote",
        "Account pb",
        "",
        "MaildirStore pb-local",
        f"Path {maildir}/",
        f"Inbox {maildir}/INBOX",
        "SubFolders Verbatim",
        "",
        "Channel pb",
        "Far :pb-remote:",
        "Near :pb-local:",
        "Patterns *",
        "Create Both",
        "Expunge Both",
        "SyncState *",
        "Sync All",
        "",
    ]
    rc = tmp_path / "mbsyncrc"
    rc.write_text("\n".join(lines))
    return str(rc), maildir


def run_mbsync(rc):
    r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    return r


def maildir_messages(folder):
    return sorted(glob.glob(os.path.join(folder, "cur", "*")) + glob.glob(os.path.join(folder, "new", "*")))


def flags_of(path):
    name = os.path.basename(path)
    return name.split(":2,")[1] if ":2," in name else ""


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "imaps"])
def test_mbsync_both_ways(server, tmp_path, tls):
    require_program("mbsync")
    server.deliver(USER, message(subject="to be synced", body="server side\r\n"))
    server.deliver(USER, message(subject="second", body="also server side\r\n"))
    conn = imap_login(server)
    conn.create("Projects")
    conn.create("Projects/Alpha")
    conn.append("Projects/Alpha", r"(\Flagged)", None, message(subject="alpha", body="a\r\n").encode())
    conn.logout()

    rc, maildir = mbsync_config(server, tmp_path, tls)
    run_mbsync(rc)

    # Server -> local: the tree and the messages arrived.
    inbox = maildir_messages(maildir / "INBOX")
    assert len(inbox) == 2
    alpha = maildir_messages(maildir / "Projects" / "Alpha")
    assert len(alpha) == 1
    assert "F" in flags_of(alpha[0])
    with open(alpha[0], "rb") as f:
        assert b"Subject: alpha" in f.read()

    # Local -> server: a new folder with a new message, and a flag change.
    local_new = maildir / "Notes"
    for sub in ("cur", "new", "tmp"):
        (local_new / sub).mkdir(parents=True)
    local_msg = message(subject="written locally", body="from the maildir\r\n")
    (local_new / "cur" / "1700000000.P1Q1.localhost:2,S").write_bytes(local_msg.encode())
    first = inbox[0]
    os.rename(first, first.split(":2,")[0] + ":2," + "".join(sorted(set(flags_of(first) + "FS"))))
    run_mbsync(rc)

    conn = imap_login(server)
    typ, data = conn.select("Notes")
    assert typ == "OK" and data[0] == b"1"
    typ, data = conn.fetch("1", "(FLAGS BODY.PEEK[])")
    assert b"\\Seen" in data[0][0]
    uploaded = data[0][1]
    # mbsync adds an X-TUID header to find its upload again; the rest is
    # the message as written.
    without_tuid = re.sub(rb"X-TUID: [^\r\n]*\r\n", b"", uploaded)
    assert without_tuid == local_msg.encode()
    conn.select("INBOX")
    typ, data = conn.search(None, "FLAGGED", "SEEN")
    assert data[0].split() and len(data[0].split()) == 1

    # Server -> local flag change and an expunge.
    conn.store("2", "+FLAGS", r"(\Answered)")
    conn.store("1", "+FLAGS", r"(\Deleted)")
    conn.expunge()
    conn.logout()
    run_mbsync(rc)
    inbox = maildir_messages(maildir / "INBOX")
    assert len(inbox) == 1
    assert "R" in flags_of(inbox[0])

    # A second run with nothing changed is a no-op.
    run_mbsync(rc)
    assert len(maildir_messages(maildir / "INBOX")) == 1


# --- imapflow (Node) -----------------------------------------------------------

def have_imapflow():
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_DIR, "node_modules", "imapflow"))


@pytest.mark.parametrize("secure", [False, True], ids=["starttls", "imaps"])
def test_imapflow_fetch_and_idle(server, secure):
    # ./test.sh installs node and runs `npm ci` in tests/integration/node.
    assert have_imapflow(), "node or imapflow is not installed (./test.sh installs them)"
    server.deliver(USER, message(subject="before idle", body="hello flow\r\n"))
    env = dict(os.environ)
    env.update({
        "PB_HOST": "127.0.0.1",
        "PB_PORT": str(server.ports["imaps"] if secure else server.ports["imap"]),
        "PB_SECURE": "1" if secure else "0",
        "PB_USER": USER,
        "PB_PASS": PASSWORD,
    })
    proc = subprocess.Popen(["node", os.path.join(NODE_DIR, "imapflow_idle.mjs")], cwd=NODE_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    events = []
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            events.append(event)
            if event["event"] == "idling":
                server.deliver(USER, message(subject="pushed by cli", body="new\r\n"))
            if event["event"] in ("done", "error"):
                break
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read().decode(errors="replace")
    by_name = {e["event"]: e for e in events}
    assert "error" not in by_name, (events, stderr)
    assert proc.returncode == 0, (events, stderr)
    assert "INBOX" in by_name["list"]["paths"]
    fetched = by_name["fetched"]["messages"]
    assert fetched[0]["subject"] == "before idle"
    assert fetched[0]["size"] > 0
    assert "hello flow" in fetched[0]["source"]
    assert by_name["exists"]["count"] == 2
    assert by_name["pushed"]["subject"] == "pushed by cli"
