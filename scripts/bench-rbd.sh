#!/usr/bin/env bash
# Targe vs tgtd on Ceph RBD images, and both against librbd itself (`rbd bench`, the ceiling).
#
#   TARGE_BIN=.build/release/targe scripts/bench-rbd.sh      (run as root: `make bench`)
#
# Starts a throwaway single-node cluster (scripts/ceph-test-cluster.sh: one mon, one mgr, one
# OSD on 127.0.0.1, in a directory under /var/tmp), creates three images of BENCH_SIZE_MIB and
# writes each in full (so that reads reach real objects), then serves one with `targe serve`
# (an `rbd` device) and one with `tgtd` (Debian's tgt-rbd, --bstype rbd), same negotiation
# values as scripts/bench.sh. For BENCH_ROUNDS rounds it runs, per workload, targe and tgtd
# back to back (order flipped every round), and `rbd bench` once per workload on the third
# image:
#   4k-randread   iscsi-perf -r, 4 KiB reads, 32 in flight, BENCH_SECONDS s
#                 (rbd bench --io-type read --io-pattern rand --io-size 4K --io-threads 32)
#   4k-randwrite  qemu-img bench -w -d 32 -s 4k -S STEP (a fixed scatter, as in bench.sh)
#                 (rbd bench --io-type write --io-pattern rand ...)
#   128k-seqread  iscsi-perf, 128 KiB reads, 32 in flight   (rbd bench ... --io-size 128K --io-pattern seq)
#   128k-seqwrite qemu-img bench -w -d 32 -s 128k            (rbd bench ... write, seq)
# and prints the medians, targe/tgtd and targe/(rbd bench). librbd's cache is as Debian
# configures it for all three (on, writethrough until the first flush).
#
# Environment (defaults): TARGE_BIN (required), BENCH_ROUNDS 3, BENCH_SECONDS 8,
#   BENCH_SIZE_MIB 512, BENCH_W4K_COUNT 20000, BENCH_W128K_COUNT 4000, BENCH_RUN_TIMEOUT 60,
#   BENCH_DIR (a new mktemp -d under /var/tmp; logs stay, the cluster goes).
set -euo pipefail

ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_READ=${BENCH_SECONDS:-8}
SIZE_MIB=${BENCH_SIZE_MIB:-512}
W4K_COUNT=${BENCH_W4K_COUNT:-20000}
W128K_COUNT=${BENCH_W128K_COUNT:-4000}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench-negotiation.sh
source "$HERE/bench-negotiation.sh"
NODE_BASE=iqn.2026-11.org.targe.bench
TGT_IQN=iqn.2026-11.org.tgt.bench:rbd

say() { printf '[bench-rbd %3ds] %s\n' "$SECONDS" "$*"; }
die() { printf '[bench-rbd %3ds] FATAL: %s\n' "$SECONDS" "$*" >&2; exit 1; }

for v in ROUNDS SECONDS_PER_READ SIZE_MIB W4K_COUNT W128K_COUNT RUN_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ -n ${TARGE_BIN:-} && -x ${TARGE_BIN:-} ]] || die "set TARGE_BIN to the targe binary (this script builds nothing)"
TARGE_BIN=$(readlink -f "$TARGE_BIN")
for tool in ceph-mon ceph-osd rbd tgtd tgtadm iscsi-perf qemu-img timeout ss python3; do
    command -v "$tool" >/dev/null || die "$tool not found (packages: ceph-mon ceph-mgr ceph-osd ceph-common tgt tgt-rbd libiscsi-bin qemu-utils)"
done
[[ -e /usr/lib/tgt/backing-store/bs_rbd.so ]] || die "tgtd has no rbd backing store (Debian package tgt-rbd)"

WORK=${BENCH_DIR:-$(mktemp -d /var/tmp/targe-bench-rbd.XXXXXX)}
mkdir -p "$WORK"
CLUSTER=$WORK/cluster
RESULTS=$WORK/results.tsv
: >"$RESULTS"
TARGE_PID=
TGTD_PID=
TGT_CP=

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n $TARGE_PID ]]; then
        kill -TERM "$TARGE_PID" 2>/dev/null
        for ((i = 0; i < 100; i++)); do kill -0 "$TARGE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$TARGE_PID" 2>/dev/null
        wait "$TARGE_PID" 2>/dev/null
    fi
    if [[ -n $TGTD_PID ]]; then
        tgtadm -C "$TGT_CP" --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1
        tgtadm -C "$TGT_CP" --op delete --mode system >/dev/null 2>&1
        for ((i = 0; i < 50; i++)); do kill -0 "$TGTD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$TGTD_PID" 2>/dev/null
        wait "$TGTD_PID" 2>/dev/null
    fi
    [[ -d $CLUSTER ]] && bash "$HERE/ceph-test-cluster.sh" stop "$CLUSTER" >/dev/null 2>&1 && rm -rf "$CLUSTER"
    say "logs and results in $WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { ss -Hltn "sport = :$1" | grep -q .; }

# ---- cluster and images ------------------------------------------------------------------

mkdir -p "$CLUSTER"
bash "$HERE/ceph-test-cluster.sh" start "$CLUSTER" >"$WORK/cluster.log" 2>&1 || { tail -n 20 "$WORK/cluster.log" >&2; die "the cluster did not start"; }
CONF=$CLUSTER/ceph.conf
RBD=(rbd --conf "$CONF")
for image in targe tgtd ceiling; do
    "${RBD[@]}" create "rbd/bench-$image" --size "${SIZE_MIB}M" || die "rbd create bench-$image"
    "${RBD[@]}" bench --io-type write --io-pattern seq --io-size 4M --io-threads 4 --io-total "${SIZE_MIB}M" \
        "rbd/bench-$image" >"$WORK/fill-$image.log" 2>&1 || die "cannot fill bench-$image"
done
say "cluster up ($CLUSTER), three ${SIZE_MIB} MiB images written in full"

# ---- targe and tgtd ----------------------------------------------------------------------

cat >"$WORK/targe.conf" <<EOF
[server]
node-base  $NODE_BASE
listen     127.0.0.1:0
$(bench_targe_sections)
[device bench]
rbd        rbd/bench-targe
ceph-conf  $CONF
[target bench]
lun     0 bench
EOF
: >"$WORK/targe.stdout"
"$TARGE_BIN" serve --config "$WORK/targe.conf" >"$WORK/targe.stdout" 2>"$WORK/targe.stderr" &
TARGE_PID=$!
TARGE_PORT=
for ((i = 0; i < 300; i++)); do
    TARGE_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$WORK/targe.stdout" | head -n1)
    [[ -n $TARGE_PORT ]] && break
    kill -0 "$TARGE_PID" 2>/dev/null || die "targe exited at start (see $WORK/targe.stderr)"
    sleep 0.1
done
[[ -n $TARGE_PORT ]] || die "targe is not listening after 30 s"
TARGE_URL=iscsi://127.0.0.1:$TARGE_PORT/$NODE_BASE:bench/0

for ((i = 0; i < 50; i++)); do
    TGT_CP=$((2000 + RANDOM % 7000))
    tgtadm -C "$TGT_CP" --mode sys --op show >/dev/null 2>&1 || break
done
TGT_PORT=$(free_port)
tgtd -f -C "$TGT_CP" --iscsi "portal=127.0.0.1:$TGT_PORT" >"$WORK/tgtd.log" 2>&1 &
TGTD_PID=$!
for ((i = 0; i < 150; i++)); do
    listening "$TGT_PORT" && tgtadm -C "$TGT_CP" --mode sys --op show >/dev/null 2>&1 && break
    sleep 0.1
done
listening "$TGT_PORT" || die "tgtd is not listening (see $WORK/tgtd.log)"
TGTADM=(tgtadm -C "$TGT_CP" --lld iscsi)
{
    "${TGTADM[@]}" --mode target --op new --tid 1 --targetname "$TGT_IQN" &&
    "${TGTADM[@]}" --mode logicalunit --op new --tid 1 --lun 1 --bstype rbd --backing-store rbd/bench-tgtd \
        --bsopts "conf=$CONF" &&
    "${TGTADM[@]}" --mode target --op bind --tid 1 --initiator-address ALL &&
    bench_tgtd_negotiate "${TGTADM[@]}" 1
} >>"$WORK/tgtd.log" 2>&1 || die "tgtadm setup failed (see $WORK/tgtd.log)"
TGT_URL=iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1
say "targe on 127.0.0.1:$TARGE_PORT, tgtd (bstype rbd) on 127.0.0.1:$TGT_PORT"

# A 4 KiB multiple near 0.618 x the size; odd in 4 KiB slots, so coprime with their number (a
# power of two when BENCH_SIZE_MIB is one): every slot is written once before any twice.
SLOTS=$((SIZE_MIB * 256))
STEP_SLOTS=$((SLOTS * 618 / 1000))
((STEP_SLOTS % 2 == 1)) || STEP_SLOTS=$((STEP_SLOTS + 1))
STEP=$((STEP_SLOTS * 4096))

# ---- runs ----------------------------------------------------------------------------------

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"; }

# run_one ROUND DAEMON WORKLOAD
run_one() {
    local round=$1 daemon=$2 workload=$3 url log rc=0 iops size count secs
    url=$([[ $daemon == targe ]] && echo "$TARGE_URL" || echo "$TGT_URL")
    log=$WORK/run-r$round-$daemon-$workload.log
    case $workload in
        4k-randread | 128k-seqread)
            size=$([[ $workload == 4k-randread ]] && echo 4096 || echo 131072)
            local args=(-l -m 32 -b $((size / 512)) -t "$SECONDS_PER_READ")
            [[ $workload == 4k-randread ]] && args+=(-r)
            timeout -k 5 "$RUN_TIMEOUT" iscsi-perf "${args[@]}" "$url" >"$log" 2>&1 || rc=$?
            iops=$(tr '\r' '\n' <"$log" | sed -n 's/.*iops average \([0-9][0-9]*\).*/\1/p' | tail -n1)
            ;;
        4k-randwrite | 128k-seqwrite)
            if [[ $workload == 4k-randwrite ]]; then size=4096; count=$W4K_COUNT; else size=131072; count=$W128K_COUNT; fi
            local step=()
            [[ $workload == 4k-randwrite ]] && step=(-S "$STEP")
            timeout -k 5 "$RUN_TIMEOUT" qemu-img bench -f raw -w --pattern=165 -d 32 -c "$count" -s "$size" "${step[@]}" \
                "$url" >"$log" 2>&1 || rc=$?
            secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p' "$log" | tail -n1)
            iops=$([[ -n $secs ]] && awk -v c="$count" -v t="$secs" 'BEGIN { printf "%.0f", (t > 0) ? c / t : 0 }')
            ;;
    esac
    if [[ $rc -ne 0 || -z $iops ]]; then
        say "round $round $daemon $workload: FAILED (exit $rc); log $log"
        return
    fi
    record "$round" "$daemon" "$workload" "$iops" "$(awk -v i="$iops" -v s="$size" 'BEGIN { printf "%.1f", i * s / 1048576 }')"
}

# ceiling WORKLOAD: librbd itself on the third image, as many operations as targe did.
ceiling() {
    local workload=$1 type pattern size total log
    case $workload in
        4k-randread) type=read; pattern=rand; size=4K; total=$((SIZE_MIB / 4))M ;;
        4k-randwrite) type=write; pattern=rand; size=4K; total=$((W4K_COUNT * 4))K ;;
        128k-seqread) type=read; pattern=seq; size=128K; total=${SIZE_MIB}M ;;
        128k-seqwrite) type=write; pattern=seq; size=128K; total=$((W128K_COUNT * 128))K ;;
    esac
    log=$WORK/ceiling-$workload.log
    timeout -k 5 "$RUN_TIMEOUT" "${RBD[@]}" bench --io-type "$type" --io-pattern "$pattern" --io-size "$size" \
        --io-threads 32 --io-total "$total" rbd/bench-ceiling >"$log" 2>&1 || { say "rbd bench $workload failed; log $log"; return; }
    # Last line: "elapsed: S   ops: N   ops/sec: X   bytes/sec: Y"
    local ops
    ops=$(sed -n 's/.*ops\/sec: *\([0-9.]*\).*/\1/p' "$log" | tail -n1)
    [[ -n $ops ]] && record 0 rbd-bench "$workload" "$(printf '%.0f' "$ops")" \
        "$(awk -v i="$ops" -v s="$([[ $size == 4K ]] && echo 4096 || echo 131072)" 'BEGIN { printf "%.1f", i * s / 1048576 }')"
}

WORKLOADS=(4k-randread 4k-randwrite 128k-seqread 128k-seqwrite)
for workload in "${WORKLOADS[@]}"; do ceiling "$workload"; done
for ((round = 1; round <= ROUNDS; round++)); do
    for workload in "${WORKLOADS[@]}"; do
        if ((round % 2 == 1)); then order=(targe tgtd); else order=(tgtd targe); fi
        for daemon in "${order[@]}"; do run_one "$round" "$daemon" "$workload"; done
    done
    kill -0 "$TARGE_PID" 2>/dev/null || die "targe died in round $round (see $WORK/targe.stderr)"
    kill -0 "$TGTD_PID" 2>/dev/null || die "tgtd died in round $round (see $WORK/tgtd.log)"
    say "round $round of $ROUNDS done"
done

# ---- report ----------------------------------------------------------------------------------

median() { # daemon workload column(4=iops,5=mibps)
    awk -F'\t' -v d="$1" -v w="$2" -v c="$3" '$2 == d && $3 == w { print $c }' "$RESULTS" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }' || echo "-"; }

echo
echo "Targe vs tgtd (bstype rbd) vs rbd bench, one OSD on this host: median of $ROUNDS runs; $(nproc) CPUs, ${SIZE_MIB} MiB images"
printf '%-14s %12s %12s %12s %12s %14s\n' workload targe tgtd-rbd "rbd bench" targe/tgtd "targe/rbd bench"
for workload in "${WORKLOADS[@]}"; do
    col=4; unit=IOPS
    [[ $workload == 128k-* ]] && { col=5; unit=MiB/s; }
    a=$(median targe "$workload" $col); b=$(median tgtd "$workload" $col); c=$(median rbd-bench "$workload" $col)
    printf '%-14s %12s %12s %12s %12s %14s   (%s)\n' "$workload" "${a:--}" "${b:--}" "${c:--}" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "$unit"
done
