#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, for tests/test_slurm.py and for trying
# `python -m bnonly.slurm` without a cluster. Idempotent: a second run only checks that the node is idle.
#
# Installs Debian's SLURM (22.05 on bookworm) and munge when missing, writes a one-node slurm.conf naming
# this host with its CPUs and memory, creates the munge key, and starts munged (as the munge user), slurmctld
# and slurmd directly (no systemd; the daemons run as root, SlurmUser=root). Every daemon talks over
# 127.0.0.1. Waits until `sinfo` shows the node idle.
set -euo pipefail

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
NODE=$(hostname -s)
PARTITION=${SLURM_LOCAL_PARTITION:-debug}

need_install=0
for tool in slurmctld slurmd sbatch munged; do
  command -v "$tool" >/dev/null || need_install=1
done
if [ "$need_install" = 1 ]; then
  echo "start-local-slurm: installing slurmctld slurmd slurm-client munge"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi

# --- munge: the key, its folders, the daemon as the munge user ------------------------------------------
$SUDO mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
$SUDO chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
$SUDO chmod 0700 /etc/munge /var/lib/munge /var/log/munge
$SUDO chmod 0755 /run/munge
$SUDO chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  $SUDO rm -f /run/munge/munged.pid
  $SUDO runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
fi
munge -n | unmunge >/dev/null

# --- slurm.conf: one node, this host, its CPUs and memory ------------------------------------------------
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
real_mem=$(( mem_mb * 9 / 10 ))          # leave room for the daemons; more than the machine has drains the node
def_mem=$(( real_mem / cpus ))
conf=$(cat <<EOF
# Written by scripts/slurm/start-local-slurm.sh: a one-node test cluster.
ClusterName=bnonly-local
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=${def_mem}
ReturnToService=2
# Requeued jobs run again under the same id; a stopped task gets KillWait seconds to save after SIGTERM.
JobRequeue=1
KillWait=60
# Finished jobs stay visible to scontrol for an hour (there is no accounting database here).
MinJobAge=3600
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${real_mem} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
EOF
)
$SUDO mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
changed=0
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$conf" ]; then
  printf '%s\n' "$conf" | $SUDO tee "$CONF" >/dev/null
  changed=1
fi

# --- the daemons -------------------------------------------------------------------------------------------
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if running /run/slurmctld.pid; then
  [ "$changed" = 0 ] || $SUDO scontrol reconfigure
else
  # -c: start with an empty queue; jobs saved by an earlier run of this test cluster would start again.
  $SUDO slurmctld -c
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
running /run/slurmd.pid || $SUDO slurmd

state=''
for _ in $(seq 120); do
  state=$(sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -1)
  case "$state" in
    idle|mix|alloc) break ;;
    down*|drain*|drng*) $SUDO scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mix|alloc) echo "start-local-slurm: node $NODE is $state (partition $PARTITION, $cpus CPUs, ${real_mem} MB)" ;;
  *) echo "start-local-slurm: node $NODE did not become idle (state: ${state:-none}); see /var/log/slurm/" >&2
     exit 1 ;;
esac
