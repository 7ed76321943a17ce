# Sourced by scripts/bench.sh and scripts/bench-rbd.sh: the one set of iSCSI negotiation
# values both daemons get, so a comparison never runs with different settings on each side.
# (targe's `[connection]` section and tgtd's `tgtadm --op update` keys come from this list.)
BENCH_NEGOTIATION=(
    MaxRecvDataSegmentLength=262144
    MaxBurstLength=1048576
    FirstBurstLength=65536
    InitialR2T=No
    ImmediateData=Yes
    HeaderDigest=None
    DataDigest=None
)

# targe's [connection] and [timeouts] sections (no NOP-In pings during a run).
bench_targe_sections() {
    local kv
    echo "[connection]"
    for kv in "${BENCH_NEGOTIATION[@]}"; do printf '%-25s %s\n' "${kv%%=*}" "${kv#*=}"; done
    printf '\n[timeouts]\nnop-interval   0\n'
}

# Gives tgtd target TID the same values: tgtadm ARGS... TID (tgtd also wants the data segment
# length it sends, which targe derives from the initiator's declaration).
bench_tgtd_negotiate() {
    local tid=${*: -1} kv
    local tgtadm=("${@:1:$#-1}")
    for kv in "${BENCH_NEGOTIATION[@]}" MaxXmitDataSegmentLength=262144; do
        "${tgtadm[@]}" --mode target --op update --tid "$tid" --name "${kv%%=*}" --value "${kv#*=}" || return 1
    done
}
