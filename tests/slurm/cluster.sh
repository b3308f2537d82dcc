#!/usr/bin/env bash
# A throwaway single-node SLURM cluster (with accounting) for the tests, as root, without systemd.
#
#   tests/slurm/cluster.sh up       # munged, mariadbd, slurmdbd, slurmctld, slurmd; waits until ready
#   tests/slurm/cluster.sh status   # exit 0 only if every daemon it started is alive and SLURM answers
#   tests/slurm/cluster.sh down     # stops exactly the PIDs `up` recorded, newest first
#
# Needs the packages from tests/slurm/install.sh. State, spool, logs and the MariaDB data live in
# $SLURM_TEST_DIR (default /tmp/initbench-slurm). The two files written outside it are
# /etc/slurm/slurm.conf and /etc/slurm/gres.conf: jobs must find slurm.conf there, because the
# slurm-jobstep plugin strips SLURM_CONF before it calls srun, and slurmd reads gres.conf from the
# folder of slurm.conf. Existing ones are backed up by `up` and put back by `down`.
# Every wait is bounded by $SLURM_TEST_WAIT seconds (default 30).
# The facts behind each step: tests/slurm/README.md.
set -eEuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${SLURM_TEST_DIR:-/tmp/initbench-slurm}
WAIT=${SLURM_TEST_WAIT:-30}
ETC=/etc/slurm
ETC_FILES=(slurm.conf gres.conf) # rendered from <name>.in, installed in $ETC
# Fake GPUs on the node, so jobs can ask for --gpus; see gres.conf.in.
GPUS=4
# munge's default socket: with a custom one, slurmctld -> slurmdbd authentication fails.
MUNGE_RUN=/run/munge
CLUSTER=initbench
DB_PORT=3306
DBD_PORT=6819
CTLD_PORT=6817
SLURMD_PORT=6818

PIDS=$DIR/pids            # "name pid" lines, in start order; its presence means "up"
MARKER=$DIR/.initbench-slurm
HOST=$(hostname -s)

# The client commands must read the same config as the jobs will.
unset SLURM_CONF

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- helpers

# wait_until DESCRIPTION COMMAND...: poll COMMAND every 0.2 s for at most $WAIT s.
# Each client call inside is itself under `timeout`, so one hung call cannot stall the wait.
wait_until() {
    local what=$1
    shift
    local deadline=$((SECONDS + WAIT))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${WAIT}s waiting for: $what"
            return 1
        fi
        check_alive || return 1
        sleep 0.2
    done
}

# start NAME COMMAND...: run a foreground-mode daemon in its own session, its output in log/NAME.out.
# setsid execs in place (the background child is no group leader), so $! is the daemon's PID.
start() {
    local name=$1
    shift
    setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
    echo "$name $!" >>"$PIDS"
    log "started $name (pid $!)"
}

# Is PID still the daemon we started (and not a recycled PID)?
is_ours() {
    local name=$1 pid=$2
    [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$name"
}

# Fail fast when a daemon died during bring-up instead of waiting out the timeout.
check_alive() {
    local name pid
    while read -r name pid; do
        if ! is_ours "$name" "$pid"; then
            log "$name (pid $pid) is not running"
            return 1
        fi
    done <"$PIDS"
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

show_logs() {
    local f
    for f in "$DIR"/log/*; do
        [[ -s $f ]] || continue
        echo "----- $f (last 40 lines) -----" >&2
        tail -n 40 "$f" >&2
    done
}

render() {
    sed -e "s|@DIR@|$DIR|g" -e "s|@HOST@|$HOST|g" -e "s|@CLUSTER@|$CLUSTER|g" \
        -e "s|@CPUS@|$(nproc)|g" -e "s|@MEM_MB@|$MEM_MB|g" -e "s|@DB_PORT@|$DB_PORT|g" \
        -e "s|@DBD_PORT@|$DBD_PORT|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" \
        -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DB_PASS@|$DB_PASS|g" -e "s|@GPUS@|$GPUS|g" \
        -e "s|@LAST_GPU@|$((GPUS - 1))|g" "$1"
}

# install_conf NAME: render NAME.in into $DIR/etc and copy it to $ETC, backing up a file already there.
install_conf() {
    local name=$1
    render "$HERE/$name.in" >"$DIR/etc/$name"
    if [[ -e $ETC/$name ]]; then
        cp -p "$ETC/$name" "$DIR/$name.orig"
        log "backed up $ETC/$name"
    fi
    cp "$DIR/etc/$name" "$ETC/$name"
    chmod 644 "$ETC/$name"
}

# restore_conf NAME: undo install_conf: put the backup back, or remove the file `up` wrote.
restore_conf() {
    local name=$1
    if [[ -e $DIR/$name.orig ]]; then
        mv -f "$DIR/$name.orig" "$ETC/$name"
        log "restored $ETC/$name"
    elif [[ -e $DIR/etc/$name ]] && cmp -s "$DIR/etc/$name" "$ETC/$name"; then
        rm -f "$ETC/$name"
    fi
}

node_idle() {
    [[ $(timeout 5 sinfo -h -n "$HOST" -o %t) == idle ]]
}

ctld_up() {
    timeout 5 scontrol ping | grep -q "is UP"
}

# ---------------------------------------------------------------- up

up() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    local bin
    for bin in munged munge unmunge mariadbd mariadb-install-db mariadb slurmdbd slurmctld slurmd \
        scontrol sinfo sacctmgr sacct; do
        command -v "$bin" >/dev/null || die "$bin not found: run tests/slurm/install.sh first"
    done
    [[ -d $ETC ]] || die "$ETC missing: run tests/slurm/install.sh first"
    [[ -e $PIDS ]] && die "already up (or not cleanly down): run '$0 down' first ($PIDS exists)"
    if [[ -e $DIR && ! -e $MARKER && -n $(ls -A "$DIR") ]]; then
        die "$DIR exists, is not empty and was not made by this script; set SLURM_TEST_DIR elsewhere"
    fi
    local port
    for port in $DB_PORT $DBD_PORT $CTLD_PORT $SLURMD_PORT; do
        port_free "$port" || die "port $port on 127.0.0.1 is in use; is another SLURM or MySQL running?"
    done
    [[ -e $MUNGE_RUN/munge.socket.2 ]] && die "$MUNGE_RUN/munge.socket.2 exists: another munged is running"

    rm -rf "$DIR"
    mkdir -p "$DIR"/{etc,log,run,state,munge,mysql} "$DIR/spool/slurmd-$HOST"
    chmod 700 "$DIR"
    touch "$MARKER" "$PIDS"

    # From here on, a failure tears down whatever was started, then shows the logs.
    trap 'log "bring-up failed"; show_logs; down; exit 1' ERR

    # Leave room for the OS, as a real node does.
    MEM_MB=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512))
    DB_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

    render "$HERE/slurmdbd.conf.in" >"$DIR/etc/slurmdbd.conf"
    chmod 600 "$DIR/etc/slurmdbd.conf" # slurmdbd refuses to start otherwise: it holds the password
    # The fake GPUs' device files (see gres.conf.in).
    mkdir -p "$DIR/fake-gpus"
    local i name
    for ((i = 0; i < GPUS; i++)); do
        ln -s /dev/null "$DIR/fake-gpus/gpu$i"
    done
    for name in "${ETC_FILES[@]}"; do
        install_conf "$name"
    done

    # munge
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
    if [[ ! -d $MUNGE_RUN ]]; then
        mkdir -p "$MUNGE_RUN"
        touch "$DIR/made-munge-run"
    fi
    start munged munged -F --force --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/run/munged.pid" --seed-file="$DIR/munge/munged.seed" \
        --log-file="$DIR/log/munged.log"
    wait_until "munge credentials" timeout 5 bash -c 'munge -n | unmunge'

    # MariaDB, on 127.0.0.1 only, its data in $DIR.
    timeout 120 mariadb-install-db --no-defaults --user=root --datadir="$DIR/mysql" --skip-test-db \
        --auth-root-authentication-method=socket >"$DIR/log/mariadb-install.log" 2>&1
    # slurmdbd logs an error at start when innodb_lock_wait_timeout is under 900. (It also
    # wants a bigger innodb_buffer_pool_size than a test needs; that error is harmless.)
    start mariadbd mariadbd --no-defaults --user=root --datadir="$DIR/mysql" \
        --socket="$DIR/mysql.sock" --pid-file="$DIR/run/mariadbd.pid" \
        --bind-address=127.0.0.1 --port=$DB_PORT --skip-name-resolve \
        --innodb-lock-wait-timeout=900 --log-error="$DIR/log/mariadb.log"
    wait_until "MariaDB" timeout 5 mariadb-admin --no-defaults --socket="$DIR/mysql.sock" -uroot ping
    timeout 10 mariadb --no-defaults --socket="$DIR/mysql.sock" -uroot <<SQL
CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
SQL

    # slurmdbd reads slurmdbd.conf from the directory of SLURM_CONF, so its config stays in $DIR.
    start slurmdbd env SLURM_CONF="$DIR/etc/slurm.conf" slurmdbd -D
    wait_until "slurmdbd on port $DBD_PORT" port_open $DBD_PORT
    wait_until "slurmdbd answers sacctmgr" timeout 5 sacctmgr -n list cluster
    # Register the cluster before slurmctld starts, so its first registration is accepted.
    timeout 10 sacctmgr -i add cluster "$CLUSTER" >/dev/null

    start slurmctld slurmctld -D -i
    wait_until "slurmctld (scontrol ping)" ctld_up

    start slurmd slurmd -D -N "$HOST"
    wait_until "node $HOST idle (sinfo)" node_idle
    wait_until "sacct" timeout 5 sacct -n -X

    trap - ERR
    log "up in ${SECONDS}s: cluster $CLUSTER, node $HOST ($(nproc) CPUs, ${MEM_MB} MB, $GPUS fake GPUs), logs in $DIR/log"
}

# ---------------------------------------------------------------- down

# stop NAME PID: TERM, wait up to 15 s, then KILL and wait up to 5 s.
stop() {
    local name=$1 pid=$2 i
    if ! is_ours "$name" "$pid"; then
        log "$name (pid $pid) already gone"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        is_ours "$name" "$pid" || { log "stopped $name (pid $pid)"; return 0; }
        sleep 0.1
    done
    log "$name (pid $pid) ignored TERM for 15s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        is_ours "$name" "$pid" || return 0
        sleep 0.1
    done
    log "$name (pid $pid) survived KILL"
    return 1
}

down() {
    trap - ERR
    set +e
    local status=0
    if [[ ! -e $PIDS ]]; then
        log "not up ($PIDS missing); nothing to stop"
        return 0
    fi
    # Cancel leftover jobs while slurmctld still runs, so no slurmstepd outlives the cluster.
    if ctld_up >/dev/null 2>&1; then
        timeout 10 scancel --quiet --user="$(id -un)" >/dev/null 2>&1
        local deadline=$((SECONDS + 10))
        while [[ -n $(timeout 5 squeue -h -o %i 2>/dev/null) ]] && ((SECONDS < deadline)); do
            sleep 0.2
        done
    fi
    local -a lines
    mapfile -t lines <"$PIDS"
    local i name pid
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
        read -r name pid <<<"${lines[i]}"
        stop "$name" "$pid" || status=1
    done
    # `up` exited long ago, so the daemons are orphans: init reaps them a moment after they die.
    # Wait for that (bounded), so no zombie shows up in `pgrep` right after `down`.
    local deadline=$((SECONDS + 5))
    for ((i = 0; i < ${#lines[@]}; i++)); do
        read -r name pid <<<"${lines[i]}"
        while [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && ((SECONDS < deadline)); do
            sleep 0.1
        done
    done

    for name in "${ETC_FILES[@]}"; do
        restore_conf "$name"
    done
    if [[ -e $DIR/made-munge-run ]]; then
        rm -f "$MUNGE_RUN"/munge.socket.2* "$MUNGE_RUN/munged.pid"
        rmdir "$MUNGE_RUN" 2>/dev/null || log "left $MUNGE_RUN: not empty"
        rm -f "$DIR/made-munge-run"
    fi
    local leftover
    leftover=$(pgrep -x slurmstepd || true)
    [[ -z $leftover ]] || { log "warning: slurmstepd still running: $leftover"; status=1; }
    rm -f "$PIDS"
    log "down (logs kept in $DIR/log)"
    return $status
}

# ---------------------------------------------------------------- status

status() {
    [[ -e $PIDS ]] || { echo "down"; return 1; }
    local name pid ok=0
    while read -r name pid; do
        if is_ours "$name" "$pid"; then
            echo "$name: running (pid $pid)"
        else
            echo "$name: NOT running (pid $pid)"
            ok=1
        fi
    done <"$PIDS"
    timeout 10 scontrol ping || ok=1
    timeout 10 sinfo -N -o "%N %t %c %m %G" || ok=1
    return $ok
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
