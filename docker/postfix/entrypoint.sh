#!/bin/sh
# Writes Postfix's main.cf and master.cf from the environment, then runs the
# command (default: postfix start-fg). Mail for MAIL_DOMAIN goes to Pillarbox
# over LMTP; SMTP AUTH on submission (587) asks Pillarbox through its Dovecot
# auth socket; recipients are checked through its socketmap socket.
#
#   MAIL_DOMAIN          the domains Pillarbox holds mail for (comma list)
#   MAIL_HOSTNAME        this server's name (default: mail.<first domain>)
#   PILLARBOX_LMTP       where Pillarbox's LMTP is (default inet:pillarbox-team:24)
#   PILLARBOX_RUN_DIR    the volume shared with Pillarbox (default /run/pillarbox)
#   PILLARBOX_AUTH_SOCKET       default $PILLARBOX_RUN_DIR/auth
#   PILLARBOX_SOCKETMAP_SOCKET  default $PILLARBOX_RUN_DIR/socketmap;
#                        "none": every address of MAIL_DOMAIN is accepted and
#                        Pillarbox refuses unknown ones at LMTP (bounces)
#   TLS_CERT, TLS_KEY    default /etc/postfix/certs/cert.pem and key.pem; when
#                        missing, port 25 runs without TLS and 587 is off
set -eu
die() {
  echo "postfix-entrypoint: $*" >&2
  exit 1
}

domains=$(printf '%s' "${MAIL_DOMAIN:-}" | tr -d ' ')
[ -n "$domains" ] || die "set MAIL_DOMAIN (the domain Pillarbox receives mail for)"
first=${domains%%,*}
host=${MAIL_HOSTNAME:-mail.$first}
run_dir=${PILLARBOX_RUN_DIR:-/run/pillarbox}
auth=${PILLARBOX_AUTH_SOCKET:-$run_dir/auth}
socketmap=${PILLARBOX_SOCKETMAP_SOCKET:-$run_dir/socketmap}
lmtp=${PILLARBOX_LMTP:-inet:pillarbox-team:24}
cert=${TLS_CERT:-/etc/postfix/certs/cert.pem}
key=${TLS_KEY:-/etc/postfix/certs/key.pem}

cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e \
  "compatibility_level=3.6" \
  "myhostname=$host" "mydomain=$first" "myorigin=\$mydomain" \
  "mydestination=" "local_recipient_maps=" "alias_maps=" "alias_database=" \
  "mynetworks=127.0.0.0/8 [::1]/128" \
  "inet_interfaces=all" "inet_protocols=all" \
  "maillog_file=/dev/stdout" \
  "smtpd_relay_restrictions=permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
  "smtpd_recipient_restrictions=reject_unauth_pipelining, reject_non_fqdn_recipient, reject_unknown_recipient_domain" \
  "smtpd_helo_required=yes" "disable_vrfy_command=yes" \
  "smtp_tls_security_level=may" "smtp_tls_CApath=/etc/ssl/certs"
if [ "$socketmap" = none ]; then
  # Any address of the domains; Pillarbox answers for unknown ones at LMTP.
  postconf -e "relay_domains=$domains" "relay_transport=lmtp:$lmtp"
else
  postconf -e "virtual_mailbox_domains=$domains" "virtual_transport=lmtp:$lmtp" \
    "virtual_mailbox_maps=socketmap:unix:$socketmap:mailbox"
fi

tls=no
if [ -r "$cert" ] && [ -r "$key" ]; then
  tls=yes
  postconf -e "smtpd_tls_cert_file=$cert" "smtpd_tls_key_file=$key" \
    "smtpd_tls_security_level=may" "smtpd_tls_loglevel=1" \
    "smtpd_tls_mandatory_protocols=>=TLSv1.2" "smtpd_tls_protocols=>=TLSv1.2"
else
  echo "postfix-entrypoint: warning: no $cert / $key: port 25 without TLS, submission (587) off" >&2
  postconf -e "smtpd_tls_security_level=none"
fi

# Not chrooted: the sockets in the shared volume (and LMTP's name lookups)
# must be reachable from smtpd and lmtp. Debian chroots by default.
postconf -F '*/*/chroot = n'
postconf -M# submission/inet 2>/dev/null || true
if [ "$tls" = yes ]; then
  postconf -M "submission/inet=submission inet n - n - - smtpd"
  postconf -P \
    "submission/inet/syslog_name=postfix/submission" \
    "submission/inet/smtpd_tls_security_level=encrypt" \
    "submission/inet/smtpd_sasl_auth_enable=yes" \
    "submission/inet/smtpd_sasl_type=dovecot" \
    "submission/inet/smtpd_sasl_path=$auth" \
    "submission/inet/smtpd_sasl_security_options=noanonymous" \
    "submission/inet/smtpd_tls_auth_only=yes" \
    "submission/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject" \
    "submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject" \
    "submission/inet/smtpd_recipient_restrictions=permit_sasl_authenticated,reject"
fi

postfix check || die "postfix check failed (see above)"
echo "postfix-entrypoint: $host for $domains, LMTP to $lmtp, TLS $tls"
if [ $# -eq 0 ]; then set -- postfix start-fg; fi
exec "$@"
