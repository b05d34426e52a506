"""ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and PARTIAL (RFC 9394) against
the real binary: raw commands through Python's imaplib, and a pipelined
SEARCH RETURN (SAVE) with commands using "$" over a plain socket."""

import imaplib
import socket

from conftest import message

USER, PASSWORD = "alice", "secret"


def login(server):
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"], timeout=10)
    assert conn.login(USER, PASSWORD)[0] == "OK"
    return conn


def esearch(conn, *args, uid=False):
    """Sends [UID] SEARCH args as they are; returns (status, ESEARCH lines)."""
    conn.untagged_responses.pop("ESEARCH", None)
    name = "UID" if uid else "SEARCH"
    cmd_args = ("SEARCH", *args) if uid else args
    try:
        typ, _ = conn._simple_command(name, *cmd_args)
    except imaplib.IMAP4.error as e:
        return ("BAD" if "BAD" in str(e) else "NO"), [str(e).encode()]
    return typ, conn.untagged_responses.pop("ESEARCH", [])


def fill(server, n, flagged=()):
    for i in range(1, n + 1):
        server.deliver(USER, message(subject=f"Message {i}"))
    if flagged:
        conn = login(server)
        conn.select("INBOX")
        conn.store(",".join(str(i) for i in flagged), "+FLAGS", "(\\Flagged)")
        conn.logout()


def test_capabilities(server):
    conn = login(server)
    typ, data = conn.capability()
    caps = data[0].decode().split()
    assert "ESEARCH" in caps and "SEARCHRES" in caps and "PARTIAL" in caps
    conn.logout()


def test_esearch_results(server):
    fill(server, 12, flagged=(2, 10, 11))
    conn = login(server)
    conn.select("INBOX")
    tag_of = lambda line: line.split(b'"')[1]
    typ, lines = esearch(conn, "RETURN", "(MIN", "COUNT)", "FLAGGED")
    assert typ == "OK" and len(lines) == 1
    assert lines[0].endswith(b") MIN 2 COUNT 3"), lines
    assert lines[0].startswith(b'(TAG "') and tag_of(lines[0])
    typ, lines = esearch(conn, "RETURN", "()", "FLAGGED")
    assert lines[0].endswith(b") ALL 2,10:11"), lines
    typ, lines = esearch(conn, "RETURN", "(MIN MAX)", "1:5000", uid=True)
    assert lines[0].endswith(b") UID MIN 1 MAX 12"), lines
    typ, lines = esearch(conn, "RETURN", "(MIN MAX ALL COUNT)", "DELETED")
    assert lines[0].endswith(b") COUNT 0"), lines
    typ, lines = esearch(conn, "RETURN", "(PARTIAL -1:-3 COUNT)", "ALL", uid=True)
    assert lines[0].endswith(b") UID PARTIAL (-1:-3 10:12) COUNT 12"), lines
    typ, _ = esearch(conn, "RETURN", "(BOGUS)", "ALL")
    assert typ == "BAD"
    # The plain SEARCH is unchanged.
    assert conn.search(None, "FLAGGED") == ("OK", [b"2 10 11"])
    conn.logout()


def test_searchres_through_imaplib(server):
    fill(server, 6, flagged=(1, 3, 5))
    conn = login(server)
    conn.create("Saved")
    conn.select("INBOX")
    # "$" before any SAVE is empty, not an error.
    typ, data = conn.fetch("$", "(UID)")
    assert typ == "OK" and data == [None]
    typ, lines = esearch(conn, "RETURN", "(SAVE)", "FLAGGED")
    assert typ == "OK" and lines == []  # SAVE alone answers no ESEARCH
    typ, data = conn.fetch("$", "(UID)")
    assert [d for d in data] == [b"1 (UID 1)", b"3 (UID 3)", b"5 (UID 5)"]
    assert conn.copy("$", "Saved")[0] == "OK"
    assert conn.status("Saved", "(MESSAGES)")[1] == [b"Saved (MESSAGES 3)"]
    assert conn.store("$", "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK"
    assert conn.uid("SEARCH", "$ DELETED") == ("OK", [b"1 3 5"])
    # UID EXPUNGE $: the expunged messages drop out of "$".
    typ, _ = conn._simple_command("UID", "EXPUNGE", "$")
    assert typ == "OK"
    assert conn.fetch("$", "(UID)") == ("OK", [None])
    # SAVE with MIN MAX keeps just those (RFC 5182 2.4).
    typ, lines = esearch(conn, "RETURN", "(SAVE MIN MAX)", "ALL", uid=True)
    assert lines[0].endswith(b") UID MIN 2 MAX 6"), lines
    assert conn.uid("SEARCH", "UID $") == ("OK", [b"2 6"])
    # A failed SEARCH with SAVE (NO) empties it; a BAD leaves it.
    assert esearch(conn, "RETURN", "(SAVE)", "FOO")[0] == "BAD"
    assert conn.uid("SEARCH", "$") == ("OK", [b"2 6"])
    assert esearch(conn, "RETURN", "(SAVE)", "CHARSET", "KOI8-X", "ALL")[0] == "NO"
    assert conn.uid("SEARCH", "$") == ("OK", [b""])
    # MOVE $ and a new SELECT forget it.
    esearch(conn, "RETURN", "(SAVE)", "ALL")
    typ, _ = conn._simple_command("MOVE", "$", "Saved")
    assert typ == "OK"
    conn.select("Saved")
    assert conn.search(None, "$") == ("OK", [b""])
    conn.logout()


def read_until_tag(sock, tag, timeout=10):
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" + tag + b" " not in data and not data.startswith(tag + b" "):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def test_pipelined_save_and_dollar(server):
    fill(server, 5, flagged=(2, 4))
    with socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout=10) as s:
        s.recv(4096)
        s.sendall(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n")
        read_until_tag(s, b"b")
        # RFC 5182 example 7, in one write.
        s.sendall(b"c SEARCH RETURN (SAVE COUNT) FLAGGED\r\n"
                  b"d FETCH $ (UID FLAGS)\r\n"
                  b"e STORE $ +FLAGS.SILENT (\\Seen)\r\n"
                  b"f UID SEARCH RETURN (ALL) SEEN\r\n")
        out = read_until_tag(s, b"f").decode()
    assert '* ESEARCH (TAG "c") COUNT 2\r\nc OK' in out
    assert "* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n" in out
    assert "* 4 FETCH (UID 4 FLAGS (\\Flagged))\r\nd OK" in out
    assert "e OK" in out
    assert '* ESEARCH (TAG "f") UID ALL 2,4\r\nf OK' in out
