#!/usr/bin/python3
"""lm_torch_check.py - cross-check the C transformer LM (actor/lm_model.c) with PyTorch.

    lm_torch_check.py TEST_LM_MODEL_EXE      # compare loss, logits, every gradient
    lm_torch_check.py --bench L C NH T B N   # time N PyTorch AdamW steps (1 thread)

The check runs `TEST_LM_MODEL_EXE --dump FILE loops|gemm` (both attention
variants, one after the other), which writes a model's config,
weights, a batch, and the C side's loss, logits and gradients (format in
tests/test_lm_model.c, dump_for_torch()). It rebuilds the identical model in
PyTorch in float64, and compares:
  loss:      |c - torch| <= 1e-5 * max(1, |torch|)
  logits:    max |c - torch| <= 1e-4
  gradients: per tensor, max |c - torch| <= 1e-4 * max |torch| + 1e-8
Exit 0 on agreement, 1 on a mismatch, 77 (meson's SKIP) when torch is not
importable. Run with Debian's /usr/bin/python3 and python3-torch.
"""
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means skip
    print(f"SKIP: PyTorch not importable ({e}); install python3-torch to run this check")
    sys.exit(77)

NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]


def shapes(V, T, C, L):
    return [(V, C), (T, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C),
            (L, C), (L, C), (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]


def forward(p, idx, tgt, V, T, C, L, NH):
    """The model of lm_model.h, written out in torch ops; p: dict name -> tensor."""
    B = idx.shape[0]
    hs = C // NH
    x = p["wte"][idx] + p["wpe"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        h = F.layer_norm(x, (C,), p["ln1w"][l], p["ln1b"][l], 1e-5)
        qkv = h @ p["qkvw"][l].T + p["qkvb"][l]
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, NH, hs).transpose(1, 2)
        k = k.view(B, T, NH, hs).transpose(1, 2)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + y @ p["attprojw"][l].T + p["attprojb"][l]
        h = F.layer_norm(x, (C,), p["ln2w"][l], p["ln2b"][l], 1e-5)
        h = F.gelu(h @ p["fcw"][l].T + p["fcb"][l], approximate="tanh")
        x = x + h @ p["fcprojw"][l].T + p["fcprojb"][l]
    x = F.layer_norm(x, (C,), p["lnfw"], p["lnfb"], 1e-5)
    logits = x @ p["wte"].T
    loss = F.cross_entropy(logits.view(-1, V), tgt.view(-1))
    return logits, loss


def check(exe, variant):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "dump.bin")
        subprocess.run([exe, "--dump", path, variant], check=True)
        raw = open(path, "rb").read()
    if raw[:8] != b"DQLMDUMP":
        print("FAIL: bad dump magic")
        return 1
    V, T, C, L, NH, B = struct.unpack_from("<6i", raw, 8)
    off = 8 + 24
    n = B * T
    tok = np.frombuffer(raw, np.uint8, n, off).astype(np.int64); off += n
    tgt = np.frombuffer(raw, np.uint8, n, off).astype(np.int64); off += n
    c_loss = struct.unpack_from("<f", raw, off)[0]; off += 4
    shp = shapes(V, T, C, L)
    npar = sum(int(np.prod(s)) for s in shp)
    params = np.frombuffer(raw, "<f4", npar, off); off += 4 * npar
    c_logits = np.frombuffer(raw, "<f4", n * V, off).reshape(B, T, V); off += 4 * n * V
    c_grads = np.frombuffer(raw, "<f4", npar, off); off += 4 * npar
    assert off == len(raw), "dump size"

    p, cg, o = {}, {}, 0
    for name, s in zip(NAMES, shp):
        k = int(np.prod(s))
        p[name] = torch.tensor(params[o:o + k].astype(np.float64).reshape(s), requires_grad=True)
        cg[name] = c_grads[o:o + k].reshape(s).astype(np.float64)
        o += k
    idx = torch.tensor(tok).view(B, T)
    tg = torch.tensor(tgt).view(B, T)
    logits, loss = forward(p, idx, tg, V, T, C, L, NH)
    loss.backward()

    ok = True
    print(f"model V={V} T={T} C={C} L={L} NH={NH} B={B}, {npar} parameters, attention on {variant}")
    dl = abs(c_loss - loss.item())
    good = dl <= 1e-5 * max(1.0, abs(loss.item()))
    ok &= good
    print(f"  loss      C {c_loss:.7f}  torch {loss.item():.7f}  |diff| {dl:.2e}"
          f"  {'ok' if good else 'MISMATCH'}")
    dlog = np.abs(c_logits - logits.detach().numpy()).max()
    good = dlog <= 1e-4
    ok &= good
    print(f"  logits    max |diff| {dlog:.2e}  {'ok' if good else 'MISMATCH'}")
    for name in NAMES:
        tgrad = p[name].grad.numpy()
        err = np.abs(cg[name] - tgrad).max()
        scale = np.abs(tgrad).max()
        good = err <= 1e-4 * scale + 1e-8
        ok &= good
        print(f"  d{name:<9} max |diff| {err:.2e}  max |grad| {scale:.2e}  rel {err / max(scale, 1e-30):.1e}"
              f"  {'ok' if good else 'MISMATCH'}")
    print("PASS: C and PyTorch agree" if ok else "FAIL: C and PyTorch disagree")
    return 0 if ok else 1


class Block(torch.nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.C, self.NH = C, NH
        self.ln1 = torch.nn.LayerNorm(C)
        self.qkv = torch.nn.Linear(C, 3 * C)
        self.proj = torch.nn.Linear(C, C)
        self.ln2 = torch.nn.LayerNorm(C)
        self.fc = torch.nn.Linear(C, 4 * C)
        self.fcproj = torch.nn.Linear(4 * C, C)

    def forward(self, x, mask):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hs)).masked_fill(~mask, float("-inf"))
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(self, V, T, C, L, NH):
        super().__init__()
        self.wte = torch.nn.Embedding(V, C)
        self.wpe = torch.nn.Embedding(T, C)
        self.blocks = torch.nn.ModuleList([Block(C, NH) for _ in range(L)])
        self.lnf = torch.nn.LayerNorm(C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, idx, tgt):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe.weight[:T]
        for b in self.blocks:
            x = b(x, self.mask)
        logits = self.lnf(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1))


def bench(L, C, NH, T, B, steps):
    """PyTorch AdamW steps/s for the same model and step as tests/bench_lm.c."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = GPT(256, T, C, L, NH)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.0)
    idx = torch.randint(0, 256, (B, T))
    tgt = torch.randint(0, 256, (B, T))

    def step():
        loss = model(idx, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(max(3, steps // 10)):
        step()
    best, best_cpu = 0.0, 0.0
    for _ in range(3):  # best of three runs, like the C side
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        best = max(best, steps / (time.perf_counter() - t0))
        best_cpu = max(best_cpu, steps / max(time.process_time() - c0, 1e-9))
    print(f"steps_per_s {best:.2f}")
    print(f"cpu_steps_per_s {best_cpu:.2f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "--bench":
        sys.exit(bench(*[int(a) for a in sys.argv[2:]]))
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(check(sys.argv[1], "loops") | check(sys.argv[1], "gemm"))
