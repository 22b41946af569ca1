"""Classification: the model scores each class; cross-entropy (or one logit with BCE for two classes)."""

from graph_builder.data_description import CLASSES
from graph_builder.tasks.base import LOSS, Metric, SupervisedTask

CLASSIFICATION = SupervisedTask(
    id="classification",
    title="Classification",
    priority=0,
    target="labels",
    metrics=(
        LOSS,
        Metric("accuracy", "accuracy", "Accuracy", lower_is_better=False, fmt=".2%"),
        Metric("f1_macro", "macro F1", "Macro F1", lower_is_better=False, fmt=".3f"),
        Metric("precision_macro", "macro precision", "Macro precision", lower_is_better=False, monitorable=False,
               fmt=".3f"),
        Metric("recall_macro", "macro recall", "Macro recall", lower_is_better=False, monitorable=False, fmt=".3f"),
        Metric("auc", "ROC-AUC", "ROC-AUC", lower_is_better=False, two_classes_only=True, fmt=".3f"),
    ),
    headline="accuracy",
    views=("curves", "confusion", "class_table", "inference"),
    setting_tags=frozenset({"loss", "optimizer"}),
    losses=("cross_entropy", "bce_with_logits", "nll"),
    summary_keys=("accuracy", "f1_macro"),
    per_class=("precision", "recall", "f1", "support"),
    data_kind=CLASSES,
    default=True,
    names=("classification",),
    wrong_data="the task is classification but {label} has no classes (its targets are values); set the task to "
               "auto or regression",
)
