#!/usr/bin/env bash
# Targe vs tgtd on loopback, same host, same kind of backing file, alternating runs.
#
#   TARGE_BIN=.build/release/targe scripts/bench.sh      (run as root: `make bench`)
#
# Builds nothing. Starts `targe serve` and `tgtd -f` (private control port, its own portal)
# on free 127.0.0.1 ports, each exporting its own 1 GiB LUN with the same negotiation
# settings, measures the loopback TCP ceiling (below), then for BENCH_ROUNDS rounds runs, per
# workload, targe and tgtd back to back (order flipped every round, so neither side always
# goes first):
#   4k-randread   iscsi-perf -r, 4 KiB reads, 32 in flight, BENCH_SECONDS s
#   128k-seqread  iscsi-perf,    128 KiB reads, 32 in flight, BENCH_SECONDS s
#   4k-seqwrite   qemu-img bench -w -d 32 -s 4k   -c BENCH_W4K_COUNT
#   128k-seqwrite qemu-img bench -w -d 32 -s 128k -c BENCH_W128K_COUNT
#   4k-randwrite  (ram only) qemu-img bench -w -d 32 -s 4k -c BENCH_W4K_COUNT -S STEP: qemu-img
#                 has no random mode and iscsi-perf does not write, so each write lands STEP
#                 bytes after the previous one, modulo the LUN size (qemu-img's wrap), with STEP
#                 a 4 KiB multiple near 0.618 x the LUN size and coprime (in 4 KiB units) with
#                 the number of 4 KiB slots: a fixed scatter over the whole LUN, no two writes in
#                 a row (or among the 32 in flight) near each other, every slot hit once before
#                 any twice; the same offsets in the same order for both daemons
#   4k-randread-qemu (ram only) the same as 4k-randwrite, reading: the ram row's write/read
#                 ratio compares one initiator's reads and writes at the same offsets
# and prints the median IOPS and MiB/s of each side and the ratio targe/tgtd. One session per
# run; iscsi-perf picks random LBAs (not 4 KiB aligned when the block size is 512: the same
# for both, since tgtd is given targe's block size). tgtd gets targe's negotiation values.
# targe uses `engine buffered` by default because tgtd's rdwr backing store is
# pread/pwrite through the page cache: like for like, the protocol engines are compared.
#
# BENCH_BACKING picks the kind of LUN (`make bench` runs all four, then scripts/bench-rbd.sh):
#   ram         the protocol path alone: targe a `ram` device (anonymous memory), filled once
#               through iSCSI before the first run so reads copy real pages, not the shared zero
#               page. tgtd has no RAM store: it gets bstype rdwr on a fully written file in
#               /dev/shm (tmpfs), i.e. pread/pwrite against page-cache pages with no disk
#               behind them, the nearest tgtd has. Workloads: 4k-randread and 4k-randwrite
#               only; besides targe/tgtd it prints targe's own write/read IOPS ratio
#               ("ram: targe writes at NN% of its reads"), with tgtd's beside it: reads and
#               writes come from different initiators (iscsi-perf, qemu-img), and tgtd's ratio
#               shows how much of the gap is theirs
#   file        each daemon its own file: targe `engine buffered`, tgtd bstype rdwr
#   aio-loop    each daemon its own loop device (losetup over such a file): targe's default
#               engine for block devices (aio, O_DIRECT), tgtd bstype aio
#   raid1-loop  targe a RAID1 of two loop devices, tgtd bstype aio on one loop device (tgt
#               has no mirror: the ratio says what the mirror costs or gains against a single
#               device of the same kind); targe's initial mirror sync finishes before any run
#
# Loopback TCP ceiling: before the first workload, iperf3 (Debian package iperf3; `make bench`
# installs it) runs one stream for BENCH_IPERF_SECONDS s between a server this script starts on
# a free 127.0.0.1 port and a client, printing "loopback TCP, one stream: N MiB/s"; the report
# then says what fraction of it targe's 128 KiB sequential reads reach. No iperf3, or a failed
# run: the script says why and goes on without the ceiling.
#
# Backing files: both are preallocated and fully written (dd from /dev/zero, fsync) before
# the first run, not sparse. With sparse files the first writer pays block allocation and
# reads of never-written blocks are free holes, so results would depend on run order and on
# which rounds came before; fully written files give both daemons the same on-disk layout
# and the same (warm) page-cache state in every round.
#
# Environment (defaults):
#   TARGE_BIN          the targe binary (required)
#   BENCH_ROUNDS       3
#   BENCH_SECONDS      8        iscsi-perf run time per read run
#   BENCH_W4K_COUNT    100000   4 KiB writes per write run (~391 MiB)
#   BENCH_W128K_COUNT  40000    128 KiB writes per write run (5 GiB, wraps the 1 GiB file)
#   BENCH_SIZE_MIB     1024     size of each backing file
#   BENCH_BACKING      file     ram, file, aio-loop or raid1-loop (above)
#   BENCH_IPERF_SECONDS 5       iperf3 run time for the loopback TCP ceiling; 0 = skip it
#   BENCH_LOOP_DIRECT  0        1 = loop devices with --direct-io=on (the loop driver reads and
#                               writes its backing file with O_DIRECT: the disk under the file,
#                               not the page cache, serves the I/O)
#   BENCH_ENGINE       buffered targe's `engine` for `file` (page cache, like tgtd's rdwr); empty = targe default
#   BENCH_BUDGET       330      seconds for the whole script: a workload pair that would end
#                               later (by the previous round's timing) is not started
#   BENCH_FIRST_PAIR_GUESS 30   the estimate used for a pair in the first round
#   BENCH_RUN_TIMEOUT  45       hard limit for any single run (killed, counted as failed)
#   BENCH_DIR          a new mktemp -d under /var/tmp (logs stay; the image files are removed)
#   BENCH_KEEP         0        1 = keep the image files too (never tgtd's /dev/shm file for ram)
set -euo pipefail
# shellcheck source=scripts/bench-negotiation.sh
source "$(dirname "$0")/bench-negotiation.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_READ=${BENCH_SECONDS:-8}
W4K_COUNT=${BENCH_W4K_COUNT:-100000}
W128K_COUNT=${BENCH_W128K_COUNT:-40000}
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
BACKING=${BENCH_BACKING:-file}
LOOP_DIRECT=${BENCH_LOOP_DIRECT:-0}
IPERF_SECONDS=${BENCH_IPERF_SECONDS:-5}
case $BACKING in
    ram) ENGINE=; TGT_BSTYPE=rdwr ;;
    file) ENGINE=${BENCH_ENGINE-buffered}; TGT_BSTYPE=rdwr ;;
    aio-loop | raid1-loop) ENGINE=; TGT_BSTYPE=aio ;;
    *) printf 'BENCH_BACKING must be ram, file, aio-loop or raid1-loop (got %s)\n' "$BACKING" >&2; exit 1 ;;
esac
BUDGET=${BENCH_BUDGET:-330}
FIRST_PAIR_GUESS=${BENCH_FIRST_PAIR_GUESS:-30}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-45}
KEEP=${BENCH_KEEP:-0}
NODE_BASE=iqn.2026-11.org.targe.bench
TGT_IQN=iqn.2026-11.org.tgt.bench:bench

say() { printf '[bench %3ds] %s\n' "$SECONDS" "$*"; }
die() {
    printf '[bench %3ds] FATAL: %s\n' "$SECONDS" "$*" >&2
    exit 1
}

for v in ROUNDS SECONDS_PER_READ W4K_COUNT W128K_COUNT SIZE_MIB BUDGET FIRST_PAIR_GUESS RUN_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $IPERF_SECONDS =~ ^[0-9]+$ ]] || die "BENCH_IPERF_SECONDS must be a non-negative integer (got '$IPERF_SECONDS')"
[[ -n ${TARGE_BIN:-} ]] || die "set TARGE_BIN to the targe binary (this script builds nothing)"
[[ -x $TARGE_BIN ]] || die "TARGE_BIN=$TARGE_BIN is not executable"
TARGE_BIN=$(readlink -f "$TARGE_BIN")
for tool in tgtd tgtadm iscsi-perf iscsi-readcapacity16 qemu-img timeout ss; do
    command -v "$tool" >/dev/null || die "$tool not found (packages: tgt, libiscsi-bin, qemu-utils + qemu-block-extra, coreutils, iproute2)"
done
[[ $(id -u) -eq 0 ]] || say "warning: not root; tgtd may fail to start (make bench runs this as root)"

WORK=${BENCH_DIR:-$(mktemp -d /var/tmp/targe-bench.XXXXXX)}
mkdir -p "$WORK"
TARGE_IMG=$WORK/targe.img
TARGE_IMG2=$WORK/targe-b.img
TGT_IMG=$WORK/tgtd.img
SHM_IMG=    # ram: tgtd's file in /dev/shm, removed at exit whatever BENCH_KEEP says
LOOPS=()
RESULTS=$WORK/results.tsv
TARGE_PID=
TGTD_PID=
IPERF_PID=
LOOPBACK_MIBPS=
LOOPBACK_WHY="not measured"
TGT_CP=
FAILED_RUNS=0

# ---- cleanup: both daemons, always -------------------------------------------------------

stop_pid() { # pid name grace
    local pid=$1 name=$2 grace=$3 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name did not stop within ${grace}s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n $TARGE_PID ]] && kill -0 "$TARGE_PID" 2>/dev/null; then
        kill -TERM "$TARGE_PID" 2>/dev/null || true
        local i st=0
        for ((i = 0; i < 100; i++)); do kill -0 "$TARGE_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$TARGE_PID" 2>/dev/null; then
            say "targe did not exit within 10s of SIGTERM; SIGKILL"
            kill -KILL "$TARGE_PID" 2>/dev/null || true
        fi
        wait "$TARGE_PID" 2>/dev/null || st=$?
        say "targe stopped (exit status $st)"
    fi
    if [[ -n $TGTD_PID ]] && kill -0 "$TGTD_PID" 2>/dev/null; then
        # tgtd ignores SIGTERM while targets exist: remove them, then the system.
        tgtadm -C "$TGT_CP" --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
        tgtadm -C "$TGT_CP" --op delete --mode system >/dev/null 2>&1 || true
        stop_pid "$TGTD_PID" tgtd 5
        say "tgtd stopped"
    fi
    if [[ -n $IPERF_PID ]]; then stop_pid "$IPERF_PID" "iperf3 server" 2; fi
    local loop
    for loop in "${LOOPS[@]}"; do losetup -d "$loop" 2>/dev/null || say "cannot detach $loop"; done
    if [[ $KEEP != 1 ]]; then rm -f "$TARGE_IMG" "$TARGE_IMG2" "$TGT_IMG"; fi
    if [[ -n $SHM_IMG ]]; then rm -f "$SHM_IMG"; fi
    say "logs and results in $WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# ---- helpers ------------------------------------------------------------------------------

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

listening() { ss -Hltn "sport = :$1" | grep -q .; }

log_tail() { # file
    [[ -f $1 ]] && tail -n 25 "$1" | sed 's/^/    | /' >&2
}

check_alive() { # context
    if ! kill -0 "$TARGE_PID" 2>/dev/null; then
        local st=0
        wait "$TARGE_PID" 2>/dev/null || st=$?
        TARGE_PID=
        log_tail "$WORK/targe.stderr"
        die "targe died $1 (exit status $st); stderr above, full log $WORK/targe.stderr"
    fi
    if ! kill -0 "$TGTD_PID" 2>/dev/null; then
        TGTD_PID=
        log_tail "$WORK/tgtd.log"
        die "tgtd died $1; log above, full log $WORK/tgtd.log"
    fi
}

block_size() { # url
    local out
    out=$(timeout 30 iscsi-readcapacity16 "$1" 2>&1) || { echo "$out" >&2; return 1; }
    local bs last
    bs=$(sed -n 's/^LOGICAL BLOCK LENGTH IN BYTES:\([0-9]*\).*/\1/p' <<<"$out")
    last=$(sed -n 's/^RETURNED LOGICAL BLOCK ADDRESS:\([0-9]*\).*/\1/p' <<<"$out")
    [[ -n $bs && -n $last ]] || { echo "cannot parse: $out" >&2; return 1; }
    echo "$bs $(((last + 1) * bs))"
}

# ---- backing files ------------------------------------------------------------------------

say "work dir $WORK ($(stat -f -c %T "$WORK") filesystem), $(nproc) CPUs"
IMAGES=("$TARGE_IMG" "$TGT_IMG")
[[ $BACKING == raid1-loop ]] && IMAGES+=("$TARGE_IMG2")
if [[ $BACKING == ram ]]; then
    # targe needs no file; tgtd's lives on tmpfs (RAM), next to targe's anonymous memory.
    [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]] || die "/dev/shm is not a tmpfs; the ram kind needs one for tgtd's file"
    shm_free=$(($(stat -f -c '%a * %S' /dev/shm) / 1048576))
    ((shm_free >= SIZE_MIB + 64)) || die "/dev/shm has ${shm_free} MiB free; the ram kind needs ${SIZE_MIB} MiB + 64 there"
    SHM_IMG=$(mktemp /dev/shm/targe-bench-tgtd.XXXXXX) || die "cannot create a file in /dev/shm"
    TGT_IMG=$SHM_IMG
    IMAGES=("$TGT_IMG")
fi
say "writing ${#IMAGES[@]} ${SIZE_MIB} MiB backing files (preallocated, fully written, fsynced)"
for img in "${IMAGES[@]}"; do
    dd if=/dev/zero of="$img" bs=4M count=$((SIZE_MIB / 4)) conv=fsync status=none \
        || die "cannot write $img"
done
# loop_of FILE: prints a new loop device over FILE; callers add it to LOOPS (detached at
# exit) themselves, since $(...) runs this in a subshell.
loop_of() {
    local direct=()
    [[ $LOOP_DIRECT == 1 ]] && direct=(--direct-io=on)
    losetup "${direct[@]}" --find --show "$1" || { say "losetup cannot attach $1 (needs root and loop devices)" >&2; return 1; }
}
TGT_STORE=$TGT_IMG
case $BACKING in
    ram)
        TARGE_DEVICES="[device bench]
ram     ${SIZE_MIB}MiB"
        ;;
    file)
        TARGE_DEVICES="[device bench]
path    $TARGE_IMG
size    ${SIZE_MIB}MiB
${ENGINE:+engine  $ENGINE}"
        ;;
    aio-loop)
        dev=$(loop_of "$TARGE_IMG") || exit 1; LOOPS+=("$dev")
        TGT_STORE=$(loop_of "$TGT_IMG") || exit 1; LOOPS+=("$TGT_STORE")
        TARGE_DEVICES="[device bench]
path    $dev"
        ;;
    raid1-loop)
        a=$(loop_of "$TARGE_IMG") || exit 1; LOOPS+=("$a")
        b=$(loop_of "$TARGE_IMG2") || exit 1; LOOPS+=("$b")
        TGT_STORE=$(loop_of "$TGT_IMG") || exit 1; LOOPS+=("$TGT_STORE")
        TARGE_DEVICES="[device a]
path    $a

[device b]
path    $b

[combination bench]
raid     1
members  a b"
        ;;
esac
say "backing: $BACKING (targe: $(tr '\n' ' ' <<<"$TARGE_DEVICES" | tr -s ' '); tgtd: $TGT_STORE, bstype $TGT_BSTYPE)"

# ---- targe -------------------------------------------------------------------------------

cat >"$WORK/targe.conf" <<EOF
# written by scripts/bench.sh
[server]
node-base  $NODE_BASE
listen     127.0.0.1:0

$(bench_targe_sections)

$TARGE_DEVICES

[target bench]
lun     0 bench
EOF
"$TARGE_BIN" check --config "$WORK/targe.conf" >"$WORK/targe-check.log" 2>&1 || {
    log_tail "$WORK/targe-check.log"
    die "targe check rejected $WORK/targe.conf"
}
: >"$WORK/targe.stdout"    # exists before the background child opens it
"$TARGE_BIN" serve --config "$WORK/targe.conf" >"$WORK/targe.stdout" 2>"$WORK/targe.stderr" &
TARGE_PID=$!
TARGE_PORT=
for ((i = 0; i < 300; i++)); do
    TARGE_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$WORK/targe.stdout" 2>/dev/null | head -n1 || true)
    [[ -n $TARGE_PORT ]] && break
    kill -0 "$TARGE_PID" 2>/dev/null || { log_tail "$WORK/targe.stderr"; TARGE_PID=; die "targe exited before listening"; }
    sleep 0.1
done
[[ -n $TARGE_PORT ]] || { log_tail "$WORK/targe.stderr"; die "targe printed no 'listening on 127.0.0.1:PORT' within 30s"; }
listening "$TARGE_PORT" || die "targe says it listens on $TARGE_PORT but nothing is bound there"
TARGE_URL=iscsi://127.0.0.1:$TARGE_PORT/$NODE_BASE:bench/0
say "targe $TARGE_BIN pid $TARGE_PID on 127.0.0.1:$TARGE_PORT ($([[ $BACKING == ram ]] && echo "ram device" || echo "engine ${ENGINE:-default}"))"

read -r BS TARGE_BYTES < <(block_size "$TARGE_URL") || die "READ CAPACITY on targe failed"
if [[ $BACKING == raid1-loop ]]; then
    # A new mirror copies member a onto b first; measure the mirror, not its sync.
    for ((i = 0; i < 1200; i++)); do
        "$TARGE_BIN" status --config "$WORK/targe.conf" 2>/dev/null | grep -q '^health: ok' && break
        sleep 0.5
    done
    "$TARGE_BIN" status --config "$WORK/targe.conf" | grep -q '^health: ok' || die "the mirror did not finish its initial sync in 10 minutes"
    say "mirror in sync"
fi
if [[ $BACKING == ram ]]; then
    # Never-written anonymous pages all map the one shared zero page: reads of them would hit
    # the CPU cache, not memory. Write every byte once, as dd wrote tgtd's tmpfs file.
    timeout -k 5 300 qemu-img bench -f raw -w -d 8 -s 1M -c $((TARGE_BYTES / 1048576)) --pattern=0 \
        "$TARGE_URL" >"$WORK/targe-fill.log" 2>&1 || { log_tail "$WORK/targe-fill.log"; die "cannot fill targe's RAM disk"; }
    say "targe RAM disk filled ($(sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p' "$WORK/targe-fill.log") s)"
fi
say "targe LUN: $TARGE_BYTES bytes, block size $BS"

# ---- tgtd --------------------------------------------------------------------------------

for ((i = 0; i < 50; i++)); do
    TGT_CP=$((2000 + RANDOM % 7000))
    [[ -e /var/run/tgtd/socket.$TGT_CP || -e /run/tgtd/socket.$TGT_CP ]] && continue
    tgtadm -C "$TGT_CP" --mode sys --op show >/dev/null 2>&1 || break
done
TGT_PORT=$(free_port)
tgtd -f -C "$TGT_CP" --iscsi "portal=127.0.0.1:$TGT_PORT" >"$WORK/tgtd.log" 2>&1 &
TGTD_PID=$!
for ((i = 0; i < 150; i++)); do
    kill -0 "$TGTD_PID" 2>/dev/null || { log_tail "$WORK/tgtd.log"; TGTD_PID=; die "tgtd exited at start"; }
    if listening "$TGT_PORT" && tgtadm -C "$TGT_CP" --mode sys --op show >/dev/null 2>&1; then break; fi
    sleep 0.1
done
listening "$TGT_PORT" || { log_tail "$WORK/tgtd.log"; die "tgtd is not listening on 127.0.0.1:$TGT_PORT after 15s"; }
TGTADM=(tgtadm -C "$TGT_CP" --lld iscsi)
tgt_setup() {
    "${TGTADM[@]}" --mode target --op new --tid 1 --targetname "$TGT_IQN" || return 1
    "${TGTADM[@]}" --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$TGT_STORE" \
        --bstype "$TGT_BSTYPE" --blocksize "$BS" || return 1
    "${TGTADM[@]}" --mode target --op bind --tid 1 --initiator-address ALL || return 1
    bench_tgtd_negotiate "${TGTADM[@]}" 1
}
tgt_setup >>"$WORK/tgtd.log" 2>&1 || { log_tail "$WORK/tgtd.log"; die "tgtadm setup failed"; }
TGT_URL=iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1    # tgtd keeps LUN 0 for its controller
say "tgtd pid $TGTD_PID on 127.0.0.1:$TGT_PORT (control port $TGT_CP, bstype $TGT_BSTYPE)"
read -r TGT_BS TGT_BYTES < <(block_size "$TGT_URL") || die "READ CAPACITY on tgtd failed"
say "tgtd LUN: $TGT_BYTES bytes, block size $TGT_BS"
[[ $TGT_BS == "$BS" && $TGT_BYTES == "$TARGE_BYTES" ]] || die "the two LUNs differ ($TARGE_BYTES/$BS vs $TGT_BYTES/$TGT_BS)"
check_alive "during setup"

# ---- loopback TCP ceiling ----------------------------------------------------------------

# loopback_ceiling: one iperf3 stream over 127.0.0.1 for IPERF_SECONDS s; sets LOOPBACK_MIBPS,
# or leaves it empty and says why in LOOPBACK_WHY. Never fails the script.
loopback_ceiling() {
    local port i rc=0 bps
    local slog=$WORK/iperf3-server.log clog=$WORK/iperf3-client.json
    if ((IPERF_SECONDS == 0)); then LOOPBACK_WHY="skipped (BENCH_IPERF_SECONDS=0)"; return 0; fi
    command -v iperf3 >/dev/null || { LOOPBACK_WHY="iperf3 not found (Debian package iperf3; make bench installs it)"; return 0; }
    port=$(free_port)
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >"$slog" 2>&1 &
    IPERF_PID=$!
    for ((i = 0; i < 50; i++)); do
        listening "$port" && break
        kill -0 "$IPERF_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! listening "$port"; then
        LOOPBACK_WHY="the iperf3 server did not listen on 127.0.0.1:$port: $(tail -n 1 "$slog")"
        stop_pid "$IPERF_PID" "iperf3 server" 2
        IPERF_PID=
        return 0
    fi
    timeout -k 5 $((IPERF_SECONDS + 20)) iperf3 -c 127.0.0.1 -p "$port" -P 1 -t "$IPERF_SECONDS" -J >"$clog" 2>&1 || rc=$?
    stop_pid "$IPERF_PID" "iperf3 server" 2
    IPERF_PID=
    # -J: the receiver's total is end.sum_received.bits_per_second.
    bps=$(awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/[^0-9.eE+-]/, "", $2); print $2; exit }' "$clog")
    if [[ $rc -ne 0 || -z $bps ]]; then
        local detail
        detail=$(grep -m1 '"error"' "$clog" 2>/dev/null || tail -n 1 "$clog" 2>/dev/null || true)
        [[ $rc == 124 ]] && detail="timeout after $((IPERF_SECONDS + 20))s; $detail"
        LOOPBACK_WHY="the iperf3 client failed (exit $rc): $(tr -s ' \t' ' ' <<<"$detail"); log $clog"
        return 0
    fi
    LOOPBACK_MIBPS=$(awk -v b="$bps" 'BEGIN { printf "%.0f", b / 8 / 1048576 }')
    if [[ $LOOPBACK_MIBPS == 0 ]]; then LOOPBACK_MIBPS=; LOOPBACK_WHY="iperf3 measured 0 bytes; log $clog"; fi
    return 0
}
loopback_ceiling
if [[ -n $LOOPBACK_MIBPS ]]; then
    say "loopback TCP, one stream: $LOOPBACK_MIBPS MiB/s (iperf3, ${IPERF_SECONDS}s, 127.0.0.1)"
else
    say "loopback TCP, one stream: not measured: $LOOPBACK_WHY; going on without it"
fi
check_alive "after the loopback measurement"

# ---- the runs ----------------------------------------------------------------------------

# watched LOG CMD...: runs CMD (output to LOG) in the background while checking both
# daemons every 0.2 s; if one dies the run is killed at once and the script stops (an
# initiator whose target vanished may retry until RUN_TIMEOUT otherwise).
watched() {
    local log=$1 pid rc=0
    shift
    "$@" >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if ! kill -0 "$TARGE_PID" 2>/dev/null || ! kill -0 "$TGTD_PID" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            check_alive "while running: $*"
        fi
        sleep 0.2
    done
    wait "$pid" || rc=$?
    return "$rc"
}

url_of() { [[ $1 == targe ]] && echo "$TARGE_URL" || echo "$TGT_URL"; }

# run_one ROUND DAEMON WORKLOAD: one measurement appended to $RESULTS.
run_one() {
    local round=$1 daemon=$2 workload=$3 url log out rc=0 iops mibps secs size count
    url=$(url_of "$daemon")
    log=$WORK/run-r$round-$daemon-$workload.log
    case $workload in
        4k-randread | 128k-seqread)
            size=$([[ $workload == 4k-randread ]] && echo 4096 || echo 131072)
            local args=(-l -m 32 -b $((size / BS)) -t "$SECONDS_PER_READ")
            [[ $workload == 4k-randread ]] && args+=(-r)
            watched "$log" timeout -k 5 "$RUN_TIMEOUT" iscsi-perf "${args[@]}" "$url" || rc=$?
            iops=$(tr '\r' '\n' <"$log" | sed -n 's/.*iops average \([0-9][0-9]*\).*/\1/p' | tail -n1)
            if [[ $rc -ne 0 || -z $iops ]] || ! grep -q 'finished' "$log"; then
                say "round $round $daemon $workload: FAILED (exit $rc); log $log"
                tail -n 5 "$log" | sed 's/^/    | /'
                FAILED_RUNS=$((FAILED_RUNS + 1))
                return
            fi
            mibps=$(awk -v i="$iops" -v s="$size" 'BEGIN { printf "%.1f", i * s / 1048576 }')
            secs=$SECONDS_PER_READ
            ;;
        4k-seqwrite | 128k-seqwrite | 4k-randwrite | 4k-randread-qemu)
            if [[ $workload == 128k-seqwrite ]]; then size=131072; count=$W128K_COUNT; else size=4096; count=$W4K_COUNT; fi
            local step=() mode=(-w --pattern=165)
            [[ $workload == 4k-rand* ]] && step=(-S "$SCATTER_STEP")
            [[ $workload == 4k-randread-qemu ]] && mode=()
            watched "$log" timeout -k 5 "$RUN_TIMEOUT" qemu-img bench -f raw "${mode[@]}" -d 32 -c "$count" \
                -s "$size" "${step[@]}" "$url" || rc=$?
            secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p' "$log" | tail -n1)
            if [[ $rc -ne 0 || -z $secs ]]; then
                say "round $round $daemon $workload: FAILED (exit $rc$([[ $rc == 124 ]] && echo ", timeout ${RUN_TIMEOUT}s")); log $log"
                tail -n 5 "$log" | sed 's/^/    | /'
                FAILED_RUNS=$((FAILED_RUNS + 1))
                return
            fi
            iops=$(awk -v c="$count" -v t="$secs" 'BEGIN { printf "%.0f", (t > 0) ? c / t : 0 }')
            mibps=$(awk -v c="$count" -v s="$size" -v t="$secs" 'BEGIN { printf "%.1f", (t > 0) ? c * s / t / 1048576 : 0 }')
            ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$daemon" "$workload" "$iops" "$mibps" "$secs" >>"$RESULTS"
    say "round $round $(printf '%-5s %-13s' "$daemon" "$workload") $(printf '%9s IOPS %9s MiB/s' "$iops" "$mibps") (${secs}s)"
}

# scatter_step LUN_BYTES: the -S of 4k-randwrite (header): a 4 KiB multiple near 0.618 x the
# LUN, coprime in 4 KiB units with both counts of slots qemu-img may wrap by (n: qemu 7.2 wraps
# modulo the image size; n - 1: later qemu wraps modulo the size minus the request).
scatter_step() {
    awk -v bytes="$1" 'function gcd(a, b,  t) { while (b) { t = a % b; a = b; b = t } return a }
        BEGIN { n = int(bytes / 4096); k = int(n * 0.6180339887)
                while (k > 1 && (gcd(k, n) != 1 || gcd(k, n - 1) != 1)) k--
                if (k < 1) k = 1
                printf "%d\n", k * 4096 }'
}

printf 'round\tdaemon\tworkload\tiops\tmibps\tseconds\n' >"$RESULTS"
if [[ $BACKING == ram ]]; then
    WORKLOADS=(4k-randread 4k-randread-qemu 4k-randwrite)
    SCATTER_STEP=$(scatter_step "$TARGE_BYTES")
    say "$ROUNDS rounds: ${WORKLOADS[*]}; reads ${SECONDS_PER_READ}s, writes ${W4K_COUNT}x4k (step $SCATTER_STEP bytes), QD32"
else
    WORKLOADS=(4k-randread 128k-seqread 4k-seqwrite 128k-seqwrite)
    say "$ROUNDS rounds: ${WORKLOADS[*]}; reads ${SECONDS_PER_READ}s, writes ${W4K_COUNT}x4k / ${W128K_COUNT}x128k, QD32"
fi
# A pair (both daemons, one workload) is started only if, judging by the same pair's wall
# time in the previous round (first round: BENCH_FIRST_PAIR_GUESS s), it ends within BENCH_BUDGET.
declare -A PAIR_SECS=()
stopped_early=
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then order=(targe tgtd); else order=(tgtd targe); fi
    for workload in "${WORKLOADS[@]}"; do
        estimate=${PAIR_SECS[$workload]:-$FIRST_PAIR_GUESS}
        if ((SECONDS + estimate > BUDGET)); then stopped_early=1; break 2; fi
        pair_start=$SECONDS
        for daemon in "${order[@]}"; do
            run_one "$round" "$daemon" "$workload"
            check_alive "after round $round $daemon $workload"
        done
        PAIR_SECS[$workload]=$((SECONDS - pair_start + 1))
    done
done
if [[ -n $stopped_early ]]; then
    say "warning: time budget of ${BUDGET}s reached in round $round; medians use the runs done so far"
fi

# ---- report ------------------------------------------------------------------------------

median() { # daemon workload column(4=iops,5=mibps)
    awk -F'\t' -v d="$1" -v w="$2" -v c="$3" 'NR > 1 && $2 == d && $3 == w { print $c }' "$RESULTS" |
        sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
runs() { awk -F'\t' -v d="$1" -v w="$2" 'NR > 1 && $2 == d && $3 == w' "$RESULTS" | wc -l; }

percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.0f", 100 * a / b }'; }

echo
if [[ $BACKING == ram ]]; then
    echo "Targe vs tgtd (ram): median of runs per metric; $(nproc) CPUs, loopback, ${SIZE_MIB} MiB LUNs in RAM,"
    echo "block size $BS, targe ram device vs tgtd bstype rdwr on a /dev/shm (tmpfs) file, QD32, single session each"
else
    echo "Targe vs tgtd ($BACKING): median of runs per metric; $(nproc) CPUs, loopback, ${SIZE_MIB} MiB preallocated files,"
    echo "block size $BS, targe engine ${ENGINE:-default} vs tgtd bstype $TGT_BSTYPE, QD32, single session each"
fi
if [[ -n $LOOPBACK_MIBPS ]]; then
    echo "loopback TCP, one stream: $LOOPBACK_MIBPS MiB/s"
else
    echo "loopback TCP, one stream: not measured ($LOOPBACK_WHY)"
fi
printf '%-26s %12s %12s %11s %6s\n' metric targe tgtd targe/tgtd runs
for workload in "${WORKLOADS[@]}"; do
    for col in 4 5; do
        unit=$([[ $col == 4 ]] && echo IOPS || echo MiB/s)
        a=$(median targe "$workload" $col)
        b=$(median tgtd "$workload" $col)
        ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }')
        printf '%-26s %12s %12s %11s %6s\n' "$workload $unit" "$a" "$b" "$ratio" "$(runs targe "$workload")/$(runs tgtd "$workload")"
    done
    if [[ $workload == 128k-seqread ]]; then
        a=$(median targe 128k-seqread 5)
        if [[ -z $LOOPBACK_MIBPS ]]; then
            echo "targe 128K reads vs one loopback TCP stream: n/a (loopback $LOOPBACK_WHY)"
        elif [[ $a == n/a ]]; then
            echo "targe 128K reads vs one loopback TCP stream: n/a (no targe 128k-seqread run)"
        else
            echo "targe 128K reads at $(percent "$a" "$LOOPBACK_MIBPS")% of one loopback TCP stream ($a of $LOOPBACK_MIBPS MiB/s)"
        fi
    fi
done
if [[ $BACKING == ram ]]; then
    # Reads and writes by the same initiator (qemu-img bench, the same scattered offsets), so
    # the ratio is the target's; tgtd's own ratio from the same runs for comparison.
    echo "ram: targe writes at $(percent "$(median targe 4k-randwrite 4)" "$(median targe 4k-randread-qemu 4)")% of its reads" \
        "(4 KiB, QD32, IOPS, qemu-img bench both ways; tgtd: $(percent "$(median tgtd 4k-randwrite 4)" "$(median tgtd 4k-randread-qemu 4)")%)"
fi
echo "per-run results: $RESULTS"
check_alive "at the end"
if ((FAILED_RUNS > 0)); then
    say "$FAILED_RUNS run(s) failed; see the run-*.log files in $WORK"
    exit 1
fi
say "done in ${SECONDS}s"
