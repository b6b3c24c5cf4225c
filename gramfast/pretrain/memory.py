"""Keep the C heap from holding on to freed memory during pretraining (glibc only).

Counting and pair extraction allocate and free many arrays of a few hundred KB. glibc raises
its mmap threshold each time such a mapped block is freed (up to 32 MB), after which blocks
of that size come from the heap, and a fragmented heap is not given back: on the shared
corpus this kept about 110 MB of freed counting buffers resident through training. A fixed
threshold (which also switches the raising off) and a trim after each phase keep the peak
near what is live. Elsewhere these calls are skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD = 128 * 1024  # glibc's default starting value


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018  (absent outside glibc, e.g. musl)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at 128 KB; True when it was set."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1)


def release_free_memory() -> None:
    """Give free heap pages back to the system (``malloc_trim(0)``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
