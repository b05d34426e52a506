"""The command line: users, deliver, check-config, version, journal, views,
and CLI changes reaching a running server."""

import imaplib
import json
import os
import poplib
import re
import subprocess
import time

import pytest

from conftest import BIN, SOURCE_DIR, message, wait_for


def run(args, input=None, env=None, timeout=60):
    full_env = dict(os.environ)
    # The tests decide the environment overrides themselves.
    for k in list(full_env):
        if k.startswith("PILLARBOX_") and k not in ("PILLARBOX_BIN", "PILLARBOX_SOURCE_DIR"):
            del full_env[k]
    full_env.update(env or {})
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run([BIN, *args], input=input, capture_output=True, timeout=timeout,
                          env=full_env)


@pytest.fixture
def offline(make_server):
    """A configured data directory with no running server."""
    return make_server(users={}, start=False)


def users_of(srv):
    r = srv.cli("user", "list")
    lines = r.stdout.decode().splitlines()
    assert lines[0].split()[0] == "NAME"
    return [line.split()[0] for line in lines[1:]]


def test_version():
    r = run(["version"])
    assert r.returncode == 0
    assert re.fullmatch(rb"pillarbox \d+\.\d+\.\d+\n", r.stdout), r.stdout
    assert run(["--version"]).stdout == r.stdout


def test_help_and_usage_errors():
    r = run(["--help"])
    assert r.returncode == 0
    for sub in (b"serve", b"user", b"deliver", b"check-config", b"journal", b"views",
                b"healthcheck", b"version"):
        assert sub in r.stdout
    r = run(["frobnicate"])
    assert r.returncode == 64
    assert r.stderr.startswith(b"pillarbox: ")
    r = run(["user"])
    assert r.returncode == 64


def test_user_add_list_passwd_del(offline):
    srv = offline
    r = srv.cli("user", "add", "alice", "--password-stdin", input=b"first pass\n")
    assert b"alice" in r.stdout
    srv.cli("user", "add", "bob", "--password-stdin", input=b"bobpw\r\n")
    assert users_of(srv) == ["alice", "bob"]

    # A second add of the same name fails (case-insensitively) and names it.
    r = srv.cli("user", "add", "ALICE", "--password-stdin", input=b"x\n", check=False)
    assert r.returncode == 1
    assert b"already exists" in r.stderr

    # Empty or missing password on stdin is refused.
    r = srv.cli("user", "add", "carol", "--password-stdin", input=b"\n", check=False)
    assert r.returncode != 0 and b"empty password" in r.stderr
    r = srv.cli("user", "add", "carol", "--password-stdin", input=b"", check=False)
    assert r.returncode != 0 and b"no password" in r.stderr
    # No terminal and no --password-stdin: a clear error instead of a hang.
    r = subprocess.run([BIN, "user", "add", "carol", "--config", srv.config_path],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       start_new_session=True)
    assert r.returncode != 0 and b"--password-stdin" in r.stderr

    srv.cli("user", "passwd", "alice", "--password-stdin", input=b"second pass\n")
    r = srv.cli("user", "passwd", "nobody", "--password-stdin", input=b"x\n", check=False)
    assert r.returncode == 67

    srv.cli("user", "del", "bob")
    assert users_of(srv) == ["alice"]
    r = srv.cli("user", "del", "bob", check=False)
    assert r.returncode == 67 and b"no such user" in r.stderr

    # The passwords work against the server: the changed one, not the first.
    srv.start()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("alice", "first pass")
    imap.logout()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("alice", "second pass")
    imap.logout()


def test_user_add_hash_import(offline):
    srv = offline
    # SHA-512-crypt of "secret" (openssl passwd -6 -salt pillarbx secret), as in /etc/shadow.
    h = "$6$pillarbx$IQmcMl1mUAfoQQC.mPozwMT3GuWj/8/8Auh0jxtF35J8EIzy9fJFx65h7J3hn.g2T0slmqCxN4BUO7Xo4U7Pt1"
    srv.cli("user", "add", "dave", "--hash", h)
    r = srv.cli("user", "add", "erin", "--hash", "not-a-hash", check=False)
    assert r.returncode != 0 and b"unsupported password hash" in r.stderr
    r = srv.cli("user", "add", "erin", "--hash", h, "--password-stdin", input=b"x\n", check=False)
    assert r.returncode == 64
    assert users_of(srv) == ["dave"]
    srv.start()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("dave", "secret")
    imap.logout()


def test_user_set_and_quota(offline):
    srv = offline
    srv.add_user("alice", "secret")
    srv.cli("user", "set", "alice", "pop3.delete_mode=hide")
    r = srv.cli("user", "list")
    assert b"pop3.delete_mode=hide" in r.stdout
    r = srv.cli("user", "set", "alice", "pop3.delete_mode=shred", check=False)
    assert r.returncode == 64
    assert b"pop3.delete_mode: expected expunge, hide, move:MAILBOX or deny" in r.stderr
    r = srv.cli("user", "set", "alice", "server.data_dir=/x", check=False)
    assert r.returncode == 64 and b"cannot be set per user" in r.stderr
    r = srv.cli("user", "set", "alice", "nonsense", check=False)
    assert r.returncode == 64 and b"KEY=VALUE" in r.stderr
    r = srv.cli("user", "set", "nobody", "pop3.delete_mode=hide", check=False)
    assert r.returncode == 67
    srv.cli("user", "set", "alice", "pop3.delete_mode=")
    assert b"pop3.delete_mode" not in srv.cli("user", "list").stdout

    srv.cli("user", "quota", "alice", "1K", "2")
    r = srv.cli("user", "list")
    assert b"1.0 KiB" in r.stdout
    r = srv.cli("user", "quota", "alice", "lots", "2", check=False)
    assert r.returncode == 64
    # Over quota: a permanent refusal (77) for the MTA.
    r = srv.cli("deliver", "--user", "alice", input=message(body="x" * 2000).encode(), check=False)
    assert r.returncode == 77, r.stderr


def test_deliver(offline):
    srv = offline
    srv.add_user("alice", "secret")
    # Bare LF line endings and an mbox "From " line, as an MTA may pass them.
    msg = "From bob@example.org Thu Nov 26 10:00:00 2026\nSubject: lf only\nFrom: bob@example.org\n\nbody\n"
    r = srv.cli("deliver", "--user", "alice", input=msg.encode())
    assert r.returncode == 0 and r.stdout == b""
    srv.deliver("alice", message(subject="To Archive"), mailbox="Lists/Archive")

    r = srv.cli("deliver", "--user", "nobody", input=message().encode(), check=False)
    assert r.returncode == 67 and b"no such user" in r.stderr
    r = srv.cli("deliver", "--user", "alice", input=b"", check=False)
    assert r.returncode == 65
    # A mailbox name the store cannot use: EX_CANTCREAT, and nothing stored.
    r = srv.cli("deliver", "--user", "alice", "--mailbox", "a//b", input=message().encode(),
                check=False)
    assert r.returncode == 73 and b"a//b" in r.stderr

    srv.start()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("alice", "secret")
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    raw = data[0][1]
    assert raw == b"Subject: lf only\r\nFrom: bob@example.org\r\n\r\nbody\r\n"
    typ, data = imap.select("Lists/Archive")
    assert typ == "OK" and data == [b"1"]
    imap.logout()


def test_deliver_mbox_of_several_messages_stores_each(offline):
    # Regression: an mbox holding several messages was stored as one message.
    srv = offline
    srv.add_user("alice", "secret")
    mbox = ("From bob@example.org Thu Nov 26 10:00:00 2026\n"
            "Subject: first\n\n"
            ">From the start of a line\n"
            "\n"
            "From carol@example.org Thu Nov 26 10:01:00 2026\n"
            "Subject: second\n\n"
            "body two\n"
            "\n"
            "From MAILER-DAEMON Thu Nov 26 10:02:00 2026\n"
            "Subject: third\n\n"
            "body three\n")
    r = srv.cli("deliver", "--user", "alice", input=mbox.encode())
    assert r.returncode == 0, r.stderr
    events = json.loads(srv.cli("journal", "alice", "--json").stdout)
    assert [e["subject"] for e in events] == ["first", "second", "third"]

    srv.start()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("alice", "secret")
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    typ, data = imap.fetch("1:3", "(BODY.PEEK[])")
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert bodies == [b"Subject: first\r\n\r\nFrom the start of a line\r\n",
                      b"Subject: second\r\n\r\nbody two\r\n",
                      b"Subject: third\r\n\r\nbody three\r\n"]
    imap.logout()

    # One message of the mbox empty: nothing is stored, exit 65 names it.
    r = srv.cli("deliver", "--user", "alice",
                input=b"From a Thu Nov 26 10:00:00 2026\nSubject: x\n\nx\n\n"
                      b"From b Thu Nov 26 10:00:01 2026\n\n",
                check=False)
    assert r.returncode == 65 and b"message 2 of the mbox" in r.stderr, r.stderr
    assert len(json.loads(srv.cli("journal", "alice", "--json").stdout)) == 3


def test_user_set_takes_effect_on_the_next_login(server):
    srv = server
    srv.deliver("alice", message(subject="one"))
    srv.deliver("alice", message(subject="two"))

    def retr_then_seen(n):
        pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
        pop.user("alice")
        pop.pass_("secret")
        pop.retr(n)
        pop.quit()
        imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
        imap.login("alice", "secret")
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch(str(n), "(FLAGS)")
        imap.logout()
        return b"\\Seen" in data[0]

    assert retr_then_seen(1)  # the configured default: RETR marks \Seen
    # Set while the server runs: the next POP3 login resolves it.
    srv.cli("user", "set", "alice", "pop3.mark_seen_on_retr=no")
    assert not retr_then_seen(2)


def test_deliver_too_large(make_server):
    srv = make_server(config={"limits": {"max_message_size": "2K"}}, start=False)
    r = srv.cli("deliver", "--user", "alice", input=message(body="y" * 4000).encode(), check=False)
    assert r.returncode == 65 and b"max_message_size" in r.stderr


def test_deliver_config_error_is_temporary(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[pop3]\ndelete_mode = \"shred\"\n")
    r = run(["deliver", "--user", "alice", "--config", str(bad)], input=message())
    assert r.returncode == 75
    assert r.stderr.startswith(b"pillarbox: config error: pop3.delete_mode:")


def test_check_config(offline, tmp_path):
    srv = offline
    r = srv.cli("check-config")
    out = r.stdout.decode()
    assert f'data_dir = "{srv.data_dir}"' in out
    assert "[pop3]" in out and 'delete_mode = "expunge"' in out

    # With no file: the embedded defaults.
    r = run(["check-config"])
    assert r.returncode == 0
    assert 'listen = ["127.0.0.1:1143"]' in r.stdout.decode()

    # The sample file is the defaults, but for its data_dir: "./data" in a
    # file is relative to the file's directory.
    # Every key is marked as set by the file.
    sample = os.path.join(SOURCE_DIR, "config/pillarbox.toml")
    r = run(["check-config", "--config", sample])
    sample_dir = os.path.normpath(os.path.join(SOURCE_DIR, "config"))
    marked = r.stdout.decode().splitlines()
    assert all(line.endswith(f"  # from {sample}") for line in marked if " = " in line)
    unmarked = "".join(line.replace(f"  # from {sample}", "") + "\n" for line in marked).encode()
    assert r.returncode == 0 and unmarked == run(["check-config"]).stdout.replace(
        b'data_dir = "./data"', f'data_dir = "{sample_dir}/data"'.encode())

    bad = tmp_path / "bad.toml"
    bad.write_text("[pop3]\ndelete_mode = \"shred\"\n")
    r = run(["check-config", "--config", str(bad)])
    assert r.returncode == 2
    lines = r.stderr.decode().splitlines()
    assert lines == ["pillarbox: config error: pop3.delete_mode: expected expunge, hide, "
                     "move:MAILBOX or deny (line 2)"]

    bad.write_text("[imap]\nlisten = [\"127.0.0.1:1143\"]\nfoo = 1\n")
    r = run(["check-config", "--config", str(bad)])
    assert r.returncode == 2 and b"imap.foo: unknown key" in r.stderr

    bad.write_text("[lmtp]\nsocket_mode = \"0999\"\n")
    r = run(["check-config", "--config", str(bad)])
    assert r.returncode == 2 and b"lmtp.socket_mode: expected an octal mode" in r.stderr
    bad.write_text("[auth]\npostfix_socket = \"run/auth\"\n")
    r = run(["check-config", "--config", str(bad)])
    assert r.returncode == 2 and b"auth.postfix_socket: expected an absolute path" in r.stderr

    bad.write_text("[imap\n")
    r = run(["check-config", "--config", str(bad)])
    assert r.returncode == 2 and f"{bad}:1:".encode() in r.stderr

    r = run(["check-config", "--config", str(tmp_path / "missing.toml")])
    assert r.returncode == 2 and b"cannot open" in r.stderr

    # serve stops on the same error, with the same line and status.
    bad.write_text("[pop3]\ndelete_mode = \"shred\"\n")
    r = run(["serve", "--config", str(bad)])
    assert r.returncode == 2 and r.stderr.decode().splitlines() == lines


def test_check_config_env_override_and_secret_mask(offline):
    srv = offline
    env = {"PILLARBOX_POP3_DELETE_MODE": "move:Archive",
           "PILLARBOX_IMAP_TLS_LISTEN": "",
           "PILLARBOX_DEV_AUTO_CREATE_PASSWORD": "hunter2"}
    r = run(["check-config", "--config", srv.config_path], env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert 'delete_mode = "move:Archive"' in out
    assert "tls_listen = []" in out
    assert "hunter2" not in out and 'auto_create_password = "********"' in out
    r = run(["check-config", "--config", srv.config_path],
            env={"PILLARBOX_LIMITS_MAX_CONNECTIONS": "lots"})
    assert r.returncode == 2
    assert r.stderr.decode() == ("pillarbox: config error: limits.max_connections (from "
                                 "PILLARBOX_LIMITS_MAX_CONNECTIONS): expected an integer\n")


def test_config_option_anywhere(offline):
    srv = offline
    # Before the subcommand, between, and after.
    r = subprocess.run([BIN, "--config", srv.config_path, "user", "add", "zed", "--password-stdin"],
                       input=b"pw\n", capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([BIN, "user", "--config", srv.config_path, "list"], capture_output=True,
                       timeout=30)
    assert r.returncode == 0 and b"zed" in r.stdout


def test_journal_and_views(offline):
    srv = offline
    srv.add_user("alice", "secret")
    srv.deliver("alice", message(subject="First"))
    srv.deliver("alice", message(subject="Second"))
    srv.deliver("alice", message(subject="Third"))

    r = srv.cli("journal", "alice")
    lines = r.stdout.decode().splitlines()[2:]  # after the delete mode and column headers
    assert len(lines) == 3
    for line, subject in zip(lines, ("First", "Second", "Third")):
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  cli ", line), line
        assert f'"{subject}"' in line and "delivered" in line and "INBOX" in line
        assert re.search(r"uidl=[0-9a-f]{16}", line)

    # --since in the future shows nothing; relative and absolute forms parse.
    assert len(srv.cli("journal", "alice", "--since", "2999-01-01").stdout.splitlines()) == 2
    assert len(srv.cli("journal", "alice", "--since", "1h").stdout.splitlines()) == 2 + 3
    assert len(srv.cli("journal", "alice", "--since", "2000-01-01T00:00:00Z").stdout.splitlines()) == 2 + 3
    r = srv.cli("journal", "alice", "--since", "yesterday-ish", check=False)
    assert r.returncode == 64
    assert srv.cli("journal", "nobody", check=False).returncode == 67

    # POP3: retrieve 1, delete 2 in hide mode; IMAP: expunge 3.
    srv.cli("user", "set", "alice", "pop3.delete_mode=hide")
    srv.start()
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    pop.user("alice")
    pop.pass_("secret")
    uidls = [line.split()[1].decode() for line in pop.uidl()[1]]
    assert all(re.fullmatch(r"[0-9a-f]{16}", u) for u in uidls)
    pop.retr(1)
    pop.dele(2)
    pop.quit()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("alice", "secret")
    imap.select("INBOX")
    imap.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
    imap.expunge()
    imap.logout()

    r = srv.cli("views", "alice")
    out = r.stdout.decode()
    assert "2 messages, 1 visible to POP3" in out, out
    row1 = next(line for line in out.splitlines() if uidls[0] in line)
    assert row1.split()[0] == "1" and "downloaded 20" in row1 and "\\Seen" in row1
    row2 = next(line for line in out.splitlines() if uidls[1] in line)
    assert row2.split()[0] == "-" and "hidden from POP3" in row2
    gone = out.split("Gone from INBOX")[1].split("Live sessions")[0]
    assert uidls[2] in gone and "expunged" in gone and "Third" in gone
    assert "POP3 lock: free" in out

    events = srv.cli("journal", "alice").stdout.decode()
    assert "pop3-retrieved" in events and "pop3-deleted" in events and "expunged" in events
    assert uidls[0] in events


def test_views_shows_live_session_and_pop3_lock(server):
    srv = server
    srv.deliver("alice", message(subject="Held"))
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    pop.user("alice")
    pop.pass_("secret")
    try:
        out = wait_for(lambda: (lambda o: o if "POP3 lock: held" in o else None)(
            srv.cli("views", "alice").stdout.decode()), what="live POP3 session in views")
        live = out.split("Live sessions")[1]
        assert "pop3" in live and "127.0.0.1" in live
    finally:
        pop.quit()


def test_journal_follow(offline):
    srv = offline
    srv.add_user("alice", "secret")
    srv.deliver("alice", message(subject="Before"))
    proc = subprocess.Popen([BIN, "journal", "alice", "--follow", "--config", srv.config_path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().startswith(b"# alice: POP3 delete mode")
        assert proc.stdout.readline().startswith(b"TIME")
        first = proc.stdout.readline().decode()
        assert '"Before"' in first
        srv.deliver("alice", message(subject="After"))
        second = proc.stdout.readline().decode()
        assert '"After"' in second
    finally:
        proc.terminate()
        rc = proc.wait(timeout=10)
    assert rc == 0


def test_cli_changes_reach_running_server(server):
    srv = server
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("alice", "secret")
    typ, data = imap.select("INBOX")
    assert data == [b"0"]
    imap.response("EXISTS")  # SELECT leaves its EXISTS behind
    srv.deliver("alice", message(subject="Live"))

    # The open IMAP session learns of it (NOOP reports EXISTS).
    def new_exists():
        imap.noop()
        return b"1" in (imap.response("EXISTS")[1] or [])
    wait_for(new_exists, what="EXISTS after a CLI delivery")
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"Subject: Live" in data[0][1]
    imap.logout()

    # A user added by the CLI can log in to the running server at once.
    srv.add_user("frank", "pw-frank")
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    pop.user("frank")
    pop.pass_("pw-frank")
    assert pop.stat()[0] == 0
    pop.quit()
    # And a POP3 session opened after a CLI delivery sees the message.
    srv.deliver("frank", message(subject="For Frank"))
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    pop.user("frank")
    pop.pass_("pw-frank")
    assert pop.stat()[0] == 1
    pop.quit()


def test_deliver_over_quota_temporary(make_server):
    srv = make_server(config={"delivery": {"over_quota_temporary": True},
                              "quota": {"messages": 1}}, start=False)
    srv.deliver("alice", message(subject="one"))
    r = srv.cli("deliver", "--user", "alice", input=message(subject="two").encode(), check=False)
    assert r.returncode == 75 and b"over quota" in r.stderr
    assert len(json.loads(srv.cli("journal", "alice", "--json").stdout)) == 1


def test_healthcheck(server):
    srv = server
    r = srv.cli("healthcheck", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    srv.stop()
    r = srv.cli("healthcheck", check=False)
    assert r.returncode == 1
