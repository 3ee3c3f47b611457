#!/usr/bin/python3
"""controller_py.py BUILD_DIR PACKAGE_DIR - deploy/python's dqnlm package
against the C code it reimplements:

  1. the package installs offline (pip install --no-deps --no-build-isolation
     --target) and is imported from there;
  2. its defaults for a Q-network without description are the C defaults
     (dqnlm-lmtrain --print-config);
  3. on synthetic figure sequences (multiply and set actions, a dueling net,
     a point LR-init range, undefined cosines, zero and exploding gradient
     norms, clamped features), the features, Q-values, greedy actions and
     LRs of dqnlm.LRController equal those of tests/tools/lmobs_replay (the
     C observation code lmobs.c and the C Q-network): features and Q within
     1e-5, actions equal, LRs within 1e-12 relative;
  4. a small PyTorch training (an MLP, a few hundred AdamW steps) runs under
     dqnlm.ControllerLR: the LR changes only at decision points and is what
     the controller chose, the figures it measured replay in C to the same
     features, Q and actions, a net that always picks x0.5 halves the LR at
     every decision, and the training loss falls; with plain SGD the gradient
     norms, cosines and update ratios it measures equal an independent
     computation (update = -lr g);
  5. a Q-network trained for another observation version or action set, and
     a corrupted file, are refused naming both values.
Exit 0 on success, 1 on a failure, 77 (meson's SKIP) without numpy.
"""
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print("SKIP: numpy not importable (%s)" % e)
    sys.exit(77)

B, PKG = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="dqnlm-ctlpy.")
MAKE_QNET = os.path.join(B, "tests", "make_qnet")
REPLAY = os.path.join(B, "tests", "lmobs_replay")


def fail(msg):
    print("FAIL: " + msg + " (kept: %s)" % TMP)
    sys.exit(1)


def install():
    """Imports dqnlm from an offline pip install, or from PKG without pip."""
    src = os.path.join(TMP, "src")
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = os.path.join(TMP, "site")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                        "--no-index", "--no-cache-dir", "--quiet", "--target", target, src],
                       capture_output=True, text=True)
    if r.returncode != 0 and "No module named pip" in r.stderr:
        print("note: pip is not available; importing the package from %s" % PKG)
        sys.path.insert(0, PKG)
    elif r.returncode != 0:
        fail("pip install deploy/python failed:\n" + r.stdout + r.stderr)
    else:
        sys.path.insert(0, target)
    import dqnlm
    if r.returncode == 0 and not dqnlm.__file__.startswith(target):
        fail("dqnlm imported from %s, not the installed copy" % dqnlm.__file__)
    return dqnlm


dqnlm = install()


def make_qnet(name, seed, *args, hidden="16,16", n_actions=3):
    path = os.path.join(TMP, name)
    subprocess.run([MAKE_QNET, path, "9", str(n_actions), hidden, str(seed), "--set", "env.name=lm",
                    *args], check=True)
    return path


def check_defaults():
    r = subprocess.run([os.path.join(B, "learner", "tools", "dqnlm-lmtrain"), "--print-config"],
                       capture_output=True, text=True, check=True)
    _, c_cfg = dqnlm.controller._parse_description(r.stdout)
    for k, v in dqnlm.controller.DEFAULTS.items():
        same = c_cfg[k] == v if k in ("lm.actions", "lm.action_kind") else float(c_cfg[k]) == float(v)
        if not same:
            fail("default %s: C has %s, the package %s" % (k, c_cfg[k], v))


def replay(qnet_path, record):
    r = subprocess.run([REPLAY, qnet_path, record], capture_output=True, text=True)
    if r.returncode != 0:
        fail("lmobs_replay %s: %s" % (record, r.stderr))
    out = {}
    for line in r.stdout.splitlines():
        kind, t, *vals = line.split()
        out.setdefault(int(t), {})[kind] = [float(v) for v in vals]
    return out


def compare(run, c, what):
    if len(c) != len(run.history):
        fail("%s: C made %d decisions, Python %d" % (what, len(c), len(run.history)))
    worst = 0.0
    for h in run.history:
        ct = c[h["t"]]
        for key, py in (("obs", h["obs"]), ("q", h["q"])):
            d = np.max(np.abs(np.asarray(ct[key]) - py.astype(np.float64)))
            worst = max(worst, d)
            if not d <= 1e-5:
                fail("%s, decision %d: %s differ by %g\nC      %s\nPython %s"
                     % (what, h["t"], key, d, ct[key], py.tolist()))
        a, lr = int(ct["act"][0]), ct["act"][1]
        if a != h["action"] or abs(lr - h["lr"]) > 1e-12 * lr:
            fail("%s, decision %d: C chose %d (lr %.17g), Python %d (lr %.17g)"
                 % (what, h["t"], a, lr, h["action"], h["lr"]))
    return worst


def synthetic(ctl, rng, decisions, interval, record):
    """Figures of a made-up run with edge cases, through LRController."""
    run = dqnlm.LRController(ctl, decisions, interval, record=record)
    run.reset(rng.choice([3e-3, 1e-6, 0.5]), 5.5, 2.0, rng.uniform(-1, 1), rng.uniform(0, 1))
    val = 5.5
    for t in range(decisions):
        for k in range(interval):
            gn = rng.choice([rng.uniform(0.1, 5), 0.0, 1e30]) if t == 2 else rng.uniform(0.1, 5)
            cos = math.nan if t == 1 or rng.random() < 0.2 else rng.uniform(-1, 1)
            ratio = 0.0 if t == 3 and k == 0 else 10 ** rng.uniform(-5, -1)
            run.observe_step(gn, cos, ratio)
        val *= math.exp(rng.uniform(-0.3, 0.2))
        run.decide(val if t != 4 else val * 1e6)
    run.decide(1.0)  # after the last decision: the LR is kept, nothing recorded
    return run


def check_synthetic():
    cases = [
        ("multiply", make_qnet("m.bin", 1), 8, 5),
        ("set", make_qnet("s.bin", 2, "--set", "lm.action_kind=set",
                          "--set", "lm.actions=0.0003,0.003,0.03,0.3", n_actions=4), 6, 3),
        ("dueling, point LR range, narrow clamp",
         make_qnet("d.bin", 3, "--dueling", "--set", "lm.lr_init_min=0.003",
                   "--set", "lm.lr_init_max=0.003", "--set", "lm.lr_min=1e-4",
                   "--set", "lm.lr_max=0.01", "--set", "lm.actions=0.25,1,4"), 10, 4),
        ("wide net", make_qnet("w.bin", 4, hidden="64,64"), 16, 8),
    ]
    rng = random.Random(7)
    worst, n = 0.0, 0
    for name, path, decisions, interval in cases:
        ctl = dqnlm.load_controller(path)
        for rep in range(3):
            rec = os.path.join(TMP, "syn-%d-%d.txt" % (n, rep))
            run = synthetic(ctl, rng, decisions, interval, rec)
            run._record.close()
            worst = max(worst, compare(run, replay(path, rec), "%s #%d" % (name, rep)))
            n += 1
    print("synthetic figures: %d runs, features and Q within %.2g of C, same actions and LRs"
          % (n, worst))


def write_halving(src, dst):
    """src's net with a last-layer bias that makes x0.5 (action 0) the argmax."""
    qnet, desc = dqnlm.read_qnet(src)
    qnet.biases[-1] = qnet.biases[-1].copy()
    qnet.biases[-1][0] += 1e4
    dqnlm.write_qnet(dst, qnet, desc)
    return dst


def check_torch():
    try:
        import torch
    except ImportError as e:
        print("note: torch not importable (%s): the PyTorch training was not run" % e)
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)
    K, T = 20, 12
    sets = ["--set", "lm.opt_steps=%d" % K, "--set", "lm.episode_steps=%d" % T]
    path = make_qnet("t.bin", 5, *sets)
    half = write_halving(make_qnet("h0.bin", 6, *sets), os.path.join(TMP, "h.bin"))
    xs, w = torch.randn(2048, 16), torch.randn(16, 1)
    ys = torch.sin(xs @ w) + 0.05 * torch.randn(2048, 1)
    xv, yv = xs[:256], ys[:256]

    def train(qnet_path, record):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
        gen = torch.Generator().manual_seed(2)

        def batch_loss():
            i = torch.randint(256, 2048, (32,), generator=gen)
            return torch.nn.functional.mse_loss(model(xs[i]), ys[i])

        def val_loss():
            with torch.no_grad():
                return torch.nn.functional.mse_loss(model(xv), yv).item()

        ctl = dqnlm.load_controller(qnet_path)
        sched = dqnlm.ControllerLR(opt, ctl, val_fn=val_loss, probe_fn=batch_loss, record=record)
        if sched.total_steps != K * T:
            fail("total_steps %d, the description says %d x %d" % (sched.total_steps, T, K))
        lrs, losses = [opt.param_groups[0]["lr"]], []
        for step in range(sched.total_steps):
            loss = batch_loss()
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), sched.grad_clip)
            opt.step()
            sched.step(loss.item(), grad_norm=gn.item())
            lrs.append(opt.param_groups[0]["lr"])
            losses.append(loss.item())
        sched.run._record.close()
        return sched, lrs, losses, val_loss()

    rec = os.path.join(TMP, "torch.txt")
    sched, lrs, losses, _ = train(path, rec)
    h = sched.history
    if len(h) != T + 1:
        fail("%d decisions recorded, expected %d" % (len(h), T + 1))
    for s, lr in enumerate(lrs):
        want = h[min(s // K, T)]["lr"]
        if lr != want:
            fail("step %d: lr %g in the optimizer, the controller chose %g" % (s, lr, want))
    changes = [s for s in range(1, len(lrs)) if lrs[s] != lrs[s - 1]]
    if any(s % K for s in changes):
        fail("the LR changed between decision points: steps %s" % changes)
    worst = compare(sched.run, replay(path, rec), "PyTorch training")
    if not np.mean(losses[-K:]) < np.mean(losses[:K]):
        fail("the training loss did not fall: %g -> %g" % (np.mean(losses[:K]), np.mean(losses[-K:])))

    hs, hlrs, _, _ = train(half, os.path.join(TMP, "half.txt"))
    want = [max(3e-3 * 0.5 ** t, 1e-5) for t in range(1, T + 1)]
    got = [d["lr"] for d in hs.history[:T]]
    if any(abs(g - w_) > 1e-15 for g, w_ in zip(got, want)) or hlrs[K * T] != want[-1]:
        fail("the x0.5 controller's LRs are %s, expected %s" % (got, want))
    n_meas = check_measurement(torch, path)
    print("PyTorch training: %d steps, %d decisions, LR changes at steps %s, lr %.3g -> %.3g; "
          "C replay of its figures within %.2g; loss %.4f -> %.4f; x0.5 net halves the LR; "
          "%d SGD steps' figures as measured independently"
          % (K * T, T, changes, lrs[0], lrs[-1], worst, np.mean(losses[:K]),
             np.mean(losses[-K:]), n_meas))


def check_measurement(torch, path):
    """The figures ControllerLR measures, against a computation of its own:
    with plain SGD an update is exactly -lr g, so RMS(update) / RMS(params)
    = lr RMS(g) / RMS(params before the step) (to float32 rounding of the
    parameters: 1e-5 relative; norm and cosine 1e-9)."""
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 8), torch.randn(64, 1)
    gen = torch.Generator().manual_seed(4)

    def loss_fn():
        i = torch.randint(0, 64, (16,), generator=gen)
        return torch.nn.functional.mse_loss(model(x[i]), y[i])

    def val():
        with torch.no_grad():
            return torch.nn.functional.mse_loss(model(x), y).item()

    rec = os.path.join(TMP, "sgd.txt")
    sched = dqnlm.ControllerLR(opt, dqnlm.load_controller(path), val, loss_fn, record=rec)
    flat = lambda ts: torch.cat([t.detach().reshape(-1).double() for t in ts])
    prev = None
    want = []
    for _ in range(3 * sched.interval):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        g, p = flat(q.grad for q in model.parameters()), flat(model.parameters())
        lr = opt.param_groups[0]["lr"]
        cos = math.nan if prev is None else float(g @ prev / (g.norm() * prev.norm()))
        want.append((float(g.norm()), cos,
                     lr * float(g.pow(2).mean().sqrt()) / float(p.pow(2).mean().sqrt())))
        prev = g
        opt.step()
        sched.step(loss.item())
    sched.run._record.close()
    got = [[float(v) for v in line.split()[1:]] for line in open(rec) if line.startswith("step")]
    for k, (w, g_) in enumerate(zip(want, got)):
        for name, a, b, tol in zip(("grad norm", "cosine", "update ratio"), w, g_,
                                   (1e-9, 1e-9, 1e-5)):
            if k == 0 and name == "cosine":
                continue  # the first step's previous gradient is the second probe's
            if not abs(a - b) <= tol * max(1e-300, abs(a)):
                fail("step %d: ControllerLR measured %s %.12g, expected %.12g" % (k, name, b, a))
    return len(got)


def expect_refusal(path, words, exc):
    try:
        dqnlm.load_controller(path)
    except exc as e:
        if words not in str(e):
            fail("refusal of %s does not say '%s': %s" % (path, words, e))
        return
    fail("%s was accepted" % path)


def check_refusals():
    expect_refusal(make_qnet("v0.bin", 8, "--obs-version", "0"),
                   "trained for observation version = 0, this package computes 1",
                   dqnlm.ControllerMismatch)
    expect_refusal(make_qnet("a4.bin", 9, "--set", "lm.actions=0.5,1,2", n_actions=4),
                   "the Q-network has 4 actions, lm.actions = 0.5,1,2 has 3",
                   dqnlm.ControllerMismatch)
    bad = os.path.join(TMP, "bad.bin")
    data = bytearray(open(make_qnet("ok.bin", 10), "rb").read())
    data[80] ^= 0x5A  # a parameter byte
    open(bad, "wb").write(bytes(data))
    expect_refusal(bad, "checksum mismatch", dqnlm.QNetFormatError)
    ctl = dqnlm.load_controller(os.path.join(os.path.dirname(os.path.dirname(PKG)), "docs",
                                             "results", "qnet.bin"))
    if ctl.description is not None or ctl.actions != [0.5, 1.0, 2.0] or ctl.interval != 128:
        fail("a format-2 file should load with the C defaults")
    print("refusals: observation version, action count, checksum; format 2 read with defaults")


check_defaults()
check_synthetic()
check_torch()
check_refusals()
shutil.rmtree(TMP)
print("dqnlm Python package: install, defaults, C equivalence, PyTorch training, refusals: ok")
