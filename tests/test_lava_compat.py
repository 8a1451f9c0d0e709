"""Each Lava shim is needed on this stack, and with both the installed Lava runs and netx imports."""
import sys

import numpy as np
import pytest
from helpers import run_python
from neuro_av.export.lava import oracle as ref


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the ByteEncoder default is only rejected from 3.11")
def test_lava_fails_to_import_without_the_byte_encoder_shim():
    proc = run_python("import lava.magma.core.process.process")
    assert proc.returncode != 0
    assert "mutable default" in proc.stderr and "ByteEncoder" in proc.stderr


def test_lava_fails_to_import_after_the_multiprocessing_context_was_touched_without_the_shim():
    proc = run_python(
        "import multiprocessing as mp; mp.RLock()\n"
        "from neuro_av.lava_compat import _hashable_byte_encoder\n"
        "with _hashable_byte_encoder():\n    import lava.magma.core.process.process"
    )
    assert proc.returncode != 0 and "context has already been set" in proc.stderr


def test_lava_runs_after_tqdm_touched_the_multiprocessing_context():
    proc = run_python(
        "import numpy as np, tqdm\n"
        "for _ in tqdm.tqdm(range(2)): pass\n"
        "from neuro_av.doctor import check_lava_float\n"
        "print(check_lava_float())"
    )
    assert proc.returncode == 0, proc.stderr
    assert "equal to the NumPy oracle" in proc.stdout


def test_netx_fails_to_import_without_the_object_detection_placeholder():
    proc = run_python("from neuro_av.lava_compat import import_lava; import_lava(); import lava.lib.dl.netx")
    assert proc.returncode != 0
    # slayer/__init__ imports object_detection, which needs opencv (cv2) and torchvision
    assert "slayer/object_detection" in proc.stderr and "ModuleNotFoundError" in proc.stderr


def test_netx_imports_with_both_shims():
    proc = run_python(
        "from neuro_av.lava_compat import import_netx\n"
        "netx = import_netx()\n"
        "from lava.lib.dl.netx.hdf5 import Network\n"
        "import lava.lib.dl.slayer as slayer\n"
        "print(Network.__name__, slayer.block.cuba.Dense.__name__)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["Network", "Dense"]


def test_placeholder_says_why_it_is_empty():
    proc = run_python(
        "from neuro_av.lava_compat import import_netx; import_netx()\n"
        "import lava.lib.dl.slayer as s\n"
        "try:\n    s.obd.dataset\nexcept ImportError as e:\n    print(e)"
    )
    assert proc.returncode == 0, proc.stderr
    assert "needs opencv and torchvision" in proc.stdout


def _chain(tag, rng):
    if tag == "floating_pt":
        return [ref.LifLayer(rng.normal(0.25, 0.35, (9, 5)), du=0.25, dv=0.1, vth=0.9, bias=0.01),
                ref.LifLayer(rng.normal(0.25, 0.35, (4, 9)), du=0.5, dv=0.3, vth=0.7)]
    return [ref.LifLayer(np.round(rng.normal(30, 50, (9, 5))), du=900, dv=400, vth=200, bias=3),
            ref.LifLayer(np.round(rng.normal(30, 50, (4, 9))), du=2000, dv=1200, vth=150)]


def _assert_lava_matches_oracle(spikes_in, layers, tag):
    """Run the chain in Lava; every layer must equal the oracle and be neither silent nor saturated."""
    from stock_lava import run_stock_chain

    got = run_stock_chain(spikes_in, layers, tag)
    expected = (ref.run_float if tag == "floating_pt" else ref.run_fixed)(spikes_in, layers)
    for g, e in zip(got, expected):
        assert 0 < g.sum() < g.size, "the check needs a layer that neither stays silent nor saturates"
        np.testing.assert_array_equal(g, e)
    return got


@pytest.mark.lava
@pytest.mark.parametrize("tag", ["floating_pt", "fixed_pt"])
def test_dense_lif_network_runs_and_matches_numpy_oracle(tag):
    rng = np.random.default_rng(11)
    spikes_in = (rng.random((40, 5)) < 0.35).astype(float)
    got = _assert_lava_matches_oracle(spikes_in, _chain(tag, rng), tag)
    assert [g.shape for g in got] == [(40, 9), (40, 4)]


def test_oracle_fixed_point_decay_rounds_toward_zero():
    layer = ref.LifLayer(np.array([[-100.0]]), du=2048, dv=0, vth=10**6)
    spikes = np.array([[1.0], [0.0], [0.0]])
    # step 1 receives -100 << 6 = -6400; step 2 decays it to -6400·2047 >> 12 = -3198 (toward zero)
    out = ref.run_fixed(spikes, [layer])[0]
    assert out.sum() == 0
    assert ref._decay(np.array([-6400]), 2049).item() == -(6400 * 2047 >> 12) == -3198


def test_oracle_float_is_the_hand_computed_trajectory():
    layer = ref.LifLayer(np.array([[1.0]]), du=0.5, dv=0.5, vth=1.2)
    spikes = np.array([[1.0], [0.0], [0.0], [0.0]])
    # x = [0, 1, 0, 0] (Dense delay); u = [0, 1, .5, .25]; v = [0, 1, 1.0, .75] stays below 1.2
    out = ref.run_float(spikes, [layer])[0]
    np.testing.assert_array_equal(out[:, 0], [0, 0, 0, 0])
    # with vth 0.95: v(1) = 1 spikes and resets; then v = [.5, .5] stays below
    layer = ref.LifLayer(np.array([[1.0]]), du=0.5, dv=0.5, vth=0.95)
    np.testing.assert_array_equal(ref.run_float(spikes, [layer])[0][:, 0], [0, 1, 0, 0])


def test_the_resource_tracker_is_reaped_when_a_lava_command_exits():
    # Started by fork+exec, the tracker outlives its parent and, under an init that never reaps (a container's),
    # stays a zombie in the process group; the guarded process closes its pipe and reaps it at exit.
    proc = run_python(
        "import os, atexit\n"
        "from multiprocessing import resource_tracker\n"
        "from neuro_av.lava_compat import guard_lava_processes\n"
        "def check():\n"
        "    try:\n"
        "        os.waitpid(pid, os.WNOHANG)\n"
        "        print('not reaped')\n"
        "    except ChildProcessError:\n"
        "        print('reaped')\n"
        "atexit.register(check)\n"  # registered first, so it runs after the guard's handler (last in, first out)
        "guard_lava_processes()\n"
        "resource_tracker.ensure_running()\n"
        "pid = resource_tracker._resource_tracker._pid\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "reaped"
