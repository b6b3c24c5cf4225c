"""``gramfast predict``: classify a stream of texts larger than memory, resumably.

The input is read in chunks of lines; each chunk is parsed (in worker processes when asked),
classified and appended to ``<out>.partial`` as one JSON record per input line, then flushed
to disk. A record is written for every line, an empty one included, so the records done are
the lines done: a restarted run cuts a half-written last record, skips that many lines and goes
on. ``<out>.partial.json`` ties the partial file to its input and model; the finished file is
renamed to ``<out>``, so a half-written output never looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import atomic_write_json, fsync_dir
from .data import ReadReport, data_format, iter_records
from .features import encode
from .infer import ProjectedLSTM
from .parsing import TextParser, batched
from .run import _check_pipeline
from .saved import load_model
from .train import predict_proba, resolve_device

log = logging.getLogger(__name__)

PredictProgress = Callable[[int, int, float], None]  # (lines done, total lines, lines/s)


def _partial_paths(out: Path) -> tuple[Path, Path]:
    return out.with_name(out.name + ".partial"), out.with_name(out.name + ".partial.json")


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            n += block.count(b"\n")
    return n


def _resume_point(partial: Path) -> int:
    """Records complete in ``partial``; a torn last record is cut off."""
    with open(partial, "rb+") as f:
        data_end = f.seek(0, os.SEEK_END)
        pos, n, tail = 0, 0, 0
        f.seek(0)
        while block := f.read(1 << 24):
            n += block.count(b"\n")
            last = block.rfind(b"\n")
            if last >= 0:
                tail = pos + last + 1
            pos += len(block)
        if tail != data_end:
            log.warning("%s: cutting a half-written last record (%d bytes)", partial,
                        data_end - tail)  # fmt: skip
            f.truncate(tail)
    return n


def predict_file(
    model_dir: Path,
    input_path: Path,
    out: Path,
    *,
    processes: int = 1,
    chunk_lines: int = 4096,
    batch_size: int = 512,
    device: str = "auto",
    fmt: str | None = None,
    text_column: str = "text",
    overwrite: bool = False,
    cpu_bf16: bool = False,
    progress: PredictProgress | None = None,
) -> dict[str, Any]:
    """Classify every line of ``input_path`` into JSONL records in ``out`` (resumable).

    Each record: ``{"line": n, "label": ..., "probs": {label: p}}``; an empty line gives
    ``{"line": n, "label": null, "skipped": "empty"}``; a truncated text adds
    ``"truncated": true``.

    Raises:
        InputError: a missing input, an existing ``out`` (without ``overwrite``), a partial
            output left by another input or model.
    """
    input_path, out = Path(input_path), Path(out)
    if not input_path.is_file():
        raise InputError(f"input {input_path} does not exist: check the path")
    kind = data_format(input_path, fmt)
    dev = resolve_device(device)
    saved = load_model(model_dir, dev)
    partial, state_path = _partial_paths(out)
    if out.exists():
        if not overwrite:
            raise InputError(f"{out} exists: pass --overwrite to predict again, or choose --out")
        out.unlink()
    state = {
        "input": str(input_path.resolve()),
        "input_bytes": input_path.stat().st_size,
        "model": saved.meta["weights_sha256"],
        "format": kind,
        "text_column": text_column,
        "cpu_bf16": cpu_bf16,
    }
    done = 0
    if partial.exists() and not overwrite:
        old = json.loads(state_path.read_text()) if state_path.is_file() else None
        if old != state:
            raise InputError(
                f"{partial} was left by a run on another input or model: pass --overwrite to "
                "start afresh, or delete it"
            )
        done = _resume_point(partial)
        log.info("resuming after %d lines", done)
    else:
        partial.unlink(missing_ok=True)
        atomic_write_json(state_path, state)

    total = count_lines(input_path)
    labels = saved.labels
    lexicons = saved.lexicons
    max_tokens = saved.meta["config"]["max_tokens"]
    counts: Counter[str] = Counter()
    report = ReadReport()
    start = time.perf_counter()
    lines_done = done
    classify_seconds = 0.0
    sentences = 0
    records = iter_records(input_path, kind, text_column, "label", False, report, skip=done)
    with (
        TextParser(saved.meta["config"].get("model"), processes) as parser,
        open(partial, "ab") as f,
    ):
        _check_pipeline(saved.meta.get("pipeline", {}), parser.info)
        projected = None  # one projection cache for the whole stream (CPU, fp32)
        if dev.type == "cpu" and not cpu_bf16 and ProjectedLSTM.supports(saved.model):
            projected = ProjectedLSTM(saved.model)
        for chunk in batched(records, chunk_lines):
            texts = [t for _, t, _ in chunk if t is not None]
            probs = None
            if texts:
                enc = encode(parser.parse(texts), lexicons, max_tokens, saved.meta["lowercase"])
                t0 = time.perf_counter()
                probs = predict_proba(
                    saved.model, enc, batch_size, dev, cpu_bf16=cpu_bf16, projected=projected
                )
                classify_seconds += time.perf_counter() - t0
                sentences += len(texts)
                truncated = enc.truncated_mask
                counts["truncated"] += enc.truncated
                counts["all_unknown"] += enc.all_unknown
            lines = []
            j = 0
            for lineno, text, _ in chunk:
                if text is None:
                    rec: dict[str, Any] = {"line": lineno, "label": None, "skipped": "empty"}
                    counts["empty"] += 1
                else:
                    p = probs[j]
                    best = int(p.argmax())
                    probs_of = {lab: round(float(x), 5) for lab, x in zip(labels, p)}
                    rec = {"line": lineno, "label": labels[best], "probs": probs_of}
                    if truncated[j]:
                        rec["truncated"] = True
                    counts[f"label:{labels[best]}"] += 1
                    j += 1
                lines.append(json.dumps(rec, ensure_ascii=False))
            f.write(("\n".join(lines) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
            lines_done += len(chunk)
            if progress is not None:
                rate = (lines_done - done) / max(time.perf_counter() - start, 1e-9)
                progress(lines_done, total, rate)
    partial.replace(out)
    state_path.unlink(missing_ok=True)
    fsync_dir(out.parent)
    seconds = time.perf_counter() - start
    return {
        "lines": lines_done,
        "resumed_after": done,
        "classified": sentences,
        "empty_skipped": counts.pop("empty", 0),
        "truncated": counts.pop("truncated", 0),
        "all_unknown": counts.pop("all_unknown", 0),
        "labels": {k.split(":", 1)[1]: v for k, v in sorted(counts.items())},
        "seconds": seconds,
        "lines_per_s": (lines_done - done) / max(seconds, 1e-9),
        "classify_sentences_per_s": sentences / max(classify_seconds, 1e-9),
    }
