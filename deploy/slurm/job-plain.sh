# job-plain.sh - the body of deploy/slurm/dqnlm.sbatch and dqnlm-array.sbatch
# (sourced inside the batch script; needs DQ_ROOT). The allocation's tasks
# are shared out as job steps that run side by side (srun --exact): one task
# for the replay server on the first node, --ranks tasks (default 1) for the
# learner group (srun --mpi=TYPE, --mpi option, default pmix), every task
# left for actors.
#
# In an array task, the run folder is RUN_BASE/task-ID (RUN_BASE defaults to
# runs/slurm-ARRAYJOBID) and run.seed is raised by the task id: the same
# configuration with as many seeds as tasks. (A grid of settings is an
# ablation: deploy/ablate.sh --grid FILE --slurm.)
DQ_SELF=${DQ_SELF:-$DQ_ROOT/deploy/slurm/job-plain.sh} DQ_NAME=${DQ_NAME:-$(basename "$0")}
source "$DQ_ROOT/deploy/cluster-lib.sh"
dq_parse_args "$@"
[ -z "$dq_actors" ] || dq_die "--actors: the actors are the tasks left after replay and learner (sbatch -n)"
dq_ranks=${dq_ranks:-1}
dq_actors=$((SLURM_NTASKS - 1 - dq_ranks))
[ "$dq_actors" -ge 1 ] || dq_die "$SLURM_NTASKS tasks leave none for actors after 1 replay server and $dq_ranks learner rank(s)"

if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    [ -z "$dq_resume" ] || dq_die "--resume continues one run, not an array"
    base=${dq_run_dir:-$SLURM_SUBMIT_DIR/runs/slurm-$SLURM_ARRAY_JOB_ID}
    dq_run_dir=$base/task-$SLURM_ARRAY_TASK_ID
    seed=$(dq_ini_get <("$DQ_BIN/replay_server/dqnlm-replay" --config "$dq_profile_file" "${dq_sets[@]}" --print-config) \
           run seed)
    dq_sets+=(--set run.seed=$((${seed:-1} + SLURM_ARRAY_TASK_ID)))
    dq_log "array task $SLURM_ARRAY_TASK_ID: run.seed $((${seed:-1} + SLURM_ARRAY_TASK_ID)), run folder $dq_run_dir"
fi
[ -n "$dq_run_dir" ] || dq_run_dir=$SLURM_SUBMIT_DIR/runs/slurm-$SLURM_JOB_ID
head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 1p)

dq_launch_replay() { srun --exact -N 1 -n 1 -w "$head_node" "$@" </dev/null & }
dq_launch_learner() { srun --exact -n "$dq_ranks" --mpi="$dq_srun_mpi" "$@" </dev/null & }
dq_launch_actors() { srun --exact -n "$dq_actors" "$@" </dev/null & }
dq_log "learner group: srun --mpi=$dq_srun_mpi${DQNLM_SITE_SETUP:+; site setup $DQNLM_SITE_SETUP on every task}"
dq_run
