"""ControllerLR: a trained dqnlm controller as a PyTorch LR scheduler.

    sched = ControllerLR(optimizer, load_controller("RUN/qnet.bin"),
                         val_fn=lambda: validation_loss(model),      # float, nats
                         probe_fn=lambda: training_loss(model, next(batches)))
    for step in range(sched.total_steps):
        loss = training_loss(model, next(batches))
        optimizer.zero_grad()
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), sched.grad_clip)
        optimizer.step()
        sched.step(loss.item(), grad_norm=gn.item())

At construction it measures the run's start as the C environment does
(docs/lmenv.md): L_0 = val_fn(), two probe gradients at the initial weights
(no optimizer step; the probe's gradients are zeroed afterwards), and sets
the first interval's LR. Each step() after optimizer.step() reads the
gradients and the parameter change: the gradient norm (pass grad_norm, the
norm before clipping, when you clip; otherwise it is the norm of .grad), the
cosine with the previous step's gradient, and RMS(update) / RMS(parameters
before it); every `interval` steps it calls val_fn() and sets every param
group's "lr" to the controller's choice.
"""

import math

import torch

from .controller import LRController


def _flat(tensors):
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in tensors])


class ControllerLR:
    def __init__(self, optimizer, controller, val_fn, probe_fn, params=None, decisions=None,
                 interval=None, record=None):
        self.optimizer = optimizer
        self.ctl = controller
        self.val_fn, self.probe_fn = val_fn, probe_fn
        self.params = list(params) if params is not None else [
            p for g in optimizer.param_groups for p in g["params"]]
        self.run = LRController(controller, decisions, interval, record)
        self.interval, self.decisions = self.run.interval, self.run.decisions
        self.total_steps = self.interval * self.decisions
        self.grad_clip = controller.grad_clip
        self.step_count = 0
        self._start()

    def _grads(self):
        return _flat([p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params])

    def _start(self):
        val0 = float(self.val_fn())
        norms, grads = [], []
        for _ in range(2):
            self.optimizer.zero_grad()
            self.probe_fn().backward()
            g = self._grads()
            # lm_grad_norm: accumulated in double, returned as float32
            norms.append(float(torch.tensor(g.norm().item(), dtype=torch.float32)))
            grads.append(g)
        self.optimizer.zero_grad()
        g0 = 0.5 * (norms[0] + norms[1])
        align0 = self._cosine(grads[0], grads[1])
        self.prev_grad = grads[1]
        self.prev_params = _flat(self.params)
        rms = math.sqrt(float((self.prev_params ** 2).mean()))
        lr0 = float(self.optimizer.param_groups[0]["lr"])
        lr0 = min(max(lr0, self.ctl.lr_min), self.ctl.lr_max)
        self._set_lr(self.run.reset(lr0, val0, g0, align0, lr0 / rms))

    @staticmethod
    def _cosine(a, b):
        aa, bb = float(a @ a), float(b @ b)
        return float(a @ b) / math.sqrt(aa * bb) if aa > 0 and bb > 0 else math.nan

    def _set_lr(self, lr):
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def step(self, loss=None, grad_norm=None):
        """After optimizer.step(); returns the LR now in force."""
        g = self._grads()
        p = _flat(self.params)
        gn = float(grad_norm) if grad_norm is not None else float(g.norm())
        align = self._cosine(self.prev_grad, g)
        pr = math.sqrt(float((self.prev_params ** 2).mean()))
        ur = math.sqrt(float(((self.prev_params - p) ** 2).mean()))
        ratio = ur / pr if pr > 0 else 0.0
        self.prev_grad, self.prev_params = g, p
        self.step_count += 1
        if self.run.done:
            return self.run.lr
        self.run.observe_step(gn, align, ratio)
        if self.step_count % self.interval == 0:
            self._set_lr(self.run.decide(float(self.val_fn())))
        return self.run.lr

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    @property
    def history(self):
        return self.run.history
