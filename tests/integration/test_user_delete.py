"""Deleted users: `pillarbox user del` (another process) ends the user's live
IMAP and POP3 sessions at once with a clear answer, instead of leaving them
answering from a store where the user no longer exists."""

import imaplib
import os
import poplib
import pty
import subprocess
import time

import pytest

from conftest import BIN, message, read_line, read_until_closed, wait_for


def imap_login(srv):
    s = srv.connect("imap")
    assert read_line(s).startswith(b"* OK")
    s.sendall(b"a1 LOGIN alice secret\r\n")
    assert read_line(s).startswith(b"a1 OK")
    s.sendall(b"a2 SELECT INBOX\r\n")
    while not (line := read_line(s)).startswith(b"a2 "):
        assert line
    assert line.startswith(b"a2 OK")
    return s


def test_imap_selected_and_idle_sessions_get_bye(make_server):
    srv = make_server(users={"alice": "secret", "bob": "pw"})
    srv.deliver("alice", message())
    selected = imap_login(srv)
    idle = imap_login(srv)
    idle.sendall(b"a3 IDLE\r\n")
    assert read_line(idle).startswith(b"+ ")
    client = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    client.login("alice", "secret")
    client.select("INBOX")
    other = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    other.login("bob", "pw")

    start = time.time()
    srv.cli("user", "del", "alice")
    for s in (selected, idle):
        data, closed = read_until_closed(s)
        assert closed, data
        assert data.endswith(b"* BYE Account deleted.\r\n"), data
    assert time.time() - start < 5
    # imaplib hears the BYE on its next command.
    with pytest.raises(imaplib.IMAP4.abort, match="Account deleted"):
        client.noop()
    # Other users are not touched.
    assert other.noop()[0] == "OK"
    other.logout()
    log = srv.log()
    assert "user alice was deleted: disconnecting" in log
    assert "Internal error" not in log and "SERVERBUG" not in log
    # The name can no longer log in.
    again = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        again.login("alice", "secret")
    again.logout()


@pytest.mark.parametrize("pending_deletes", [False, True])
def test_pop3_session_ends_with_a_clear_error(make_server, pending_deletes):
    srv = make_server()
    srv.deliver("alice", message())
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    p.user("alice")
    p.pass_("secret")
    assert p.stat()[0] == 1
    if pending_deletes:
        p.dele(1)
    srv.cli("user", "del", "alice")
    wait_for(lambda: "user alice was deleted" in srv.log(), what="session told")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/PERM\] Account deleted"):
        p.quit()
    p.close()
    log = srv.log()
    assert "Internal error" not in log
    assert "applying deletions failed" not in log


def test_pop3_next_command_after_delete(make_server):
    srv = make_server()
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    p.user("alice")
    p.pass_("secret")
    srv.cli("user", "del", "alice")
    wait_for(lambda: "user alice was deleted" in srv.log(), what="session told")
    with pytest.raises(poplib.error_proto, match="Account deleted"):
        p.stat()
    p.close()


def run_on_terminal(args, typed, timeout=30):
    """Runs the command with a pseudo-terminal as stdin (as a person at a
    shell has), types `typed`, and returns (exit status, output)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(args, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.write(master, typed)
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace")
    finally:
        os.close(master)
        os.close(slave)


def test_user_del_on_a_terminal_asks_for_the_name(make_server):
    srv = make_server(users={"alice": "secret", "bob": "pw"}, start=False)
    cmd = [BIN, "user", "del", "alice", "--config", srv.config_path]
    # A wrong answer deletes nothing.
    rc, out = run_on_terminal(cmd, b"bob\n")
    assert rc == 1, out
    assert "Type the user name to confirm" in out
    assert "not confirmed; nothing was deleted" in out
    assert "alice" in srv.cli("user", "list").stdout.decode()
    # The name confirms.
    rc, out = run_on_terminal(cmd, b"alice\n")
    assert rc == 0, out
    assert "user alice deleted" in out
    # --yes does not ask, even on a terminal.
    rc, out = run_on_terminal([BIN, "user", "del", "bob", "--yes", "--config", srv.config_path],
                              b"")
    assert rc == 0, out
    assert "confirm" not in out
    listing = srv.cli("user", "list").stdout.decode()
    assert "alice" not in listing and "bob" not in listing
