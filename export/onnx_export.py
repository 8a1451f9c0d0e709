"""``pre`` and ``post`` of a partitioned model as ONNX files (the parts that stay on the GPU).

``pre.onnx``:  (audio, video, mask) -> SNN input currents, threshold schedules and the pre-state
``post.onnx``: (audio, video, mask, pre-state..., spikes of every SNN layer...) -> clip embeddings

Tensors carry the names of :mod:`neuro_av.naming`: the graded input ``<chain>.input``, the threshold
streams ``<chain>.lif<i>.threshold``, the spikes of each layer ``<chain>.lif<i>``, the host state
``state.<path>`` and the embeddings ``embedding.<k>``; the batch axis is dynamic. Export uses the
TorchScript exporter (``dynamo=False``: torch 2.13's dynamo exporter failed on a dynamic batch); every
file is checked with
``onnx.checker`` and run in onnxruntime against torch at another batch size.

Sharp edge: ``torch.onnx.export`` switches the module to eval mode and restores its mode after;
the wrappers are put in eval mode first, so the torch reference and the file compute the same thing.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neuro_av import naming
from neuro_av.io import atomic_path
from neuro_av.models.base import ClipBatch
from neuro_av.models.partition import SnnInput, SnnOutput

OPSET = 17
CLIP_INPUTS = ("audio", "video", "mask")


def _flatten(tree, prefix: str) -> list[tuple[str, torch.Tensor]]:
    if isinstance(tree, torch.Tensor):
        return [(prefix, tree)]
    return [item for key in sorted(tree) for item in _flatten(tree[key], f"{prefix}.{key}")]


def _unflatten(names: list[str], tensors, prefix: str) -> dict:
    out: dict = {}
    for name, t in zip(names, tensors):
        node, *path = name[len(prefix) + 1:].split(".")
        cur = out
        for key in [node, *path][:-1]:
            cur = cur.setdefault(key, {})
        cur[[node, *path][-1]] = t
    return out


class _Pre(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.output_names: list[str] = []

    def forward(self, audio, video, mask):
        snn_in, state = self.model.pre(ClipBatch(audio, video, mask))
        named = [(naming.input_node(c), snn_in.current[c]) for c in sorted(snn_in.current)]
        named += [(naming.threshold_stream(c, i), th) for c in sorted(snn_in.thresholds)
                  for i, th in enumerate(snn_in.thresholds[c])]
        named += _flatten(state, naming.STATE_PREFIX.rstrip("."))
        self.output_names = [n for n, _ in named]
        return tuple(t for _, t in named)


class _Post(nn.Module):
    def __init__(self, model, state_names: list[str], chains: dict[str, int]):
        super().__init__()
        self.model, self.state_names, self.chains = model, state_names, chains

    def forward(self, audio, video, mask, *rest):
        n_state = len(self.state_names)
        state = _unflatten(self.state_names, rest[:n_state], naming.STATE_PREFIX.rstrip("."))
        spikes, k = {}, n_state
        for c in sorted(self.chains):
            spikes[c] = list(rest[k:k + self.chains[c]])
            k += self.chains[c]
        return tuple(self.model.post(ClipBatch(audio, video, mask), state, SnnOutput(spikes)))


def _export(module: nn.Module, args: tuple, input_names: list[str], output_names: list[str], path: Path) -> None:
    # the exporter's constant-folding and tracer notes are about its internals, not the user's model;
    # the file is checked against torch by onnxruntime right after (``_max_diff``)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(module, args, str(tmp), input_names=input_names, output_names=output_names,
                          dynamic_axes={n: {0: "batch"} for n in (*input_names, *output_names)},
                          opset_version=OPSET, dynamo=False)


def _max_diff(path: Path, feeds: dict[str, np.ndarray], reference) -> float:
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    got = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
    return max(float(np.abs(g.astype(np.float64) - r.detach().numpy().astype(np.float64)).max())
               for g, r in zip(got, reference))


def export_onnx(model, example: ClipBatch, check: ClipBatch, out_dir: Path) -> dict:
    """Write ``pre.onnx`` and ``post.onnx``; returns their paths and max |onnxruntime − torch| on ``check``
    (which should have another batch size than ``example``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    pre = _Pre(model).eval()
    with torch.no_grad():
        pre(*example)  # fixes the output names
    pre_names = list(pre.output_names)
    state_names = [n for n in pre_names if n.startswith(naming.STATE_PREFIX)]
    _export(pre, tuple(example), list(CLIP_INPUTS), pre_names, out_dir / "pre.onnx")

    snn = model.partition().snn
    chains = {c: len(layers) for c, layers in snn.chains.items()}
    spike_names = [naming.neuron_node(c, i) for c in sorted(chains) for i in range(chains[c])]

    def post_args(clips: ClipBatch):
        with torch.no_grad():
            outs = dict(zip(pre_names, pre(*clips)))
            snn_in = SnnInput({c: outs[naming.input_node(c)] for c in chains},
                              {c: [outs[naming.threshold_stream(c, i)] for i in range(chains[c])] for c in chains},
                              clips.mask)
            spikes = snn(snn_in).spikes
        return (*clips, *[outs[n] for n in state_names], *[spikes[c][i] for c in sorted(chains) for i in range(chains[c])])

    post = _Post(model, state_names, chains).eval()
    example_post = post_args(example)
    with torch.no_grad():
        n_out = len(post(*example_post))
    emb_names = [naming.embedding_name(k) for k in range(n_out)]
    _export(post, example_post, [*CLIP_INPUTS, *state_names, *spike_names], emb_names, out_dir / "post.onnx")

    check_post = post_args(check)
    feeds = dict(zip([*CLIP_INPUTS, *state_names, *spike_names], [t.numpy() for t in check_post]))
    with torch.no_grad():
        pre_diff = _max_diff(out_dir / "pre.onnx", feeds, pre(*check))
        post_diff = _max_diff(out_dir / "post.onnx", feeds, post(*check_post))
    return {"files": {"pre": "pre.onnx", "post": "post.onnx"},
            "max_abs_diff": {"pre": pre_diff, "post": post_diff}, "opset": OPSET, "check_batch": int(check.audio.shape[0])}
