"""A trained controller: its Q-network, what it controls, and the decision
loop of the LM environment (docs/controller.md).

load_controller(path) reads qnet.bin and the description inside it (env,
observation version, action set and the configuration it was trained with)
and refuses a controller this package cannot run. LRController is the
decision loop on plain numbers: the figures of each optimizer step go in,
the learning rate for the next decision interval comes out.
"""

import configparser
import math

import numpy as np

from .observation import OBS_DIM, OBS_VERSION, Source, observation
from .qnet import read_qnet

# The defaults of the C configuration (common/config_keys.h) for the keys the
# controller reads; used for a Q-network file without a description (format 2).
DEFAULTS = {
    "lm.actions": "0.5,1,2", "lm.action_kind": "multiply", "lm.opt_steps": "128",
    "lm.episode_steps": "16", "lm.lr_init_min": "1e-4", "lm.lr_init_max": "3e-2",
    "lm.lr_min": "1e-5", "lm.lr_max": "0.1", "lm.grad_clip": "1",
}


class ControllerMismatch(ValueError):
    """A controller trained for something else than what this package runs;
    the message names both values."""


def _parse_description(text):
    cp = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False,
                                   comment_prefixes=(";", "#"), inline_comment_prefixes=None)
    cp.optionxform = str
    cp.read_string(text)
    desc = dict(cp["controller"]) if cp.has_section("controller") else None
    config = {"%s.%s" % (sec, k): v for sec in cp.sections() if sec != "controller"
              for k, v in cp[sec].items()}
    return desc, config


def _actions(text):
    return [float(a) for a in text.split(",")]


class Controller:
    """A Q-network and the settings of the environment it was trained in.

    qnet         QNet (forward in float32)
    description  the [controller] section (dict of str; None for format 2)
    config       "section.key" -> value (str) of the training configuration
    actions      the LR multipliers (or LRs, action_kind == "set")
    action_kind  "multiply" or "set"
    interval     optimizer steps per decision (lm.opt_steps)
    decisions    decisions per run (lm.episode_steps)
    lr_init_min, lr_init_max, lr_min, lr_max, grad_clip  as in the config
    """

    def __init__(self, qnet, description=None, config=None, path="controller"):
        self.qnet, self.description, self.path = qnet, description, path
        self.config = dict(DEFAULTS)
        self.config.update(config or {})
        c = self.config
        self.actions = _actions(c["lm.actions"])
        self.action_kind = c["lm.action_kind"]
        self.interval = int(c["lm.opt_steps"])
        self.decisions = int(c["lm.episode_steps"])
        self.lr_init_min, self.lr_init_max = float(c["lm.lr_init_min"]), float(c["lm.lr_init_max"])
        self.lr_min, self.lr_max = float(c["lm.lr_min"]), float(c["lm.lr_max"])
        self.grad_clip = float(c["lm.grad_clip"])
        self._check()

    def _check(self):
        def refuse(what, trained, here):
            raise ControllerMismatch("%s: the Q-network was trained for %s = %s, this package "
                                     "computes %s" % (self.path, what, trained, here))
        d = self.description
        if d is not None:
            if d["env"] != "lm":
                refuse("env.name", d["env"], "lm")
            if int(d["obs_version"]) != OBS_VERSION:
                refuse("observation version", d["obs_version"], OBS_VERSION)
            if int(d["obs_dim"]) != self.qnet.obs_dim or int(d["n_actions"]) != self.qnet.n_actions:
                raise ControllerMismatch("%s: the description says %s -> %s, the network maps "
                                         "%d -> %d" % (self.path, d["obs_dim"], d["n_actions"],
                                                       self.qnet.obs_dim, self.qnet.n_actions))
        if self.qnet.obs_dim != OBS_DIM:
            refuse("obs_dim", self.qnet.obs_dim, OBS_DIM)
        if self.qnet.n_actions != len(self.actions):
            raise ControllerMismatch("%s: the Q-network has %d actions, lm.actions = %s has %d"
                                     % (self.path, self.qnet.n_actions, self.config["lm.actions"],
                                        len(self.actions)))
        if self.action_kind not in ("multiply", "set"):
            refuse("lm.action_kind", self.action_kind, "multiply or set")

    def q_values(self, obs):
        return self.qnet.forward(obs)

    def act(self, a, lr):
        """(new LR, multiplier it amounts to) after action a on LR lr (lmobs_act)."""
        if self.action_kind == "set":
            nxt = min(max(self.actions[a], self.lr_min), self.lr_max)
            return nxt, nxt / lr
        return min(max(lr * self.actions[a], self.lr_min), self.lr_max), self.actions[a]


def load_controller(path, overrides=None):
    """The Controller of a Q-network file. overrides ("lm.KEY" -> value)
    replace entries of the training configuration (e.g. lm.episode_steps for
    a longer run); a file without a description (format 2) runs with the C
    defaults and overrides. Raises QNetFormatError or ControllerMismatch."""
    qnet, text = read_qnet(path)
    desc, config = _parse_description(text) if text else (None, {})
    if text and desc is None:
        raise ControllerMismatch("%s: the description has no [controller] section" % path)
    config.update({k: str(v) for k, v in (overrides or {}).items()})
    return Controller(qnet, desc, config, path)


class LRController:
    """The decision loop of the LM environment on plain numbers.

        lr = run.reset(lr, val_loss, grad_norm, grad_alignment, update_ratio)
        ... every optimizer step:  run.observe_step(grad_norm, grad_alignment, update_ratio)
        ... every run.interval steps:  lr = run.decide(val_loss)

    reset's figures are those of the run's start: L_0, G_0 (the mean gradient
    norm of two probe batches at the initial weights), their cosine, and
    lr / RMS(parameters). After run.decisions decisions the LR is kept
    (run.done). record, a path or file, receives the figures in the format
    of tests/tools/lmobs_replay.c. history holds one dict per decision.
    """

    def __init__(self, controller, decisions=None, interval=None, record=None):
        self.ctl = controller
        self.decisions = int(decisions or controller.decisions)
        self.interval = int(interval or controller.interval)
        self._record = open(record, "w") if isinstance(record, str) else record
        self.history = []
        self.started = False

    def _rec(self, *fields):
        if self._record:
            self._record.write(" ".join(f if isinstance(f, str) else repr(float(f))
                                        for f in fields) + "\n")
            self._record.flush()

    def reset(self, lr, val_loss, grad_norm, grad_alignment, update_ratio):
        c = self.ctl
        self.lr = min(max(float(lr), c.lr_min), c.lr_max)
        self.t, self.done, self.started = 0, False, True
        self.val = float(val_loss)
        self.src = Source(t=0, T_env=self.decisions, lr=self.lr, lr0=self.lr,
                          lr_init_min=c.lr_init_min, lr_init_max=c.lr_init_max,
                          val=self.val, prev_val=self.val, val0=self.val,
                          ratio=float(update_ratio), align=float(grad_alignment),
                          gn=float(grad_norm), gn0=float(grad_norm), last_mult=1.0)
        self._rec("T_env", str(self.decisions))
        self._rec("lr_init", c.lr_init_min, c.lr_init_max)
        self._rec("lr_clamp", c.lr_min, c.lr_max)
        self._rec("actions", c.action_kind, ",".join(repr(a) for a in c.actions))
        self._rec("reset", self.lr, self.val, self.src.gn0, self.src.align, self.src.ratio)
        self._new_interval()
        return self._decide()

    def _new_interval(self):
        self.steps, self.n_align = 0, 0
        self.gn_sum = self.ratio_sum = self.align_sum = 0.0

    def observe_step(self, grad_norm, grad_alignment, update_ratio):
        """One optimizer step: the gradient norm before clipping, the cosine
        of its gradient with the previous step's (nan: none), and the RMS of
        the update over the RMS of the parameters before it."""
        if not self.started:
            raise RuntimeError("LRController.observe_step before reset")
        a = float(grad_alignment)
        if math.isfinite(a):
            self.align_sum += a
            self.n_align += 1
        self.gn_sum += float(grad_norm)
        self.ratio_sum += float(update_ratio)
        self.steps += 1
        self._rec("step", grad_norm, a, update_ratio)

    def decide(self, val_loss):
        """The validation loss that ends an interval -> the LR of the next."""
        if self.done:
            return self.lr
        s = self.src
        s.prev_val, s.val = self.val, float(val_loss)
        self.val = s.val
        self.t += 1
        s.t = self.t
        s.ratio = self.ratio_sum / self.steps if self.steps else math.nan
        s.align = self.align_sum / self.n_align if self.n_align else math.nan
        s.gn = self.gn_sum / self.steps if self.steps else math.nan
        if self.steps:
            s.lr = self.lr
        self._rec("val", s.val)
        self._new_interval()
        return self._decide()

    def _decide(self):
        obs = observation(self.src)
        q = self.ctl.q_values(obs)
        a = -1
        if self.t < self.decisions:
            a = int(np.argmax(q))  # the first of equal maxima, as dq_argmax
            self.lr, self.src.last_mult = self.ctl.act(a, self.lr)
        else:
            self.done = True
        self.history.append({"t": self.t, "obs": obs, "q": q, "action": a, "lr": self.lr})
        return self.lr
