# shellcheck shell=bash
# scripts/lib.sh — what scripts/quickstart and test/run share.  Sourced, not
# executed:
#
#   ROOT=...; PROG=test/run; . "$ROOT/scripts/lib.sh"
#
# The caller sets ROOT (the repo top) and PROG (the name used in warnings)
# first, and `set -euo pipefail` itself.  Loading this file defines functions
# and unsets the PG* variables that would send our clients elsewhere; nothing
# else happens until a function is called.  In call order:
#
#   ensure_packages      apt-get install what of PACKAGES is missing
#   find_pg              PG_CONFIG, BINDIR from the pg_config in PATH
#   find_ext             EXT from the one *.control file
#   build_and_install [assert]  make with -Wall -Wextra -Werror (and with
#                        assert: -DUSE_ASSERT_CHECKING), (sudo) make install
#   choose_run_user      RUN_USER: postgres when root, else the current user
#   new_workdir TEMPLATE [SUBDIR...]   WORK=$(mktemp -d /tmp/TEMPLATE.XXXXXX)
#   own_workdir          give WORK to RUN_USER, chmod 700, cd into it
#   start_cluster [LINE...]  initdb WORK/data, start it on a free port -> PORT
#   stop_servers         stop every server whose data dir is under WORK
#   as_pg CMD...         run CMD as RUN_USER, in WORK, with a clean environment
#
# Errors go through die(), which records its message in ABORT_NOTE (test/run
# reports it) and exits 1, so the caller's EXIT trap cleans up.

# Debian 12 packages the build, the quick start and every test suite need
# (clang and its runtimes: libFuzzer for test/fuzz).
PACKAGES=(
	postgresql-15 postgresql-server-dev-15 postgresql-client-15 libjson-c-dev
	libssl-dev libkrb5-dev postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl perl make gcc rsync util-linux coreutils openssl gdb
	clang libclang-rt-dev
)

# Variables that would redirect our clients to some other server or user.
PG_ENV_VARS=(
	PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE
	PGSERVICEFILE PGDATA PGOPTIONS PGSSLMODE PGREQUIRESSL PGCONNECT_TIMEOUT
	PGCLIENTENCODING PGTARGETSESSIONATTRS PGAPPNAME PG_COLOR
)
unset "${PG_ENV_VARS[@]}"

# Variables that as_pg passes through when the caller has set them.
AS_PG_KEEP_VARS=()

# PG_SERVER (test/sanitize): a program pg_ctl starts instead of the server,
# e.g. a wrapper that runs it under valgrind.
PG_CTL_SERVER=()
[ -z "${PG_SERVER:-}" ] || PG_CTL_SERVER=(-p "$PG_SERVER")

WORK=""             # private work dir, set by new_workdir
PGDATA_DIR=""       # data dir of the cluster; start_cluster defaults it
PORT=""             # its TCP port on 127.0.0.1, set by start_cluster
CLUSTER_UP=0

log()  { printf '\n=== %s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
	warn "$*"
	# shellcheck disable=SC2034  # read by the caller's EXIT trap
	ABORT_NOTE="$*"
	exit 1
}

# Run as root directly, otherwise through sudo (apt-get, make install).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------------------
# Packages: only touch apt when something is missing.
# ---------------------------------------------------------------------------

ensure_packages() {
	local missing=() pkg
	for pkg in "${PACKAGES[@]}"; do
		if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]; then
			missing+=("$pkg")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		echo "all required packages are installed"
		return 0
	fi
	log "installing missing packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" ||
		die "apt-get install failed"
}

# ---------------------------------------------------------------------------
# The server, the extension, the build.
# ---------------------------------------------------------------------------

# pg_config from PATH (Debian: /usr/bin/pg_config) decides which server we
# build for and run; every other path is derived from it.
find_pg() {
	PG_CONFIG=$(command -v pg_config) || die "pg_config not found in PATH"
	BINDIR=$("$PG_CONFIG" --bindir)
	echo "using $("$PG_CONFIG" --version) (bindir $BINDIR)"
	local f
	for f in "$BINDIR/initdb" "$BINDIR/pg_ctl" "$BINDIR/psql"; do
		[ -x "$f" ] || die "missing $f"
	done
}

# The extension under test: the one control file at the repo top that names
# a module (audit_hub.control, SQL only, sits beside it).
find_ext() {
	local controls=() c
	shopt -s nullglob
	for c in "$ROOT"/*.control; do
		grep -q '^module_pathname' "$c" && controls+=("$c")
	done
	shopt -u nullglob
	[ "${#controls[@]}" -eq 1 ] || die "expected exactly one *.control with module_pathname in $ROOT, found ${#controls[@]}"
	EXT=$(basename "${controls[0]}" .control)
}

# Build in the repo as the caller, install as root.  Warnings are errors.
# With "assert" (test/run) the Assert()s of our code run too: the server
# headers' assertion macros are switched on for audit_ext and audit_verify
# alone, which works against a server built without them (Debian's); the
# benchmarks and the quick start build without, as a release would.
build_and_install() {
	local cflags="-Wall -Wextra -Werror"
	case ${1:-} in
	assert) cflags="$cflags -DUSE_ASSERT_CHECKING" ;;
	"") ;;
	*) die "build_and_install: unknown argument '$1'" ;;
	esac
	local make_args=(-C "$ROOT" "PG_CONFIG=$PG_CONFIG" "PG_CFLAGS=$cflags")
	make -j"$(nproc)" "${make_args[@]}" || die "BUILD FAILED: make ${make_args[*]}"
	as_root make "${make_args[@]}" install || die "INSTALL FAILED: make ${make_args[*]} install"
}

# ---------------------------------------------------------------------------
# The unprivileged user and its private work dir.  The repo may be unreadable
# for that user (CI clones into a private folder), so whatever the server side
# needs is put into the work dir, and everything runs from there.
# ---------------------------------------------------------------------------

# initdb refuses root: as root the server runs as postgres.
choose_run_user() {
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
		RUN_USER=postgres
	else
		RUN_USER=$(id -un)
	fi
}

new_workdir() {  # new_workdir TEMPLATE [SUBDIR...]: WORK, with tmp/ and SUBDIRs
	local template=$1 d
	shift
	WORK=$(mktemp -d "/tmp/$template.XXXXXX")
	mkdir -p "$WORK/tmp"
	for d in "$@"; do mkdir -p "$WORK/$d"; done
}

own_workdir() {
	if [ "$RUN_USER" = postgres ]; then
		chown -R postgres: "$WORK"
	fi
	chmod 700 "$WORK"
	cd "$WORK" || die "cannot cd to $WORK"   # the repo may be unreadable for $RUN_USER: never run from there
}

# Run a command as $RUN_USER in a clean, predictable environment.  Extra
# VAR=value arguments before the command are passed through `env`.
as_pg() {
	local base=(
		env -i
		"PATH=$BINDIR:/usr/local/bin:/usr/bin:/bin"
		"HOME=$WORK" "TMPDIR=$WORK/tmp" "LANG=C.UTF-8" "USER=$RUN_USER"
		"LOGNAME=$RUN_USER"
	)
	local v
	for v in "${AS_PG_KEEP_VARS[@]}"; do
		[ -n "${!v:-}" ] && base+=("$v=${!v}")
	done
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$WORK" && runuser -u "$RUN_USER" -- "${base[@]}" "$@")
	else
		(cd "$WORK" && "${base[@]}" "$@")
	fi
}

# ---------------------------------------------------------------------------
# The throwaway cluster.
# ---------------------------------------------------------------------------

# A TCP port on 127.0.0.1 that nothing listens on now.  Below the range the
# TAP framework picks from (49152-65535), so the two never meet.
port_is_free() {
	perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(LocalAddr => "127.0.0.1",
		LocalPort => $ARGV[0], Listen => 1, ReuseAddr => 1) ? 0 : 1)' "$1"
}
pick_port() {
	local p=$((20000 + RANDOM % 20000)) i
	for ((i = 0; i < 200; i++)); do
		if port_is_free "$p"; then echo "$p"; return 0; fi
		p=$((p + 1))
	done
	return 1
}

# start_cluster [LINE...]: initdb $PGDATA_DIR (default $WORK/data) as
# $RUN_USER, with trust auth, listening on 127.0.0.1 only and on a socket in
# $WORK, with $EXT preloaded and each LINE appended to postgresql.conf; start
# it, logging to $WORK/server.log.  Sets PORT and CLUSTER_UP=1.
start_cluster() {
	PGDATA_DIR=${PGDATA_DIR:-$WORK/data}
	# C locale: sorting and messages identical on every machine.
	as_pg "$BINDIR/initdb" -D "$PGDATA_DIR" --auth=trust --no-locale --encoding=UTF8 \
		>"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; die "initdb failed"; }
	cp "$PGDATA_DIR/postgresql.conf" "$WORK/postgresql.conf.orig"

	for _ in 1 2 3; do   # up to three ports
		PORT=$(pick_port) || die "no free TCP port found"
		cp "$WORK/postgresql.conf.orig" "$PGDATA_DIR/postgresql.conf"
		cat >>"$PGDATA_DIR/postgresql.conf" <<-EOF

		# --- added by $PROG ---
		shared_preload_libraries = '$EXT'
		listen_addresses = '127.0.0.1'
		port = $PORT
		unix_socket_directories = '$WORK'
		fsync = off
		log_line_prefix = '%m [%p] %q%a '
		EOF
		[ $# -eq 0 ] || printf '%s\n' "$@" >>"$PGDATA_DIR/postgresql.conf"
		chown "$RUN_USER" "$PGDATA_DIR/postgresql.conf"
		if as_pg "$BINDIR/pg_ctl" "${PG_CTL_SERVER[@]}" -D "$PGDATA_DIR" -l "$WORK/server.log" \
			-w -t "${PG_CTL_TIMEOUT:-60}" start; then
			CLUSTER_UP=1
			break
		fi
		# Someone may have taken the port between the probe and the start.
		grep -q 'could not bind' "$WORK/server.log" 2>/dev/null || break
		warn "port $PORT was taken, trying another"
	done
	if [ "$CLUSTER_UP" -ne 1 ]; then
		tail -n 40 "$WORK/server.log" 2>/dev/null
		die "the cluster did not start"
	fi
	echo "cluster up on 127.0.0.1:$PORT"
}

# Stop every postmaster whose data dir lives in our work dir: the cluster of
# start_cluster and any other (e.g. one left behind by a killed TAP test).
stop_servers() {
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	local pidfile dir
	while IFS= read -r pidfile; do
		dir=$(dirname "$pidfile")
		as_pg "$BINDIR/pg_ctl" -D "$dir" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_pg "$BINDIR/pg_ctl" -D "$dir" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			warn "could not stop the server in $dir"
	done < <(find "$WORK" -name postmaster.pid -type f 2>/dev/null)
	CLUSTER_UP=0
}
