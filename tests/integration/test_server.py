"""The network core with the real binary: implicit TLS through openssl
s_client, STARTTLS-free plain greeting, SIGTERM and SIGHUP, connection
limits, bind failures, unix sockets, generated certificates, transcripts
with redacted passwords, the healthcheck command, privilege dropping."""

import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time

import pytest

from conftest import BIN, Server, free_port, read_line, unverified_ssl_context, wait_for


def read_all(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def tls_greeting(port):
    ctx = unverified_ssl_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return read_line(s)


def greeted(srv, proto, expect):
    """Connects (retrying while a closing probe still holds a slot) and
    returns the socket once it sent `expect`."""
    def attempt():
        s = srv.connect(proto)
        line = read_line(s)
        if line.startswith(expect):
            return s
        s.close()
        return None
    return wait_for(attempt, what=f"{proto} greeting")


def test_openssl_s_client_sees_the_imap_greeting(server):
    r = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.ports['imaps']}", "-quiet", "-crlf"],
        input=b"a1 LOGOUT\n", capture_output=True, timeout=30)
    assert b"* OK" in r.stdout, (r.stdout, r.stderr, server.log())


def test_plain_and_tls_greetings_of_every_listener(server):
    for proto, expect in (("imap", b"* OK"), ("pop3", b"+OK"), ("lmtp", b"220"), ("smtp", b"220")):
        s = greeted(server, proto, expect)
        s.close()
    assert tls_greeting(server.ports["imaps"]).startswith(b"* OK")
    assert tls_greeting(server.ports["pop3s"]).startswith(b"+OK")


def test_tls_below_min_version_is_refused(make_server):
    srv = make_server(config={"tls": {"min_version": "1.3"}})
    ctx = unverified_ssl_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", srv.ports["imaps"]), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                read_line(s)
    assert tls_greeting(srv.ports["imaps"]).startswith(b"* OK")


def test_sigterm_says_goodbye_and_exits_0_within_5_seconds(server):
    s = greeted(server, "imap", b"* OK")
    start = time.time()
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(timeout=5)
    server.proc = None
    assert rc == 0, server.log()
    assert time.time() - start < 5
    rest = read_all(s)
    assert b"* BYE" in rest
    s.close()


def test_sigint_exits_0(server):
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=5) == 0
    server.proc = None


def test_connection_over_the_per_ip_limit_is_refused(make_server):
    srv = make_server(config={"limits": {"max_connections_per_ip": 1}})
    first = greeted(srv, "imap", b"* OK")
    second = srv.connect("imap")
    assert read_line(second).startswith(b"* BYE Too many connections")
    assert read_all(second) == b""
    second.close()
    pop = srv.connect("pop3")
    assert read_line(pop).startswith(b"-ERR [SYS/TEMP] Too many connections")
    pop.close()
    smtp = srv.connect("smtp")
    assert read_line(smtp).startswith(b"421 4.7.0 Too many connections")
    smtp.close()
    first.close()
    # Once the first one is gone there is room again.
    greeted(srv, "imap", b"* OK").close()


def test_total_connection_limit(make_server):
    # Clients that logged in keep their slots: a newcomer is refused.
    # (Connections not logged in make room instead: test_prelogin.py.)
    srv = make_server(config={"limits": {"max_connections": 2}})
    a = greeted(srv, "imap", b"* OK")
    a.sendall(b"a1 LOGIN alice secret\r\n")
    assert read_line(a).startswith(b"a1 OK")
    b = greeted(srv, "pop3", b"+OK")
    b.sendall(b"USER alice\r\nPASS secret\r\n")
    assert read_line(b).startswith(b"+OK")
    assert read_line(b).startswith(b"+OK")
    c = srv.connect("imap")
    assert read_line(c) == b"* BYE Too many connections\r\n"
    for s in (a, b, c):
        s.close()


def test_sighup_keeps_serving(server):
    s = greeted(server, "imap", b"* OK")
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "TLS certificate reloaded" in server.log(), what="reload logged")
    assert server.proc.poll() is None
    assert tls_greeting(server.ports["imaps"]).startswith(b"* OK")
    # The connection from before the reload is still served.
    s.sendall(b"a1 NOOP\r\n")
    assert read_line(s).startswith(b"a1 ")
    s.close()


def test_failed_reload_keeps_the_old_certificate(make_server, tmp_path):
    srv = make_server(start=False)
    # Generate a certificate by a first start, then configure it explicitly.
    srv.start()
    srv.stop()
    cert = os.path.join(srv.workdir, "cert.pem")
    key = os.path.join(srv.workdir, "key.pem")
    shutil.copy(os.path.join(srv.data_dir, "tls", "cert.pem"), cert)
    shutil.copy(os.path.join(srv.data_dir, "tls", "key.pem"), key)
    srv.sections["tls"] = {"cert": cert, "key": key}
    srv.write_config()
    srv.start()
    with open(cert, "w") as f:
        f.write("garbage\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "TLS reload failed" in srv.log(), what="failed reload logged")
    assert tls_greeting(srv.ports["imaps"]).startswith(b"* OK")


def test_generated_certificate_is_reused(server):
    cert = os.path.join(server.data_dir, "tls", "cert.pem")
    key = os.path.join(server.data_dir, "tls", "key.pem")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with open(cert, "rb") as f:
        before = f.read()
    assert b"BEGIN CERTIFICATE" in before
    server.restart()
    with open(cert, "rb") as f:
        assert f.read() == before
    # The served certificate is that one.
    ctx = unverified_ssl_context()
    with socket.create_connection(("127.0.0.1", server.ports["imaps"]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
    assert ssl.DER_cert_to_PEM_cert(der).strip().encode() == before.strip()


def test_bind_failure_exits_2_naming_the_key(make_server):
    srv = make_server(start=False)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", srv.ports["pop3s"]))
    blocker.listen(1)
    try:
        r = subprocess.run([BIN, "serve", "--config", srv.config_path], capture_output=True,
                           timeout=30)
    finally:
        blocker.close()
    assert r.returncode == 2, r
    err = (r.stdout + r.stderr).decode()
    assert f"pop3.tls_listen: cannot listen on 127.0.0.1:{srv.ports['pop3s']}" in err, err


def test_lmtp_on_a_unix_socket(make_server, tmp_path):
    path = os.path.join(tmp_path, "lmtp.sock")
    # A stale socket file from a crashed server is replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    srv = make_server(start=False)
    srv.sections["lmtp"]["listen"] = [f"127.0.0.1:{srv.ports['lmtp']}", f"unix:{path}"]
    srv.write_config()
    srv.start()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        assert read_line(s).startswith(b"220")
        s.sendall(b"QUIT\r\n")
        assert read_line(s).startswith(b"221")
    assert srv.stop() == 0
    assert not os.path.exists(path)


def test_transcripts_redact_passwords(server):
    s = greeted(server, "pop3", b"+OK")
    s.sendall(b"USER alice\r\n")
    read_line(s)
    s.sendall(b"PASS secret\r\n")
    read_line(s)
    s.sendall(b"QUIT\r\n")
    read_all(s)
    s.close()
    wait_for(lambda: "PASS ***" in server.log(), what="redacted transcript")
    log = server.log()
    assert "USER alice" in log
    assert "PASS secret" not in log


def test_healthcheck(server):
    r = server.cli("healthcheck", check=False)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    lines = out.splitlines()
    assert len(lines) == 7, out
    assert all(line.startswith("ok") for line in lines), out
    assert any(" http " in line and "HTTP/1.1 200" in line for line in lines), out
    assert any("(TLS)" in line and "* OK" in line for line in lines), out
    server.stop()
    r = server.cli("healthcheck", check=False)
    assert r.returncode == 1
    assert "FAILED" in r.stdout.decode()


def _open_ancestors(path):
    # pytest's temporary directories are 0700; the unprivileged user must
    # be able to reach the data directory.
    while path not in ("/", ""):
        st = os.stat(path)
        os.chmod(path, stat.S_IMODE(st.st_mode) | 0o011)
        path = os.path.dirname(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_privileges_after_binding(make_server):
    srv = make_server(start=False, config={"server": {"user": "nobody"}})
    _open_ancestors(srv.workdir)
    srv.start()
    with open(f"/proc/{srv.proc.pid}/status") as f:
        uids = [line for line in f if line.startswith("Uid:")][0].split()[1:]
    nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True).stdout)
    assert all(int(u) == nobody for u in uids), uids
    assert os.stat(os.path.join(srv.data_dir, "store")).st_uid == nobody
    assert tls_greeting(srv.ports["imaps"]).startswith(b"* OK")
    assert srv.stop() == 0


def test_unknown_user_to_drop_to_fails_the_start(make_server):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    srv = make_server(start=False, config={"server": {"user": "no-such-user-pillarbox"}})
    r = subprocess.run([BIN, "serve", "--config", srv.config_path], capture_output=True,
                       timeout=30)
    assert r.returncode == 2
    assert b"server.user" in r.stdout + r.stderr
