"""Pretraining stage: skip-gram with negative sampling over contexts of a parsed store."""

from .config import ContextChoice, Device, PretrainConfig
from .trainer import pretrain, store_checksum

__all__ = ["ContextChoice", "Device", "PretrainConfig", "pretrain", "store_checksum"]
