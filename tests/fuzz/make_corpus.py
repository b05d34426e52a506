#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are small, realistic client sessions. The session targets take two
bytes before the client's bytes: a configuration byte (bits documented in
each target's source) and a split seed (0: the input arrives in one piece).
Run it after changing the seeds; the files are checked in.
"""
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def session(flags, split, text):
    return bytes([flags, split]) + crlf(text).encode()


def bdat(chunk, last=False):
    chunk = crlf(chunk)
    return "BDAT %d%s\r\n%s" % (len(chunk), " LAST" if last else "", chunk)


# POP3 configuration byte: bits 0-1 delete mode (0 expunge, 1 hide,
# 2 move:Archive, 3 deny), 4 not loopback, 8 STARTTLS available, 0x10 slow
# client, 0x20 no \Seen on RETR, bits 6-7 ending (1 idle timeout, 2 shutdown).
POP3 = {
    "capa_quit": session(0, 0, "CAPA\nQUIT\n"),
    "login_stat_list_quit": session(0, 7, "USER alice\nPASS secret\nSTAT\nLIST\nUIDL\nQUIT\n"),
    "retr_dele_quit_expunge": session(0, 3, "USER alice\nPASS secret\nRETR 1\nDELE 1\nDELE 3\nQUIT\n"),
    "retr_dele_quit_hide": session(1, 5, "USER alice\nPASS secret\nLIST 2\nRETR 2\nDELE 2\nQUIT\n"),
    "dele_move": session(2, 9, "USER alice\nPASS secret\nDELE 1\nDELE 2\nDELE 3\nSTAT\nQUIT\n"),
    "dele_deny": session(3, 1, "USER alice\nPASS secret\nDELE 1\nQUIT\n"),
    "top_uidl": session(0x20, 11, "USER alice\nPASS secret\nTOP 1 0\nTOP 3 5\nUIDL 2\nUIDL 9\nNOOP\nQUIT\n"),
    "rset": session(0, 2, "USER alice\nPASS secret\nDELE 1\nRSET\nLIST\nDELE 1\nDELE 1\nQUIT\n"),
    "slow_big_retr": session(0x10, 13, "USER alice\nPASS secret\nRETR 3\nLIST\nQUIT\n"),
    "pipelined_whole": session(0, 0, "USER alice\nPASS secret\nSTAT\nRETR 1\nTOP 2 1\nDELE 2\nQUIT\n"),
    "bad_password": session(0, 4, "USER alice\nPASS wrong\nUSER alice\nPASS secret\nQUIT\n"),
    "auth_plain": session(0, 6, "AUTH\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\nSTAT\nQUIT\n"),
    "auth_plain_continued": session(0, 1, "AUTH PLAIN\nAGJvYgBwdw==\nLIST\nQUIT\n"),
    "auth_login": session(0, 8, "AUTH LOGIN\nYWxpY2U=\nc2VjcmV0\nSTAT\nQUIT\n"),
    "auth_cancel": session(0, 2, "AUTH PLAIN\n*\nAUTH LOGIN\n*\nQUIT\n"),
    "stls": session(0x0c, 3, "CAPA\nUSER alice\nSTLS\nCAPA\nUSER alice\nPASS secret\nSTAT\nQUIT\n"),
    "not_loopback_refused": session(0x04, 5, "USER alice\nPASS secret\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\nQUIT\n"),
    "idle_timeout": session(0x40, 7, "USER alice\nPASS secret\nDELE 1\n"),
    "shutdown": session(0x80, 7, "USER alice\nPASS secret\nRETR 1\n"),
    "drop_mid_line": session(0, 1, "USER alice\nPASS secret\nDELE 2\nRET"),
    "bad_commands": session(0, 3, "FOO\nSTAT\nLIST\nRETR\nUSER\n"),
    "errors_in_transaction": session(0, 5, "USER alice\nPASS secret\nRETR 0\nRETR 4\nRETR x\nTOP 1\nTOP 1 -1\nDELE 99999999999999999999\nLIST 1 2\nQUIT\n"),
    "long_line": session(0, 200, "USER " + "a" * 1500 + "\nUSER alice\nPASS secret\nQUIT\n"),
    "bare_lf": bytes([0, 9]) + b"USER alice\nPASS secret\nSTAT\nQUIT\n",
    "empty_mailbox": session(0, 4, "USER bob\nPASS pw\nSTAT\nLIST\nRETR 1\nQUIT\n"),
    "unknown_user": session(0, 6, "USER nobody\nPASS x\nAUTH PLAIN AG5vYm9keQB4\nQUIT\n"),
}

# SMTP configuration byte: 1 LMTP, 2 catch-all, 4 auto-create users, 8 AUTH
# required, 0x10 STARTTLS available, 0x20 not loopback, 0x40 local domains
# example.com/example.org, 0x80 slow client. The split byte mod 3 picks the
# ending (0 drop, 1 idle timeout, 2 shutdown).
MSG = "From: Bob <bob@example.org>\nTo: alice@example.com\nSubject: hi\n\nHello\n..dot\n.\n"
SMTP = {
    "lmtp_one": session(1, 0, "LHLO mta.example\nMAIL FROM:<bob@example.org>\nRCPT TO:<alice@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "lmtp_three_rcpts": session(1, 4, "LHLO m\nMAIL FROM:<>\nRCPT TO:<alice@a>\nRCPT TO:<bob@b>\nRCPT TO:<carol@c>\nRCPT TO:<nobody@x>\nDATA\n" + MSG + "QUIT\n"),
    "lmtp_dup_and_detail": session(1, 7, "LHLO m\nMAIL FROM:<a@b> SIZE=100 BODY=8BITMIME\nRCPT TO:<alice+Archive@example.com>\nRCPT TO:<alice@example.com>\nRCPT TO:<alice@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "lmtp_over_quota": session(1, 3, "LHLO m\nMAIL FROM:<a@b>\nRCPT TO:<carol@example.com>\nRCPT TO:<bob@example.com>\nDATA\nSubject: big\n\n" + "x" * 700 + "\n.\nQUIT\n"),
    "lmtp_bdat": session(1, 5, "LHLO m\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\n" + bdat("Subject: b\n") + bdat("\nhi\n", True) + "QUIT\n"),
    "lmtp_domains": session(0x41, 2, "LHLO m\nMAIL FROM:<a@b>\nRCPT TO:<alice@example.org>\nRCPT TO:<alice@other.net>\nRCPT TO:<dave@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "lmtp_starttls": session(0x11, 6, "LHLO m\nSTARTTLS\nLHLO m\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "smtp_one": session(0x40, 0, "EHLO client.example\nMAIL FROM:<bob@example.org>\nRCPT TO:<alice@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "smtp_helo_two_messages": session(0x40, 9, "HELO c\nMAIL FROM:<>\nRCPT TO:<bob@example.com>\nDATA\n" + MSG + "MAIL FROM:<x@y>\nRCPT TO:<alice@example.com>\nRCPT TO:<carol@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "smtp_too_big": session(0x40, 12, "EHLO c\nMAIL FROM:<a@b> SIZE=99999\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\nDATA\nSubject: x\n\n" + ("y" * 200 + "\n") * 25 + ".\nRSET\nQUIT\n"),
    "smtp_bdat": session(0x40, 1, "EHLO c\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\n" + bdat("Subject: b\n\nabcde") + "BDAT 0 LAST\r\nDATA\nQUIT\n"),
    "smtp_auth_plain": session(0x40, 8, "EHLO c\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\nMAIL FROM:<alice@example.com>\nRCPT TO:<someone@elsewhere.net>\nRCPT TO:<bob@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "smtp_auth_login_required": session(0x48, 4, "EHLO c\nMAIL FROM:<a@b>\nAUTH LOGIN\nYWxpY2U=\nd3Jvbmc=\nAUTH LOGIN YWxpY2U=\nc2VjcmV0\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\nQUIT\n"),
    "smtp_auth_cancel": session(0x40, 2, "EHLO c\nAUTH PLAIN\n*\nAUTH\nAUTH CRAM-MD5\nQUIT\n"),
    "smtp_catch_all": session(0x42, 5, "EHLO c\nMAIL FROM:<a@b>\nRCPT TO:<who@ever.example>\nRCPT TO:<alice@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "smtp_auto_create": session(0x46, 7, "EHLO c\nMAIL FROM:<a@b>\nRCPT TO:<new1@example.com>\nRCPT TO:<New2@example.com>\nDATA\n" + MSG + "QUIT\n"),
    "smtp_starttls": session(0x70, 3, "EHLO c\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\nSTARTTLS\nEHLO c\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\nQUIT\n"),
    "smtp_sequence_errors": session(0x40, 6, "MAIL FROM:<a@b>\nHELO\nEHLO c\nRCPT TO:<bob@example.com>\nDATA\nMAIL FROM:<a@b>\nMAIL FROM:<a@b>\nDATA\nBDAT x\nQUIT\n"),
    "smtp_misc": session(0x40, 10, "EHLO c\nNOOP\nRSET\nVRFY alice\nEXPN list\nHELP\nHELP MAIL\nNOOP x\nQUIT now\n"),
    "smtp_too_many_rcpts": session(0x40, 11, "EHLO c\nMAIL FROM:<a@b>\n" + "RCPT TO:<bob@example.com>\n" * 6 + "DATA\n" + MSG + "QUIT\n"),
    "smtp_addresses": session(0x40, 13, 'EHLO c\nMAIL FROM:<"quoted local"@example.org>\nRCPT TO:<@relay.example:bob@x>\nRCPT TO:<"bob"@x>\nRCPT TO:bob@x\nRCPT TO:<bob@[127.0.0.1]>\nRCPT TO:<bob@example.com> NOTIFY=NEVER\nMAIL FROM:<a@b> SMTPUTF8\nRSET\nQUIT\n'),
    "smtp_long_line": session(0x40, 200, "EHLO " + "h" * 1200 + "\nEHLO c\nQUIT\n"),
    "smtp_bad_commands": session(0x40, 2, "GET / HTTP/1.1\nHost: x\n\n" + "X\n" * 12),
    "smtp_slow_drop_in_data": session(0xc0, 3, "EHLO c\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\nDATA\nSubject: cut\n\npartial"),
    "smtp_idle_timeout": session(0x40, 1, "EHLO c\nMAIL FROM:<a@b>\n"),
    "smtp_shutdown_in_data": session(0x40, 2, "EHLO c\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\nDATA\nSubject: s\n\n"),
    "smtp_bare_lf": bytes([0x40, 5]) + b"EHLO c\nMAIL FROM:<a@b>\nRCPT TO:<bob@example.com>\nDATA\nSubject: lf\n\nbody\n.\nQUIT\n",
}

CONFIG = {
    "sample": (HERE.parent.parent / "config" / "pillarbox.toml").read_bytes(),
    "empty": b"",
    "small": b'[server]\ndata_dir = "/var/lib/pillarbox"\nhostname = "mail.example.com"\n\n'
             b'[pop3]\ndelete_mode = "move:Archive"\nmark_seen_on_retr = false\nidle_timeout = "15m"\n',
    "lists": b'[imap]\nlisten = ["0.0.0.0:143", "[::1]:1143"]\ntls_listen = []\n'
             b'[lmtp]\nlisten = ["unix:/run/pillarbox/lmtp.sock", "127.0.0.1:24"]\n',
    "limits": b'[limits]\nmax_message_size = "25M"\nmax_line_length = 65536\n'
              b'output_high_water = "512K"\noutput_low_water = "64K"\n[auth]\nfailure_delay = "500ms"\n',
    "retention": b'[retention]\nexpire_after = ["\\\\Trash=30", "Junk=7"]\nsweep_interval = "1h"\n',
    "dev": b'[smtp]\ncatch_all = true\ncatch_all_user = "dev"\n[dev]\nauto_create_users = true\n'
           b'auto_create_password = "pw"\n[log]\nlevel = "debug"\ntranscripts = true\n',
    "bad_key": b'[pop3]\ndelete_mod = "hide"\n',
    "bad_value": b'[pop3]\ndelete_mode = "shred"\n[limits]\nmax_connections = -1\n',
    "bad_syntax": b'[server\ndata_dir = \n',
    "setting_delete_mode": b"pop3.delete_mode=move:Trash",
    "setting_mark_seen": b"pop3.mark_seen_on_retr=yes",
    "duration": b"90m",
    "size": b"1.5GiB",
    "listen_v6": b"[2001:db8::1]:995",
}

IMAP = {
    "login_select": b"\x00" + crlf("a1 LOGIN alice secret\na2 SELECT INBOX\na3 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\na4 LOGOUT\n").encode(),
    "literals": b"\x03a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\na2 APPEND INBOX (\\Seen) {11}\r\nHello world\r\na3 APPEND INBOX ~{3}\r\n\x00\x01\x02\r\n",
    "search": b"\x02" + crlf('a SEARCH CHARSET UTF-8 OR (FROM "bob" SUBJECT hi) NOT DELETED UID 1:*,5 SINCE 1-Jan-2020\nb UID STORE 1:3 +FLAGS.SILENT (\\Deleted $Junk)\n').encode(),
    "quoted_and_lists": b"\x05" + crlf('a LIST "" "%"\nb STATUS "INBOX" (MESSAGES UIDNEXT)\nc RENAME "a \\"b\\"" c\nd IDLE\nDONE\n').encode(),
    "authenticate": b"\x01" + crlf("a AUTHENTICATE PLAIN\nAGFsaWNlAHNlY3JldA==\nb AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\n").encode(),
    "errors": b"\x04" + crlf("\n*\na\na NOOP extra\na FETCH 1 (BODY[1.2.MIME]<0.10>)\n{999999999}\na LOGIN {99999999999999999999}\n").encode(),
}

# HTTP configuration byte: 1 auth = "token" (token "t"), 2 slow client, bits
# 6-7 ending (1 idle timeout, 2 shutdown).
API = "/api/v1/users/alice"
HTTP = {
    "healthz": session(0, 0, "GET /healthz HTTP/1.1\nHost: x\n\n"),
    "users_pipelined": session(0, 5, "GET /api/v1/users HTTP/1.1\nHost: x\n\nGET " + API + "/mailboxes HTTP/1.1\n\n"),
    "messages": session(2, 7, "GET " + API + "/mailboxes/INBOX/messages?offset=0&limit=1&q=hi HTTP/1.1\n\n"),
    "message_detail": session(0, 3, "GET " + API + "/mailboxes/INBOX/messages/2 HTTP/1.1\n\nGET " + API + "/mailboxes/INBOX/messages/2/parts/2 HTTP/1.1\n\n"),
    "raw_head": session(0, 9, "HEAD " + API + "/mailboxes/INBOX/messages/1/raw HTTP/1.1\n\n"),
    "journal_views_sessions": session(0, 4, "GET " + API + "/journal?since=0&limit=5 HTTP/1.1\n\nGET " + API + "/views HTTP/1.1\n\nGET /api/v1/sessions HTTP/1.0\n\n"),
    "settings_patch": session(0, 6, "PATCH " + API + "/settings HTTP/1.1\nContent-Length: 29\n\n{\"pop3.delete_mode\": \"hide\"}\n"),
    "user_post_hash": session(0, 2, "POST /api/v1/users HTTP/1.1\nContent-Length: 42\n\n{\"name\": \"bob\", \"hash\": \"{PLAIN}pw12\"}"),
    "user_delete": session(0, 8, "DELETE /api/v1/users/alice HTTP/1.1\n\n"),
    "token_auth": session(1, 1, "GET /api/v1/users HTTP/1.1\n\nGET /api/v1/users HTTP/1.1\nAuthorization: Bearer t\n\nPOST /api/v1/login HTTP/1.1\nContent-Length: 13\n\n{\"token\":\"t\"}"),
    "chunked": session(0, 11, "POST /api/v1/users HTTP/1.1\nTransfer-Encoding: chunked\n\n5\n{\"a\":\n2\n1}\n0\n\n"),
    "events": session(0x40, 3, "GET /api/v1/events?user=alice HTTP/1.1\n\n"),
    "bad": session(0, 1, "BREW /pot HTTP/1.1\n\nGET /%zz/../ HTTP/9.9\n\n"),
    "static": session(0x80, 2, "GET / HTTP/1.1\n\nGET /app.js HTTP/1.1\n\nGET /nope HTTP/1.1\n\n"),
}

# IMAP session configuration byte: bits 0-1 profile (0 full, 1 rfc3501,
# 2 "-NOTIFY -CONTEXT=SEARCH -CONDSTORE -QRESYNC -LITERAL+", 3 minimal-sync),
# 4 not loopback, 8 STARTTLS available, 0x10 slow client, bits 6-7 ending
# (1 idle timeout, 2 shutdown).
LOGIN = "a LOGIN alice secret\n"
IMAP_SESSION = {
    "capability_logout": session(0, 0, "c CAPABILITY\nl LOGOUT\n"),
    "select_fetch": session(0, 7, LOGIN + "s SELECT INBOX\nf FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE BODYSTRUCTURE)\n"
                            "g UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[2]<0.10> BINARY[2] BINARY.SIZE[2])\n"
                            "h FETCH 3 (RFC822.TEXT EMAILID THREADID SAVEDATE)\nl LOGOUT\n"),
    "store_expunge": session(0x10, 3, LOGIN + "s SELECT INBOX\nt STORE 1:2 +FLAGS (\\Deleted $Label)\n"
                             "u UID STORE 3 FLAGS.SILENT (\\Seen)\ne EXPUNGE\nc CLOSE\n"),
    "condstore_qresync": session(0, 5, LOGIN + "e ENABLE QRESYNC CONDSTORE\ns SELECT INBOX (QRESYNC (1 1 1:5))\n"
                                 "f FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\n"
                                 "t STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Flagged)\nx SEARCH MODSEQ 1\n"),
    "esearch_context": session(0, 9, LOGIN + "s SELECT INBOX\na SEARCH RETURN (MIN MAX COUNT SAVE) ALL\n"
                               "b SEARCH RETURN (UPDATE PARTIAL 1:2) UNSEEN\nc UID SORT RETURN (UPDATE ALL) (REVERSE DATE) UTF-8 ALL\n"
                               "d FETCH $ FLAGS\ne CANCELUPDATE \"b\" \"c\"\nf NOOP\n"),
    "sort_thread": session(0, 2, LOGIN + "s EXAMINE INBOX\na SORT (SUBJECT DISPLAYFROM SIZE) UTF-8 ALL\n"
                           "b THREAD REFERENCES UTF-8 ALL\nc THREAD ORDEREDSUBJECT US-ASCII SUBJECT hi\n"),
    "notify_idle": session(0x40, 4, LOGIN + "n NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) "
                           "(PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))\n"
                           "c CREATE Work\ns SELECT INBOX\ni IDLE\nDONE\nm NOTIFY NONE\n"),
    "mailboxes": session(0, 6, LOGIN + "c CREATE Archive/2026 (USE (\\Archive))\nl LIST (SUBSCRIBED) \"\" * RETURN (CHILDREN STATUS (MESSAGES SIZE))\n"
                         "r RENAME Archive Old\nu SUBSCRIBE Old\nq GETQUOTAROOT INBOX\nn NAMESPACE\nd DELETE Old/2026\n"),
    "append_multi": session(0, 8, LOGIN + "a APPEND INBOX (\\Seen) {11+}\nSubject: a\n\n {11+}\nSubject: b\n\n\n"
                            "b APPEND INBOX CATENATE (TEXT {9+}\nSubject: \n URL \"/INBOX;UIDVALIDITY=1/;UID=1\")\n"
                            "c APPEND INBOX ~{4+}\nab\n\n"),
    "copy_move": session(0, 1, LOGIN + "s SELECT INBOX\nc COPY 1:2 Trash\nm UID MOVE 3 Trash\nu UID EXPUNGE 1\n"),
    "rev2_utf8": session(0, 3, LOGIN + "e ENABLE IMAP4rev2 UTF8=ACCEPT\ns SELECT INBOX\nx SEARCH RECENT\ny SEARCH ALL\n"
                         "z STATUS INBOX (MESSAGES DELETED SIZE MAILBOXID)\n"),
    "compress": session(0, 0, LOGIN + "z COMPRESS DEFLATE\n"),
    "starttls_authenticate": session(0x0c, 2, "s STARTTLS\na AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\n"),
    "bad_input": session(2, 1, "a LOGIN alice secret\nb SELECT\nc FETCH 1:* (FLAGS\nd {99999999}\ne NOTIFY SET (BOGUS)\n"),
}


def write(target, seeds):
    out = CORPUS / target
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, data in seeds.items():
        (out / name).write_bytes(data)


def main():
    write("pop3_session_fuzz", POP3)
    write("smtp_session_fuzz", SMTP)
    write("config_fuzz", CONFIG)
    write("imap_parser_fuzz", IMAP)
    write("http_session_fuzz", HTTP)
    write("imap_session_fuzz", IMAP_SESSION)
    # mime_fuzz: the messages in tests/fixtures/mime are its seeds.


if __name__ == "__main__":
    main()
