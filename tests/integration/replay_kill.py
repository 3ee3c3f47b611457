#!/usr/bin/python3
"""replay_kill.py BUILD_DIR MODE - SIGKILL the replay server three times at
random moments of a two-actor run, restart it with replay.restore each time,
and check what it holds at the end against what the actors produced.

Two dqnlm-actor processes (chain env, 3-step returns) stream to dqnlm-replay
(periodic checkpoints every 0.5 s, or by log size). Three times, at a random moment of each
third of the run (by the actors' progress), the server is SIGKILLed and a new one is started on the
same port from the checkpoint (and, but in MODE nolog, its write-ahead log); the
actors reconnect and resend what was not acknowledged. At the end
tests/actor_replay_check reads the whole table back.

  MODE group  (replay.log on, replay.fsync = group): the server holds exactly
              the transitions the actors produced, each once (count and
              multiset content hash equal to the actors' own), item keys
              never went back across a restart (next_key in STATS), and no
              temporary of a killed writer survives a restart. Fails
              otherwise.
  MODE none   the same with replay.fsync = none (written, never fsync'ed):
              a killed process loses nothing either (the kernel has the
              bytes); only a crash of the machine could. Here checkpoints
              come only from the log's size (replay.log_max_mb = 4).
  MODE nolog  (replay.log off, checkpoints only): the same run must LOSE
              acknowledged transitions (fewer items than the actors produced,
              or another hash): the check above has teeth. Fails if nothing
              was lost.
The kill moments come from a seed printed at the start (DQNLM_KILL_SEED sets it).
Servers bind 127.0.0.1 on a kernel-chosen port; processes are ended by PID.
"""
import faulthandler
import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

BUILD = os.path.abspath(sys.argv[1])
MODE = sys.argv[2]
assert MODE in ("group", "none", "nolog"), "MODE is group, none or nolog"
SERVER = os.path.join(BUILD, "replay_server", "dqnlm-replay")
ACTOR = os.path.join(BUILD, "actor", "dqnlm-actor")
CHECK = os.path.join(BUILD, "tests", "actor_replay_check")
STEPS = 120000
KILLS = 3
faulthandler.dump_traceback_later(170, exit=True)  # a hang shows where, then fails
RUN = tempfile.mkdtemp(prefix="dqnlm-kill-%s." % MODE)
CTX = zmq.Context()
procs = []
seed = int(os.environ.get("DQNLM_KILL_SEED", str(int(time.time() * 1000) % 100000)))
rng = random.Random(seed)


def stop_all():
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


def fail(msg):
    print("FAIL:", msg, "(seed %d)" % seed)
    stop_all()
    for name in sorted(os.listdir(RUN)):
        if name.endswith(".log"):
            print("== %s" % name)
            print(open(os.path.join(RUN, name)).read()[-2500:])
    print("run folder kept:", RUN)
    CTX.destroy(linger=0)
    os._exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def start(name, args):
    log = open(os.path.join(RUN, name + ".log"), "w")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    return p


COMMON = ["--set", "run.dir=" + RUN, "--set", "env.name=chain", "--set", "env.chain_length=8",
          "--set", "dqn.n_step=3", "--set", "dqn.hidden=64,64", "--set", "run.seed=13",
          "--set", "actor.count=2"]
REPLAY = ["--set", "replay.capacity=1000000",
          "--set", "replay.checkpoint=" + os.path.join(RUN, "replay.ckpt"),
          "--set", "replay.restore=true",
          "--set", "replay.log=" + ("false" if MODE == "nolog" else "true"),
          "--set", "replay.fsync=" + ("none" if MODE == "none" else "group")]
# MODE none checkpoints only when the log passes 4 MiB (replay.log_max_mb).
REPLAY += (["--set", "replay.checkpoint_every=0", "--set", "replay.log_max_mb=4"]
           if MODE == "none" else ["--set", "replay.checkpoint_every=0.5"])


def stats(ep, timeout_ms=3000):
    """The STATS reply of the server at ep, or None."""
    s = CTX.socket(zmq.DEALER)
    s.linger = 0
    s.connect(ep)
    s.send(msgpack.packb({"type": "stats", "v": 1, "id": 1}))
    r = msgpack.unpackb(s.recv(), raw=False) if s.poll(timeout_ms) else None
    s.close()
    return r["stats"] if r and r.get("type") == "stats_reply" else None


def start_server(n, endpoint):
    p = start("replay-%d" % n, [SERVER] + COMMON + REPLAY + ["--set", "replay.endpoint=" + endpoint])
    if endpoint.endswith(":*"):
        ep_file = os.path.join(RUN, "replay.endpoint")
        for _ in range(200):
            if os.path.exists(ep_file) and os.path.getsize(ep_file) > 0:
                break
            check(p.poll() is None, "server %d exited with %s" % (n, p.returncode))
            time.sleep(0.05)
        endpoint = open(ep_file).read().strip()
    for _ in range(100):
        st = stats(endpoint, 500)
        if st is not None:
            return p, endpoint, st
        check(p.poll() is None, "server %d exited with %s" % (n, p.returncode))
    fail("server %d does not answer STATS" % n)


def progress(i):
    """The last env_steps in actor i's metrics file (0 before the first row)."""
    try:
        last = open(os.path.join(RUN, "actor-%d.csv" % i)).read().strip().split("\n")[-1]
        return int(last.split(",")[1])
    except (OSError, IndexError, ValueError):
        return 0


def dead_temps():
    """Temporaries in RUN whose writer (the PID in the name) is gone."""
    out = []
    for f in glob.glob(os.path.join(RUN, "replay.ckpt*.tmp.*")):
        pid = int(f.rsplit(".", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            out.append(f)
    return out


def main():
    print("mode %s, seed %d, run folder %s" % (MODE, seed, RUN))
    server, ep, _ = start_server(0, "tcp://127.0.0.1:*")
    actor_args = COMMON + ["--set", "replay.endpoint=" + ep,
                           "--set", "learner.weights_endpoint=tcp://127.0.0.1:1",
                           "--set", "actor.envs=4", "--set", "actor.batch=32",
                           "--set", "actor.max_unacked=8", "--set", "actor.metrics_every=500",
                           "--max-steps", str(STEPS)]
    actors = [start("actor0", [ACTOR] + actor_args + ["--id", "0", "--set",
                                                      "actor.exploration=ez(mu=2):0.3"]),
              start("actor1", [ACTOR] + actor_args + ["--id", "1", "--set",
                                                      "actor.exploration=boltzmann:0.5"])]
    keys_back = []
    for k in range(KILLS):
        # A random moment in the k-th third of the run (by the actors' progress).
        at = int(STEPS * rng.uniform(0.06 + 0.3 * k, 0.28 + 0.3 * k))
        for _ in range(3000):
            if min(progress(0), progress(1)) >= at or any(a.poll() is not None for a in actors):
                break
            time.sleep(0.01)
        st = stats(ep)
        check(st is not None, "no STATS before kill %d" % (k + 1))
        check(all(a.poll() is None for a in actors),
              "the actors finished before kill %d: raise STEPS" % (k + 1))
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        before = st["next_key"]
        server, _, st2 = start_server(k + 1, ep)
        after = st2["next_key"]
        print("kill %d: next key %d seen before the kill, %d after the restart (%d items)"
              % (k + 1, before, after, st2["size"]))
        if after < before:
            keys_back.append((before, after))
        check(not dead_temps(), "temporaries of a killed writer survive a restart: %s"
              % dead_temps())
    for i, a in enumerate(actors):
        try:
            rc = a.wait(timeout=150)
        except subprocess.TimeoutExpired:
            fail("actor %d did not finish" % i)
        check(rc == 0, "actor %d exited with %d" % (i, rc))
    total, want = 0, 0
    for i in range(2):
        log = open(os.path.join(RUN, "actor%d.log" % i)).read()
        m = re.search(r"content hash ([0-9a-f]+) over ([0-9]+) transitions", log)
        check(m, "actor %d logged no content hash" % i)
        h, n = int(m.group(1), 16), int(m.group(2))
        check("%d transitions sent, %d acknowledged" % (n, n) in log,
              "actor %d: not every transition acknowledged" % i)
        total += n
        want = (want + h) % (1 << 64)
    got = subprocess.run([CHECK, ep], capture_output=True, text=True, timeout=120)
    out = got.stdout.strip()
    check(out.startswith("size "), "actor_replay_check: %s %s" % (out, got.stderr))
    f = out.split()
    size, distinct, hash_ = int(f[1]), int(f[3]), int(f[5], 16)
    st = stats(ep)
    print("actors: %d transitions, hash %016x; replay server: %s; duplicates dropped %d"
          % (total, want, out, st["duplicates"]))
    os.kill(server.pid, signal.SIGTERM)
    check(server.wait(timeout=30) == 0, "the last server did not exit 0 at SIGTERM")
    if MODE != "nolog":
        check(size == total, "the server holds %d items, the actors produced %d (%+d)"
              % (size, total, size - total))
        check(distinct == size, "read back %d of %d items" % (distinct, size))
        check(hash_ == want, "content hash %016x, the actors' %016x" % (hash_, want))
        check(not keys_back, "item keys went back after a restart: %s" % keys_back)
        logs = "".join(open(f).read() for f in glob.glob(os.path.join(RUN, "replay-*.log")))
        check(MODE != "none" or "checkpoint (log size)" in logs,
              "no checkpoint was triggered by replay.log_max_mb")
        print("PASS: %d SIGKILLs, every transition kept exactly once (count and hash)" % KILLS)
    else:
        lost = total - size
        check(lost > 0 or hash_ != want,
              "without the log nothing was lost: the kills did not test anything")
        print("PASS: without the log, %d SIGKILLs lost %d of %d acknowledged transitions "
              "(next key went back %d times): the exactly-once check catches it"
              % (KILLS, lost, total, len(keys_back)))


try:
    main()
finally:
    stop_all()
    CTX.destroy(linger=0)
shutil.rmtree(RUN, ignore_errors=True)
