#!/usr/bin/env bash
# The local stack: PostgreSQL 15, single-node Kafka (KRaft) and every registered service, all data,
# logs and pid files under .local/ of this clone. Installs what is missing on a fresh machine.
#
#   scripts/stack.sh up        start whatever is not running, wait until all of it is ready
#   scripts/stack.sh down      stop everything this clone started and check the ports are free
#   scripts/stack.sh status    one line per component: state, pid, port
#   scripts/stack.sh restart   down, then up
#
# PostgreSQL and Kafka alone (an extra instance for tests that restart them, see BILLING_STATE_DIR):
#   scripts/stack.sh up-infra                      start PostgreSQL and Kafka only (no topics, migrations, services)
#   scripts/stack.sh stop-pg|start-pg              stop (fast shutdown) or start PostgreSQL only
#   scripts/stack.sh restart-pg [fast|immediate]   stop PostgreSQL in that mode, pause, start it on the same data
#   scripts/stack.sh stop-kafka|start-kafka        stop (controlled shutdown) or start the Kafka broker only
#   scripts/stack.sh restart-kafka                 stop the broker, pause, start it on the same data
#   scripts/stack.sh marker                        print the marker (BILLING_STACK_ID) of this instance's processes
#
# Settings (environment): BILLING_PG_PORT (5432), BILLING_KAFKA_PORT (9092),
# BILLING_KAFKA_CONTROLLER_PORT (Kafka port + 1), BILLING_KAFKA_HEAP (1g), BILLING_PG_BIN
# (PostgreSQL 15 binaries), BILLING_DB_PASSWORD (password of the `billing` role, default `billing`),
# BILLING_SERVICE_PORT_OFFSET (added to every port of scripts/services.conf, default 0; with the other
# port settings it lets a second clone run its own stack beside this one), BILLING_STATE_DIR (.local:
# the folder of this instance's data, logs and pid files; another folder with other ports is a separate
# instance of the same clone, whose processes carry their own marker), BILLING_KAFKA_LIBS (the Kafka
# jars, cached once per clone in .local/kafka/libs), BILLING_RESTART_PAUSE (seconds between the stop
# and the start of restart-pg / restart-kafka, default 3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
[ -z "${BILLING_STATE_DIR:-}" ] || LOCAL="$(realpath -m "$BILLING_STATE_DIR")"
LOGS="$LOCAL/logs"
RUN="$LOCAL/run"
PY="$ROOT/.venv/bin/python"
SERVICES_CONF="$ROOT/scripts/services.conf"

PG_PORT="${BILLING_PG_PORT:-5432}"
PG_BIN="${BILLING_PG_BIN:-/usr/lib/postgresql/15/bin}"
DB_NAME=billing
DB_USER=billing
DB_PASSWORD="${BILLING_DB_PASSWORD:-billing}"
KAFKA_PORT="${BILLING_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${BILLING_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP="${BILLING_KAFKA_HEAP:-1g}"
SERVICE_PORT_OFFSET="${BILLING_SERVICE_PORT_OFFSET:-0}"
KAFKA_HOME="$LOCAL/kafka"
KAFKA_LIBS="${BILLING_KAFKA_LIBS:-$ROOT/.local/kafka/libs}"
RESTART_PAUSE="${BILLING_RESTART_PAUSE:-3}"
# Every process started here carries this marker, so `down` can prove none is left behind. The default
# instance keeps the marker of its clone; another state folder gets its own, so stopping one instance
# never touches the processes of the other.
if [ "$LOCAL" = "$ROOT/.local" ]; then
    STACK_ID="$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
else
    STACK_ID="$(printf '%s' "$LOCAL" | sha1sum | cut -c1-12)"
fi
export BILLING_STACK_ID="$STACK_ID"

DATABASE_URL="postgresql+asyncpg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
# PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user.
as_pg() { if is_root; then (cd / && runuser -u postgres -- env BILLING_STACK_ID="$STACK_ID" "$@"); else "$@"; fi; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -f "$1" ] && head -n1 "$1" | tr -dc '0-9' || true; }

# "pid name" of the process listening on TCP port $1, empty when the port is free.
port_owner() {
    local line
    line="$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n1)"
    [ -n "$line" ] || return 0
    local pid name
    pid="$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line")"
    name="$(sed -n 's/.*users:(("\([^"]*\)".*/\1/p' <<<"$line")"
    echo "${pid:-?} ${name:-unknown}"
}
port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# Fail with a clear message when $1 (port) is held by a process other than pid $3.
require_port_for() {
    local port="$1" what="$2" ours="${3:-}" owner
    owner="$(port_owner "$port")"
    [ -z "$owner" ] && return 0
    local pid="${owner%% *}" name="${owner#* }"
    if [ -n "$ours" ] && is_same_tree "$ours" "$pid"; then return 0; fi
    die "port $port (needed by $what) is already taken by process '$name' (pid $pid), which this stack did not start; stop it or choose another port (see the settings at the top of scripts/stack.sh)"
}

# True when $2 is $1 or a descendant of it (postgres and uvicorn fork workers).
is_same_tree() {
    local root="$1" pid="$2"
    while [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != 1 ]; do
        [ "$pid" = "$root" ] && return 0
        pid="$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || true)"
    done
    return 1
}

wait_until() { # seconds, description, command...
    local seconds="$1" what="$2"; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}

# Poll a check until it passes; fail naming the process when it dies or the time runs out.
wait_started() { # pid, name, log, seconds, what it should do, check command...
    local pid="$1" name="$2" log="$3" seconds="$4" what="$5"; shift 5
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$pid"; then
            tail -n 30 "$log" >&2
            die "$name (pid $pid) exited during start-up (log: $log)"
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "$name (pid $pid) did not $what within $seconds s (log: $log)"
        sleep 0.5
    done
}

apt_install() {
    is_root || die "missing $* and not root: install it (apt-get install $*) and run again"
    say "installing $* (apt-get)"
    if [ -z "${APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_tools() {
    command -v ss >/dev/null || apt_install iproute2
    if [ ! -x "$PG_BIN/initdb" ]; then
        local had_cluster=""
        [ -d /etc/postgresql/15/main ] && had_cluster=1
        apt_install postgresql-15
        # The Debian package creates and starts a system cluster on 5432; the stack runs its own.
        if [ -z "$had_cluster" ] && command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main'; then
            say "removing the system cluster 15/main that the package created (the stack uses its own)"
            pg_dropcluster --stop 15 main || true
        fi
    fi
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PG_BIN (set BILLING_PG_BIN)"
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    [ -x "$PY" ] || die "no virtualenv at .venv: run 'make setup' first"
}

# ---------------------------------------------------------------- PostgreSQL

# Where the cluster lives: .local/pg when the postgres user can reach it, otherwise a folder owned
# by the postgres user (its home), chosen once and remembered in .local/pg.location.
pg_home() {
    if [ -f "$LOCAL/pg.location" ]; then cat "$LOCAL/pg.location"; return; fi
    local home="$LOCAL/pg"
    mkdir -p "$home"
    if is_root; then
        chmod o+x "$LOCAL"
        chown postgres: "$home"
        if ! runuser -u postgres -- test -w "$home"; then
            local pg_user_home
            pg_user_home="$(getent passwd postgres | cut -d: -f6)"
            home="${pg_user_home:-/var/lib/postgresql}/billing-stack/$STACK_ID"
            mkdir -p "$home"
            chown -R postgres: "$(dirname "$home")"
            say "the postgres user cannot reach this clone's folder; PostgreSQL data lives in $home instead" >&2
        fi
    fi
    echo "$home" >"$LOCAL/pg.location"
    echo "$home"
}

pg_pid() { local home; home="$(pg_home)"; read_pid "$home/data/postmaster.pid"; }

psql_admin() {
    local home; home="$(pg_home)"
    PGPASSWORD="$(cat "$home/superuser.password")" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d postgres -v ON_ERROR_STOP=1 -tA "$@"
}

pg_up() {
    local home data pid
    home="$(pg_home)"
    data="$home/data"
    pid="$(pg_pid)"
    if alive "$pid"; then
        require_port_for "$PG_PORT" "PostgreSQL" "$pid"
        port_busy "$PG_PORT" || die "PostgreSQL (pid $pid) is running but not on port $PG_PORT; run 'make down' first"
        say "PostgreSQL already running (pid $pid, port $PG_PORT)"
    else
        require_port_for "$PG_PORT" "PostgreSQL"
        if [ ! -f "$data/PG_VERSION" ]; then
            say "initialising PostgreSQL cluster in $data"
            as_pg sh -c "umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > '$home/superuser.password'"
            as_pg "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$home/superuser.password" \
                --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --no-locale >"$home/initdb.log" 2>&1 \
                || { cat "$home/initdb.log" >&2; die "initdb failed"; }
            as_pg sh -c "echo \"include_if_exists = 'billing-stack.conf'\" >> '$data/postgresql.conf'"
        fi
        # Loopback only, no Unix socket (its directory may not be writable); port from the setting.
        as_pg sh -c "cat > '$data/billing-stack.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
EOF
        say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$home/postgres.log" -w -t 60 start >/dev/null; then
            tail -n 20 "$home/postgres.log" >&2 || true
            die "PostgreSQL did not start on port $PG_PORT (log: $home/postgres.log)"
        fi
    fi
    ln -sfn "$home/postgres.log" "$LOGS/postgres.log"
    wait_until 30 "pg_isready" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" \
        || die "PostgreSQL on port $PG_PORT does not accept connections (log: $LOGS/postgres.log)"
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
        psql_admin -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'"
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
        psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
    fi
    say "PostgreSQL ready: ${DATABASE_URL/:$DB_PASSWORD@/:***@}"
}

pg_down() { # shutdown mode: fast (default; sessions are ended, the cluster shuts down cleanly) or
    # immediate (no clean shutdown: the next start recovers from the write-ahead log, as after a crash)
    local mode="${1:-fast}" home pid
    case "$mode" in fast|immediate) ;; *) die "PostgreSQL shutdown mode '$mode': use fast or immediate" ;; esac
    [ -f "$LOCAL/pg.location" ] || [ -d "$LOCAL/pg" ] || return 0
    home="$(pg_home)"
    pid="$(pg_pid)"
    if alive "$pid"; then
        say "stopping PostgreSQL (pid $pid, $mode shutdown)"
        as_pg "$PG_BIN/pg_ctl" -D "$home/data" -m "$mode" -w -t 60 stop >/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
}

# --------------------------------------------------------------------- Kafka

kafka_pid() { read_pid "$RUN/kafka.pid"; }

kafka_fetch() {
    local pom="$ROOT/infra/kafka/pom.xml" stamp="$KAFKA_LIBS/.pom.sha1" want
    want="$(sha1sum "$pom" | cut -c1-40)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    say "fetching Kafka jars with Maven (cached in ~/.m2 afterwards)"
    rm -rf "$KAFKA_LIBS"
    mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$KAFKA_LIBS" >"$LOGS/kafka-fetch.log" 2>&1 \
        || { tail -n 30 "$LOGS/kafka-fetch.log" >&2; die "mvn could not fetch Kafka (log: $LOGS/kafka-fetch.log)"; }
    echo "$want" >"$stamp"
}

kafka_up() {
    local pid
    pid="$(kafka_pid)"
    if alive "$pid"; then
        require_port_for "$KAFKA_PORT" "Kafka" "$pid"
        say "Kafka already running (pid $pid, port $KAFKA_PORT)"
    else
        require_port_for "$KAFKA_PORT" "Kafka"
        require_port_for "$KAFKA_CONTROLLER_PORT" "the Kafka controller"
        kafka_fetch
        mkdir -p "$KAFKA_HOME/data"
        sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
            -e "s#@DATA_DIR@#$KAFKA_HOME/data#g" "$ROOT/infra/kafka/server.properties.in" \
            >"$KAFKA_HOME/server.properties"
        if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
            local cluster_id
            # Drawn again when it starts with '-' (1 in 64), which the format tool reads as an option, as
            # Kafka's own generator does.
            cluster_id="$("$PY" -c 'import base64, uuid
while (cluster := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(cluster)')"
            say "formatting Kafka storage (cluster $cluster_id)"
            java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" \
                -c "$KAFKA_HOME/server.properties" >"$LOGS/kafka-format.log" 2>&1 \
                || { tail -n 20 "$LOGS/kafka-format.log" >&2; die "Kafka storage format failed"; }
        fi
        say "starting Kafka on $KAFKA_BOOTSTRAP (controller port $KAFKA_CONTROLLER_PORT)"
        setsid nohup java "-Xmx$KAFKA_HEAP" -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
            "-Dlog4j2.configurationFile=$ROOT/infra/kafka/log4j2.properties" \
            -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_HOME/server.properties" \
            >>"$LOGS/kafka.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$RUN/kafka.pid"
        wait_started "$pid" Kafka "$LOGS/kafka.log" 120 "open port $KAFKA_PORT" port_busy "$KAFKA_PORT"
    fi
    say "Kafka started: $KAFKA_BOOTSTRAP"
}

stop_pid() { # pid, name, seconds to wait before SIGKILL
    local pid="$1" name="$2" grace="${3:-20}"
    alive "$pid" || return 0
    say "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.3; done
    if alive "$pid"; then
        say "$name did not stop within ${grace}s; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
}

kafka_down() { stop_pid "$(kafka_pid)" Kafka 40; rm -f "$RUN/kafka.pid"; }

# The broker answers a metadata request (an open port alone is not enough after a restart).
kafka_ready() {
    "$PY" -m billing_runtime.readiness kafka --bootstrap "$KAFKA_BOOTSTRAP" --wait 90 >/dev/null \
        || die "Kafka on port $KAFKA_PORT does not answer (log: $LOGS/kafka.log)"
    say "Kafka answers on $KAFKA_BOOTSTRAP"
}

# ------------------------------------------------------------------ services

# Lines of scripts/services.conf as "name port module:factory installed|absent".
registered_services() {
    [ -f "$SERVICES_CONF" ] || return 0
    "$PY" - "$SERVICES_CONF" "$SERVICE_PORT_OFFSET" 2>/dev/null <<'PYEOF' || awk -v off="$SERVICE_PORT_OFFSET" \
        '$1 !~ /^#/ && NF >= 3 {print $1, $2 + off, $3, "absent"}' "$SERVICES_CONF"
import importlib.util, sys
offset = int(sys.argv[2])
for line in open(sys.argv[1], encoding="utf-8"):
    fields = line.split()
    if len(fields) < 3 or fields[0].startswith("#"):
        continue
    name, port, app = fields[:3]
    try:
        found = importlib.util.find_spec(app.split(":")[0]) is not None
    except ModuleNotFoundError:
        found = False
    print(name, int(port) + offset, app, "installed" if found else "absent")
PYEOF
}

# Broker answering, catalogue topics, then every service's migrations: one Python process.
provision() {
    local started=$SECONDS
    if ! BILLING_DATABASE_URL="$DATABASE_URL" BILLING_KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP" BILLING_TOPIC_PREFIX="" \
        BILLING_SCHEMA_PREFIX="" "$PY" -m billing_runtime.provision --services-dir "$ROOT/services" --wait 90 \
        >"$LOGS/provision.log" 2>&1; then
        tail -n 30 "$LOGS/provision.log" >&2
        die "provisioning failed: Kafka on port $KAFKA_PORT not answering, or a migration failed (log: $LOGS/provision.log)"
    fi
    grep -E '^(topics|migrations) ' "$LOGS/provision.log" | sed 's/^/[stack] /'
    say "Kafka ready, topics and migrations done in $((SECONDS - started)) s"
}

http_ok() { "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1"; }

services_up() {
    local name port app state pid services
    services="$(registered_services)"
    while read -r name port app state; do
        [ -n "$name" ] || continue
        if [ "$state" = absent ]; then
            say "service $name skipped: ${app%%:*} is not installed yet"
            continue
        fi
        pid="$(read_pid "$RUN/$name.pid")"
        if alive "$pid"; then
            require_port_for "$port" "service $name" "$pid"
            say "service $name already running (pid $pid, port $port)"
        else
            require_port_for "$port" "service $name"
            say "starting service $name on 127.0.0.1:$port ($app)"
            BILLING_DATABASE_URL="$DATABASE_URL" BILLING_KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP" \
                BILLING_HTTP_HOST=127.0.0.1 BILLING_HTTP_PORT="$port" \
                setsid nohup "$PY" -m uvicorn --factory "$app" --host 127.0.0.1 --port "$port" \
                --no-access-log >>"$LOGS/$name.log" 2>&1 </dev/null &
            echo "$!" >"$RUN/$name.pid"
        fi
    done <<<"$services"
    while read -r name port app state; do
        [ -n "$name" ] && [ "$state" != absent ] || continue
        pid="$(read_pid "$RUN/$name.pid")"
        wait_started "$pid" "service $name (port $port)" "$LOGS/$name.log" 60 \
            "answer http://127.0.0.1:$port/readyz" http_ok "http://127.0.0.1:$port/readyz"
        say "service $name ready: http://127.0.0.1:$port"
    done <<<"$services"
}

services_down() {
    local file
    for file in "$RUN"/*.pid; do
        [ -f "$file" ] || continue
        case "$(basename "$file")" in kafka.pid) continue ;; esac
        stop_pid "$(read_pid "$file")" "service $(basename "$file" .pid)" 20
        rm -f "$file"
    done
}

# ------------------------------------------------------------------ commands

# Pids of live processes carrying this stack's marker (whatever started them).
marked_pids() {
    local dir
    for dir in /proc/[0-9]*; do
        { tr '\0' '\n' <"$dir/environ"; } 2>/dev/null | grep -qx "BILLING_STACK_ID=$STACK_ID" && echo "${dir#/proc/}"
    done
    return 0
}

write_stack_env() {
    cat >"$LOCAL/stack.env" <<EOF
# Written by scripts/stack.sh: where the running local stack listens (read by tests/conftest.py),
# and the marker every process of this instance carries in its environment.
BILLING_DATABASE_URL=$DATABASE_URL
BILLING_KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP
BILLING_STACK_ID=$STACK_ID
EOF
}

cmd_up() {
    local started=$SECONDS
    mkdir -p "$LOGS" "$RUN"
    ensure_tools
    pg_up
    kafka_up
    provision
    write_stack_env
    services_up
    say "stack up in $((SECONDS - started)) s; logs in .local/logs/, stop with 'make down'"
}

# True when this instance has started services (an `up-infra` instance has not).
ran_services() {
    local file
    for file in "$RUN"/*.pid; do
        [ -f "$file" ] && [ "$(basename "$file")" != kafka.pid ] && return 0
    done
    return 1
}

cmd_down() {
    local service_ports=""
    if ran_services; then service_ports="$(registered_services | awk '$4 == "installed" {print $2}')"; fi
    services_down
    kafka_down
    pg_down
    local leftovers pid
    leftovers="$(marked_pids)"
    for pid in $leftovers; do
        is_same_tree "$$" "$pid" && continue
        alive "$pid" || continue
        say "stopping leftover process $pid ($({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-80))"
        kill -KILL "$pid" 2>/dev/null || true
    done
    # Every port the stack uses must now be free, or held by a process that is not ours (reported).
    local port owner busy=""
    for port in "$PG_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" $service_ports; do
        owner="$(port_owner "$port")"
        [ -n "$owner" ] || continue
        if { tr '\0' '\n' <"/proc/${owner%% *}/environ"; } 2>/dev/null | grep -qx "BILLING_STACK_ID=$STACK_ID"; then
            busy="$busy $port(pid ${owner%% *})"
        else
            say "port $port is in use by '${owner#* }' (pid ${owner%% *}), which this stack did not start"
        fi
    done
    [ -z "$busy" ] || die "ports still held by this stack's processes after stopping it:$busy"
    say "stack down; no process of this stack is left, its ports are free"
}

status_line() { # name, pid, port, state
    printf '%-12s %-9s pid=%-8s port=%s\n' "$1" "$4" "${2:--}" "$3"
}

cmd_status() {
    local pid state rc=0
    pid="$( [ -f "$LOCAL/pg.location" ] && pg_pid || true)"
    if alive "$pid" && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then state=ready
    elif alive "$pid"; then state=starting; rc=1; else state=stopped; rc=1; fi
    status_line postgres "$pid" "$PG_PORT" "$state"
    pid="$(kafka_pid)"
    if alive "$pid" && "$PY" -m billing_runtime.readiness kafka --bootstrap "$KAFKA_BOOTSTRAP" 2>/dev/null; then state=ready
    elif alive "$pid"; then state=starting; rc=1; else state=stopped; rc=1; fi
    status_line kafka "$pid" "$KAFKA_PORT" "$state"
    local name port app installed
    while read -r name port app installed; do
        if [ "$installed" = absent ]; then status_line "$name" "" "$port" "absent"; continue; fi
        pid="$(read_pid "$RUN/$name.pid")"
        if alive "$pid" && http_ok "http://127.0.0.1:$port/readyz" 2>/dev/null; then state=ready
        elif alive "$pid"; then state=unready; rc=1; else state=stopped; rc=1; fi
        status_line "$name" "$pid" "$port" "$state"
    done < <(registered_services)
    return "$rc"
}

cmd_up_infra() {
    local started=$SECONDS
    mkdir -p "$LOGS" "$RUN"
    ensure_tools
    pg_up
    kafka_up
    kafka_ready
    write_stack_env
    say "PostgreSQL and Kafka up in $((SECONDS - started)) s (state in $LOCAL)"
}

# Stop one component, pause, start it again on the same data; other components keep running.
cmd_restart_pg() {
    mkdir -p "$LOGS" "$RUN"
    pg_down "${1:-fast}"
    sleep "$RESTART_PAUSE"
    pg_up
}

cmd_restart_kafka() {
    mkdir -p "$LOGS" "$RUN"
    kafka_down
    sleep "$RESTART_PAUSE"
    kafka_up
    kafka_ready
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    restart) cmd_down; cmd_up ;;
    up-infra) cmd_up_infra ;;
    stop-pg) pg_down "${2:-fast}" ;;
    start-pg) mkdir -p "$LOGS" "$RUN"; pg_up ;;
    restart-pg) cmd_restart_pg "${2:-fast}" ;;
    stop-kafka) kafka_down ;;
    start-kafka) mkdir -p "$LOGS" "$RUN"; kafka_up; kafka_ready ;;
    restart-kafka) cmd_restart_kafka ;;
    marker) echo "$STACK_ID" ;;
    *) echo "usage: $0 up|down|status|restart|up-infra|stop-pg|start-pg|restart-pg [fast|immediate]|stop-kafka|start-kafka|restart-kafka|marker" >&2; exit 2 ;;
esac
