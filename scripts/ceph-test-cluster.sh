#!/usr/bin/env bash
# A throwaway single-node Ceph cluster (1 mon, 1 mgr, 1 bluestore OSD) in one directory, on
# 127.0.0.1, for Targe's RBD tests. Nothing outside DIR is touched; every daemon's data,
# keyrings, sockets and logs live in it.
#
#   scripts/ceph-test-cluster.sh start DIR   -> prints "conf DIR/ceph.conf" once HEALTH_OK-ish
#   scripts/ceph-test-cluster.sh stop DIR    -> stops exactly the daemons started for DIR
#
# Needs Debian's ceph-mon ceph-mgr ceph-osd ceph-common (and uuidgen from uuid-runtime).
set -euo pipefail
cmd=${1:?usage: ceph-test-cluster.sh start|stop DIR}
DIR=$(realpath -m "${2:?usage: ceph-test-cluster.sh start|stop DIR}")
CONF="$DIR/ceph.conf"

stop_daemon() {  # TERM, wait, KILL; only our own (its command line names our conf)
  local pidfile=$DIR/$1.pid
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$CONF"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

if [ "$cmd" = stop ]; then
  stop_daemon osd; stop_daemon mgr; stop_daemon mon
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: ceph-test-cluster.sh start|stop DIR" >&2; exit 2; }

mkdir -p "$DIR"/{mon,mgr,osd,run,log}
ceph() { timeout 30 /usr/bin/ceph --conf "$CONF" --connect-timeout 10 "$@"; }

start_daemon() {  # name, command...: in the background in its own session, its pid kept
  local name=$1; shift
  # Only stdin/stdout/stderr go with it: a caller that waits for this script's descriptors
  # to close (as Foundation's Process does) must not wait for the daemons too.
  local fd
  for fd in $(ls /proc/$$/fd); do
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
  done
  setsid "$@" < /dev/null > "$DIR/log/$name.out" 2>&1 &
  echo $! > "$DIR/$name.pid"
}

# A mon port below the ephemeral range, free a moment ago; retried if the mon cannot bind.
for attempt in 1 2 3 4 5; do
  PORT=$((10000 + RANDOM % 22000))
  FSID=$(uuidgen)
  cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
mon warn on pool no redundancy = false
mon data avail warn = 1
[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = $DIR/mon.keyring
ms bind retry count = 1
[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
keyring = $DIR/mgr/\$cluster-\$id/keyring
[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/osd/\$cluster-\$id/keyring
osd memory target = 1073741824
# A dead client's watch (and so its exclusive lock on an image) lapses after 5 s instead
# of 30: a gateway restarted after kill -9 takes its image's lock back sooner.
osd client watch timeout = 5
bluestore block create = true
bluestore block size = 4G
[client]
keyring = $DIR/admin.keyring
admin socket = $DIR/run/\$name.\$pid.asok
CONF
  rm -rf "$DIR/mon"/* "$DIR/mon.keyring" "$DIR/admin.keyring" "$DIR/monmap"
  ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/admin.keyring" >/dev/null
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$PORT]" "$DIR/monmap" >/dev/null
  ceph-mon --conf "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
  [ -d "$DIR/mon/ceph-a/store.db" ] || { echo "ceph-mon --mkfs made no store" >&2; exit 1; }
  start_daemon mon ceph-mon --conf "$CONF" -f -i a
  ok=0
  for _ in $(seq 100); do
    if ceph -s >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$(cat "$DIR/mon.pid")" 2>/dev/null || break
    sleep 0.2
  done
  [ $ok = 1 ] && break
  stop_daemon mon
done
[ "${ok:-0}" = 1 ] || { echo "the monitor did not start (log: $DIR/log)" >&2; exit 1; }

mkdir -p "$DIR/mgr/ceph-x"
ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' > "$DIR/mgr/ceph-x/keyring"
start_daemon mgr ceph-mgr --conf "$CONF" -f -i x

OSD_UUID=$(uuidgen)
OSD_SECRET=$(ceph-authtool --gen-print-key)
OSD_ID=$(echo "{\"cephx_secret\": \"$OSD_SECRET\"}" | ceph osd new "$OSD_UUID" -i - -n client.admin)
mkdir -p "$DIR/osd/ceph-$OSD_ID"
ceph-authtool --create-keyring "$DIR/osd/ceph-$OSD_ID/keyring" --name "osd.$OSD_ID" --add-key "$OSD_SECRET" >/dev/null
ceph-osd --conf "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" > "$DIR/log/osd-mkfs.out" 2>&1
start_daemon osd ceph-osd --conf "$CONF" -f -i "$OSD_ID"

for _ in $(seq 150); do
  ceph osd stat 2>/dev/null | grep -q '1 up' && break
  sleep 0.2
done
ceph osd stat | grep -q '1 up' || { echo "the OSD did not come up (log: $DIR/log)" >&2; exit 1; }
ceph osd pool create rbd 8 8 >/dev/null 2>&1
timeout 60 rbd --conf "$CONF" pool init rbd
echo "conf $CONF"
