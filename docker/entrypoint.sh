#!/bin/sh
# Container entry point: finds the configuration file, checks the data
# volume and TLS files, applies the convenience variables, prints the
# effective configuration, then runs the command (default: pillarbox serve).
#
#   PILLARBOX_CONFIG=/path      the configuration file (TOML). Default: the
#                       image's /etc/pillarbox/pillarbox.toml (mount yours
#                       there, or anywhere and name it here). Every pillarbox
#                       command the entry point runs, and serve, use it;
#                       PILLARBOX_<SECTION>_<KEY> variables still override it.
#   PILLARBOX_USERS="alice:password, bob:$2b$12$..."   create or update users
#                       (a value starting with '$' or '{' is a hash; blanks
#                       around entries and names are ignored)
#   PILLARBOX_USERS_FILE=/run/secrets/users   the same, one NAME:SECRET a line
#                       (blank lines and # comments ignored; a password may
#                       then contain commas)
#   PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE   the file holding that password
#   PILLARBOX_SEED_DIR=/seed    load mail at first start: SEED/USER/*.eml go to
#                       INBOX, SEED/USER/Some/Box/*.eml to "Some/Box"; Maildir
#                       folders (cur/ new/, Maildir++ ".Sub.Box") work too
#   /etc/pillarbox/tls/cert.pem and key.pem, when mounted, are the certificate
#                       (unless PILLARBOX_TLS_CERT/KEY or the file's tls.cert
#                       name one; else one is generated when a listener needs it)
# Nothing here prints a password or a hash, or any part of one.
set -eu

PILLARBOX=${PILLARBOX:-pillarbox}
die() {
  echo "pillarbox-entrypoint: $*" >&2
  exit 1
}
note() { echo "pillarbox-entrypoint: $*"; }

# trim TEXT: TEXT without leading and trailing blanks (spaces, tabs, CR, LF).
trim() {
  t=$1
  t=${t#"${t%%[![:space:]]*}"}
  t=${t%"${t##*[![:space:]]}"}
  printf '%s' "$t"
}

# --- the configuration file ---------------------------------------------
config=${PILLARBOX_CONFIG:-}
if [ -z "$config" ] && [ -f /etc/pillarbox/pillarbox.toml ]; then
  config=/etc/pillarbox/pillarbox.toml
fi
if [ -n "$config" ]; then
  if [ -d "$config" ]; then
    die "PILLARBOX_CONFIG=$config is a directory, not a file (a bind mount of a file that does not exist on the host?)"
  fi
  [ -e "$config" ] || die "PILLARBOX_CONFIG=$config does not exist"
  [ -r "$config" ] || die "PILLARBOX_CONFIG=$config cannot be read by uid $(id -u). Fix: chmod 0644 it on the host."
  export PILLARBOX_CONFIG="$config"
fi
# file_sets KEY: the configuration file assigns KEY (in any section).
file_sets() {
  [ -n "$config" ] && grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$config"
}
# pb ARGS: pillarbox with the configuration file.
pb() {
  if [ -n "$config" ]; then
    "$PILLARBOX" --config "$config" "$@"
  else
    "$PILLARBOX" "$@"
  fi
}

# --- secrets from files (VAR_FILE) -----------------------------------------
# Only for the variables that hold secrets: PILLARBOX_USERS (read below) and
# PILLARBOX_DEV_AUTO_CREATE_PASSWORD.
for var in PILLARBOX_USERS PILLARBOX_DEV_AUTO_CREATE_PASSWORD; do
  eval "value=\${$var:-} file=\${${var}_FILE:-}"
  [ -n "$file" ] || continue
  [ -z "$value" ] || die "both $var and ${var}_FILE are set; keep one"
  [ -f "$file" ] && [ -r "$file" ] || die "${var}_FILE=$file is not a readable file for uid $(id -u)"
done
if [ -n "${PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE:-}" ]; then
  # The first line, without its end of line.
  IFS= read -r PILLARBOX_DEV_AUTO_CREATE_PASSWORD <"$PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE" || true
  PILLARBOX_DEV_AUTO_CREATE_PASSWORD=$(printf '%s' "$PILLARBOX_DEV_AUTO_CREATE_PASSWORD" | tr -d '\r')
  export PILLARBOX_DEV_AUTO_CREATE_PASSWORD
  unset PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE
fi

# --- TLS files -------------------------------------------------------------
tls_dir=${PILLARBOX_TLS_DIR:-/etc/pillarbox/tls}
if [ -z "${PILLARBOX_TLS_CERT:-}" ] && [ -f "$tls_dir/cert.pem" ] && ! file_sets cert; then
  export PILLARBOX_TLS_CERT="$tls_dir/cert.pem"
  export PILLARBOX_TLS_KEY="$tls_dir/key.pem"
fi
for var in PILLARBOX_TLS_CERT PILLARBOX_TLS_KEY; do
  eval "file=\${$var:-}"
  if [ -n "$file" ] && [ ! -r "$file" ]; then
    die "$var=$file cannot be read by uid $(id -u). Fix: mount it readable (chmod 0640 and group $(id -g), or 0644 for the certificate)."
  fi
done

# --- the data directory ----------------------------------------------------
# Without a file, /data (the volume); with one, what the file says, unless
# PILLARBOX_SERVER_DATA_DIR overrides it.
if [ -z "$config" ] && [ -z "${PILLARBOX_SERVER_DATA_DIR:-}" ]; then
  export PILLARBOX_SERVER_DATA_DIR=/data
fi
if [ -n "$config" ] && [ -z "${PILLARBOX_SERVER_DATA_DIR:-}" ] && ! file_sets data_dir; then
  note "warning: $config does not set server.data_dir, so the store goes to ./data under $(pwd); add data_dir = \"/data\" under [server]"
fi

note "effective configuration${config:+ (file $config)}:"
effective=$(pb check-config) || {
  printf '%s\n' "$effective"
  die "the configuration is invalid (see the line above)."
}
printf '%s\n' "$effective"
# check-config prints the effective configuration as TOML.
data=$(printf '%s\n' "$effective" | awk '
  /^\[/ { section = $0 }
  section == "[server]" && $1 == "data_dir" { sub(/^[^=]*= *"/, ""); sub(/" *(#.*)?$/, ""); print; exit }')
[ -n "$data" ] || data=${PILLARBOX_SERVER_DATA_DIR:-./data}

mkdir -p "$data" 2>/dev/null || true
probe="$data/.pillarbox-write-test.$$"
if ! (: >"$probe") 2>/dev/null; then
  die "$data is not writable by uid $(id -u) gid $(id -g). Fix: chown $(id -u):$(id -g) the volume's directory on the host, or mount a named volume."
fi
rm -f "$probe"

# Users and seed mail are added before the server starts: create the store
# (commands other than serve and init never do).
pb init >/dev/null </dev/null || die "cannot create the store in $data (see the line above)."

# `user list` prints a header line, then one user a line, name first.
user_exists() {
  pb user list </dev/null | awk 'NR > 1 { print $1 }' | grep -qixF -- "$1"
}

# The CLI's message about a refused user, with any {SCHEME} or $id$ part of
# a hash masked (it never repeats a password).
masked() {
  sed -e 's/{[^}]*}/{...}/g' -e 's/\$[^ ]*/$.../g'
}

# add_user ENTRY WHERE: ENTRY is NAME:SECRET; WHERE says where it came from
# ("PILLARBOX_USERS entry 2"), for messages that never show the secret.
add_user() {
  entry=$(trim "$1")
  where=$2
  case "$entry" in
    *:*) ;;
    *) die "$where: expected NAME:PASSWORD or NAME:HASH, and there is no ':' (a password with a comma belongs in PILLARBOX_USERS_FILE)" ;;
  esac
  name=$(trim "${entry%%:*}")
  secret=${entry#*:}
  [ -n "$name" ] || die "$where: the user name before ':' is empty"
  [ -n "$secret" ] || die "$where (user $name): the password after ':' is empty"
  if user_exists "$name"; then
    action=passwd
  else
    action=add
  fi
  case "$secret" in
    '$'* | '{'*)
      err=$(pb user "$action" "$name" --hash "$secret" 2>&1 >/dev/null </dev/null) ;;
    *)
      err=$(printf '%s\n' "$secret" | pb user "$action" "$name" --password-stdin 2>&1 >/dev/null) ;;
  esac || die "$where (user $name): $(printf '%s' "$err" | masked)"
  note "user $name ready"
}

if [ -n "${PILLARBOX_USERS:-}" ]; then
  n=0
  rest=$PILLARBOX_USERS
  while :; do
    n=$((n + 1))
    entry=${rest%%,*}
    # A trailing comma or ", ," leaves an empty entry: skipped.
    if [ -n "$(trim "$entry")" ]; then
      add_user "$entry" "PILLARBOX_USERS entry $n"
    fi
    case "$rest" in
      *,*) rest=${rest#*,} ;;
      *) break ;;
    esac
  done
fi
if [ -n "${PILLARBOX_USERS_FILE:-}" ]; then
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    case "$(trim "$line")" in
      '' | '#'*) continue ;;
    esac
    add_user "$line" "PILLARBOX_USERS_FILE line $n"
  done <"$PILLARBOX_USERS_FILE"
fi

# deliver_dir DIR USER MAILBOX: every regular file of DIR (not recursive).
deliver_dir() {
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    pb deliver --user "$2" --mailbox "$3" <"$f" ||
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
  note "seeded $seeded messages from $PILLARBOX_SEED_DIR"
fi

# The server does not need the users' secrets in its environment.
unset PILLARBOX_USERS PILLARBOX_USERS_FILE

if [ $# -eq 0 ]; then set -- "$PILLARBOX" serve; fi
# serve (and any other pillarbox command) gets the file through
# PILLARBOX_CONFIG, which the command line reads as --config's default.
exec "$@"
