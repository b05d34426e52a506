"""A small team's first hour: the right store every time (data directory,
one server per data directory, --config errors), session ids unique for the
life of the store, check-config running serve's checks, typos in settings,
user names and imported hashes, and logging in with the full address."""

import base64
import hashlib
import imaplib
import os
import poplib
import re
import smtplib
import subprocess
import time

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt hashes to import (libxcrypt); no other module makes them here

from conftest import BIN, message, wait_for


def run(args, cwd=None, env=None, input=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PILLARBOX_")}
    full_env.update(env or {})
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run([BIN, *args], cwd=cwd, env=full_env, input=input, capture_output=True,
                          timeout=timeout)


def err(r):
    return r.stderr.decode(errors="replace")


@pytest.fixture
def offline(make_server):
    """A configured data directory with an empty store and no running server."""
    return make_server(users={}, start=False)


# --- the right store ------------------------------------------------------


def test_cli_elsewhere_fails_clearly_and_creates_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["user", "list"], ["user", "add", "alice", "--password-stdin"],
                 ["journal", "alice"], ["deliver", "--user", "alice"]):
        r = run(args, cwd=elsewhere, input="secret\n")
        assert r.returncode == (75 if args[0] == "deliver" else 66), (args, err(r))
        assert f"no store in the data directory {elsewhere}/data" in err(r), err(r)
        assert "--config" in err(r)
    assert list(elsewhere.iterdir()) == []


def test_verbose_names_the_data_directory(offline):
    r = offline.cli("user", "list", "--verbose")
    assert f"data directory {offline.data_dir} (from {offline.config_path})" in err(r)
    r = offline.cli("user", "del", "nobody", check=False)
    assert r.returncode == 67 and f"(data directory {offline.data_dir})" in err(r)


def test_verbose_names_the_default_when_the_file_has_no_data_dir(tmp_path):
    # A configuration file without server.data_dir: ./data of the working
    # directory is used, and --verbose must not say it came from the file.
    conf = tmp_path / "pillarbox.toml"
    conf.write_text("[pop3]\ndelete_mode = \"hide\"\n")
    cwd = tmp_path / "work"
    cwd.mkdir()
    r = run(["init", "--config", str(conf), "--verbose"], cwd=cwd)
    assert r.returncode == 0, err(r)
    assert (cwd / "data" / "store" / "data.mdb").exists()
    assert (f"data directory {cwd}/data (the built-in default ./data, relative to the working "
            f"directory; {conf} does not set server.data_dir)") in err(r), err(r)
    assert f"(from {conf})" not in err(r)


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path):
    confdir = tmp_path / "etc"
    confdir.mkdir()
    conf = confdir / "pillarbox.toml"
    conf.write_text('[server]\ndata_dir = "maildata"\n')
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    r = run(["check-config", "--config", str(conf)], cwd=cwd)
    assert r.returncode == 0, err(r)
    assert f'data_dir = "{confdir}/maildata"' in r.stdout.decode()
    r = run(["init", "--config", str(conf)], cwd=cwd)
    assert r.returncode == 0, err(r)
    assert (confdir / "maildata" / "store" / "data.mdb").exists()
    r = run(["user", "add", "alice", "--password-stdin", "--config", str(conf)], cwd=cwd,
            input="pw\n")
    assert r.returncode == 0, err(r)
    r = run(["user", "list", "--config", "etc/pillarbox.toml"], cwd=tmp_path)
    assert r.returncode == 0 and b"alice" in r.stdout
    assert list(cwd.iterdir()) == []
    # From the environment it is relative to the working directory.
    r = run(["check-config"], cwd=cwd, env={"PILLARBOX_SERVER_DATA_DIR": "d"})
    assert 'data_dir = "d"' in r.stdout.decode()


def test_second_serve_is_refused_naming_the_pid(server):
    r = run(["serve", "--config", server.config_path], timeout=30)
    assert r.returncode == 2
    assert f"(pid {server.proc.pid}) is using the data directory {server.data_dir}" in err(r)
    with open(os.path.join(server.data_dir, "pillarbox.lock")) as f:
        assert f.read().strip() == str(server.proc.pid)
    # The command line works beside the running server.
    r = server.cli("user", "list")
    assert b"alice" in r.stdout
    imap = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    imap.login("alice", "secret")
    imap.logout()
    # Once it stops, the lock is free again.
    assert server.stop() == 0
    server.start()


def test_config_naming_a_directory_or_missing_file_is_an_error(tmp_path):
    d = tmp_path / "pillarbox.toml"
    d.mkdir()
    for cmd in (["check-config"], ["serve"], ["user", "list"]):
        r = run([*cmd, "--config", str(d)], cwd=tmp_path)
        assert r.returncode == 2, (cmd, err(r))
        assert f"{d}: is a directory" in err(r)
        r = run([*cmd, "--config", str(tmp_path / "missing.toml")], cwd=tmp_path)
        assert r.returncode == 2 and "cannot open: No such file or directory" in err(r)
    assert not (tmp_path / "data").exists()


# --- session ids ------------------------------------------------------------


def journal_sessions(srv):
    out = srv.cli("journal", "alice").stdout.decode()
    return [(line.split()[1], line.split()[2]) for line in out.splitlines()
            if re.match(r"^\S+\s+\S+\s+#\d+", line)]


def read_first(srv):
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    imap.login("alice", "secret")
    imap.select("INBOX")
    imap.fetch("1", "(BODY[])")
    imap.store("1", "-FLAGS", "\\Seen")
    imap.logout()


def test_session_ids_are_unique_across_restarts_and_processes(server):
    server.deliver("alice", message("one"))
    read_first(server)
    server.restart()
    server.deliver("alice", message("two"))
    read_first(server)
    seen = wait_for(lambda: (lambda s: s if len({x for x in s if x[0] == "imap"}) >= 2 else None)(
        journal_sessions(server)), what="two imap sessions in the journal")
    by_proto = {}
    for proto, sid in seen:
        by_proto.setdefault(proto, set()).add(sid)
    assert len(by_proto["cli"]) == 2, seen
    assert len(by_proto["imap"]) == 2, seen
    assert not by_proto["cli"] & by_proto["imap"], seen
    # Readable: opening number, then the session within it.
    for sid in by_proto["imap"] | by_proto["cli"]:
        assert re.fullmatch(r"#\d+0{3,}\d+", sid), sid


# --- check-config runs serve's checks -----------------------------------------


def make_cert(dirpath, name):
    key, cert = dirpath / f"{name}.key", dirpath / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    return cert, key


def test_check_config_rejects_what_serve_rejects(offline, tmp_path):
    cert_a, key_a = make_cert(tmp_path, "a")
    cert_b, key_b = make_cert(tmp_path, "b")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")
    cases = [
        ((cert_a, key_b), f"tls.key does not match tls.cert ({key_b}, {cert_a})"),
        ((tmp_path / "x.pem", key_a),
         f"tls.cert: cannot read {tmp_path}/x.pem: No such file or directory"),
        ((garbage, key_a), f"tls.cert: not a PEM certificate ({garbage})"),
        ((cert_a, garbage), "tls.key: not a PEM private key"),
    ]
    for (cert, key), sentence in cases:
        env = {"PILLARBOX_TLS_CERT": str(cert), "PILLARBOX_TLS_KEY": str(key)}
        r = run(["check-config", "--config", offline.config_path], env=env)
        assert r.returncode == 2 and sentence in err(r), err(r)
        assert "error:" not in err(r).replace("config error:", "")  # no OpenSSL codes
        r = run(["serve", "--config", offline.config_path], env=env, timeout=30)
        assert r.returncode == 2 and sentence in err(r), err(r)
    env = {"PILLARBOX_TLS_CERT": str(cert_a), "PILLARBOX_TLS_KEY": str(key_a)}
    r = run(["check-config", "--config", offline.config_path], env=env)
    assert r.returncode == 0, err(r)


# --- typos ---------------------------------------------------------------------


def test_unknown_environment_variable_is_warned_with_a_suggestion(offline):
    r = run(["check-config", "--config", offline.config_path],
            env={"PILLARBOX_IMAP_LISTN": "127.0.0.1:1", "PILLARBOX_USERS": "a:b"})
    assert r.returncode == 0
    assert err(r) == ("pillarbox: warning: environment variable PILLARBOX_IMAP_LISTN is not a "
                      "setting and is ignored; did you mean PILLARBOX_IMAP_LISTEN?\n")
    # serve logs it at start.
    offline.sections["pop3"]["listen"] = []
    offline.write_config()
    env = dict(os.environ, PILLARBOX_POP3_DELETE_MOD="hide")
    proc = subprocess.Popen([BIN, "serve", "--config", offline.config_path], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = []
        deadline = time.time() + 15
        while time.time() < deadline:
            line = proc.stdout.readline().decode()
            lines.append(line)
            if "listening" in line or not line:
                break
        text = "".join(lines)
        assert ("PILLARBOX_POP3_DELETE_MOD is not a setting and is ignored; did you mean "
                "PILLARBOX_POP3_DELETE_MODE?") in text, text
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_unknown_key_has_line_number_and_suggestion(tmp_path):
    conf = tmp_path / "p.toml"
    conf.write_text('[imap]\nlisten = ["127.0.0.1:1143"]\n\nidle_timout = "40m"\n')
    r = run(["check-config", "--config", str(conf)])
    assert r.returncode == 2
    assert err(r) == ("pillarbox: config error: imap.idle_timout: unknown key (line 4); "
                      "did you mean imap.idle_timeout?\n")
    conf.write_text('[delivery]\nsubaddress_seperator = "-"\n')
    r = run(["check-config", "--config", str(conf)])
    assert "(line 2); did you mean delivery.subaddress_separator?" in err(r)
    conf.write_text('[pop]\ndelete_mode = "hide"\n')
    r = run(["check-config", "--config", str(conf)])
    assert "pop: unknown section (line 1); did you mean [pop3]?" in err(r), err(r)


# --- user names and hashes ------------------------------------------------------


def openssl_passwd(flag, password, salt):
    return subprocess.run(["openssl", "passwd", flag, "-salt", salt, password], check=True,
                          capture_output=True).stdout.decode().strip()


def test_bad_hashes_and_names_are_refused(offline):
    good_bcrypt = crypt.crypt("pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    for h in ("$y$j9T$abc$def", good_bcrypt[:40], "$6$salt$short", "{SHA512-CRYPT}$5$x$y",
              "{SSHA512}bm90IGEgaGFzaA==", "{NOPE}abc"):
        r = offline.cli("user", "add", "erin", "--hash", h, check=False)
        assert r.returncode == 64, (h, err(r))
        assert "user add erin: --hash:" in err(r), err(r)
    for name in ("a b", "a/b", "a,b", "a:b", "a+b", "", "x" * 65, ".a", "a@", "a@b@c"):
        r = offline.cli("user", "add", name, "--password-stdin", input=b"pw\n", check=False)
        assert r.returncode == 64, (name, err(r))
        assert "invalid user name" in err(r)
    r = offline.cli("user", "list")
    assert r.stdout.decode().splitlines()[1:] == []
    for name in ("alice.smith", "bob_2", "carol-x", "dave@example.org"):
        offline.cli("user", "add", name, "--password-stdin", input=b"pw\n")


def test_dovecot_scheme_hashes_are_accepted_and_log_in(offline):
    salt = b"NaCl1234"
    ssha512 = "{SSHA512}" + base64.b64encode(
        hashlib.sha512(b"pw-ssha512" + salt).digest() + salt).decode()
    ssha = "{SSHA}" + base64.b64encode(hashlib.sha1(b"pw-ssha" + salt).digest() + salt).decode()
    sha256 = "{SHA256}" + base64.b64encode(hashlib.sha256(b"pw-sha256").digest()).decode()
    users = {
        "u1": ("pw-md5", "{MD5-CRYPT}" + openssl_passwd("-1", "pw-md5", "saltsalt")),
        "u2": ("pw-sha512", "{SHA512-CRYPT}" + openssl_passwd("-6", "pw-sha512", "saltsalt")),
        "u3": ("pw-blf", "{BLF-CRYPT}" + crypt.crypt("pw-blf", crypt.mksalt(crypt.METHOD_BLOWFISH,
                                                                            rounds=16))),
        "u4": ("pw-ssha512", ssha512),
        "u5": ("pw-ssha", ssha),
        "u6": ("pw-sha256", sha256),
        "u7": ("pw-plain", "{PLAIN}pw-plain"),
    }
    for name, (_, h) in users.items():
        r = offline.cli("user", "add", name, "--hash", h, check=False)
        assert r.returncode == 0, (name, h, err(r))
    offline.start()
    for name, (password, _) in users.items():
        imap = imaplib.IMAP4("127.0.0.1", offline.ports["imap"])
        imap.login(name, password)
        imap.logout()
        imap = imaplib.IMAP4("127.0.0.1", offline.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(name, password + "x")
        imap.logout()


# --- login with the full address --------------------------------------------------


def test_login_with_the_full_address(make_server):
    srv = make_server(config={"delivery": {"domains": ["example.org"]}})
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    typ, _ = imap.login("alice@Example.ORG", "secret")
    assert typ == "OK"
    imap.logout()
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("alice@other.example", "secret")
    imap.logout()

    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    pop.user("alice@example.org")
    assert pop.pass_("secret").startswith(b"+OK")
    pop.quit()
    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"])
    pop.user("alice@other.example")
    with pytest.raises(poplib.error_proto):
        pop.pass_("secret")
    pop.quit()

    smtp = smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10)
    smtp.ehlo()
    assert smtp.login("alice@example.org", "secret")[0] == 235
    smtp.quit()
    smtp = smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=10)
    smtp.ehlo()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login("alice@other.example", "secret")
    smtp.quit()
