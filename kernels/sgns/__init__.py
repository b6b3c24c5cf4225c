"""Skip-gram with negative sampling: reference (PyTorch), compiled (numba) and fused (Triton)."""

from .reference import sgns_step

__all__ = ["sgns_step"]
