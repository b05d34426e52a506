"""Connections before login: the login deadline that bytes do not extend,
the oldest unauthenticated connection making room for a new client, and
separate budgets so that IMAP/POP3 clients cannot starve LMTP intake."""

import imaplib
import poplib
import socket
import time

from conftest import message, read_line, read_until_closed, wait_for


def greeted(srv, proto, expect):
    """Connects (retrying while a closing start-up probe still holds a slot)
    and returns the socket once it sent `expect`."""
    def attempt():
        s = srv.connect(proto)
        if read_line(s).startswith(expect):
            return s
        s.close()
        return None
    return wait_for(attempt, what=f"{proto} greeting")


def still_open(sock):
    sock.sendall(b"n1 NOOP\r\n")
    return read_line(sock).startswith(b"n1 OK")


def test_a_full_server_drops_the_oldest_unauthenticated_connection(make_server):
    srv = make_server(config={"limits": {"max_connections": 20}})
    idle = [greeted(srv, "imap", b"* OK") for _ in range(20)]
    try:
        # A real client still gets in and logs in.
        c = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
        c.login("alice", "secret")
        c.select("INBOX")
        # It took the place of the oldest connection that had not logged in.
        data, closed = read_until_closed(idle[0], 5)
        assert closed
        assert data == b"* BYE Too many connections\r\n"
        # The others were left alone.
        assert still_open(idle[1])
        assert still_open(idle[19])
        c.logout()
        assert "dropping imap #" in srv.log()
    finally:
        for s in idle:
            s.close()


def test_pop3_and_imap_share_a_budget_and_logged_in_clients_are_never_dropped(make_server):
    srv = make_server(config={"limits": {"max_connections": 3}})
    logged_in = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    logged_in.login("alice", "secret")
    waiting = greeted(srv, "pop3", b"+OK")
    waiting2 = greeted(srv, "imap", b"* OK")
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    p.user("alice")
    p.pass_("secret")
    # The POP3 login above took the oldest unauthenticated slot (the POP3
    # client that never logged in).
    data, closed = read_until_closed(waiting, 5)
    assert closed and data.startswith(b"-ERR [SYS/TEMP] Too many connections")
    # One more: the remaining unauthenticated IMAP connection goes.
    q = greeted(srv, "imap", b"* OK")
    data, closed = read_until_closed(waiting2, 5)
    assert closed and data.startswith(b"* BYE Too many connections")
    q.sendall(b"q1 LOGIN alice secret\r\n")
    assert read_line(q).startswith(b"q1 OK")
    # Now everyone is logged in: a newcomer is refused, nobody is dropped.
    r = srv.connect("imap")
    assert read_line(r) == b"* BYE Too many connections\r\n"
    r.close()
    logged_in.noop()
    p.stat()
    assert still_open(q)
    p.quit()
    logged_in.logout()
    q.close()


def test_the_login_deadline_closes_a_client_trickling_bytes(make_server):
    srv = make_server(config={"limits": {"login_timeout": "2s"}})
    s = greeted(srv, "imap", b"* OK")
    start = time.time()
    s.settimeout(0.3)
    received = b""
    closed = False
    # One byte every 0.3 s (never a whole line): the idle clock keeps being
    # reset, the login deadline is not. Read first, so that nothing is sent
    # once the server has said goodbye.
    while time.time() - start < 8:
        try:
            chunk = s.recv(4096)
            if not chunk:
                closed = True
                break
            received += chunk
            continue
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
        try:
            s.sendall(b"x")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    elapsed = time.time() - start
    s.close()
    assert closed, received
    assert b"* BYE Login timed out." in received
    assert 1.5 < elapsed < 5, elapsed
    assert "not logged in 2 s after connecting" in srv.log()


def test_the_login_deadline_spares_logged_in_clients(make_server):
    srv = make_server(config={"limits": {"login_timeout": "2s"}})
    c = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    c.login("alice", "secret")
    p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    p.user("alice")
    p.pass_("secret")
    time.sleep(3.5)
    assert c.noop()[0] == "OK"
    assert p.noop().startswith(b"+OK")
    p.quit()
    c.logout()


def test_pop3_and_smtp_clients_get_the_login_deadline_too(make_server):
    srv = make_server(config={"limits": {"login_timeout": "2s"}})
    pop = greeted(srv, "pop3", b"+OK")
    pop.sendall(b"USER alice\r\n")
    assert read_line(pop).startswith(b"+OK")
    smtp = greeted(srv, "smtp", b"220")
    smtp.sendall(b"EHLO client.example\r\n")
    while not read_line(smtp).startswith(b"250 "):
        pass
    # An SMTP client past MAIL FROM is in a mail transaction: no deadline.
    busy = greeted(srv, "smtp", b"220")
    busy.sendall(b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n")
    while not read_line(busy).startswith(b"250 "):
        pass
    assert read_line(busy).startswith(b"250 2.1.0")
    data, closed = read_until_closed(pop, 6)
    assert closed and data == b"-ERR Disconnected: no login in time.\r\n"
    data, closed = read_until_closed(smtp, 6)
    assert closed and data.startswith(b"421 4.4.2 ")
    busy.sendall(b"NOOP\r\n")
    assert read_line(busy).startswith(b"250")
    busy.sendall(b"QUIT\r\n")
    busy.close()


def lmtp_deliver(srv, rcpt, body):
    s = greeted(srv, "lmtp", b"220")
    s.sendall(b"LHLO mta.example\r\n")
    while not read_line(s).startswith(b"250 "):
        pass
    s.sendall(b"MAIL FROM:<bob@example.org>\r\n")
    assert read_line(s).startswith(b"250")
    s.sendall(f"RCPT TO:<{rcpt}>\r\n".encode())
    assert read_line(s).startswith(b"250")
    s.sendall(b"DATA\r\n")
    assert read_line(s).startswith(b"354")
    s.sendall(body.encode() + b"\r\n.\r\n")
    reply = read_line(s)
    s.sendall(b"QUIT\r\n")
    s.close()
    return reply


def test_lmtp_is_accepted_while_imap_slots_are_full(make_server):
    srv = make_server(config={"limits": {"max_connections": 4, "max_connections_per_ip": 100}})
    clients = []
    for _ in range(4):
        c = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
        c.login("alice", "secret")
        clients.append(c)
    r = srv.connect("imap")
    assert read_line(r) == b"* BYE Too many connections\r\n"
    r.close()
    # Intake has its own budget.
    assert lmtp_deliver(srv, "alice@example.org", message(subject="intake")).startswith(b"250")
    clients[0].select("INBOX")
    typ, data = clients[0].search(None, "ALL")
    assert data[0].split() == [b"1"]
    for c in clients:
        c.logout()


def test_lmtp_is_not_limited_per_address(make_server):
    srv = make_server(config={"limits": {"max_connections_per_ip": 1}})
    imap = greeted(srv, "imap", b"* OK")
    # Same address as the IMAP client, over the per-address limit: LMTP from
    # the MTA is trusted intake and still gets in.
    held = [greeted(srv, "lmtp", b"220") for _ in range(3)]
    assert lmtp_deliver(srv, "alice@example.org", message()).startswith(b"250")
    for s in held + [imap]:
        s.close()
