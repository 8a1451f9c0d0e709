"""neuro-av: spiking audio-visual zero-shot learning, from Norse training to Loihi-style simulation.

Importing the package is light: Lava, ONNX and the models are imported by the code that uses them.
"""
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("neuro-av")
except _metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
