#!/usr/bin/env bash
# Runs libiscsi's conformance suite (iscsi-test-cu, family ALL, destructive tests allowed)
# against one LUN and reports a one-line verdict.
#
#   scripts/iscsi-test-cu.sh ISCSI_URL_WITH_LUN [extra iscsi-test-cu args...]
#   e.g. scripts/iscsi-test-cu.sh iscsi://127.0.0.1:3260/iqn.2026-11.org.targe.test:disk/0
#
# The LUN's data is destroyed (-d; -S allows the SANITIZE tests). A second URL among the extra args is iscsi-test-cu's
# multipath URL (enables the MultipathIO tests).
#
# Environment:
#   TARGE_CU_MAX_FAILURES  failed tests allowed before this script fails (default 0)
#   TARGE_CU_TIMEOUT       seconds before the suite is killed (default 1200)
#   TARGE_CU_TESTS         test selection for -t (default ALL); set but empty: no -t, every
#                          family (ALL, SCSI, iSCSI, LINUX), as iscsi-test-cu runs by default
#   TARGE_CU_KNOWN         failures that are libiscsi's, not the target's: NAME:TEXT entries
#                          separated by ';' (NAME as in the report, "Suite.Test"; TEXT must
#                          appear in its first message). They are listed apart and not
#                          counted against the budget; any other failure still is.
#   TARGE_CU_LOG_DIR       where the log and result table go (default: a new mktemp -d dir)
#
# Output: the log path, the failed tests (suite.test: first message), and
#   iscsi-test-cu: N passed, N failed, N skipped
# "skipped" = a test that CUnit counts as passed but that printed [SKIPPED] (CUnit has no
# skip state: libiscsi reports unsupported features that way).
# Exit: 0 if failures <= budget and the run completed; 1 otherwise; 2 on usage errors.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
url=$1
shift
budget=${TARGE_CU_MAX_FAILURES:-0}
limit=${TARGE_CU_TIMEOUT:-1200}
tests=${TARGE_CU_TESTS-ALL}
known=${TARGE_CU_KNOWN:-}
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "iscsi-test-cu.sh: TARGE_CU_MAX_FAILURES must be a number" >&2; exit 2; }
[[ "$limit" =~ ^[0-9]+$ ]] || { echo "iscsi-test-cu.sh: TARGE_CU_TIMEOUT must be a number" >&2; exit 2; }
command -v iscsi-test-cu >/dev/null || { echo "iscsi-test-cu.sh: iscsi-test-cu not found (Debian package libiscsi-bin)" >&2; exit 2; }

dir=${TARGE_CU_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/iscsi-test-cu.XXXXXX")}
mkdir -p "$dir"
log=$dir/iscsi-test-cu.log
results=$dir/results.tsv
echo "iscsi-test-cu: running $([[ -n "$tests" ]] && echo "-t $tests" || echo "every family (no -t)") -d against $url (timeout ${limit}s, allowed failures $budget)"
echo "iscsi-test-cu: log $log"

# -v (verbose) prints "Suite: S" / "  Test: T ...<messages>passed|FAILED" for each test.
rc=0
start=$(date +%s)
selection=()
[[ -n "$tests" ]] && selection=(-t "$tests")
timeout --kill-after=10 "$limit" iscsi-test-cu -d -S -v "${selection[@]}" "$url" "$@" >"$log" 2>&1 || rc=$?
echo "iscsi-test-cu: exit status $rc after $(( $(date +%s) - start ))s"

# One row per test: suite.test, result (passed|failed|skipped), first message.
awk '
function flush() {
    if (name == "") return
    r = result
    if (r == "") r = "unfinished"
    else if (r == "passed" && skipped) r = "skipped"
    gsub(/\t/, " ", msg)
    printf "%s\t%s\t%s\n", name, r, msg
    name = ""
}
function note(text) {
    sub(/^[ \t]+/, "", text)
    if (text ~ /^\[SKIPPED\]/) skipped = 1
    if (msg == "" && text ~ /^\[(FAILED|SKIPPED)\]/) msg = text
}
function take(text,   t) {
    t = text
    sub(/^[ \t]+/, "", t)
    sub(/[ \t]+$/, "", t)
    # The verdict starts a line (or follows "Test: T ..."); anything printed after it on
    # the same line comes from suite clean-up and is not part of this test.
    if (t ~ /^(passed|FAILED)([ \t]|$)/) { result = (t ~ /^FAILED/) ? "failed" : "passed"; return }
    note(t)
}
/^Suite: / { flush(); suite = substr($0, 8); sub(/[ \t]+$/, "", suite); next }
/^  Test: / {
    flush()
    line = substr($0, 9)
    i = index(line, " ...")
    if (i == 0) { name = suite "." line; rest = "" } else { name = suite "." substr(line, 1, i - 1); rest = substr(line, i + 4) }
    result = ""; skipped = 0; msg = ""
    take(rest)
    next
}
/^Run Summary:/ { flush(); next }
name != "" && result == "" { take($0); next }
# A failure without a [FAILED] message: use the first CUnit assertion line.
name != "" && result == "failed" && msg == "" && /^[ \t]+[0-9]+\. / { msg = $0; sub(/^[ \t]+/, "", msg) }
END { flush() }
' "$log" >"$results"

passed=$(awk -F'\t' '$2 == "passed"' "$results" | wc -l)
failed=$(awk -F'\t' '$2 == "failed"' "$results" | wc -l)
skipped=$(awk -F'\t' '$2 == "skipped"' "$results" | wc -l)
unfinished=$(awk -F'\t' '$2 == "unfinished"' "$results" | wc -l)

# CUnit's own totals ("tests  Total Ran Passed Failed Inactive") as a cross-check.
summary=$(awk '/^Run Summary:/ { s = 1 } s && $1 == "tests" { print $3, $5; exit }' "$log")
verdict_ok=1
if [[ -z "$summary" ]]; then
    echo "iscsi-test-cu: no CUnit run summary in the log: the suite did not complete (crash, timeout or login failure)"
    tail -n 15 "$log" | sed 's/^/    | /'
    verdict_ok=0
else
    read -r cu_ran cu_failed <<<"$summary"
    echo "iscsi-test-cu: CUnit summary: $cu_ran ran, $cu_failed failed"
    if (( cu_ran != passed + failed + skipped + unfinished )) || (( cu_failed != failed )); then
        echo "iscsi-test-cu: warning: parsed $((passed + failed + skipped + unfinished)) tests / $failed failed, CUnit says $cu_ran / $cu_failed; using the larger failure count"
        (( cu_failed > failed )) && failed=$cu_failed
    fi
    (( cu_ran > 0 )) || { echo "iscsi-test-cu: no tests ran"; verdict_ok=0; }
fi
(( rc == 0 || rc == 1 )) || { echo "iscsi-test-cu: abnormal exit status $rc (124 = timeout, 10 = connect/login failure)"; verdict_ok=0; }
(( unfinished == 0 )) || { echo "iscsi-test-cu: $unfinished test(s) never reported a result"; verdict_ok=0; }

# Known libiscsi failures (TARGE_CU_KNOWN) are marked "known" in the result table.
if [[ -n "$known" ]]; then
    awk -F'\t' -v OFS='\t' -v known="$known" '
        BEGIN { n = split(known, entries, ";") }
        $2 == "failed" { for (i = 1; i <= n; i++) { p = index(entries[i], ":"); if (p > 1 && $1 == substr(entries[i], 1, p - 1) && index($3, substr(entries[i], p + 1)) > 0) { $2 = "known"; break } } }
        { print }' "$results" >"$results.tmp" && mv "$results.tmp" "$results"
    known_failed=$(awk -F'\t' '$2 == "known"' "$results" | wc -l)
    if (( known_failed > 0 )); then
        echo "known libiscsi failures (TARGE_CU_KNOWN, not counted):"
        awk -F'\t' '$2 == "known" { printf "  %s: %s\n", $1, $3 }' "$results"
        failed=$((failed - known_failed))
    fi
fi
if (( failed > 0 )); then
    echo "failed tests:"
    awk -F'\t' '$2 == "failed" { printf "  %s: %s\n", $1, $3 }' "$results"
fi
echo "iscsi-test-cu: results $results"
echo "iscsi-test-cu: $passed passed, $failed failed, $skipped skipped$( (( ${known_failed:-0} > 0 )) && echo " (and ${known_failed} known libiscsi failures)")"

if (( verdict_ok == 0 )); then
    echo "iscsi-test-cu: FAIL (run incomplete)"
    exit 1
fi
if (( failed > budget )); then
    echo "iscsi-test-cu: FAIL ($failed failures > allowed $budget; set TARGE_CU_MAX_FAILURES to change the budget)"
    exit 1
fi
echo "iscsi-test-cu: OK ($failed failures <= allowed $budget)"
