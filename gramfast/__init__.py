"""gramfast: embeddings that know grammar.

Stages (see DESIGN.md): ``gramfast.corpus`` parses text into a columnar store,
``gramfast.contexts`` turns parses into (target, context) pairs, ``gramfast.pretrain`` learns
vectors from them, ``gramfast.vectors`` reads, writes and evaluates vectors.
"""

__version__ = "0.1.0"
