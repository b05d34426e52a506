"""The container entry point (docker/entrypoint.sh), run directly: environment
to configuration, users, seeding, and loud failures for a bad volume or an
unreadable TLS key."""

import imaplib
import os
import poplib
import subprocess
import time

import pytest

from conftest import BIN, SOURCE_DIR, free_port, message, wait_for

ENTRYPOINT = os.path.join(SOURCE_DIR, "docker", "entrypoint.sh")


def base_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILLARBOX_")}
    ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s", "lmtp", "smtp", "http")}
    env.update({
        "PILLARBOX": BIN,
        "PILLARBOX_SERVER_DATA_DIR": str(tmp_path / "data"),
        "PILLARBOX_IMAP_LISTEN": f"127.0.0.1:{ports['imap']}",
        "PILLARBOX_IMAP_TLS_LISTEN": f"127.0.0.1:{ports['imaps']}",
        "PILLARBOX_POP3_LISTEN": f"127.0.0.1:{ports['pop3']}",
        "PILLARBOX_POP3_TLS_LISTEN": f"127.0.0.1:{ports['pop3s']}",
        "PILLARBOX_LMTP_LISTEN": f"127.0.0.1:{ports['lmtp']}",
        "PILLARBOX_SMTP_LISTEN": f"127.0.0.1:{ports['smtp']}",
        "PILLARBOX_HTTP_LISTEN": f"127.0.0.1:{ports['http']}",
        "PILLARBOX_TLS_DIR": str(tmp_path / "no-mounted-tls"),
    })
    env.update(extra)
    return env, ports


def run(env, *cmd, check=True):
    r = subprocess.run(["sh", ENTRYPOINT, *cmd], env=env, capture_output=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r


def test_users_are_created_then_updated(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_USERS="alice:first,bob:$6$salt$" + "x" * 86)
    r = run(env, BIN, "user", "list")
    out = r.stdout.decode()
    assert "alice" in out and "bob" in out
    assert "effective configuration" in r.stdout.decode() + r.stderr.decode()
    # A second start with a new password updates alice instead of failing.
    env["PILLARBOX_USERS"] = "alice:second"
    run(env, BIN, "user", "list")


def test_bad_users_value_is_refused(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_USERS="justaname")
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"NAME:PASSWORD" in r.stderr
    assert b"justaname" not in r.stdout + r.stderr


def user_names(stdout):
    """The names in `user list`'s output, which follows the entry point's."""
    lines = stdout.decode().splitlines()
    header = max(i for i, line in enumerate(lines) if line.split()[:1] == ["NAME"])
    return [line.split()[0] for line in lines[header + 1:] if line.strip()]


def test_blanks_around_users_are_ignored_and_a_restart_works(tmp_path):
    # Regression: ", erin:erin" made a user " erin", and the next start
    # crash-looped trying to add it again.
    env, _ = base_env(tmp_path, PILLARBOX_USERS="dave:dave, erin:erin ,\tfrank : pw,")
    r = run(env, BIN, "user", "list")
    assert sorted(user_names(r.stdout)) == ["dave", "erin", "frank"]
    r = run(env, BIN, "user", "list")
    assert sorted(user_names(r.stdout)) == ["dave", "erin", "frank"]
    assert b"user erin ready" in r.stdout


def test_password_with_a_comma_is_never_printed(tmp_path):
    # Regression: "carol:p,w" printed "w..." in its error message.
    secret_tail = "Zq9tail"
    env, _ = base_env(tmp_path, PILLARBOX_USERS=f"carol:p,{secret_tail}")
    r = run(env, BIN, "user", "list", check=False)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode != 0
    assert "PILLARBOX_USERS entry 2" in out and "PILLARBOX_USERS_FILE" in out
    assert secret_tail not in out


def test_invalid_user_name_is_refused_without_the_secret(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_USERS="ok:fine,bad name:Hunter2secret")
    r = run(env, BIN, "user", "list", check=False)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode != 0
    assert "PILLARBOX_USERS entry 2" in out and "invalid user name" in out, out
    assert "Hunter2secret" not in out


def test_refused_hash_is_never_printed(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_USERS="gina:{NOPE}c2VjcmV0aGFzaA==")
    r = run(env, BIN, "user", "list", check=False)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode != 0
    assert "user gina" in out
    assert "NOPE" not in out and "c2VjcmV0aGFzaA" not in out, out


def test_users_file_with_comments_blank_lines_and_commas(tmp_path):
    users = tmp_path / "users"
    users.write_text("# the team\n\nhank:pass,with,commas\r\n  ivy : $6$salt$" + "y" * 86 + "\n"
                     "   # indented comment\njack:last-line-without-newline")
    env, ports = base_env(tmp_path, PILLARBOX_USERS_FILE=str(users))
    r = run(env, BIN, "user", "list")
    assert sorted(user_names(r.stdout)) == ["hank", "ivy", "jack"]
    out = (r.stdout + r.stderr).decode()
    assert "with,commas" not in out and "y" * 20 not in out

    # The password with commas works for a login.
    proc = subprocess.Popen(["sh", ENTRYPOINT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        imap = wait_for(lambda: try_login(proc, ports["imap"], "hank", "pass,with,commas"), timeout=30,
                        what="login with the password from PILLARBOX_USERS_FILE")
        imap.logout()
    finally:
        proc.terminate()
        log = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert "pass,with,commas" not in log
    assert "is not a setting" not in log  # PILLARBOX_USERS_FILE is known


def test_users_and_users_file_together_are_refused(tmp_path):
    users = tmp_path / "users"
    users.write_text("a:b\n")
    env, _ = base_env(tmp_path, PILLARBOX_USERS="c:d", PILLARBOX_USERS_FILE=str(users))
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"keep one" in r.stderr


def test_dev_password_from_a_file(tmp_path):
    pw = tmp_path / "devpw"
    pw.write_text("from-a-file\n")
    env, _ = base_env(tmp_path, PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE=str(pw))
    r = run(env, "sh", "-c", 'printf "%s|%s" "$PILLARBOX_DEV_AUTO_CREATE_PASSWORD" '
                             '"${PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE:-unset}"')
    assert r.stdout.decode().splitlines()[-1] == "from-a-file|unset"
    assert b"from-a-file" not in r.stderr


def try_login(proc, port, user, password):
    try:
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    except OSError:
        assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
        return None
    imap.login(user, password)
    return imap


def test_mounted_config_file_wins_over_defaults_and_is_logged(tmp_path):
    # Regression: the image ran serve without --config, and its ENV listen
    # addresses overrode a mounted file without a word.
    env, ports = base_env(tmp_path, PILLARBOX_USERS="alice:secret")
    cfg = tmp_path / "pillarbox.toml"
    data = tmp_path / "file-data"
    cfg.write_text(f'''[server]
data_dir = "{data}"
[imap]
listen = ["127.0.0.1:{ports['imap']}"]
tls_listen = []
[pop3]
listen = ["127.0.0.1:{ports['pop3']}"]
tls_listen = []
delete_mode = "hide"
''')
    # The file names the listeners; the environment overrides one of them.
    for k in ("PILLARBOX_SERVER_DATA_DIR", "PILLARBOX_IMAP_LISTEN", "PILLARBOX_IMAP_TLS_LISTEN",
              "PILLARBOX_POP3_TLS_LISTEN"):
        env.pop(k)
    env["PILLARBOX_POP3_LISTEN"] = f"127.0.0.1:{ports['pop3s']}"
    env["PILLARBOX_CONFIG"] = str(cfg)
    r = run(env, BIN, "user", "list")
    out = r.stdout.decode()
    assert f"# from {cfg}" in out and "alice" in out
    assert "# from PILLARBOX_POP3_LISTEN, overrides the file" in out
    assert (data / "store").exists() or any(data.iterdir())  # the file's data_dir

    proc = subprocess.Popen(["sh", ENTRYPOINT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        imap = wait_for(lambda: try_login(proc, ports["imap"], "alice", "secret"), timeout=30,
                        what="the server on the file's IMAP address")
        imap.logout()
        pop = poplib.POP3("127.0.0.1", ports["pop3s"], timeout=5)  # the environment's address
        pop.quit()
    finally:
        proc.terminate()
        log = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert f"configuration: file {cfg}" in log, log
    assert f'imap.listen = ["127.0.0.1:{ports["imap"]}"] (from {cfg})' in log, log
    assert (f'pop3.listen = ["127.0.0.1:{ports["pop3s"]}"] (from PILLARBOX_POP3_LISTEN, '
            "overrides the file)") in log, log
    assert "secret" not in log.replace("secrets", "")
    # No TLS listener, no remote plain one: no certificate is generated.
    assert not (data / "tls").exists()
    assert "no certificate" in log


def test_missing_config_file_is_refused(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_CONFIG=str(tmp_path / "nope.toml"))
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"does not exist" in r.stderr
    (tmp_path / "dir.toml").mkdir()
    env["PILLARBOX_CONFIG"] = str(tmp_path / "dir.toml")
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"is a directory" in r.stderr


def test_seed_dir_and_serve(tmp_path):
    seed = tmp_path / "seed"
    (seed / "alice" / "Projects" / "Alpha").mkdir(parents=True)
    (seed / "alice" / "one.eml").write_text(message("seed one"))
    (seed / "alice" / "two.eml").write_text(message("seed two"))
    (seed / "alice" / "Projects" / "Alpha" / "three.eml").write_text(message("seed three"))
    maildir = seed / "alice" / "Old"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.host").write_text(message("maildir new"))
    (maildir / ".Sub" / "cur").mkdir(parents=True)
    (maildir / ".Sub" / "cur" / "2.host:2,S").write_text(message("maildir sub"))

    env, ports = base_env(tmp_path, PILLARBOX_USERS="alice:secret", PILLARBOX_SEED_DIR=str(seed))
    proc = subprocess.Popen(["sh", ENTRYPOINT], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def login():
            try:
                imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=5)
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
                return None
            imap.login("alice", "secret")
            return imap

        imap = wait_for(login, timeout=30, what="the server started by the entry point")
        counts = {}
        for box in ("INBOX", "Projects/Alpha", "Old", "Old/Sub"):
            typ, data = imap.select(f'"{box}"', readonly=True)
            assert typ == "OK", (box, data)
            counts[box] = int(data[0])
        assert counts == {"INBOX": 2, "Projects/Alpha": 1, "Old": 1, "Old/Sub": 1}
        imap.logout()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert "seeded 5 messages" in out
    assert proc.returncode == 0, out
    # Seeding happens once: a second start does not load the mail again.
    r = run(env, BIN, "user", "list")
    assert b"seeded" not in r.stdout


def test_unwritable_data_dir_fails_loudly(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env, _ = base_env(tmp_path, PILLARBOX_SERVER_DATA_DIR=str(blocker / "data"))
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"not writable" in r.stderr


def test_unreadable_tls_key_fails_loudly(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_TLS_CERT=str(tmp_path / "missing-cert.pem"),
                      PILLARBOX_TLS_KEY=str(tmp_path / "missing-key.pem"))
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"cannot be read" in r.stderr


def test_invalid_configuration_stops_the_start(tmp_path):
    env, _ = base_env(tmp_path, PILLARBOX_POP3_DELETE_MODE="shred")
    r = run(env, BIN, "user", "list", check=False)
    assert r.returncode != 0
    assert b"pop3.delete_mode" in r.stdout + r.stderr
