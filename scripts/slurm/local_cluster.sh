#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the launcher's end-to-end
# tests (test/slurm_test.ts) and for trying `--launcher slurm` locally.
#
#   scripts/slurm/local_cluster.sh start   # install (apt), configure, start, wait for the node
#   scripts/slurm/local_cluster.sh stop    # stop the daemons this script started
#   scripts/slurm/local_cluster.sh status  # sinfo, or why it is not up
#
# `start` needs root. It installs Debian's slurm-wlm and munge when they are
# missing, writes /etc/slurm/slurm.conf for one node (this host, at
# 127.0.0.1, all its CPUs, one partition `debug`) unless a slurm.conf not
# written by this script is already there (a real cluster's: then it
# refuses), starts munged, slurmctld and slurmd directly (no systemd), with
# their pid and log files under $MERBA_SLURM_STATE (default
# /var/tmp/merba-slurm), and waits until `sinfo` shows the node idle. It
# exits 0 when the cluster is up (or already was), 1 with one line saying
# why otherwise. `stop` kills only the daemons named by those pid files.
set -euo pipefail

STATE="${MERBA_SLURM_STATE:-/var/tmp/merba-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by merba scripts/slurm/local_cluster.sh"
WAIT_S="${MERBA_SLURM_WAIT_S:-90}"

say() { printf 'local_cluster: %s\n' "$*"; }
fail() {
  say "$*" >&2
  exit 1
}

node_state() {
  sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true
}

is_up() {
  case "$(node_state)" in idle | mixed | allocated | completing) return 0 ;; esac
  return 1
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  local missing=""
  for p in slurmctld slurmd slurm-client munge; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null 2>&1 || fail "cannot install$missing: no apt-get"
  say "installing$missing (apt)"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >"$STATE/apt.log" 2>&1 ||
    { apt-get update -qq >>"$STATE/apt.log" 2>&1 &&
      apt-get install -y -qq $missing >>"$STATE/apt.log" 2>&1; } ||
    fail "cannot install$missing with apt-get (see $STATE/apt.log)"
}

write_conf() {
  if [ -f "$CONF" ] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
    fail "$CONF exists and was not written by this script: not touching a real cluster's configuration"
  fi
  local host node
  host="$(hostname -s)"
  # the node line as slurmd sees the hardware (CPUs, sockets, cores, memory)
  node="$(slurmd -C | head -n 1)"
  case "$node" in NodeName=*) ;; *) fail "slurmd -C did not describe this node: $node" ;; esac
  mkdir -p "$(dirname "$CONF")"
  cat >"$CONF" <<CONF
$MARK
# A one-node cluster for tests: this host at 127.0.0.1, daemons run as root.
ClusterName=merba-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
KillWait=10
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0 # a munged (ours or the system's) is serving
  fi
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
    chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge
  # as root (--force accepts root-owned files): a throwaway test cluster
  munged --force --pid-file="$STATE/munged.pid" --log-file="$STATE/munged.log" \
    --seed-file="$STATE/munged.seed" 2>>"$STATE/munged.log" ||
    fail "munged did not start (see $STATE/munged.log)"
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "munge does not work after starting munged (see $STATE/munged.log)"
}

start() {
  if is_up; then
    say "already up: $(sinfo -h -N -o '%N %T %c CPUs')"
    return 0
  fi
  [ "$(id -u)" = "0" ] || fail "cannot start: needs root (to install and run munged, slurmctld, slurmd)"
  mkdir -p "$STATE/ctld" "$STATE/slurmd"
  install_packages
  write_conf
  start_munge
  if ! pid_alive "$STATE/slurmctld.pid"; then
    slurmctld 2>>"$STATE/slurmctld.log" || fail "slurmctld did not start (see $STATE/slurmctld.log)"
  fi
  if ! pid_alive "$STATE/slurmd.pid"; then
    slurmd 2>>"$STATE/slurmd.log" || fail "slurmd did not start (see $STATE/slurmd.log)"
  fi
  local waited=0 state
  while [ "$waited" -lt "$WAIT_S" ]; do
    state="$(node_state)"
    case "$state" in
    idle | mixed | allocated | completing)
      say "up: $(sinfo -h -N -o '%N %T %c CPUs')"
      return 0
      ;;
    down* | drain* | fail*)
      scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
      ;;
    esac
    sleep 1
    waited=$((waited + 1))
  done
  fail "the node did not become idle within ${WAIT_S}s (state: ${state:-none}; see $STATE/slurmctld.log and $STATE/slurmd.log)"
}

stop() {
  local any=0
  for d in slurmd slurmctld munged; do
    if pid_alive "$STATE/$d.pid"; then
      kill "$(cat "$STATE/$d.pid")" && any=1
      say "stopped $d (pid $(cat "$STATE/$d.pid"))"
    fi
    rm -f "$STATE/$d.pid"
  done
  [ "$any" = 1 ] || say "nothing of ours was running"
}

case "${1:-}" in
start) mkdir -p "$STATE" && start ;;
stop) stop ;;
status)
  if is_up; then sinfo; else fail "not up (node state: $(node_state || true))"; fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
