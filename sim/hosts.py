"""Where ``pre`` and ``post`` run: torch (on the GPU when there is one) or the exported ONNX files.

Both speak NumPy at the boundary with the spiking branch: ``pre(batch)`` returns the NIR-named
streams (currents, thresholds, mask) and an opaque handle; ``post(handle, spikes)`` returns the clip
embeddings for the spikes of any backend.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from neuro_av.export.hybrid import as_snn_output, streams

from neuro_av import naming
from neuro_av.errors import RunError
from neuro_av.models.base import ClipBatch


class TorchHost:
    name = "torch"

    def __init__(self, model, device: torch.device):
        self.model = model.to(device).eval()
        self.device = device
        parts = self.model.partition()
        self._pre, self.snn, self._post = parts.pre, parts.snn, parts.post

    def pre(self, batch: ClipBatch):
        batch = ClipBatch(*(t.to(self.device) for t in batch))
        with torch.no_grad():
            snn_in, state = self._pre(batch)
        return streams(snn_in), (batch, state)

    def class_embeddings(self, text: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.model.class_embeddings(torch.from_numpy(text).to(self.device)).cpu()

    def post(self, handle, spikes: dict[str, np.ndarray]) -> list[np.ndarray]:
        batch, state = handle
        out = as_snn_output(self.snn, spikes)
        out = out._replace(spikes={c: [s.to(self.device) for s in v] for c, v in out.spikes.items()})
        with torch.no_grad():
            return [e.cpu().numpy() for e in self._post(batch, state, out)]


class OnnxHost:
    """``pre.onnx`` / ``post.onnx`` from ``neuro-av export`` through onnxruntime (CUDA provider when present)."""
    name = "onnx"

    def __init__(self, export_dir: Path, model):
        import onnxruntime as ort

        files = [Path(export_dir) / f for f in ("pre.onnx", "post.onnx")]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise RunError(f"--host onnx needs {', '.join(missing)}: run `neuro-av export RUN --target onnx` first")
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        self.pre_s, self.post_s = (ort.InferenceSession(str(f), providers=providers) for f in files)
        self.model = model  # on the CPU: the class projection is not part of the ONNX files

    def class_embeddings(self, text: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.model.class_embeddings(torch.from_numpy(text))

    def pre(self, batch: ClipBatch):
        feeds = {"audio": batch.audio.numpy(), "video": batch.video.numpy(), "mask": batch.mask.numpy()}
        names = [o.name for o in self.pre_s.get_outputs()]
        outs = dict(zip(names, self.pre_s.run(None, feeds)))
        kinds = {n: naming.parse(n) for n in names}
        currents = {n: outs[n].astype(np.float64) for n, k in kinds.items() if k and k.kind == "input"}
        thresholds = {n: outs[n].astype(np.float64) for n, k in kinds.items() if k and k.kind == "threshold"}
        state = {n: v for n, v in outs.items() if n.startswith(naming.STATE_PREFIX)}
        return (currents, thresholds, feeds["mask"].astype(bool)), (feeds, state)

    def post(self, handle, spikes: dict[str, np.ndarray]) -> list[np.ndarray]:
        feeds, state = handle
        wanted = {i.name for i in self.post_s.get_inputs()}
        all_feeds = {**feeds, **state, **{k: v.astype(np.float32) for k, v in spikes.items()}}
        return self.post_s.run(None, {k: v for k, v in all_feeds.items() if k in wanted})
