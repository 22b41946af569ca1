"""Text classification: a CSV/TSV or a folder of .txt files per class, tokenised on the training split,
trained by the sentiment template, and predicted from raw lines by `netcanvas predict`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from graph_builder import load_project, save_project
from runtime.cli import main
from runtime.data import DataError, load_splits
from tests.datasets import review_rows

ROOT = Path(__file__).resolve().parents[2]


def write_reviews(path: Path, rows=None, delimiter: str = ",", header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, delimiter=delimiter)
        out.writerow(header)
        out.writerows(review_rows() if rows is None else rows)
    return path


def text_config(path: Path, **extra) -> dict:
    return {"name": "text", "path": str(path), "vocab_size": 200, "max_length": 16, **extra}


def test_a_csv_becomes_token_ids_padded_with_zero_at_the_end(tmp_path):
    splits = load_splits(text_config(write_reviews(tmp_path / "r.csv")))
    x, y = splits["train"]
    assert x.dtype == np.int64 and x.shape[1] == 16 and splits.classes == ("negative", "positive")
    steps = (x != 0).sum(axis=1)
    assert steps.min() >= 1 and all((row[n:] == 0).all() for row, n in zip(x, steps))  # padding only at the end
    vocab = splits.info["tokenizer"]["json"]["model"]["vocab"]
    assert vocab["[PAD]"] == 0 and vocab["[UNK]"] == 1 and "wonderful" in vocab


def test_a_word_seen_only_outside_the_training_split_is_unknown(tmp_path):
    rows = review_rows(200)
    splits = load_splits(text_config(write_reviews(tmp_path / "r.csv", rows), test_fraction=0.5))
    vocab = splits.info["tokenizer"]["json"]["model"]["vocab"]
    assert "xylophone" not in vocab
    # the same corpus with a new word in every test-split row: the vocabulary does not change
    from runtime.data.splits import split_indices

    _, _, test = split_indices(np.array([r[1] for r in rows]), len(rows), 0.2, 0.5, 0)
    test_rows = set(test.tolist())
    rows2 = [(t + " xylophone", lab) if i in test_rows else (t, lab) for i, (t, lab) in enumerate(rows)]
    again = load_splits(text_config(write_reviews(tmp_path / "r2.csv", rows2), test_fraction=0.5))
    assert again.info["tokenizer"]["json"]["model"]["vocab"] == vocab
    assert (again["test"][0] == 1).any()  # [UNK]


def test_a_tsv_with_named_columns_and_a_folder_of_txt_files_per_class_read_the_same_texts(tmp_path):
    rows = review_rows(120)
    tsv = write_reviews(tmp_path / "r.tsv", [(lab, t) for t, lab in rows], "\t", ("sentiment", "review"))
    folder = tmp_path / "reviews"
    for i, (t, lab) in enumerate(rows):
        (folder / lab).mkdir(parents=True, exist_ok=True)
        (folder / lab / f"{i:04d}.txt").write_text(t, encoding="utf-8")
    from runtime.data.text import load_text

    a, b = load_text(tsv), load_text(folder)
    assert a.classes == b.classes == ("negative", "positive")
    assert sorted(zip(a.x, a.y)) == sorted(zip(b.x, b.y))
    bpe = load_splits(text_config(tsv, tokenizer="bpe", vocab_size=120))
    assert bpe["train"][0].dtype == np.int64 and bpe.info["tokenizer"]["kind"] == "bpe"


@pytest.mark.parametrize("content, settings, message", [
    (b"", {}, "r.csv is empty"),
    (b"text,label\n", {}, "has a header but no rows of text"),
    ("text,label\ncaf\u00e9 great,positive\n".encode("latin-1"), {}, "r.csv is not UTF-8 text"),
    (b"text,label\ngood,positive\nbad,negative\n", {"text_column": "body"}, "r.csv has no column 'body'"),
    (b"text,label\ngood,positive\nbad,negative\n", {"target": "stars"}, "r.csv has no column 'stars'"),
    (b"text,label\ngood,positive\nbad,\n", {}, "line 3, column 'label': the label is empty"),
    (b"text,label\ngood,positive\nbad,positive\n", {}, "has a single class ('positive')"),
])
def test_a_bad_text_file_or_setting_gives_one_line_naming_what_is_wrong(tmp_path, capsys, content, settings,
                                                                         message):
    (tmp_path / "r.csv").write_bytes(content)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_splits(text_config(tmp_path / "r.csv", **settings))
    project = load_project(ROOT / "resources" / "templates" / "sentiment_lstm.json")
    project.dataset.update(text_config(tmp_path / "r.csv", **settings))
    save_project(project, tmp_path / "p.json")
    capsys.readouterr()
    assert main(["train", str(tmp_path / "p.json"), "--out", str(tmp_path / "run")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_the_sentiment_template_beats_the_majority_class_and_predicts_raw_lines(tmp_path, capsys):
    rows = review_rows(600, positive_share=0.6, seed=3)
    corpus = write_reviews(tmp_path / "reviews.csv", rows)
    project = load_project(ROOT / "resources" / "templates" / "sentiment_lstm.json")
    project.dataset.update({"path": str(corpus)})
    save_project(project, tmp_path / "sentiment.json")
    run = tmp_path / "run"
    assert main(["train", str(tmp_path / "sentiment.json"), "--out", str(run), "--device", "cpu",
                 "--json"]) == 0
    finished = [json.loads(line) for line in capsys.readouterr().out.splitlines()][-1]
    _, y_test = load_splits(dict(project.dataset))["test"]
    majority = np.bincount(y_test).max() / len(y_test)
    accuracy = finished["test"]["accuracy"]
    with capsys.disabled():
        print(f"\nsentiment_lstm: test accuracy {accuracy:.3f}, the majority class's {majority:.3f}")
    assert majority < 0.7 and accuracy >= majority + 0.25
    assert json.loads((run / "config.json").read_text())["resolved"]["text"]["max_length"] == 48

    lines = ["A wonderful film, brilliant and delightful.", "", "Boring, dreadful acting and an awful plot.",
             "i loved it really superb", "the movie was dull and poor"]
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["predict", str(tmp_path / "sentiment.json"), "--run", str(run), str(tmp_path / "lines.txt"),
                 "--json"]) == 0
    predicted = {row["input"]: row["class"] for row in json.loads(capsys.readouterr().out)}
    assert predicted == {"lines.txt line 1": "positive", "lines.txt line 3": "negative",
                         "lines.txt line 4": "positive", "lines.txt line 5": "negative"}
    (tmp_path / "latin.txt").write_bytes("tr\u00e8s bien\n".encode("latin-1"))
    assert main(["predict", str(tmp_path / "sentiment.json"), "--run", str(run), str(tmp_path / "latin.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "latin.txt is not UTF-8 text" in err

    # the tokenizer travels with every export of the run, and the exported code classifies raw text with it
    for fmt, out in (("python", "py/model.py"), ("onnx", "onnx/model.onnx"), ("weights", "w/model.safetensors")):
        (tmp_path / out).parent.mkdir()
        assert main(["export", str(tmp_path / "sentiment.json"), "--format", fmt, "--run", str(run),
                     "--out", str(tmp_path / out)]) == 0, capsys.readouterr().err
        tokenizer = json.loads((tmp_path / out).with_name("tokenizer.json").read_text(encoding="utf-8"))
        assert tokenizer == json.loads((run / "config.json").read_text())["resolved"]["text"]["json"]
    import subprocess
    import sys

    code = ("import json, model, torch, onnxruntime as ort\n"
            "m = model.load_model()\n"
            "x = model.tokenize(['a wonderful film, really superb', 'boring and awful'])\n"
            "print([model.CLASSES[i] for i in m(x).argmax(1)])\n"
            "s = ort.InferenceSession('../onnx/model.onnx')\n"
            "print([model.CLASSES[i] for i in s.run(None, {s.get_inputs()[0].name: x.numpy()})[0].argmax(1)])\n"
            "print(json.loads(s.get_modelmeta().custom_metadata_map['tokenizer']) == json.load(open('tokenizer.json')))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "py", capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['positive', 'negative']"] * 2 + ["True"]  # torch, ONNX, and the metadata


def test_an_embedding_smaller_than_the_vocabulary_is_a_problem_with_a_fix(tmp_path):
    from graph_builder.datafit import check_fit
    from graph_builder.shapes import infer_shapes
    from runtime.data import describe_data

    project = load_project(ROOT / "resources" / "templates" / "sentiment_lstm.json")
    project.dataset.update(text_config(write_reviews(tmp_path / "r.csv"), max_length=48))
    g = project.graph
    emb = g.node_by_name("embedding")
    g.set_param(emb.id, "num_embeddings", 20)
    description = describe_data(dict(project.dataset))
    (issue,) = check_fit(g, infer_shapes(g), description, dict(project.training))
    assert issue.code == "fit-vocabulary" and issue.node_ids == (emb.id,)
    assert f"embedding has 20 rows (num_embeddings) but the data in r.csv has a vocabulary of {description.vocab}" \
        in issue.message
    g.apply(issue.fix.command)
    assert check_fit(g, infer_shapes(g), description, dict(project.training)) == []


def test_a_pt2_export_of_a_packed_recurrent_layer_is_refused_in_one_line(tmp_path, capsys):
    project = load_project(ROOT / "resources" / "templates" / "sentiment_lstm.json")
    save_project(project, tmp_path / "p.json")
    assert main(["export", str(tmp_path / "p.json"), "--format", "pt2", "--out", str(tmp_path / "m.pt2")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("export failed, nothing was written: lstm packs its padded sequences (output last_unpadded), "
                   "which torch.export cannot trace; export as Python or ONNX, or set its output to last")
    assert not (tmp_path / "m.pt2").exists()
