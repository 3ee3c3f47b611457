# ini.sh - the one INI reader of the deploy scripts (sourced, not run). It
# reads the effective configuration a run keeps (RUN_DIR/config.ini), the
# ablation specs, and the status files the programs write when they stop
# (RUN_DIR/replay.status, RUN_DIR/actor-ID.status; docs/deploy.md).
#
#   dq_ini_get FILE SECTION KEY    the value (the first one), or nothing
#   dq_ini_keys FILE SECTION       KEY=VALUE lines of one section, in order
#   dq_ini_sections FILE           every section's name, in order
#
# Lines starting with ';' or '#' are comments, and so is ' ; ...' after a
# value; section names, keys and values are trimmed.

# dq_ini_awk FILE MODE [SECTION [KEY]]: the parser behind the three.
dq_ini_awk() {
    awk -v mode="$2" -v s="${3:-}" -v k="${4:-}" '
        /^[ \t]*[;#]/ || /^[ \t]*$/ {next}
        /^[ \t]*\[/ {sec = $0; sub(/^[ \t]*\[[ \t]*/, "", sec); sub(/[ \t]*\][ \t]*$/, "", sec)
                     if (mode == "sections") print sec
                     next}
        mode != "sections" && sec == s {
            i = index($0, "="); if (!i) next
            key = substr($0, 1, i - 1); val = substr($0, i + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", key); sub(/[ \t]+;.*$/, "", val); gsub(/^[ \t]+|[ \t]+$/, "", val)
            if (mode == "keys") print key "=" val
            else if (key == k) {print val; exit}
        }' "$1"
}
dq_ini_get() { dq_ini_awk "$1" get "$2" "$3"; }
dq_ini_keys() { dq_ini_awk "$1" keys "$2"; }
dq_ini_sections() { dq_ini_awk "$1" sections; }
