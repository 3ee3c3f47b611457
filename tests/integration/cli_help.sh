#!/bin/bash
# cli_help.sh BUILD_DIR - the command lines, as a user reads them:
#   - every program's --help exits 0 and shows a value name after every option
#     that takes one (`--qnet FILE`, `--instances N`, `--restore true|false`);
#   - one meaning per option name: an option that several programs take shows
#     the same value name in each (`--out` is a folder wherever it exists);
#   - every executable script in deploy/ answers --help with its own name and
#     exits 0 (deploy/build.sh --help used to run ninja in a folder '--help'),
#     and build.sh refuses an option where its build folder goes.
set -uo pipefail
B=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d /tmp/dqnlm-help.XXXXXX)
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

progs=(actor/dqnlm-actor replay_server/dqnlm-replay learner/dqnlm-learner learner/tools/dqnlm-eval
       learner/tools/dqnlm-report learner/tools/dqnlm-lmtrain)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # dqnlm-learner as an MPI singleton
for p in "${progs[@]}"; do
    name=$(basename "$p")
    "$B/$p" --help >"$D/$name.txt" 2>"$D/$name.err" || fail "$name --help exited $?: $(cat "$D/$name.err")"
    grep -q "^Usage: $name " "$D/$name.txt" || fail "$name --help has no usage line"
    # Option lines: "  -c, --config FILE  ..." or "      --qnet FILE  ..." (the
    # description may follow on the next line). Each must name its value.
    awk -v prog="$name" '
        /^  (-[a-z], )?--[a-z]/ || /^      --[a-z]/ {
            line = $0; sub(/^ *(-[a-z], )?/, "", line); n = split(line, w, " ")
            flag = w[1]; val = (n >= 2 ? w[2] : "")
            if (flag ~ /^--(help|help-config|print-config)$/) next
            if (val !~ /^([A-Z][A-Z0-9_.,=]*|[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)+|[A-Z][A-Za-z0-9_,.]*)/ || val ~ /^(show|list|read|override|print)$/)
                {printf "%s: option %s shows no value name (\"%s\")\n", prog, flag, $0; bad = 1}
            print flag, val > "/dev/stderr"
        }
        END {exit bad}' "$D/$name.txt" 2>>"$D/flags.txt" || fail "$name --help: an option without its value name"
done
# One meaning per option name: the same value name in every program.
sort -u "$D/flags.txt" | awk '{if ($1 in v && v[$1] != $2) {printf "%s: %s and %s\n", $1, v[$1], $2; bad = 1}; v[$1] = $2}
    END {exit bad}' || fail "an option name has two meanings across the programs"
grep -q '^--instances N$' "$D/flags.txt" && grep -q '^--instance-set train|heldout$' "$D/flags.txt" &&
    grep -q '^--curve FILE$' "$D/flags.txt" && grep -q '^--out DIR$' "$D/flags.txt" ||
    fail "expected --instances N, --instance-set train|heldout, --curve FILE, --out DIR: $(sort -u "$D/flags.txt" | tr '\n' ' ')"
echo "programs: ${#progs[@]} --help pages, $(sort -u "$D/flags.txt" | wc -l) distinct options, each with one value name"

n=0
while IFS= read -r f; do
    rel=${f#"$src/"}
    out=$(timeout 20 "$f" --help 2>&1) || fail "$rel --help exited $?: $(head -c 300 <<<"$out")"
    grep -q "$(basename "$f")" <<<"$out" || fail "$rel --help does not name the script: $(head -c 200 <<<"$out")"
    n=$((n + 1))
done < <(find "$src/deploy" -type f -perm -u+x | sort)
[ "$n" -ge 10 ] || fail "only $n executable scripts in deploy/"
"$src/deploy/build.sh" --bogus >/dev/null 2>&1 && fail "build.sh --bogus exited 0"
echo "deploy/: $n scripts answer --help"
