#!/usr/bin/python3
"""replay_live.py BUILD_DIR CASE - a live dqnlm-replay driven by a client written
from docs/protocol.md alone (pyzmq + msgpack; no project code is imported).

Cases (each a meson test in the 'integration' suite):
  protocol   inserts with and without priorities, samples, and gets back exactly
             what it sent for every key; priorities by key, evicted keys counted;
             duplicates by (actor, seq); seq 2^64-1 refused; STATS, its
             per-actor counts paged over 151 actors.
  hostile    hundreds of malformed messages (truncated, wrong types, huge
             lengths, NaN, unknown types, wrong version, oversize, multi-frame),
             each answered by an ERROR with the expected code; the server keeps
             serving and its reject counters equal what was sent.
  curve      CURVE on: a listed client is served; a client with another key, and
             a client without CURVE, get nothing.
  ratelimit  deferred replies: a sample waiting for inserts is served when they
             come; a sample and an insert that would wait forever get ERROR
             TIMEOUT with their id / seq; later inserts of that actor are refused
             until the timed-out seq is resent; nothing is lost.
  finalfail  a final checkpoint that cannot be written: ERROR in the log, exit
             1, replay.status says so; the write-ahead log still holds what it
             could not save, and a restart restores it. A log that cannot be
             replaced after a checkpoint stops the server (ERROR, exit 1).
  restart    SIGTERM writes a checkpoint; a restart with replay.restore holds the
             same items, priorities and per-actor seqs, so resent inserts are
             dropped as duplicates and new ones stored; CHECKPOINT on request;
             a corrupt checkpoint stops the server with a clear message.
Servers bind tcp://127.0.0.1:* and are stopped by PID.
"""
import faulthandler
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

BUILD = os.path.abspath(sys.argv[1])
CASE = sys.argv[2]
SERVER = os.path.join(BUILD, "replay_server", "dqnlm-replay")
KEYGEN = os.path.join(BUILD, "replay_server", "dqnlm-replay-keygen")
CTX = zmq.Context()
faulthandler.dump_traceback_later(60, exit=True)  # a hang shows where, then fails
RUN = tempfile.mkdtemp(prefix="dqnlm-replay-%s." % CASE)
procs = []


def fail(msg):
    print("FAIL:", msg)
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    for name in sorted(os.listdir(RUN)):
        if name.endswith(".log"):
            print("== %s" % name)
            print(open(os.path.join(RUN, name)).read()[-3000:])
    print("run folder kept:", RUN)
    CTX.destroy(linger=0)
    os._exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def start_server(name, *sets, wait=True):
    ep = os.path.join(RUN, "replay.endpoint")
    if os.path.exists(ep):
        os.unlink(ep)
    args = [SERVER, "--set", "run.dir=" + RUN, "--set", "replay.endpoint=tcp://127.0.0.1:*"]
    for s in sets:
        args += ["--set", s]
    log = open(os.path.join(RUN, name + ".log"), "w")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    if not wait:
        return p, None
    for _ in range(200):
        if os.path.exists(ep) and os.path.getsize(ep) > 0:
            return p, open(ep).read().strip()
        if p.poll() is not None:
            fail("server %s exited with %d" % (name, p.returncode))
        time.sleep(0.05)
    fail("server did not record its endpoint")


def stop_server(p, sig=signal.SIGTERM):
    os.kill(p.pid, sig)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        fail("server did not stop on signal %d" % sig)
    return p.returncode


def connect(endpoint, **curve):
    s = CTX.socket(zmq.DEALER)
    s.linger = 0
    for k, v in curve.items():
        setattr(s, k, v)
    s.connect(endpoint)
    return s


def f32(xs):
    return struct.pack("<%df" % len(xs), *xs)


def unf32(b):
    return list(struct.unpack("<%df" % (len(b) // 4), b))


def rt32(x):
    """x rounded to float32, as the server stores it."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def recv(sock, timeout_ms=5000):
    if not sock.poll(timeout_ms):
        return None
    return msgpack.unpackb(sock.recv(), raw=False)


def request(sock, msg, timeout_ms=5000):
    sock.send(msgpack.packb(msg, use_bin_type=True))
    r = recv(sock, timeout_ms)
    check(r is not None, "no reply to %s" % msg.get("type"))
    return r


def ok(reply, want):
    if reply["type"] == "error":
        fail("%s (%d): %s" % (reply["name"], reply["code"], reply["message"]))
    check(reply["type"] == want, "expected %s, got %s" % (want, reply))
    return reply


def stats(sock):
    return ok(request(sock, {"type": "stats", "v": 1, "id": 99}), "stats_reply")["stats"]


OBS_DIM = 5


def transitions(actor, seq, n):
    """n transitions, each float unique to (actor, seq, i)."""
    out = []
    for i in range(n):
        base = actor * 1000.0 + seq * 10.0 + i * 0.25
        out.append({
            "obs": [rt32(base + 0.01 * d) for d in range(OBS_DIM)],
            "next_obs": [rt32(-base - 0.01 * d) for d in range(OBS_DIM)],
            "action": (actor + seq + i) % 5,
            "reward": rt32(base / 7.0),
            "discount": rt32(0.9 if i % 4 else 0.0),
            "epsilon": rt32(0.05 * (i % 20)),
            "version": seq * 3 + i,
        })
    return out


def insert_msg(actor, seq, trs, priority=None):
    m = {"type": "insert", "v": 1, "actor": actor, "seq": seq, "count": len(trs),
         "obs_dim": OBS_DIM,
         "obs": f32([x for t in trs for x in t["obs"]]),
         "next_obs": f32([x for t in trs for x in t["next_obs"]]),
         "action": [t["action"] for t in trs],
         "reward": f32([t["reward"] for t in trs]),
         "discount": f32([t["discount"] for t in trs]),
         "epsilon": f32([t["epsilon"] for t in trs]),
         "version": [t["version"] for t in trs]}
    if priority is not None:
        m["priority"] = f32(priority)
    return m


def items_rows(items):
    n, d = items["count"], items["obs_dim"]
    obs, nobs = unf32(items["obs"]), unf32(items["next_obs"])
    rew, disc, eps = unf32(items["reward"]), unf32(items["discount"]), unf32(items["epsilon"])
    for i in range(n):
        yield items["keys"][i], {
            "obs": obs[i * d:(i + 1) * d], "next_obs": nobs[i * d:(i + 1) * d],
            "action": items["action"][i], "reward": rew[i], "discount": disc[i],
            "epsilon": eps[i], "version": items["version"][i]}


def sample(sock, n, rid, table="main"):
    return ok(request(sock, {"type": "sample", "v": 1, "table": table, "n": n, "id": rid}),
              "items")


def check_items(items, sent, what):
    check(items["obs_dim"] == OBS_DIM, "obs_dim")
    for key, row in items_rows(items):
        check(key in sent, "%s: key %d was never inserted (or was evicted)" % (what, key))
        if row != sent[key]:
            fail("%s: key %d came back as %s, sent %s" % (what, key, row, sent[key]))


# ---------------------------------------------------------------- protocol
def case_protocol():
    cap = 300
    p, ep = start_server("replay", "replay.capacity=%d" % cap, "replay.sampler=prioritized",
                         "replay.alpha=1", "replay.priority_eps=0")
    s = connect(ep)
    sent = {}     # key -> transition; keys are 0, 1, 2, ... in insertion order
    key = 0
    prios = {}
    for seq in range(8):
        for actor in (0, 1):
            trs = transitions(actor, seq, 25)
            pr = [1.0 + (j % 3) for j in range(25)] if seq % 2 else None
            a = ok(request(s, insert_msg(actor, seq, trs, pr)), "ack")
            check(a["seq"] == seq and a["count"] == 25 and not a["duplicate"], "ack %s" % a)
            for j, t in enumerate(trs):
                sent[key] = t
                if pr:
                    prios[key] = pr[j]
                key += 1
    # 400 inserted into 300: keys 0..99 are evicted.
    live = {k: v for k, v in sent.items() if k >= key - cap}
    # Duplicates of what it holds: acked, dropped.
    a = ok(request(s, insert_msg(1, 3, transitions(1, 3, 25))), "ack")
    check(a["duplicate"] and a["count"] == 0 and a["seq"] == 3, "duplicate ack %s" % a)
    seen = set()
    for rid in range(20):
        it = sample(s, 256, 1000 + rid)
        check(it["id"] == 1000 + rid and it["count"] == 256 and it["size"] == cap, "items header")
        check(all(0.0 < q <= 1.0 for q in unf32(it["prob"])), "prob in (0, 1]")
        check_items(it, live, "prioritized sample")
        seen.update(it["keys"])
    check(len(seen) > cap * 0.9, "sampling reached only %d of %d items" % (len(seen), cap))
    # Priorities by key: one item gets nearly all the mass.
    hot = key - 1
    up = {"type": "update_priorities", "v": 1, "table": "main", "count": 3,
          "keys": [hot, 5, 6], "priority": f32([1e6, 1.0, 1.0])}
    a = ok(request(s, up), "ack")
    check(a["count"] == 1, "2 of 3 keys were evicted: count %d" % a["count"])
    it = sample(s, 200, 7)
    hits = sum(1 for k in it["keys"] if k == hot)
    check(hits > 190, "the item with priority 1e6 was drawn %d of 200 times" % hits)
    probs = unf32(it["prob"])
    for k, q in zip(it["keys"], probs):
        if k == hot:
            check(q > 0.99, "its prob %g" % q)
    check_items(it, live, "after update")
    st = stats(s)
    want = {"size": cap, "capacity": cap, "inserts": 400, "insert_msgs": 16, "duplicates": 1,
            "evictions": 100, "samples": 20 * 256 + 200, "priority_updates": 1,
            "priority_evicted": 2, "actor.0.inserts": 200, "actor.1.next_seq": 8,
            "rejects": 0, "prioritized": 1, "obs_dim": OBS_DIM}
    for k, v in want.items():
        check(st.get(k) == v, "stats %s = %s, expected %s" % (k, st.get(k), v))
    check(st["priority.max"] >= 1e6, "priority.max")
    # A REQ client works too (ZeroMQ adds the envelope).
    r = CTX.socket(zmq.REQ)
    r.linger = 0
    r.connect(ep)
    r.send(msgpack.packb({"type": "stats", "v": 1, "id": 5}))
    check(r.poll(5000) and msgpack.unpackb(r.recv())["type"] == "stats_reply", "REQ client")
    # A uniform server: prob = 1/size, everything comes back exactly.
    check(stop_server(p) == 0, "clean exit")
    p, ep = start_server("uniform", "replay.capacity=1000")
    u = connect(ep)
    sent = {}
    for seq in range(4):
        trs = transitions(7, seq, 50)
        ok(request(u, insert_msg(7, seq, trs)), "ack")
        for j, t in enumerate(trs):
            sent[seq * 50 + j] = t
    it = sample(u, 2000, 1)
    check(all(abs(q - 1 / 200) < 1e-9 for q in unf32(it["prob"])), "uniform prob")
    check_items(it, sent, "uniform sample")
    check(len(set(it["keys"])) == 200, "2000 uniform draws missed some of 200 items")
    e = request(u, {"type": "sample", "v": 1, "table": "other", "n": 1, "id": 3})
    check(e["type"] == "error" and e["name"] == "INVAL" and e["id"] == 3, "unknown table %s" % e)
    # seq 2^64-1 would wrap the next expected seq to 0: refused, nothing stored.
    e = request(u, insert_msg(8, 2**64 - 1, transitions(8, 0, 1)))
    check(e["type"] == "error" and e["name"] == "RANGE" and e["id"] == 2**64 - 1, "seq max %s" % e)
    # Per-actor counts for any number of actors: 150 actors, paged by actor_from.
    for actor in range(100, 250):
        ok(request(u, insert_msg(actor, 0, transitions(actor, 0, 1 + actor % 3))), "ack")
    st = stats(u)
    check(st["actors"] == 151 and "actors.next" in st and "stats_truncated" not in st,
          "first page: actors %s, next %s" % (st.get("actors"), st.get("actors.next")))
    counts, pages = per_actor(st), 1
    while "actors.next" in st:
        st = ok(request(u, {"type": "stats", "v": 1, "id": 50 + pages,
                            "actor_from": st["actors.next"]}), "stats_reply")["stats"]
        check("size" not in st and st["actors"] == 151, "a page lists actors only: %s" % st)
        for a, n in per_actor(st).items():
            check(a not in counts, "actor %d listed twice" % a)
            counts[a] = n
        pages += 1
        check(pages < 100, "paging does not end")
    want = {a: 1 + a % 3 for a in range(100, 250)}
    want[7] = 200
    check(counts == want, "per-actor inserts over %d pages: %s" % (pages, counts))
    e = request(u, {"type": "stats", "v": 1, "id": 1, "actor_from": "zero"})
    check(e["type"] == "error" and e["name"] == "TYPE", "actor_from str: %s" % e)
    check(stop_server(p) == 0, "clean exit")
    print("protocol: ok (%d prioritized draws, every item as sent; %d actors in %d STATS pages)"
          % (20 * 256 + 200, len(counts), pages))


def per_actor(st):
    """actor id -> inserts, from the actor.<i>.inserts entries of a STATS reply."""
    out = {}
    for k, v in st.items():
        f = k.split(".")
        if len(f) == 3 and f[0] == "actor" and f[2] == "inserts":
            out[int(f[1])] = v
    return out


# ---------------------------------------------------------------- hostile
def case_hostile():
    max_bytes = 65536
    p, ep = start_server("replay", "replay.capacity=1000", "run.max_message_bytes=%d" % max_bytes)
    s = connect(ep)
    good = insert_msg(0, 0, transitions(0, 0, 4))
    packed = msgpack.packb(good)
    rnd = random.Random(5)
    cases = []   # (frames, expected error name, expected id or None)

    def add(obj_or_bytes, name, rid=None):
        b = obj_or_bytes if isinstance(obj_or_bytes, bytes) else msgpack.packb(obj_or_bytes)
        cases.append(([b], name, rid))

    def mut(**kw):
        m = dict(good)
        m.update(kw)
        return m

    def without(k):
        m = dict(good)
        del m[k]
        return m

    for cut in range(1, len(packed), max(1, len(packed) // 120)):       # truncated
        add(packed[:cut], "MALFORMED")
    add(b"", "MALFORMED")
    add(packed + b"\xc0", "MALFORMED")                                    # trailing bytes
    add(b"\xc1" * 10, "MALFORMED")                                        # never-used byte
    for obj in (7, -1, "insert", [1, 2, 3], None, True, 1.5, b"bin"):     # not a map
        add(msgpack.packb(obj), "TYPE")
    add(without("v"), "MISSING", 0)
    for v in (0, 2, 99, 2**40):
        add(mut(v=v), "VERSION", 0)
    for v in ("1", 1.0, [1], None):
        add(mut(v=v), "TYPE", 0)
    add(without("type"), "MISSING")
    for t in ("insertt", "", "INSERT", "drop_table", "x" * 100):
        add(mut(type=t), "UNKNOWN_TYPE")
    add(mut(type=5), "TYPE")
    for t, extra in (("ack", {"seq": 1, "count": 1, "duplicate": False}),
                     ("weights", {"run": 1, "version": 1, "step": 1, "n_layers": 1, "shape": [[1, 1]],
                                  "n_floats": 2, "blob": f32([0.0, 0.0])})):
        add(dict({"type": t, "v": 1}, **extra), "UNKNOWN_TYPE")       # valid, not served
    for k in ("actor", "seq", "count", "obs_dim", "obs", "next_obs", "action", "reward",
              "discount", "epsilon", "version"):
        add(without(k), "MISSING", None if k == "seq" else 0)
    for k, bad in (("count", "4"), ("obs_dim", 5.0), ("obs", [1.0] * 20), ("action", b"\x00"),
                   ("reward", [0.0] * 4), ("actor", "zero"), ("seq", -1.5), ("version", 3)):
        add(mut(**{k: bad}), "TYPE", None if k == "seq" else 0)
    for n in (0, 65537, 2**31, 2**32 + 5):                                # huge lengths
        add(mut(count=n), "RANGE", 0)
    add(mut(obs_dim=0), "RANGE", 0)
    add(mut(obs_dim=2**20), "RANGE", 0)
    add(mut(action=[0, 1, 2, -4]), "RANGE", 0)
    add(mut(discount=f32([0.5, 1.5, 0.5, 0.5])), "RANGE", 0)
    add(mut(obs=f32([0.0] * 19)), "LENGTH", 0)
    add(mut(action=[0, 1, 2]), "LENGTH", 0)
    add(mut(version=[0] * 40), "LENGTH", 0)
    # An array header declaring 2^32-1 elements with nothing behind it.
    add(b"\x83\xa4type\xa6insert\xa1v\x01\xa6action\xdd\xff\xff\xff\xff", "MALFORMED")
    nan, inf = float("nan"), float("inf")
    for k in ("obs", "next_obs"):
        for bad in (nan, inf, -inf):
            v = [0.5] * (4 * OBS_DIM)
            v[rnd.randrange(len(v))] = bad
            add(mut(**{k: f32(v)}), "NONFINITE", 0)
    for k in ("reward", "discount", "epsilon"):
        for bad in (nan, inf):
            add(mut(**{k: f32([0.1, bad, 0.1, 0.1])}), "NONFINITE", 0)
    add(mut(priority=f32([1.0, nan, 1.0, 1.0])), "NONFINITE", 0)
    add(mut(priority=f32([1.0, -1.0, 1.0, 1.0])), "RANGE", 0)
    for rid in (1, 2, 3):
        add({"type": "sample", "v": 1, "table": "main", "n": 0, "id": rid}, "RANGE", rid)
        add({"type": "sample", "v": 1, "table": "nope", "n": 1, "id": rid}, "INVAL", rid)
        add({"type": "sample", "v": 1, "table": "main", "n": "1", "id": rid}, "TYPE", rid)
        add({"type": "update_priorities", "v": 1, "table": "main", "count": 1, "keys": [1],
             "priority": f32([nan])}, "NONFINITE")
    big = insert_msg(0, 77, transitions(0, 0, 4))
    big["padding"] = b"x" * (max_bytes + 5000)                            # oversize
    for _ in range(5):
        add(msgpack.packb(big), "TOOBIG")
    cases.append(([packed, packed], "MALFORMED", None))                   # two frames
    # Fill to several hundred with random mutations of the good message.
    while len(cases) < 400:
        b = bytearray(packed)
        cut = rnd.randrange(1, len(b))
        add(bytes(b[:cut]), "MALFORMED")

    counts = {}
    for i, (frames, name, rid) in enumerate(cases):
        s.send_multipart(frames)
        r = recv(s)
        check(r is not None, "case %d: no reply (%s expected)" % (i, name))
        check(r["type"] == "error", "case %d: expected an error %s, got %s" % (i, name, r))
        if r["name"] != name:
            fail("case %d (%r...): %s, expected %s: %s" % (i, frames[0][:40], r["name"], name,
                                                          r["message"]))
        if rid is not None:
            check(r["id"] == rid, "case %d: id %d, expected %d" % (i, r["id"], rid))
        counts[name] = counts.get(name, 0) + 1
        if i % 50 == 0:   # still serving in between
            a = ok(request(s, insert_msg(3, i, transitions(3, i, 2))), "ack")
            check(a["count"] == 2, "valid insert in between")
    st = stats(s)
    check(st["rejects"] == len(cases), "rejects %s, sent %d" % (st["rejects"], len(cases)))
    for name, n in counts.items():
        check(st.get("rejects." + name) == n,
              "rejects.%s = %s, sent %d" % (name, st.get("rejects." + name), n))
    check(sum(v for k, v in st.items() if k.startswith("rejects.")) == len(cases), "sum")
    it = sample(s, 3, 11)
    check(it["count"] == 3, "serving after the abuse")
    check(p.poll() is None, "server alive")
    check(stop_server(p) == 0, "clean exit")
    print("hostile: ok, %d malformed messages, each answered: %s" % (
        len(cases), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))


# ---------------------------------------------------------------- curve
def case_curve():
    if not zmq.has("curve"):
        print("SKIP: libzmq without CURVE")
        sys.exit(77)
    keys = {}
    for name in ("server", "good", "bad"):
        subprocess.run([KEYGEN, os.path.join(RUN, name)], check=True, stdout=subprocess.DEVNULL)
        keys[name] = (open(os.path.join(RUN, name + ".pub")).read().strip().encode(),
                      open(os.path.join(RUN, name + ".key")).read().strip().encode())
    check(oct(os.stat(os.path.join(RUN, "server.key")).st_mode & 0o777) == "0o600", "key mode")
    shutil.copy(os.path.join(RUN, "good.pub"), os.path.join(RUN, "clients"))
    p, ep = start_server("replay", "replay.curve=true",
                         "replay.curve_secret_key=" + os.path.join(RUN, "server.key"),
                         "replay.curve_clients=" + os.path.join(RUN, "clients"))
    spub = keys["server"][0]
    good = connect(ep, curve_serverkey=spub, curve_publickey=keys["good"][0],
                   curve_secretkey=keys["good"][1])
    bad = connect(ep, curve_serverkey=spub, curve_publickey=keys["bad"][0],
                  curve_secretkey=keys["bad"][1])
    plain = connect(ep)
    wrong_server = connect(ep, curve_serverkey=keys["bad"][0], curve_publickey=keys["good"][0],
                           curve_secretkey=keys["good"][1])
    a = ok(request(good, insert_msg(0, 0, transitions(0, 0, 3))), "ack")
    check(a["count"] == 3, "authorized client inserts")
    refused = (("unlisted key", bad), ("no CURVE", plain), ("wrong server key", wrong_server))
    for name, sock in refused:
        # After a failed handshake a DEALER has no peer and a send would block.
        for m in (insert_msg(1, 0, transitions(1, 0, 3)), {"type": "stats", "v": 1, "id": 1}):
            try:
                sock.send(msgpack.packb(m), zmq.NOBLOCK)
            except zmq.Again:
                pass
    deadline = time.time() + 1.5
    for name, sock in refused:
        left = max(0, int((deadline - time.time()) * 1000))
        check(recv(sock, left) is None, "%s: got a reply" % name)
    st = stats(good)
    check(st["size"] == 3 and st["inserts"] == 3, "only the authorized insert was stored: %s" % st)
    check(st.get("curve.denied", 0) >= 1 and st.get("curve.accepted", 0) >= 1, "ZAP counters")
    check(stop_server(p) == 0, "clean exit")
    # A server whose key file is wrong refuses to start.
    open(os.path.join(RUN, "broken.key"), "w").write("not a key\n")
    p2, _ = start_server("broken", "replay.curve=true",
                         "replay.curve_secret_key=" + os.path.join(RUN, "broken.key"), wait=False)
    check(p2.wait(timeout=10) == 1, "bad key file: exit 1")
    check("Z85" in open(os.path.join(RUN, "broken.log")).read(), "message names the format")
    print("curve: ok (listed client served; unlisted, plain and wrong-server clients got nothing)")


# ---------------------------------------------------------------- ratelimit
def case_ratelimit():
    p, ep = start_server("replay", "replay.capacity=1000", "replay.rate_limit=true",
                         "replay.samples_per_insert=1", "replay.min_size_to_sample=100",
                         "replay.max_insert_batch=10", "replay.max_sample_batch=10",
                         "replay.wait_timeout_ms=400")
    s = connect(ep)
    learner = connect(ep)
    # A sample below min_size waits, and times out with its id.
    t0 = time.time()
    e = request(learner, {"type": "sample", "v": 1, "table": "main", "n": 10, "id": 42})
    dt = time.time() - t0
    check(e["type"] == "error" and e["name"] == "TIMEOUT" and e["id"] == 42, "sample: %s" % e)
    check(0.3 < dt < 3.0, "timed out after %.2f s" % dt)
    # A sample deferred, then served when inserts arrive.
    learner.send(msgpack.packb({"type": "sample", "v": 1, "table": "main", "n": 10, "id": 43}))
    check(recv(learner, 100) is None, "the sample waits")
    sent = {}
    for seq in range(10):
        trs = transitions(0, seq, 10)
        ok(request(s, insert_msg(0, seq, trs)), "ack")
        for j, t in enumerate(trs):
            sent[seq * 10 + j] = t
    it = recv(learner, 2000)
    check(it is not None and it["type"] == "items" and it["id"] == 43, "deferred sample: %s" % it)
    check_items(it, sent, "deferred sample")
    # Inserts run ahead by error_buffer (10) at most: seq 10 is stored (110 items,
    # 10 sampled -> diff 100), seq 11 too, then seq 12 waits and times out.
    for seq in (10, 11):
        ok(request(s, insert_msg(0, seq, transitions(0, seq, 10))), "ack")
    t0 = time.time()
    s.send(msgpack.packb(insert_msg(0, 12, transitions(0, 12, 10))))
    s.send(msgpack.packb(insert_msg(0, 13, transitions(0, 13, 10))))   # in flight behind it
    e12, e13 = recv(s, 3000), recv(s, 3000)
    check(e12 and e12["type"] == "error" and e12["name"] == "TIMEOUT" and e12["id"] == 12,
          "insert 12: %s" % e12)
    check(e13 and e13["type"] == "error" and e13["name"] == "TIMEOUT" and e13["id"] == 13,
          "insert 13 must be refused until 12 is resent: %s" % e13)
    check(time.time() - t0 > 0.3, "the insert waited")
    # 13 again before 12: still refused at once; the learner catches up; 12 and 13 resent.
    e = request(s, insert_msg(0, 13, transitions(0, 13, 10)))
    check(e["type"] == "error" and e["name"] == "TIMEOUT" and e["id"] == 13, "13 first: %s" % e)
    for rid in range(2):   # diff 110 -> 90 = min_diff: a third would wait
        ok(request(learner, {"type": "sample", "v": 1, "table": "main", "n": 10, "id": rid}),
           "items")
    for seq in (12, 13):
        a = ok(request(s, insert_msg(0, seq, transitions(0, seq, 10))), "ack")
        check(a["count"] == 10 and not a["duplicate"], "resend %d: %s" % (seq, a))
    st = stats(s)
    want = {"inserts": 140, "size": 140, "duplicates": 0, "gaps": 0, "rl.sample_timeouts": 1,
            "actor.0.next_seq": 14, "rl.enabled": 1}
    for k, v in want.items():
        check(st.get(k) == v, "stats %s = %s, expected %s" % (k, st.get(k), v))
    # 13 waited behind 12: it times out with it, or is refused the moment 12 does.
    check(st["rl.insert_timeouts"] in (1, 2), "insert timeouts %s" % st["rl.insert_timeouts"])
    check(st["rl.sample_waits"] >= 2 and st["rl.insert_waits"] >= 1, "waits %s" % st)
    check(stop_server(p) == 0, "clean exit")
    # A configuration that could wait forever is refused at start.
    p2, _ = start_server("deadlock", "replay.rate_limit=true", "replay.error_buffer=1",
                         "replay.max_insert_batch=10", wait=False)
    check(p2.wait(timeout=10) == 1, "deadlock-prone config: exit 1")
    check("wait forever" in open(os.path.join(RUN, "deadlock.log")).read(), "message")
    print("ratelimit: ok (deferred sample served; sample and insert timeouts reported with id/seq;"
          " resends stored exactly once)")


# ---------------------------------------------------------------- restart
def case_restart():
    ck = os.path.join(RUN, "replay.ckpt")
    common = ("replay.capacity=500", "replay.sampler=prioritized", "replay.checkpoint=" + ck,
              "replay.restore=true")
    p, ep = start_server("first", *common)
    s = connect(ep)
    sent = {}
    key = 0
    for seq in range(10):
        for actor in (0, 1):
            trs = transitions(actor, seq, 20)
            ok(request(s, insert_msg(actor, seq, trs, [0.5 + actor] * 20)), "ack")
            for t in trs:
                sent[key] = t
                key += 1
    ok(request(s, {"type": "update_priorities", "v": 1, "table": "main", "count": 2,
                   "keys": [1, 2], "priority": f32([50.0, 0.0])}), "ack")
    a = ok(request(s, {"type": "checkpoint", "v": 1, "id": 9}), "ack")
    check(a["seq"] == 9 and os.path.exists(ck), "CHECKPOINT acked and written")
    before = stats(s)
    check(stop_server(p) == 0, "SIGTERM: clean exit")
    check("checkpoint (stop)" in open(os.path.join(RUN, "first.log")).read(), "final checkpoint")
    p, ep = start_server("second", *common)
    s2 = connect(ep)
    after = stats(s2)
    for k in ("size", "inserts", "duplicates", "samples", "priority.total", "priority.min",
              "priority.max", "actor.0.next_seq", "actor.1.next_seq", "actor.1.inserts"):
        check(after.get(k) == before.get(k), "%s: %s after restart, %s before" %
              (k, after.get(k), before.get(k)))
    # An actor resends its last unacknowledged window (seq 7..9) and goes on.
    for seq in range(7, 13):
        trs = transitions(0, seq, 20)
        a = ok(request(s2, insert_msg(0, seq, trs)), "ack")
        check(bool(a["duplicate"]) == (seq < 10), "seq %d duplicate=%s" % (seq, a["duplicate"]))
        if seq >= 10:
            for t in trs:
                sent[key] = t
                key += 1
    st = stats(s2)
    check(st["inserts"] == 460 and st["duplicates"] == 3 and st["size"] == 460, "counts %s" % st)
    for rid in range(10):
        check_items(sample(s2, 256, rid), sent, "restored sample")
    check(stop_server(p) == 0, "clean exit")
    # Corrupt one byte in the middle: the server refuses to start, and says why.
    data = bytearray(open(ck, "rb").read())
    data[len(data) // 2] ^= 0x10
    open(ck, "wb").write(bytes(data))
    p3, _ = start_server("corrupt", *common, wait=False)
    check(p3.wait(timeout=20) == 1, "a corrupt checkpoint must stop the server")
    log = open(os.path.join(RUN, "corrupt.log")).read()
    check("checksum mismatch" in log and ck in log, "message: %s" % log[-500:])
    p4, _ = start_server("mismatch", "replay.capacity=400", "replay.checkpoint=" + ck,
                         "replay.restore=true", wait=False)
    check(p4.wait(timeout=20) == 1, "mismatched capacity must stop the server")
    # A server that fails to start (cannot bind) leaves an existing checkpoint alone.
    before_bytes = open(ck, "rb").read()
    args = [SERVER, "--set", "run.dir=" + RUN, "--set", "replay.endpoint=tcp://256.1.1.1:1",
            "--set", "replay.checkpoint=" + ck]
    with open(os.path.join(RUN, "nobind.log"), "w") as log:
        rc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, timeout=20).returncode
    check(rc == 1, "unbindable endpoint: exit %d" % rc)
    check(open(ck, "rb").read() == before_bytes, "a failed start rewrote the checkpoint")
    print("restart: ok (same items, priorities and seqs after SIGTERM + restore; "
          "resends dropped as duplicates; corrupt and mismatched files refused)")


# ---------------------------------------------------------------- finalfail
def case_finalfail():
    ck = os.path.join(RUN, "replay.ckpt")
    common = ("replay.capacity=500", "replay.checkpoint=" + ck, "replay.restore=true")
    p, ep = start_server("first", *common)
    s = connect(ep)
    for seq in range(5):
        ok(request(s, insert_msg(0, seq, transitions(0, seq, 10))), "ack")
    ok(request(s, {"type": "checkpoint", "v": 1, "id": 1}), "ack")
    for seq in range(5, 9):
        ok(request(s, insert_msg(0, seq, transitions(0, seq, 10))), "ack")
    # The final checkpoint's temporary cannot be created (as on a full disk).
    blocker = "%s.tmp.%d" % (ck, p.pid)
    os.mkdir(blocker)
    rc = stop_server(p)
    log = open(os.path.join(RUN, "first.log")).read()
    check(rc == 1, "a failed final checkpoint must exit 1, got %d" % rc)
    check("ERROR" in log and "the final checkpoint failed" in log and blocker in log,
          "message: %s" % log[-800:])
    check("exit = 1" in open(os.path.join(RUN, "replay.status")).read(), "replay.status")
    # The log still holds the inserts since the last checkpoint: nothing lost.
    os.rmdir(blocker)
    p, ep = start_server("second", *common)
    st = stats(connect(ep))
    check(st["size"] == 90 and st["actor.0.next_seq"] == 9, "restored %s" % st)
    check(stop_server(p) == 0, "clean exit")
    # Without the log the same failure says that the state is lost.
    p, ep = start_server("third", *(common + ("replay.log=false",)))
    s = connect(ep)
    ok(request(s, insert_msg(1, 0, transitions(1, 0, 10))), "ack")
    os.mkdir("%s.tmp.%d" % (ck, p.pid))
    check(stop_server(p) == 1, "exit 1 without the log too")
    check("is lost" in open(os.path.join(RUN, "third.log")).read(), "message without the log")
    # A log that cannot be replaced after a checkpoint stops the server (exit 1):
    # it cannot make new inserts durable. The checkpoint it wrote holds
    # everything; the old log left behind is older than it and skipped.
    os.unlink(ck + ".wal")
    p, ep = start_server("fourth", *common)
    s = connect(ep)
    ok(request(s, insert_msg(2, 0, transitions(2, 0, 10))), "ack")
    os.mkdir("%s.wal.tmp.%d" % (ck, p.pid))
    e = request(s, {"type": "checkpoint", "v": 1, "id": 7})
    check(e["type"] == "error" and e["id"] == 7, "checkpoint with a failed log rotation: %s" % e)
    check(p.wait(timeout=20) == 1, "a failed log must stop the server with exit 1")
    log = open(os.path.join(RUN, "fourth.log")).read()
    check("ERROR" in log and "no insert is acknowledged that is not in the log" in log,
          "message: %s" % log[-600:])
    os.rmdir("%s.wal.tmp.%d" % (ck, p.pid))
    p, ep = start_server("fifth", *common)
    st = stats(connect(ep))
    check(st["actor.2.inserts"] == 10 and "older than the checkpoint" in
          open(os.path.join(RUN, "fifth.log")).read(), "after the failed rotation: %s" % st)
    check(stop_server(p) == 0, "clean exit")
    print("finalfail: ok (ERROR and exit 1; the log kept what the checkpoint could not; a log "
          "that cannot be replaced stops the server, nothing lost or applied twice)")


try:
    {"finalfail": case_finalfail, "protocol": case_protocol, "hostile": case_hostile, "curve": case_curve,
     "ratelimit": case_ratelimit, "restart": case_restart}[CASE]()
finally:
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    CTX.destroy(linger=0)
shutil.rmtree(RUN, ignore_errors=True)
