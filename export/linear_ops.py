"""NIR's linear nodes as operators on (batch, *shape) arrays: one table entry per node type.

Every entry gives the output shape for an input shape, the linear part applied to a batch (float64,
through torch's own convolution and pooling, so the semantics are PyTorch's as NIR defines them),
the bias (N_out,) or None, and the rank the node expects of its input (to drop a batch dimension a
peer wrote into an Input type). A chain of linear nodes between two neuron populations becomes one
Dense: :mod:`neuro_av.export.compile` applies the entries to the columns of the matrix built so far.

Sharp edges: ``padding`` may be an int, a pair or ``"same"`` / ``"valid"`` (NIR's convention,
stride 1 for ``"same"``); ``AvgPool2d`` counts padded cells in its average (PyTorch's default);
``Flatten`` never reorders a C-ordered array, so it only changes the shape.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import nir
import numpy as np

from neuro_av.export.nir_read import NIRReadError, array


class LinearOp(NamedTuple):
    out_shape: Callable  # (node, in_shape) -> out_shape
    apply: Callable  # (node, x (B, *in_shape) float64) -> (B, *out_shape), linear part only
    bias: Callable  # (node, out_shape) -> (N_out,) float64 or None
    rank: int | None  # rank the node expects of its input (None: any; only the size matters)
    kind: str  # for placement and counts: dense, conv, pool, reshape, scale


def _pair(value, n: int) -> tuple[int, ...]:
    a = np.asarray(value).ravel()
    if a.size == 1:
        return (int(a[0]),) * n
    if a.size != n:
        raise NIRReadError(f"expected {n} values, got {a.tolist()}")
    return tuple(int(v) for v in a)


def _padding(node, n: int, kernel: tuple, dilation: tuple):
    pad = node.padding
    if isinstance(pad, bytes):
        pad = pad.decode()
    if isinstance(pad, np.ndarray) and pad.dtype.kind in "SUO":
        pad = str(pad.ravel()[0].decode() if isinstance(pad.ravel()[0], bytes) else pad.ravel()[0])
    if isinstance(pad, str):
        if pad == "valid":
            return (0,) * n, (0,) * n
        if pad == "same":
            if any(s != 1 for s in _pair(getattr(node, "stride", 1), n)):
                raise NIRReadError("padding 'same' needs stride 1")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
        raise NIRReadError(f"padding must be an int, a pair, 'same' or 'valid', got {pad!r}")
    p = _pair(pad, n)
    return p, p


def _conv_geometry(node, n: int):
    weight = array(node.weight)
    kernel = weight.shape[2:]
    stride, dilation = _pair(node.stride, n), _pair(node.dilation, n)
    before, after = _padding(node, n, kernel, dilation)
    return weight, kernel, stride, dilation, before, after


def _conv_out(node, shape, n: int):
    weight, kernel, stride, dilation, before, after = _conv_geometry(node, n)
    if len(shape) != n + 1:
        raise NIRReadError(f"expects a ({'C, ' + ', '.join('HW'[:n] if n == 2 else 'L')}) input, gets shape {tuple(shape)}")
    groups = int(np.asarray(node.groups))
    if shape[0] != weight.shape[1] * groups:
        raise NIRReadError(f"has {weight.shape[1] * groups} input channels (weight {weight.shape}, groups {groups}) "
                           f"but its input has shape {tuple(shape)}")
    spatial = [(s + b + a - d * (k - 1) - 1) // st + 1
               for s, b, a, d, k, st in zip(shape[1:], before, after, dilation, kernel, stride)]
    if min(spatial) < 1:
        raise NIRReadError(f"kernel {kernel} does not fit its input {tuple(shape)}")
    return (weight.shape[0], *spatial)


def _conv_apply(node, x, n: int):
    import torch
    import torch.nn.functional as F

    weight, kernel, stride, dilation, before, after = _conv_geometry(node, n)
    t = torch.from_numpy(np.ascontiguousarray(x, np.float64))
    pads = [p for b, a in zip(reversed(before), reversed(after)) for p in (b, a)]
    t = F.pad(t, pads)
    conv = F.conv2d if n == 2 else F.conv1d
    out = conv(t, torch.from_numpy(np.ascontiguousarray(weight, np.float64)), stride=stride, dilation=dilation,
               groups=int(np.asarray(node.groups)))
    return out.numpy()


def _conv_bias(node, out_shape):
    b = getattr(node, "bias", None)
    if b is None:
        return None
    b = array(b).ravel()
    if not b.any():
        return None
    return np.repeat(b, int(np.prod(out_shape[1:])))


def _pool_geometry(node):
    kernel = _pair(node.kernel_size, 2)
    stride = _pair(node.stride if node.stride is not None else node.kernel_size, 2)
    padding = _pair(node.padding if node.padding is not None else 0, 2)
    return kernel, stride, padding


def _pool_out(node, shape):
    kernel, stride, padding = _pool_geometry(node)
    if len(shape) != 3:
        raise NIRReadError(f"expects a (C, H, W) input, gets shape {tuple(shape)}")
    spatial = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip(shape[1:], padding, kernel, stride)]
    if min(spatial) < 1:
        raise NIRReadError(f"kernel {kernel} does not fit its input {tuple(shape)}")
    return (shape[0], *spatial)


def _pool_apply(node, x, average: bool):
    import torch
    import torch.nn.functional as F

    kernel, stride, padding = _pool_geometry(node)
    c = x.shape[1]
    ones = torch.ones((c, 1, *kernel), dtype=torch.float64)
    if average:
        ones = ones / float(kernel[0] * kernel[1])
    out = F.conv2d(torch.from_numpy(np.ascontiguousarray(x, np.float64)), ones, stride=stride, padding=padding, groups=c)
    return out.numpy()


def _flatten_out(node, shape):
    start, end = int(np.asarray(node.start_dim)), int(np.asarray(node.end_dim))
    rank = len(shape)
    # peers write start_dim with (torch) or without (NIR) the batch axis; the element order is the same
    start = start + rank if start < 0 else min(start, rank - 1)
    end = end + rank if end < 0 else min(end, rank - 1)
    if end < start:
        start, end = 0, rank - 1
    return (*shape[:start], int(np.prod(shape[start:end + 1])), *shape[end + 1:])


def _scale_apply(node, x):
    s = array(node.scale)
    return x * np.broadcast_to(s, x.shape[1:]) if s.size > 1 else x * float(s.ravel()[0])


def _affine_out(node, shape):
    w = array(node.weight)
    if w.ndim != 2:
        raise NIRReadError(f"weight must be 2-D (N_out, N_in), has shape {w.shape}")
    if int(np.prod(shape)) != w.shape[1]:
        raise NIRReadError(f"weight {w.shape} takes {w.shape[1]} inputs, its input has shape {tuple(shape)}")
    return (w.shape[0],)


def _affine_apply(node, x):
    return x.reshape(x.shape[0], -1) @ array(node.weight).T


def _affine_bias(node, out_shape):
    b = getattr(node, "bias", None)
    return None if b is None else array(b).ravel()


OPS: dict[type, LinearOp] = {
    nir.Affine: LinearOp(_affine_out, _affine_apply, _affine_bias, None, "dense"),
    nir.Linear: LinearOp(_affine_out, _affine_apply, lambda n, s: None, None, "dense"),
    nir.Conv1d: LinearOp(lambda n, s: _conv_out(n, s, 1), lambda n, x: _conv_apply(n, x, 1), _conv_bias, 2, "conv"),
    nir.Conv2d: LinearOp(lambda n, s: _conv_out(n, s, 2), lambda n, x: _conv_apply(n, x, 2), _conv_bias, 3, "conv"),
    nir.SumPool2d: LinearOp(_pool_out, lambda n, x: _pool_apply(n, x, False), lambda n, s: None, 3, "pool"),
    nir.AvgPool2d: LinearOp(_pool_out, lambda n, x: _pool_apply(n, x, True), lambda n, s: None, 3, "pool"),
    nir.Flatten: LinearOp(_flatten_out, lambda n, x: x, lambda n, s: None, None, "reshape"),
    nir.Scale: LinearOp(lambda n, s: tuple(s), _scale_apply, lambda n, s: None, None, "scale"),
}


def check_finite(name: str, node) -> None:
    for key in ("weight", "bias", "scale"):
        value = getattr(node, key, None)
        if value is not None and array(value).dtype.kind not in "biuf":
            raise NIRReadError(f"NIR node {name} ({type(node).__name__}): {key} holds values of dtype "
                               f"{array(value).dtype}, not numbers")
        if value is not None and not np.all(np.isfinite(array(value))):
            raise NIRReadError(f"NIR node {name} ({type(node).__name__}): {key} holds NaN or infinite values")
