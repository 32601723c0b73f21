# Shared by the test-server scripts: who the servers run as.
# redis-server and PostgreSQL refuse to run as root (or should not), so as
# root they run as an unprivileged system user: `postgres` (made by
# Debian's postgresql package) or `weft-test` (made here if missing).

# run_as USER CMD...: runs CMD as USER when we are root, as ourselves otherwise.
run_as() {
  local user=$1; shift
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
  else
    "$@"
  fi
}

# as_user USER: sets the array AS_USER to the prefix that runs a command
# as USER (empty when we are not root), for commands started with & whose
# pid must be the server's own.
as_user() {
  AS_USER=()
  [ "$(id -u)" != 0 ] || AS_USER=(setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups --)
}

# server_user PREFERRED: prints the user to run a server as (root only).
server_user() {
  local want=$1
  [ "$(id -u)" = 0 ] || { id -un; return; }
  if ! id -u "$want" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$want" >/dev/null 2>&1 || true
  fi
  id -u "$want" >/dev/null 2>&1 || { echo "test-servers: cannot create user $want" >&2; return 1; }
  echo "$want"
}

# give DIR USER: makes DIR the server's (root only).
give() { [ "$(id -u)" != 0 ] || chown -R "$2" "$1"; }

die() { echo "test-servers: $*" >&2; exit 1; }
