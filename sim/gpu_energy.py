"""Measured GPU energy of ``pre`` / ``post`` through NVML, where a CUDA GPU and ``pynvml`` are present.

NVML's total-energy counter (mJ since driver load, Volta and newer) is read before and after the
host work; the difference covers everything the GPU did meanwhile (other processes included).
"""
from __future__ import annotations


class GpuEnergyMeter:
    def __init__(self, device_index: int = 0):
        self.reason = None
        self.joules = 0.0
        self._handle = None
        try:
            import torch

            if not torch.cuda.is_available():
                self.reason = "no CUDA GPU"
                return
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except ImportError:
            self.reason = "pynvml is not installed (pip install nvidia-ml-py)"
        except Exception as exc:  # NVML without energy counters, driver issues: report, do not fail
            self.reason = f"NVML energy counter unavailable ({exc})"
            self._handle = None

    def __enter__(self):
        if self._handle is not None:
            import torch

            torch.cuda.synchronize()
            self._start = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        return self

    def __exit__(self, *exc):
        if self._handle is not None:
            import torch

            torch.cuda.synchronize()
            self.joules += (self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) - self._start) / 1000.0
        return False

    def result(self, clips: int) -> dict:
        if self._handle is None:
            return {"measured": False, "reason": self.reason}
        return {"measured": True, "joules_total": self.joules, "joules_per_clip": self.joules / max(clips, 1),
                "covers": "pre and post on the GPU (whole-device counter)"}
