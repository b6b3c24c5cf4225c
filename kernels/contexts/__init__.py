"""(target, context) pair extraction from dependency trees: reference (Python) and numba."""

from .compiled import dependency_pairs, relation_chains, window_pairs
from .reference import (
    N_ROLES,
    ROLE_CASE,
    ROLE_FIXED,
    ROLE_NOMINAL,
    ROLE_PLAIN,
    ROLE_POBJ,
    ROLE_PREP,
    ROLE_SKIP,
    DependencyPairs,
    TreeError,
    dependency_pairs_ref,
    relation_chains_ref,
    window_pairs_ref,
)

__all__ = [
    "N_ROLES",
    "ROLE_CASE",
    "ROLE_FIXED",
    "ROLE_NOMINAL",
    "ROLE_PLAIN",
    "ROLE_POBJ",
    "ROLE_PREP",
    "ROLE_SKIP",
    "DependencyPairs",
    "TreeError",
    "dependency_pairs",
    "dependency_pairs_ref",
    "relation_chains",
    "relation_chains_ref",
    "window_pairs",
    "window_pairs_ref",
]
