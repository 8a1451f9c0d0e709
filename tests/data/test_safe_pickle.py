"""Opening a dataset never executes code from its pickles."""
import os
import pickle

import numpy as np
import pytest

from neuro_av.data.safe_pickle import UnsafePickleError, load_npy_object, load_pickle
from neuro_av.errors import DataError


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_plain_data_loads(tmp_path):
    obj = {"features": [np.ones((2, 3), np.float32)], "video_names": ["a", b"b"], "fps": 1.0, "n": {1, 2}}
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps(obj))
    back = load_pickle(tmp_path / "ok.pkl")
    assert back["video_names"] == ["a", b"b"] and back["features"][0].shape == (2, 3)


def test_code_in_a_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"features": _Evil(marker)}))
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl.*posix\.system|evil\.pkl.*os\.system"):
        load_pickle(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_code_in_an_npy_object_array_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    np.save(tmp_path / "evil.npy", np.array({"cls": _Evil(marker)}, dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError, match="evil.npy"):
        load_npy_object(tmp_path / "evil.npy")
    assert not marker.exists()


def test_npy_dict_and_numeric_npy(tmp_path):
    np.save(tmp_path / "d.npy", np.array({"x": np.arange(3.0)}, dtype=object), allow_pickle=True)
    assert load_npy_object(tmp_path / "d.npy")["x"].tolist() == [0.0, 1.0, 2.0]
    np.save(tmp_path / "n.npy", np.eye(2))
    assert load_npy_object(tmp_path / "n.npy").tolist() == [[1.0, 0.0], [0.0, 1.0]]


BYTEARRAY_1TIB = b"\x80\x02cbuiltins\nbytearray\n\x8a\x06\x00\x00\x00\x00\x00\x01\x85R."  # bytearray(2**40)
ARRAY_1TIB = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
              b"\x8a\x06\x00\x00\x00\x00\x00\x01\x85C\x01b\x87R.")  # _reconstruct(ndarray, (2**40,), 'b')
BYTES_1PIB = b"\x80\x04\x8e" + (2**50).to_bytes(8, "little") + b"abc."  # BINBYTES8 stating 1 PiB


@pytest.mark.parametrize("bomb", [BYTEARRAY_1TIB, ARRAY_1TIB, BYTES_1PIB], ids=["bytearray", "array", "binbytes8"])
def test_a_pickle_bomb_is_refused_in_one_line_before_it_allocates(tmp_path, bomb):
    f = tmp_path / "bomb.pkl"
    f.write_bytes(bomb)
    with pytest.raises(DataError, match=r"bomb\.pkl: .*(pickle bomb|more memory)"):
        load_pickle(f)
    np.save(tmp_path / "bomb.npy", np.array([b"x"], dtype=object), allow_pickle=True)
    header = (tmp_path / "bomb.npy").read_bytes()
    cut = header.index(b"\n") + 1  # the npy header, then the pickle payload
    (tmp_path / "bomb.npy").write_bytes(header[:cut].replace(b"(1,)", b"()  ") + bomb)
    with pytest.raises(DataError, match=r"bomb\.npy"):
        load_npy_object(tmp_path / "bomb.npy")


def test_an_encoding_other_than_latin1_is_refused(tmp_path):
    f = tmp_path / "codec.pkl"
    f.write_bytes(b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(UnsafePickleError, match="codecs.encode"):
        load_pickle(f)
