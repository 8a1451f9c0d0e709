"""``finetune_module``: a user's Norse module fine-tuned through Loihi's exact fixed point.

The module is parsed and compiled as ``neuro-av export --module`` does it; the fixed-point
calibration is chosen on ``calibration`` input (scales and exponents by spike Dice,
:mod:`neuro_av.export.quant_search`) and then frozen; the plan's synapses are trained in
:class:`~neuro_av.export.fixed_plan_train.FixedPlanModule` against the user's loss on the last
layer's output (spikes of a spiking layer, voltages of a read-out), and written back into the
module's own ``Linear`` / ``LIFRecurrentCell`` weights. The module then carries the frozen
calibration as ``module.neuro_av_fixed_point`` (plain numbers: save it beside the weights), which
``export --module`` and ``sim --module`` use instead of calibrating again — so Lava's bit-accurate
run of the exported module is the network that was fine-tuned, spike for spike.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch

from neuro_av.export.norse_module import NorseModuleError, _children, neuron_types, parse, to_nir

ATTRIBUTE = "neuro_av_fixed_point"


@dataclass
class FinetunedModule:
    module: torch.nn.Module  # the same object, its weights fine-tuned, ``neuro_av_fixed_point`` set
    frozen: dict  # the calibration it was fine-tuned with (also ``module.neuro_av_fixed_point``)
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    seconds: float = 0.0
    quantisation: dict = field(default_factory=dict)  # the chosen calibration's report (search included)
    network: object = None  # the FixedPlanModule that was trained (snapped): the module's own fixed-point forward


def _sources(module: torch.nn.Module) -> list[tuple[torch.nn.Linear | None, torch.nn.Module]]:
    """Per neuron layer, in order: (the Linear feeding it or None, the neuron module)."""
    kinds, out, pending = neuron_types(), [], None
    for _, child in _children(module):
        if isinstance(child, torch.nn.Linear):
            pending = child
        elif type(child) in kinds:
            out.append((pending, child))
            pending = None
    return out


def _write_back(module, plan, trained) -> None:
    """The trained plan weights (gain folded in) as the module's own parameters."""
    with torch.no_grad():
        for i, (linear, cell) in enumerate(_sources(module)):
            pop = plan.populations[f"net.lif{i}"]
            gain = torch.as_tensor(pop.gain, dtype=torch.float64)
            kind = neuron_types()[type(cell)][0]
            w = trained.weight[f"net__fc{i}"] / gain[:, None]
            b = trained.bias[f"net__fc{i}"] / gain
            if kind == "lif_recurrent":
                cell.input_weights.copy_(w.to(cell.input_weights.dtype))
                cell.recurrent_weights.copy_((trained.weight[f"net__rec{i}"] / gain[:, None]).to(cell.recurrent_weights.dtype))
            elif linear is not None:
                linear.weight.copy_(w.to(linear.weight.dtype))
                if linear.bias is not None:
                    linear.bias.copy_(b.to(linear.bias.dtype))


def _trainable(module, plan, trained) -> None:
    """Freeze what the module cannot hold: identity Denses and the zero bias of bias-free layers."""
    for i, (linear, cell) in enumerate(_sources(module)):
        kind = neuron_types()[type(cell)][0]
        if linear is None and kind != "lif_recurrent":
            trained.weight[f"net__fc{i}"].requires_grad_(False)
        if linear is None or linear.bias is None:
            trained.bias[f"net__fc{i}"].requires_grad_(False)


def finetune_module(module: torch.nn.Module, loss_fn: Callable, batches: Callable[[], Iterable],
                    calibration: np.ndarray, epochs: int = 1, lr: float = 1e-4, dt_s: float | None = None,
                    log: Callable[[str], None] = print) -> FinetunedModule:
    """Fine-tune ``module`` in fixed point. ``batches()`` yields ``(x, target)`` per step, x of shape
    (B, T, N_in); ``loss_fn(output, target)`` with ``output`` the last layer's (B, T, N) — its spikes,
    or its voltages for a read-out (``LICell``); ``calibration``: input (B, T, N_in) the fixed-point
    scales are chosen on (as ``export --module --input`` would)."""
    from neuro_av.export.compile import compile_graph
    from neuro_av.export.fixed_plan_train import FixedPlanModule
    from neuro_av.export.lava.fixed_point import frozen_calibration, quantise_on_input

    net = parse(module, dt_s)
    if any("folded" in d for d in net.deviations):
        raise NorseModuleError("a Linear before a LIFRecurrentCell is folded into the cell on export, so its "
                               "weights cannot be fine-tuned apart: drop the Linear (the cell has input weights)")
    plan = compile_graph(to_nir(net), net.dt_s)
    (inp,) = plan.inputs
    calibration = np.asarray(calibration, np.float64)
    chosen = quantise_on_input(plan, {inp: calibration if calibration.ndim == 3 else calibration[None]})
    frozen = frozen_calibration(chosen)
    trained = FixedPlanModule(plan, frozen)
    _trainable(module, plan, trained)
    opt = torch.optim.Adam([p for p in trained.parameters() if p.requires_grad], lr=lr)
    last = plan.order()[-1].name
    losses, t0 = [], time.monotonic()
    for epoch in range(epochs):
        total, n = 0.0, 0
        for x, target in batches():
            out = trained({inp: torch.as_tensor(np.asarray(x, np.float64))})[last]
            loss = loss_fn(out, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            trained.clamp_weights()
            total, n = total + float(loss.detach()), n + 1
        losses.append(total / max(n, 1))
        log(f"finetune_module: epoch {epoch + 1} of {epochs} loss {losses[-1]:.4f}")
    trained.snap()
    _write_back(module, plan, trained)
    setattr(module, ATTRIBUTE, frozen)
    return FinetunedModule(module, frozen, losses, time.monotonic() - t0, chosen.report, trained)


def module_fixed_plan(module, plan, currents: dict):
    """The fixed-point plan of a module's ``plan``: with the frozen calibration it was fine-tuned with
    (``module.neuro_av_fixed_point``), else chosen on ``currents``; export and sim both ask here."""
    from neuro_av.export.lava.fixed_point import quantise, quantise_on_input

    frozen = getattr(module, ATTRIBUTE, None)
    if frozen is None:
        return quantise_on_input(plan, currents)
    fixed = quantise(plan, frozen=frozen)
    fixed.report["calibration_source"] = "frozen: module.neuro_av_fixed_point (fine-tuned with it)"
    return fixed
