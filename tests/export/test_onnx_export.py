"""pre / post of both spiking models as ONNX files: checked, dynamic batch, parity with torch."""
import numpy as np
import onnxruntime as ort
import pytest
import torch
from export_fixtures import small_model
from neuro_av.export.onnx_export import export_onnx

from neuro_av import naming
from neuro_av.models.base import ClipBatch


def clips(b, seed):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, 6, dtype=torch.bool)
    mask[0, 4:] = False
    return ClipBatch(torch.randn(b, 6, 512, generator=g), torch.randn(b, 6, 512, generator=g), mask)


@pytest.mark.parametrize("name", ["stft", "mdft"])
def test_pre_and_post_export_with_parity(tmp_path, name):
    model = small_model(name, seed=0)
    report = export_onnx(model, clips(3, 1), clips(5, 2), tmp_path)
    assert (tmp_path / "pre.onnx").is_file() and (tmp_path / "post.onnx").is_file()
    assert report["check_batch"] == 5
    assert report["max_abs_diff"]["pre"] <= 1e-5 and report["max_abs_diff"]["post"] <= 1e-5, report
    # the full chain pre.onnx -> torch snn -> post.onnx reproduces the model
    x = clips(4, 3)
    pre = ort.InferenceSession(str(tmp_path / "pre.onnx"), providers=["CPUExecutionProvider"])
    post = ort.InferenceSession(str(tmp_path / "post.onnx"), providers=["CPUExecutionProvider"])
    feeds = {"audio": x.audio.numpy(), "video": x.video.numpy(), "mask": x.mask.numpy()}
    pre_out = dict(zip([o.name for o in pre.get_outputs()], pre.run(None, feeds)))
    snn_in, _ = model.pre(x)
    with torch.no_grad():
        spikes = model.partition().snn(snn_in).spikes
    for chain, layers in spikes.items():
        for i, s in enumerate(layers):
            feeds[naming.neuron_node(chain, i)] = s.numpy()
    feeds.update({k: v for k, v in pre_out.items() if k.startswith("state.")})
    wanted = {i.name for i in post.get_inputs()}
    emb = post.run(None, {k: v for k, v in feeds.items() if k in wanted})
    with torch.no_grad():
        ref = model.clip_embeddings(x)
    for e, r in zip(emb, ref):
        np.testing.assert_allclose(e, r.numpy(), atol=1e-5)
