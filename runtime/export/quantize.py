"""int8 ONNX for small devices: the parity-checked float export, quantised by onnxruntime, measured before and after.

A network with convolutions is quantised statically (QDQ, per-channel int8 weights, activation ranges
calibrated on batches of the training split): onnxruntime's dynamic ConvInteger is slow on most CPUs
and missing on many device runtimes. Every other network (MLP, RNN, transformer) is quantised
dynamically: int8 weights, activations quantised as they arrive, no data needed. The float and int8
files' sizes and test accuracies (or, without classes, how far the int8 outputs move) are measured on
the same test split the trainer reports, so the numbers compare with the run's.

    report = export_onnx_int8(module, "model-int8.onnx", graph=graph, data=QuantData.of(project.dataset))
    print(report.summary())
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.export.formats import ExportError, OnnxReport

ACCURACY_TOLERANCE = 0.01  # one point of test accuracy: the most an int8 file may lose and still pass
CALIBRATION_SAMPLES = 512  # of the training split; more moves the ranges little and takes longer
CALIBRATION_BATCH = 64
MEASURE_BATCH = 1024
STATIC_OPS = frozenset({"Conv", "ConvTranspose"})  # a network holding one of these is calibrated


class QuantizeError(ExportError):
    """A model onnxruntime cannot quantise (or one that would not get smaller), or a CNN without data to calibrate."""


@dataclass(frozen=True)
class QuantData:
    """The splits an int8 export calibrates on (train) and is measured on (test), as the model takes them."""

    train: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: int  # 0: the targets are values, not classes
    why_missing: str = ""  # set when the arrays are empty: why the project's data could not be used

    @classmethod
    def missing(cls, why: str) -> QuantData:
        empty = np.empty((0,), dtype=np.float32)
        return cls(empty, empty, empty, 0, why)

    @classmethod
    def of(cls, dataset, raw: bool = False) -> QuantData:
        """The project's dataset split as the trainer splits it; `raw` undoes the normalisation (a run's export
        normalises its inputs itself)."""
        from graph_builder.data_description import CLASSES
        from runtime.data import DataError, load_splits

        try:
            splits = load_splits(dict(dataset))
        except (DataError, OSError, ValueError) as exc:
            return cls.missing(f"the project's dataset cannot be read ({exc})")
        (train, _), (test_x, test_y) = splits["train"], splits["test"]
        if raw and splits.mean is not None:
            train, test_x = (x * splits.std + splits.mean for x in (train, test_x))
        classes = len(splits.classes) if splits.kind == CLASSES else 0
        return cls(np.asarray(train, dtype=np.float32), np.asarray(test_x, dtype=np.float32), np.asarray(test_y),
                   classes)

    def __bool__(self) -> bool:
        return len(self.train) > 0


@dataclass
class Int8Report:
    """What export_onnx_int8 wrote, and the float and int8 files measured side by side."""

    path: Path
    method: str  # "static" or "dynamic"
    float_bytes: int
    int8_bytes: int
    float_onnx: OnnxReport
    metric: str = ""  # "accuracy", "mean output difference", or "" when nothing was measured
    float_score: float | None = None
    int8_score: float | None = None
    test_samples: int = 0
    calibration_samples: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Within ACCURACY_TOLERANCE of the float file's accuracy (or not measurable by accuracy)."""
        if self.metric != "accuracy":
            return True
        return self.float_score - self.int8_score <= ACCURACY_TOLERANCE

    def summary(self) -> str:
        """One sentence the CLI prints and the Export dialog shows."""
        how = (f"static int8, calibrated on {self.calibration_samples:,} training samples" if self.method == "static"
               else "dynamic int8 weights")
        text = (f"Wrote the int8 ONNX model to {self.path} ({how}): {self.int8_bytes:,} bytes, "
                f"{self.int8_bytes / self.float_bytes:.0%} of the float file's {self.float_bytes:,}.")
        if self.metric == "accuracy":
            verdict = "within" if self.ok else "more than"
            text += (f" Test accuracy {self.int8_score:.2%} against the float model's {self.float_score:.2%} on "
                     f"{self.test_samples:,} samples ({verdict} {ACCURACY_TOLERANCE * 100:g} point).")
        elif self.metric:
            text += (f" On {self.test_samples:,} test samples its outputs differ from the float model's by "
                     f"{self.int8_score:.3g} on average.")
        return text + "".join(f" {note}" for note in self.notes)


def export_onnx_int8(module, path: str | os.PathLike, *, graph=None, data: QuantData | None = None,
                     metadata: dict[str, str] | None = None, exporter: str = "auto", seed: int = 0) -> Int8Report:
    """Export `module` to float ONNX (parity-checked), quantise it to int8 at `path`, and measure both.

    Raises QuantizeError, writing nothing, when onnxruntime cannot quantise the model, when the int8 file would
    be no smaller (nothing in it has weights onnxruntime quantises), or when a CNN has no data to calibrate on.
    """
    import onnx

    from graph_builder.files import replace_atomic, temp_beside
    from runtime.compile.compiler import interface_of
    from runtime.export.formats import _check_target, export_onnx

    path = _check_target(path)
    data = data if data is not None else QuantData.missing("no dataset was given")
    iface = interface_of(module)
    unfit = _unfit(iface, data)
    with tempfile.TemporaryDirectory(prefix="netcanvas-int8-") as work:
        float_path = Path(work) / "float.onnx"
        float_report = export_onnx(module, float_path, graph=graph, exporter=exporter, seed=seed, metadata=metadata)
        ops = {node.op_type for node in onnx.load(str(float_path)).graph.node}
        method = "static" if ops & STATIC_OPS else "dynamic"
        if method == "static" and unfit:
            raise QuantizeError(f"a network with convolutions is quantised with calibration batches from its "
                                f"training split, but {unfit}; export onnx (float) instead, or give the project "
                                "a dataset this network takes")
        prepared = _prepared(float_path, Path(work) / "prepared.onnx")
        tmp = temp_beside(path)
        try:
            calibration = _quantize(prepared, tmp, method, data, iface.inputs[0].export_name)
            proto = onnx.load(str(tmp))  # the float file's properties, and how this one was made
            onnx.helper.set_model_props(proto, {**{str(k): str(v) for k, v in (metadata or {}).items()},
                                                "quantization": f"{method} int8 (onnxruntime {_ort_version()})"})
            onnx.save(proto, str(tmp))
            float_bytes, int8_bytes = float_path.stat().st_size, tmp.stat().st_size
            if int8_bytes >= float_bytes:
                raise QuantizeError(f"the int8 file would be {int8_bytes:,} bytes, no smaller than the float file's "
                                    f"{float_bytes:,}: the network holds no layer whose weights onnxruntime quantises "
                                    "(Linear, Conv, RNN, attention); export onnx (float) instead")
            report = Int8Report(path, method, float_bytes, int8_bytes, float_report,
                                calibration_samples=calibration)
            if unfit:
                report.notes.append(f"Test accuracy was not measured: {unfit}.")
            else:
                _measure(report, float_path, tmp, data)
            replace_atomic(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return report


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def _unfit(iface, data: QuantData) -> str:
    """Why `data` cannot feed the network's input ("" when it can)."""
    if not data:
        return data.why_missing
    if len(iface.inputs) != 1:
        return f"the network has {len(iface.inputs)} inputs and the dataset feeds one"
    want, have = tuple(iface.inputs[0].shape[1:]), tuple(data.train.shape[1:])
    if iface.inputs[0].dtype != "float32":
        return f"its input {iface.inputs[0].name} takes {iface.inputs[0].dtype} ids, not measured values"
    if want != have:
        return f"its input {iface.inputs[0].name} takes samples of shape {want} and the dataset's are {have}"
    return ""


def _prepared(float_path: Path, out: Path) -> Path:
    """onnxruntime's recommended pre-processing (shape inference, graph optimisation), when it can run."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(float_path), str(out))
    except Exception:  # noqa: BLE001 — it is optional: a model it cannot handle is quantised as exported
        return float_path
    return out


def _quantize(source: Path, out: Path, method: str, data: QuantData, input_name: str) -> int:
    """Quantise `source` to `out`; the number of calibration samples used (0 for dynamic)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

    class Batches(CalibrationDataReader):
        def __init__(self, x: np.ndarray) -> None:
            self.batches = iter([{input_name: x[i:i + CALIBRATION_BATCH]} for i in range(0, len(x), CALIBRATION_BATCH)])

        def get_next(self):
            return next(self.batches, None)

    try:
        if method == "dynamic":
            quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8)
            return 0
        # an evenly spread subset, so every class of a sorted split is seen
        step = max(1, len(data.train) // CALIBRATION_SAMPLES)
        calibration = np.ascontiguousarray(data.train[::step][:CALIBRATION_SAMPLES])
        quantize_static(str(source), str(out), Batches(calibration), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        return len(calibration)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 — onnxruntime raises many kinds; name the cause
        first = str(exc).strip().splitlines()[0][:400] if str(exc).strip() else type(exc).__name__
        raise QuantizeError(f"onnxruntime could not quantise this network ({method}): {first}; "
                            "export onnx (float) instead") from exc


def _measure(report: Int8Report, float_path: Path, int8_path: Path, data: QuantData) -> None:
    """The float and int8 files' test accuracy (or the int8 outputs' mean difference) on the test split."""
    import onnxruntime as ort

    if not len(data.test_x):
        report.notes.append("Test accuracy was not measured: the dataset has no test split.")
        return
    outputs = []
    for file in (float_path, int8_path):
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        # in chunks: a large test split (CIFAR-10's 10,000 images) stays a few megabytes per run
        outputs.append(np.concatenate([session.run(None, {name: data.test_x[i:i + MEASURE_BATCH]})[0]
                                       for i in range(0, len(data.test_x), MEASURE_BATCH)]))
    report.test_samples = len(data.test_x)
    if data.classes and outputs[0].ndim == 2:
        report.metric = "accuracy"
        report.float_score, report.int8_score = (float((_predicted(o) == data.test_y).mean()) for o in outputs)
    else:
        report.metric = "mean output difference"
        report.float_score, report.int8_score = 0.0, float(np.mean(np.abs(outputs[0] - outputs[1])))


def _predicted(scores: np.ndarray) -> np.ndarray:
    """Class ids from a classifier's scores: one logit per class, or a single logit of a binary one."""
    return scores.argmax(1) if scores.shape[1] > 1 else (scores[:, 0] > 0).astype(np.int64)
