#!/bin/sh
# Container entry point: checks the data volume and TLS files, applies the
# convenience variables, prints the effective configuration, then runs the
# command (default: pillarbox serve).
#
#   PILLARBOX_USERS="alice:password,bob:$2b$12$..."   create or update users
#                       (a value starting with '$' or '{' is a hash)
#   PILLARBOX_SEED_DIR=/seed    load mail at first start: SEED/USER/*.eml go to
#                       INBOX, SEED/USER/Some/Box/*.eml to "Some/Box"; Maildir
#                       folders (cur/ new/, Maildir++ ".Sub.Box") work too
#   /etc/pillarbox/tls/cert.pem and key.pem, when mounted, are the certificate
#                       (else PILLARBOX_TLS_CERT/KEY, else one is generated)
# Every other setting: PILLARBOX_<SECTION>_<KEY> (see config/pillarbox.toml).
set -eu

PILLARBOX=${PILLARBOX:-pillarbox}
die() {
  echo "pillarbox-entrypoint: $*" >&2
  exit 1
}

data=${PILLARBOX_SERVER_DATA_DIR:-/data}
export PILLARBOX_SERVER_DATA_DIR="$data"
mkdir -p "$data" 2>/dev/null || true
probe="$data/.pillarbox-write-test.$$"
if ! (: >"$probe") 2>/dev/null; then
  die "$data is not writable by uid $(id -u) gid $(id -g). Fix: chown $(id -u):$(id -g) the volume's directory on the host, or mount a named volume."
fi
rm -f "$probe"

tls_dir=${PILLARBOX_TLS_DIR:-/etc/pillarbox/tls}
if [ -z "${PILLARBOX_TLS_CERT:-}" ] && [ -f "$tls_dir/cert.pem" ]; then
  export PILLARBOX_TLS_CERT="$tls_dir/cert.pem"
  export PILLARBOX_TLS_KEY="$tls_dir/key.pem"
fi
for var in PILLARBOX_TLS_CERT PILLARBOX_TLS_KEY; do
  eval "file=\${$var:-}"
  if [ -n "$file" ] && [ ! -r "$file" ]; then
    die "$var=$file cannot be read by uid $(id -u). Fix: mount it readable (chmod 0640 and group $(id -g), or 0644 for the certificate)."
  fi
done

echo "pillarbox-entrypoint: effective configuration:"
"$PILLARBOX" check-config || die "the configuration is invalid (see the line above)."
# Users and seed mail are added before the server starts: create the store
# (commands other than serve and init never do).
"$PILLARBOX" init >/dev/null || die "cannot create the store in $data (see the line above)."

# `user list` prints a header line, then one user a line, name first.
user_exists() {
  "$PILLARBOX" user list | awk 'NR > 1 { print $1 }' | grep -qixF -- "$1"
}

if [ -n "${PILLARBOX_USERS:-}" ]; then
  old_ifs=$IFS
  IFS=','
  for entry in $PILLARBOX_USERS; do
    IFS=$old_ifs
    name=${entry%%:*}
    secret=${entry#*:}
    [ -n "$name" ] && [ "$name" != "$entry" ] || die "PILLARBOX_USERS: expected NAME:PASSWORD, got '$name...'"
    case "$secret" in
      '$'* | '{'*)
        if user_exists "$name"; then
          "$PILLARBOX" user passwd "$name" --hash "$secret" >/dev/null
        else
          "$PILLARBOX" user add "$name" --hash "$secret" >/dev/null
        fi ;;
      *)
        if user_exists "$name"; then
          printf '%s\n' "$secret" | "$PILLARBOX" user passwd "$name" --password-stdin >/dev/null
        else
          printf '%s\n' "$secret" | "$PILLARBOX" user add "$name" --password-stdin >/dev/null
        fi ;;
    esac
    echo "pillarbox-entrypoint: user $name ready"
    IFS=','
  done
  IFS=$old_ifs
fi

# deliver_dir DIR USER MAILBOX: every regular file of DIR (not recursive).
deliver_dir() {
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    "$PILLARBOX" deliver --user "$2" --mailbox "$3" <"$f" ||
      die "seeding $f into $2/$3 failed"
    seeded=$((seeded + 1))
  done
}

# seed_tree DIR USER PREFIX: DIR is a mailbox (PREFIX, "" for INBOX).
seed_tree() {
  dir=$1 user=$2 prefix=$3
  box=${prefix:-INBOX}
  if [ -d "$dir/cur" ] || [ -d "$dir/new" ]; then
    # Maildir: messages in cur/ and new/; Maildir++ subfolders ".A.B".
    for sub in cur new; do
      [ -d "$dir/$sub" ] && deliver_dir "$dir/$sub" "$user" "$box"
    done
    for sub in "$dir"/.[!.]*; do
      [ -d "$sub" ] || continue
      name=$(basename "$sub" | sed 's/^\.//; s/\./\//g')
      seed_tree "$sub" "$user" "${prefix:+$prefix/}$name"
      dir=$1 user=$2 prefix=$3
    done
    return
  fi
  deliver_dir "$dir" "$user" "$box"
  for sub in "$dir"/*; do
    [ -d "$sub" ] || continue
    seed_tree "$sub" "$user" "${prefix:+$prefix/}$(basename "$sub")"
    dir=$1 user=$2 prefix=$3
  done
}

if [ -n "${PILLARBOX_SEED_DIR:-}" ] && [ ! -e "$data/.seeded" ]; then
  [ -d "$PILLARBOX_SEED_DIR" ] || die "PILLARBOX_SEED_DIR=$PILLARBOX_SEED_DIR is not a directory"
  seeded=0
  for udir in "$PILLARBOX_SEED_DIR"/*; do
    [ -d "$udir" ] || continue
    user=$(basename "$udir")
    user_exists "$user" || die "seed directory $udir: no user '$user' (add it with PILLARBOX_USERS)"
    seed_tree "$udir" "$user" ""
  done
  : >"$data/.seeded"
  echo "pillarbox-entrypoint: seeded $seeded messages from $PILLARBOX_SEED_DIR"
fi

if [ $# -eq 0 ]; then set -- "$PILLARBOX" serve; fi
exec "$@"
