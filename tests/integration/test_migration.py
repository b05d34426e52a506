"""Moving from Dovecot to Pillarbox without the clients noticing: mbsync
(isync) and an imapflow client sync a Dovecot account that had mail
delivered over LMTP, flags, keywords and folders set over IMAP; Dovecot
stops, `pillarbox import` takes its Maildir, and the same clients, with the
same state (mbsync's SyncState files and near Maildir, imapflow's
UIDVALIDITY/UIDNEXT/UID->flags per mailbox) and only the server's address
changed, find nothing to sync: mbsync fetches and propagates nothing and
leaves its Maildir and state byte for byte as they were, no UIDVALIDITY
changes, and a plain FETCH 1:* (UID FLAGS) and POP3 UIDL answer what
Dovecot answered. HIGHESTMODSEQ is not in the Maildir: Pillarbox's starts
above Dovecot's, so a CONDSTORE client gets the (unchanged) flags once and
misses no later change."""

import imaplib
import json
import os
import re
import shutil
import smtplib
import subprocess

from dovecot_instance import DovecotInstance
from test_import import imap_login, lmtp_message, pop3_uidls

USER, PASSWORD = "alice", "secret"
NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
MBSYNC = "/usr/bin/mbsync"
# Pillarbox gives a new user these; the Dovecot account has them too (as
# most accounts do), so both servers list the same mailboxes.
DEFAULT_BOXES = ("Sent", "Drafts", "Trash", "Junk", "Archive")
# Every mailbox as IMAP names it (modified UTF-7), "/" between levels.
RAW_NAMES = ("INBOX",) + DEFAULT_BOXES + ("Work", "Work/Projects", "Entw&APw-rfe")


def populate(dv):
    """Mail over LMTP; folders, flags, keywords, a copy and appends with
    their own dates over IMAP. Dovecot's hierarchy separator is "."."""
    lmtp = smtplib.LMTP("127.0.0.1", dv.lmtp_port)
    for i in range(1, 9):
        assert lmtp.sendmail(f"s{i}@example.org", [USER], lmtp_message(i)) == {}
    lmtp.quit()
    imap = imap_login(dv.imap_port)
    for box in DEFAULT_BOXES + ("Work", "Work.Projects", "Entw&APw-rfe"):
        assert imap.create(f'"{box}"')[0] == "OK", box
    imap.select("INBOX")
    imap.uid("STORE", "1", "+FLAGS", r"(\Seen \Flagged)")
    imap.uid("STORE", "2", "+FLAGS", r"(\Answered $Label1 Work)")
    imap.uid("STORE", "3", "+FLAGS", r"(\Deleted)")
    imap.expunge()  # a gap in the UIDs
    imap.uid("STORE", "5", "+FLAGS", r"(\Draft custom_kw)")
    imap.uid("STORE", "6", "+FLAGS", r"($Forwarded \Seen)")
    imap.uid("COPY", "4:5", "Archive")
    imap.uid("STORE", "8", "+FLAGS", r"(\Deleted)")
    imap.expunge()  # the highest UID is gone: UIDNEXT is above the last message
    date = imaplib.Time2Internaldate(1700000000)
    imap.append('"Work.Projects"', r"(\Seen Important)", date,
                b"From: a@example.org\r\nSubject: appended\r\n\r\nkept date\r\n")
    imap.append("Sent", r"(\Seen)", imaplib.Time2Internaldate(1600000000),
                b"From: alice@example.org\r\nSubject: sent\r\n\r\nsent body\r\n")
    imap.append('"Entw&APw-rfe"', r"(\Draft)", date, b"Subject: draft\r\n\r\nx\r\n")
    imap.logout()


def mbsync_rc(tmp_path, port):
    """mbsync's configuration: far side the server on `port`, near side
    tmp_path/near, state files in tmp_path/state (outside the Maildir)."""
    near, state = tmp_path / "near", tmp_path / "state"
    near.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    rc = tmp_path / f"mbsyncrc-{port}"
    rc.write_text("\n".join([
        "IMAPAccount far",
        "Host 127.0.0.1",
        f"Port {port}",
        f"User {USER}",
        f"Pass {PASSWORD}",
        "AuthMechs LOGIN",
        "SSLType None",
        "",
        "IMAPStore far",
        "Account far",
        "",
        "MaildirStore near",
        f"Path {near}/",
        f"Inbox {near}/INBOX",
        "SubFolders Verbatim",
        "",
        "Channel all",
        "Far :far:",
        "Near :near:",
        "Patterns *",
        "Create Both",
        "Remove None",
        "Expunge None",
        "Sync All",
        "CopyArrivalDate yes",
        f"SyncState {state}/",
        "",
    ]))
    return str(rc), near, state


def run_mbsync(rc):
    """Runs mbsync with its protocol and sync logic traced (-Dns, which
    is verbose too); returns what it printed."""
    r = subprocess.run([MBSYNC, "-Dns", "-c", rc, "-a"], capture_output=True, timeout=120)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    assert r.returncode == 0, out
    # No TLS on loopback in this test: mbsync says so on every run.
    return "\n".join(line for line in out.splitlines()
                     if "Password is being sent in the clear" not in line)


def commands_and_notes(out):
    """mbsync's IMAP commands (">>> TAG COMMAND") and its own lines (not
    the server's answers)."""
    commands, notes = [], []
    for line in out.splitlines():
        m = re.match(r">>> \d+ (.*)", line)
        if m:
            commands.append(m.group(1))
        elif not (line.startswith("* ") or re.match(r"\d+ (OK|NO|BAD)", line)):
            notes.append(line)
    return commands, notes


def tree(root):
    """Every file under `root`: {relative path: bytes}."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def run_imapflow(port):
    r = subprocess.run(["node", os.path.join(NODE_DIR, "imapflow_snapshot.mjs")], cwd=NODE_DIR,
                       env=dict(os.environ, PB_HOST="127.0.0.1", PB_PORT=str(port), PB_USER=USER,
                                PB_PASS=PASSWORD),
                       capture_output=True, timeout=60)
    events = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
    assert r.returncode == 0 and events and events[-1]["event"] == "snapshot", \
        (events, r.stderr.decode(errors="replace"))
    # Keyed by the name with "/" between levels: Dovecot's Maildir++ says
    # "Work.Projects", Pillarbox "Work/Projects"; a client follows the
    # delimiter the server announces.
    return {path.replace(box["delimiter"], "/") if box["delimiter"] else path: box
            for path, box in events[-1]["boxes"].items()}


def fetch_flags(port, names):
    """A plain `UID FETCH 1:* (UID FLAGS)` per mailbox (no CONDSTORE):
    {name: {uid: sorted flags}} without \\Recent (per session by definition)."""
    imap = imap_login(port)
    out = {}
    for name in names:
        typ, data = imap.select(f'"{name}"', readonly=True)
        assert typ == "OK", (name, data)
        got = {}
        if int(data[0]) > 0:
            typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
            assert typ == "OK", data
            for line in data:
                uid = int(re.search(rb"UID (\d+)", line).group(1))
                flags = re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split()
                got[uid] = sorted(f.decode() for f in flags if f != b"\\Recent")
        out[name] = got
    imap.logout()
    return out


def changed_since(imap, modseq):
    """UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE modseq): {uid: sorted flags}."""
    typ, data = imap.uid("FETCH", "1:*", f"(UID FLAGS) (CHANGEDSINCE {modseq})")
    assert typ == "OK", data
    out = {}
    for line in data:
        if line is None:
            continue
        uid = int(re.search(rb"UID (\d+)", line).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split()
        out[uid] = sorted(f.decode() for f in flags if f != b"\\Recent")
    return out


def test_mbsync_and_imapflow_see_nothing_to_sync_after_import(make_server, tmp_path):
    assert os.path.exists(MBSYNC), "mbsync (isync) is not installed (scripts/deps.sh --test)"
    assert shutil.which("node") and os.path.isdir(os.path.join(NODE_DIR, "node_modules", "imapflow")), \
        "node or imapflow is not installed (./test.sh installs them)"
    dv = DovecotInstance(tmp_path / "dovecot", {USER: PASSWORD})
    maildir = tmp_path / "dovecot-Maildir"
    with dv:
        populate(dv)
        dv_rc, near, state = mbsync_rc(tmp_path, dv.imap_port)
        run_mbsync(dv_rc)
        # A second run against Dovecot itself is quiet: what "nothing to
        # sync" looks like, and the baseline of the near side.
        commands, _ = commands_and_notes(run_mbsync(dv_rc))
        assert not [c for c in commands if "BODY" in c or "STORE" in c], commands
        near_before, state_before = tree(near), tree(state)
        assert sum(1 for p in near_before if "/cur/" in p or "/new/" in p) == 11, sorted(near_before)
        dv_flow = run_imapflow(dv.imap_port)
        dv_fetch = fetch_flags(dv.imap_port, [n.replace("/", ".") for n in RAW_NAMES])
        dv_uidls = pop3_uidls(dv.pop3_port, USER, PASSWORD)
        dv.stop()
        shutil.copytree(dv.maildir(USER), maildir)

    server = make_server()
    r = server.cli("import", USER, str(maildir))
    assert "imported: 11 messages" in r.stdout.decode(), r.stdout.decode() + r.stderr.decode()
    pb_port = server.ports["imap"]

    # mbsync: the same state files and near Maildir, another server.
    pb_rc, _, _ = mbsync_rc(tmp_path, pb_port)
    out = run_mbsync(pb_rc)
    commands, notes = commands_and_notes(out)
    # It only looked: no message fetched or appended, no flag stored, no
    # mailbox created, nothing expunged.
    for command in commands:
        verb = command.split()[0]
        assert verb in ("LOGIN", "COMPRESS", "NAMESPACE", "LIST", "SELECT", "UID", "LOGOUT"), \
            (command, out)
        if verb == "UID":
            assert re.fullmatch(r"UID FETCH [0-9:,]+ \(UID FLAGS\)", command), (command, out)
    assert sum(c.startswith("SELECT") for c in commands) == len(RAW_NAMES), out
    # No UIDVALIDITY change, mailbox created, error or warning either.
    for word in ("UIDVALIDITY", "reating", "rror", "arning", "changed"):
        assert not [n for n in notes if word in n], (word, out)
    assert tree(near) == near_before, "mbsync changed the near Maildir:\n" + out
    assert tree(state) == state_before, "mbsync changed its state files:\n" + out

    # imapflow: the same mailboxes, UIDVALIDITY, UIDNEXT, UIDs and flags.
    pb_flow = run_imapflow(pb_port)
    assert sorted(pb_flow) == sorted(dv_flow)
    for name, dv_box in dv_flow.items():
        pb_box = pb_flow[name]
        for key in ("uidValidity", "uidNext", "exists", "highestUid", "messages"):
            assert pb_box[key] == dv_box[key], (name, key, pb_box[key], dv_box[key])
        # HIGHESTMODSEQ never goes back for a CONDSTORE/QRESYNC client.
        assert int(pb_box["highestModseq"]) > int(dv_box["highestModseq"]), name
    pb_fetch = fetch_flags(pb_port, RAW_NAMES)
    assert list(dv_fetch.values()) == list(pb_fetch.values())
    assert len(pb_flow) == len(RAW_NAMES)
    # A CONDSTORE client that remembers Dovecot's HIGHESTMODSEQ gets every
    # message's flags, unchanged, then only what changes from then on.
    dv_inbox = int(dv_flow["INBOX"]["highestModseq"])
    imap = imap_login(pb_port)
    imap.select("INBOX")
    assert changed_since(imap, dv_inbox) == dv_fetch["INBOX"]
    modseq = int(pb_flow["INBOX"]["highestModseq"])
    imap.uid("STORE", "4", "+FLAGS", r"(\Seen)")
    assert changed_since(imap, modseq) == {4: ["\\Seen"]}
    imap.logout()
    # POP3 "leave mail on server" clients: the same UIDLs.
    assert pop3_uidls(server.ports["pop3"], USER, PASSWORD) == dv_uidls
