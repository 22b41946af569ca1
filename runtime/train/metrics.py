"""Metrics on the device, accumulated batch by batch without a host sync per batch.

Classification: loss, accuracy, per-class precision / recall / F1 with their macro averages, the
confusion matrix, and ROC-AUC for two classes. Regression (and reconstruction): loss, MSE, MAE
and R² (1 - SSE/SST over every target value). Generated samples: their diversity against real ones.
Which direction is better is each metric's task's to say (graph_builder.tasks), passed in here.
"""

from __future__ import annotations

import torch


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, num_classes) int64 counts; rows are true classes, columns predictions."""
    index = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_scores(matrix: torch.Tensor) -> dict[str, torch.Tensor]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where undefined)."""
    m = matrix.double()
    tp = m.diagonal()
    predicted = m.sum(0)
    support = m.sum(1)
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(support > 0, tp / support.clamp(min=1), torch.zeros_like(tp))
    denom = precision + recall
    f1 = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-12), torch.zeros_like(tp))
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def roc_auc_binary(scores: torch.Tensor, target: torch.Tensor) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); None with one class only."""
    scores = scores.reshape(-1).double()
    target = target.reshape(-1).bool()
    pos = int(target.sum())
    neg = target.numel() - pos
    if pos == 0 or neg == 0:
        return None
    order = torch.argsort(scores)
    sorted_scores = scores[order]
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, scores.numel() + 1, dtype=torch.float64, device=scores.device)
    # Average the ranks of tied scores.
    uniq, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    if len(uniq) < scores.numel():
        ends = torch.cumsum(counts, 0).double()
        mean_rank = ends - (counts.double() - 1) / 2
        ranks[order] = mean_rank[inverse]
    u = ranks[target].sum() - pos * (pos + 1) / 2
    return float(u / (pos * neg))


def regression_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, MAE and R² of two same-shaped tensors."""
    meter = RegressionMeter(pred.device)
    meter.update(pred, target, torch.zeros((), device=pred.device))
    out = meter.compute()
    out.pop("loss")
    return out


class ClassificationMeter:
    """Accumulates loss, the confusion matrix and (for two classes) scores for ROC-AUC."""

    def __init__(self, num_classes: int, device: torch.device, keep_scores: bool = False) -> None:
        self.num_classes = num_classes
        self.keep_scores = keep_scores and num_classes == 2
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.count = 0
        self.scores: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, pred: torch.Tensor, target: torch.Tensor, loss_sum: torch.Tensor,
               positive_score: torch.Tensor | None = None) -> None:
        """Add a batch: predicted classes, true classes, the batch's summed loss, P(class 1) if binary."""
        self.matrix += confusion_matrix(pred, target, self.num_classes)
        self.loss_sum += loss_sum.detach().double()
        self.count += target.shape[0]
        if self.keep_scores and positive_score is not None:
            self.scores.append(positive_score.detach().float().reshape(-1))
            self.targets.append(target.detach().reshape(-1))

    def compute(self) -> dict:
        """Plain numbers: loss, accuracy, macro precision/recall/F1, per-class lists, AUC (binary)."""
        if self.count == 0:
            return {}
        scores = per_class_scores(self.matrix)
        total = self.matrix.sum()
        out = {
            "loss": float(self.loss_sum / self.count),
            "accuracy": float(self.matrix.diagonal().sum().double() / total.clamp(min=1)),
            "precision_macro": float(scores["precision"].mean()),
            "recall_macro": float(scores["recall"].mean()),
            "f1_macro": float(scores["f1"].mean()),
            "precision": [round(v, 6) for v in scores["precision"].tolist()],
            "recall": [round(v, 6) for v in scores["recall"].tolist()],
            "f1": [round(v, 6) for v in scores["f1"].tolist()],
            "support": [int(v) for v in scores["support"].tolist()],
        }
        if self.scores:
            auc = roc_auc_binary(torch.cat(self.scores), torch.cat(self.targets))
            if auc is not None:
                out["auc"] = auc
        return out


class RegressionMeter:
    """Accumulates loss, squared and absolute errors and target moments for R²."""

    def __init__(self, device: torch.device) -> None:
        z = lambda: torch.zeros((), dtype=torch.float64, device=device)  # noqa: E731
        self.loss_sum, self.sse, self.sae, self.sum_y, self.sum_y2 = z(), z(), z(), z(), z()
        self.count = 0
        self.values = 0

    def update(self, pred: torch.Tensor, target: torch.Tensor, loss_sum: torch.Tensor) -> None:
        """Add a batch of predictions, targets (same shape) and the batch's summed loss."""
        p = pred.detach().double().reshape(target.shape)
        t = target.detach().double()
        err = p - t
        self.sse += (err * err).sum()
        self.sae += err.abs().sum()
        self.sum_y += t.sum()
        self.sum_y2 += (t * t).sum()
        self.loss_sum += loss_sum.detach().double()
        self.count += target.shape[0]
        self.values += t.numel()

    def compute(self) -> dict:
        """Plain numbers: loss, mse, mae, r2."""
        if self.count == 0:
            return {}
        n = self.values
        sst = self.sum_y2 - self.sum_y * self.sum_y / n
        out = {"loss": float(self.loss_sum / self.count), "mse": float(self.sse / n), "mae": float(self.sae / n)}
        out["r2"] = float(1 - self.sse / sst) if float(sst) > 1e-12 else None
        return out


def better(new: float, best: float | None, lower_is_better: bool, min_delta: float = 0.0) -> bool:
    """Whether `new` improves on `best` by more than `min_delta` (the metric's direction is its task's)."""
    if best is None:
        return True
    if lower_is_better:
        return new < best - min_delta
    return new > best + min_delta


def sample_diversity(fake: torch.Tensor, real: torch.Tensor) -> float:
    """Per-value spread of generated samples over that of real ones: near 0 when the samples collapse.

    The one formula of a GAN's (and a VAE's prior's) sample diversity: the epoch's metric, the
    dashboard's sample grid and the exported script all call it.
    """
    spread = lambda x: x.float().flatten(1).std(0).mean()  # noqa: E731
    return float(spread(fake) / spread(real).clamp(min=1e-12))
