"""The LM environment's observation, entry for entry as common/env/lm/lmobs.c
computes it (docs/lmenv.md, docs/controller.md): computed in float64, then
each entry made finite (non-finite -> 0), clamped to [-10, 10] and stored as
float32."""

import math
from dataclasses import dataclass

import numpy as np

OBS_VERSION = 1  # LMENV_OBS_VERSION
OBS_DIM = 9
OBS_CLAMP = 10.0
OBS_NAMES = ("progress", "lr_position", "log2_lr_change", "log_val_ratio", "val_change",
             "update_ratio", "grad_alignment", "log_grad_norm_ratio", "last_action")


@dataclass
class Source:
    """Everything an observation is computed from (lmobs_src_t)."""
    t: int                # decisions taken
    T_env: int            # decisions in the budget
    lr: float             # LR of the last optimizer step (at the start: the first one's)
    lr0: float            # the run's initial LR
    lr_init_min: float    # lm.lr_init_min
    lr_init_max: float    # lm.lr_init_max
    val: float            # L_t, validation loss (nats)
    prev_val: float       # L_{t-1}
    val0: float           # L_0
    ratio: float          # interval mean of update RMS / parameter RMS
    align: float          # interval mean of cos(g_k, g_{k-1}) (nan: none)
    gn: float             # interval mean of the gradient norm before clipping
    gn0: float            # G_0
    last_mult: float      # LR multiplier of the last action (1 at the start)


def _fin(x):
    if not math.isfinite(x):
        return 0.0
    return min(max(x, -OBS_CLAMP), OBS_CLAMP)


def _c(fn):
    # C's log, log2, log10: -inf at 0, nan below and for nan, inf at inf;
    # Python's math functions raise instead.
    def f(x):
        if x > 0:
            return fn(x)
        return -math.inf if x == 0 else math.nan
    return f


_log, _log2, _log10 = _c(math.log), _c(math.log2), _c(math.log10)


def _div(a, b):
    if b == 0:
        return math.nan if a == 0 else math.copysign(math.inf, a)
    return a / b


def lr_position(s, lr):
    ln2 = math.log(2)
    lo = _log(s.lr_init_min)
    span = _log(s.lr_init_max) - lo
    if span < ln2:
        lo += 0.5 * span - 0.5 * ln2
        span = ln2
    return 2.0 * (_log(lr) - lo) / span - 1.0


def observation(s):
    """The 9 float32 entries for Source s."""
    o = [
        s.t / s.T_env,
        lr_position(s, s.lr),
        _log2(_div(s.lr, s.lr0)) / 4.0,
        _log(_div(s.val, s.val0)),
        _log(_div(s.val, s.prev_val)) * s.T_env,
        _log10(s.ratio + 1e-12) + 3.0,
        s.align,
        _log(_div(s.gn, s.gn0)) if s.gn > 0 else math.nan,
        _log2(s.last_mult),
    ]
    return np.array([_fin(x) for x in o], dtype=np.float32)
