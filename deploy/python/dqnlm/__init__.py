"""dqnlm - a trained dqnlm learning-rate controller in any training loop.

    ctl = dqnlm.load_controller("RUN/qnet.bin")     # Q-network + what it controls
    run = dqnlm.LRController(ctl)                   # framework-free decision loop
    lr = run.reset(lr=3e-3, val_loss=5.5, grad_norm=2.0, grad_alignment=0.3,
                   update_ratio=3e-3 / 0.02)
    for each optimizer step: run.observe_step(grad_norm, grad_alignment, update_ratio)
    every ctl.interval steps: lr = run.decide(val_loss)

dqnlm.ControllerLR (dqnlm.scheduler, needs torch) wraps this as a PyTorch LR scheduler that measures the
figures itself. docs/controller.md specifies the file format and the features.
"""

from .qnet import QNet, read_qnet, write_qnet, QNetFormatError
from .observation import OBS_VERSION, OBS_DIM, OBS_NAMES, OBS_CLAMP, Source, observation
from .controller import Controller, LRController, load_controller, ControllerMismatch

__all__ = [
    "QNet", "read_qnet", "write_qnet", "QNetFormatError", "OBS_VERSION", "OBS_DIM", "OBS_NAMES", "OBS_CLAMP",
    "Source", "observation", "Controller", "LRController", "load_controller",
    "ControllerMismatch",
]


def __getattr__(name):
    # The PyTorch scheduler is imported on first use: numpy alone suffices otherwise.
    if name == "ControllerLR":
        from .scheduler import ControllerLR
        return ControllerLR
    raise AttributeError(name)
