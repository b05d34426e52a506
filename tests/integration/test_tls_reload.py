"""The certificate as an operator sees it: its SHA-256 fingerprint in the
log at start and after SIGHUP, a renewed certificate (certbot's deploy hook)
served to new connections after SIGHUP while open ones go on, and no
certificate generated when no listener needs one."""

import hashlib
import os
import re
import signal
import socket
import subprocess

from conftest import read_line, unverified_ssl_context, wait_for


def make_cert(directory, name):
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    return cert, key


def served_fingerprint(port):
    ctx = unverified_ssl_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
            assert read_line(s).startswith(b"* OK")
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def logged_fingerprints(srv, path):
    return re.findall(r"tls certificate " + re.escape(path) + r" sha256 ([0-9A-F:]{95})", srv.log())


def test_fingerprint_logged_and_sighup_serves_the_renewed_certificate(make_server, tmp_path):
    live = str(tmp_path / "live")
    os.makedirs(live)
    cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
    old_cert, old_key = make_cert(str(tmp_path), "old")
    new_cert, new_key = make_cert(str(tmp_path), "new")
    os.symlink(old_cert, cert)
    os.symlink(old_key, key)
    srv = make_server(config={"tls": {"cert": cert, "key": key}})

    before = served_fingerprint(srv.ports["imaps"])
    assert logged_fingerprints(srv, cert) == [before]

    # A TLS session open across the reload.
    ctx = unverified_ssl_context()
    held = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.ports["imaps"]), timeout=10),
                           server_hostname="localhost")
    assert read_line(held).startswith(b"* OK")

    # Renewal as certbot does it: the names point at new files.
    for link, target in ((cert, new_cert), (key, new_key)):
        os.symlink(target, link + ".tmp")
        os.replace(link + ".tmp", link)
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(logged_fingerprints(srv, cert)) == 2, what="the reloaded certificate's line")

    after = served_fingerprint(srv.ports["imaps"])
    assert after != before
    assert logged_fingerprints(srv, cert) == [before, after]
    held.sendall(b"a1 NOOP\r\n")
    assert read_line(held).startswith(b"a1 OK")
    held.close()
    assert srv.proc.poll() is None


def test_no_certificate_without_a_listener_that_needs_one(make_server):
    # Regression: a certificate was generated with no TLS listener at all.
    srv = make_server(config={"imap": {"tls_listen": []}, "pop3": {"tls_listen": []}})
    assert not os.path.exists(os.path.join(srv.data_dir, "tls"))
    assert "no certificate" in srv.log()
    s = srv.connect("imap")
    assert read_line(s).startswith(b"* OK")
    s.sendall(b"a1 CAPABILITY\r\n")
    caps = read_line(s)
    assert b"STARTTLS" not in caps
    s.close()
