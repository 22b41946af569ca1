"""Text classification data: a CSV/TSV of a text and a label column, or one folder of .txt files per class.

The texts stay strings until the split is made; `fit_tokenizer` then learns a word-level or BPE
vocabulary (HuggingFace `tokenizers`) on the training split alone, and `encode` turns every split
into token ids (N, max_length) int64, padded at the end with id 0. Padding id 0 is what an
Embedding's padding_idx=0 keeps at a zero vector, and what a recurrent layer's `skip_padding`
reads the lengths from (runtime.compile.lowering).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from graph_builder.data_description import CLASSES

from runtime.data.errors import DatasetFileNotFoundError, DatasetFormatError, DatasetSettingError
from runtime.data.limits import check_file_size, check_regular
from runtime.data.raw import RawData, label_codes

PAD, UNK = "[PAD]", "[UNK]"  # ids 0 and 1
TEXT_COLUMNS = ("text", "review", "sentence", "content")  # read when no text column is set
LABEL_COLUMNS = ("label", "sentiment", "class", "target", "category")
TEXT_PARSE_FACTOR = 8  # the texts held as Python strings, then as token ids


def load_text(path: str | Path | None, text_column: str | None = None, label_column: str | None = None,
              tokenizer: str = "word", vocab_size: int = 5000, max_length: int = 128) -> RawData:
    """Texts and labels from a CSV/TSV file or a folder of class folders; tokenised later, on the training split."""
    if not path:
        raise DatasetSettingError("the text dataset needs a path; choose a CSV/TSV file or a folder with one "
                                  "sub-folder of .txt files per class in the dataset settings")
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetFileNotFoundError(f"there is no file or folder {str(p)!r} for the text dataset; check the path")
    texts, labels = _read_folder(p) if p.is_dir() else _read_table(p, text_column, label_column)
    y, classes = label_codes(np.asarray(labels))
    if len(classes) < 2:
        raise DatasetFormatError(f"{p.name} has a single class ({classes[0]!r}); classification needs at least two")
    x = np.empty(len(texts), dtype=object)
    x[:] = texts
    return RawData(x, y, CLASSES, classes,
                   text={"tokenizer": tokenizer, "vocab_size": vocab_size, "max_length": max_length})


def _decode(p: Path, what: str) -> str:
    try:
        return p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"{p.name} is not UTF-8 text (byte {exc.start} is {p.read_bytes()[exc.start]:#04x}); "
                                 f"save the {what} as UTF-8") from None
    except OSError as exc:
        raise DatasetFormatError(f"{p} cannot be read ({exc.strerror or exc}); check the file's permissions") \
            from None


def _read_table(p: Path, text_column: str | None, label_column: str | None) -> tuple[list[str], list[str]]:
    check_regular(p, "text")
    check_file_size(p, "texts, parsed", factor=TEXT_PARSE_FACTOR)
    text = _decode(p, "table")
    if not text.strip():
        raise DatasetFormatError(f"{p.name} is empty; a text dataset needs a header row (a text and a label "
                                 "column) and one row per sample")
    if p.suffix.lower() == ".tsv":
        dialect = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:4096].split("\n", 1)[0], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # one review may be long
    try:
        rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in r)]
    except csv.Error as exc:
        raise DatasetFormatError(f"{p.name} is not a readable CSV/TSV file ({exc}); check its quoting") from None
    header = [c.strip() for c in rows[0]]
    if len(header) < 2:
        raise DatasetFormatError(f"{p.name} has {len(header)} column; a text dataset needs a text and a label "
                                 "column (is the separator a comma, semicolon or tab?)")
    body = rows[1:]
    if not body:
        raise DatasetFormatError(f"{p.name} has a header but no rows of text")
    t = _column(header, text_column, TEXT_COLUMNS, 0, "text column", p.name)
    lab = _column(header, label_column, LABEL_COLUMNS, len(header) - 1, "label column", p.name)
    if t == lab:
        raise DatasetSettingError(f"{p.name}: the text and the label are both column {header[t]!r}; set the text "
                                  "column and the label column to two different columns")
    texts, labels = [], []
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise DatasetFormatError(f"{p.name} line {i + 2} has {len(row)} values but the header has {len(header)}; "
                                     "quote texts that hold the separator")
        label = row[lab].strip()
        if not label:
            raise DatasetFormatError(f"{p.name} line {i + 2}, column {header[lab]!r}: the label is empty; every row "
                                     "needs a label (fill it or remove the row)")
        texts.append(row[t])
        labels.append(label)
    return texts, labels


def _column(header: list[str], chosen: str | None, usual: tuple[str, ...], fallback: int, what: str,
            name: str) -> int:
    """The index of the `what` column: the one chosen (a name or 0-based index), else a usual name, else fallback."""
    if chosen is None or chosen == "":
        lower = [h.lower() for h in header]
        return next((lower.index(u) for u in usual if u in lower), fallback)
    if chosen in header:
        return header.index(chosen)
    try:
        index = int(chosen)
    except ValueError:
        raise DatasetSettingError(f"{name} has no column {chosen!r} (the {what}); its columns are "
                                  f"{', '.join(repr(h) for h in header)}") from None
    if not 0 <= index < len(header):
        raise DatasetSettingError(f"{name} has {len(header)} columns, so {what} {index} does not exist; use "
                                  f"0..{len(header) - 1} or a column name")
    return index


def _read_folder(root: Path) -> tuple[list[str], list[str]]:
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(class_dirs) < 2:
        raise DatasetFormatError(f"{str(root)!r} has {len(class_dirs)} class folder(s); a text folder needs one "
                                 "sub-folder of .txt files per class, at least two (e.g. pos/ and neg/)")
    texts, labels = [], []
    for d in class_dirs:
        found = sorted(f for f in d.rglob("*.txt") if f.is_file())
        if not found:
            raise DatasetFormatError(f"class folder {d.name!r} holds no .txt files; add texts or remove the folder")
        for f in found:
            check_regular(f, "text")
            texts.append(_decode(f, "text"))
            labels.append(d.name)
    return texts, labels


# ---------------------------------------------------------------- the tokenizer


def fit_tokenizer(texts, kind: str = "word", vocab_size: int = 5000, max_length: int = 128):
    """A `tokenizers.Tokenizer` learnt on `texts` (the training split): lower-cased words or BPE pieces,
    [PAD] = 0 and [UNK] = 1, every encoding truncated and padded to `max_length`."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    special = [PAD, UNK]
    if kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    else:
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([str(t) for t in texts], trainer)
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=0, pad_token=PAD, length=max_length)
    return tok


def read_tokenizer(text: str):
    """A tokenizer from its JSON text (a run's record or an exported tokenizer.json)."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(text)


def encode(tok, texts) -> np.ndarray:
    """Token ids (N, max_length) int64 of `texts`, padded with 0 at the end."""
    encodings = tok.encode_batch([str(t) for t in texts])
    length = tok.padding["length"] if tok.padding else max((len(e.ids) for e in encodings), default=1)
    x = np.zeros((len(encodings), length), dtype=np.int64)
    for i, e in enumerate(encodings):
        x[i, :len(e.ids)] = e.ids
    return x
