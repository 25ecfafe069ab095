#!/usr/bin/env bash
# A one-node Slurm cluster on localhost, for the test of `regimebench sweep --emit-slurm`
# (tests/slurm.rs) and for trying the emitted script by hand. Needs root and Debian's munge,
# slurmctld, slurmd and slurm-client (`install` gets them).
#
#   scripts/slurm-localhost.sh install      apt-get the four packages
#   scripts/slurm-localhost.sh start DIR    write DIR/slurm.conf, start munged, slurmctld and slurmd
#                                           (their PIDs in DIR/pids), wait until the node is idle
#   scripts/slurm-localhost.sh stop DIR     stop what `start` started, by PID
#
# Clients need SLURM_CONF=DIR/slurm.conf. No cgroups (proctrack/linuxproc, task/none); the node line
# comes from `slurmd -C` (a RealMemory above the real one would drain the node).
set -euo pipefail

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null >/dev/null
    apt-get install -y -q --no-install-recommends munge slurmctld slurmd slurm-client </dev/null >/dev/null
}

start() {
    local d=$1
    [ -e "$d/pids" ] && { echo "$d/pids exists: stop that cluster first" >&2; exit 1; }
    mkdir -p "$d"/{state,spool,log}
    d=$(cd "$d" && pwd)
    export SLURM_CONF=$d/slurm.conf
    local host node
    host=$(hostname -s)
    node=$(slurmd -C | head -n1)
    cat >"$SLURM_CONF" <<CONF
ClusterName=regimebench
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --force
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    # Each daemon in the foreground, backgrounded by this shell: $! is the daemon itself.
    setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F >"$d/log/munged.out" 2>&1 </dev/null &
    echo $! >"$d/pids"
    for _ in $(seq 40); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.25; done
    /usr/sbin/slurmctld -D >"$d/log/slurmctld.out" 2>&1 </dev/null &
    echo $! >>"$d/pids"
    /usr/sbin/slurmd -D >"$d/log/slurmd.out" 2>&1 </dev/null &
    echo $! >>"$d/pids"
    for _ in $(seq 60); do
        [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && { echo "slurm on localhost: SLURM_CONF=$SLURM_CONF"; return 0; }
        sleep 0.5
    done
    echo "the node did not become idle; logs in $d/log" >&2
    stop "$d"
    exit 1
}

stop() {
    local d=$1
    [ -e "$d/pids" ] || return 0
    export SLURM_CONF=$d/slurm.conf
    scancel --user=root 2>/dev/null || true
    # slurmstepd outlives squeue by a moment: let it end before slurmd goes.
    for _ in $(seq 100); do pgrep -x slurmstepd >/dev/null || break; sleep 0.1; done
    local pids
    pids=$(tac "$d/pids")   # slurmd, slurmctld, then munged
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $pids; do for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done; done
    rm -f "$d/pids"
}

case "${1:-}" in
    install) install_packages ;;
    start) start "${2:?usage: $0 start DIR}" ;;
    stop) stop "${2:?usage: $0 stop DIR}" ;;
    *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
