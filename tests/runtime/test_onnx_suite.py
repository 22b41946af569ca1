"""The ONNX project's own backend test models (runtime.importers.onnx_suite): the covered ones import and
match the suite's reference outputs, a sample survives re-export too, and every other one is refused in words."""

from __future__ import annotations

import warnings

import pytest

from runtime.importers.onnx_suite import check_model, suite_models

MODELS = {f.name: f for f in suite_models()}

# What docs/onnx-coverage.md lists as importing (python bench/onnx_coverage.py --markdown).
COVERED = """
test_AvgPool1d test_AvgPool1d_stride test_AvgPool2d test_AvgPool2d_stride test_AvgPool3d test_AvgPool3d_stride
test_AvgPool3d_stride1_pad0_gpu_input test_BatchNorm1d_3d_input_eval test_BatchNorm2d_eval
test_BatchNorm2d_momentum_eval test_BatchNorm3d_eval test_BatchNorm3d_momentum_eval test_ConstantPad2d
test_Conv1d test_Conv1d_dilated test_Conv1d_groups test_Conv1d_pad1 test_Conv1d_pad1size1 test_Conv1d_pad2
test_Conv1d_pad2size1 test_Conv1d_stride test_Conv2d test_Conv2d_depthwise test_Conv2d_depthwise_padded
test_Conv2d_depthwise_strided test_Conv2d_depthwise_with_multiplier test_Conv2d_dilated test_Conv2d_groups
test_Conv2d_groups_thnn test_Conv2d_no_bias test_Conv2d_padding test_Conv2d_strided test_Conv3d test_Conv3d_dilated
test_Conv3d_dilated_strided test_Conv3d_groups test_Conv3d_no_bias test_Conv3d_stride test_Conv3d_stride_padding
test_ConvTranspose2d test_ConvTranspose2d_no_bias test_ELU test_Embedding test_Embedding_sparse test_GLU test_GLU_dim
test_LeakyReLU test_LeakyReLU_with_negval test_Linear test_Linear_no_bias test_LogSoftmax test_MaxPool1d
test_MaxPool1d_stride test_MaxPool1d_stride_padding_dilation test_MaxPool2d test_MaxPool2d_stride_padding_dilation
test_MaxPool3d test_MaxPool3d_stride test_MaxPool3d_stride_padding test_PReLU_1d test_PReLU_1d_multiparam
test_PReLU_2d test_PReLU_2d_multiparam test_PReLU_3d test_PReLU_3d_multiparam test_PixelShuffle test_ReLU
test_ReflectionPad2d test_ReplicationPad2d test_SELU test_Sigmoid test_Softmax test_Softmin test_Softplus
test_Softsign test_Tanh test_ZeroPad2d test_log_softmax_dim3 test_log_softmax_lastdim test_softmax_functional_dim3
test_softmax_lastdim test_operator_add_size1_broadcast test_operator_addconstant test_operator_clip test_operator_concat2 test_operator_conv
test_operator_convtranspose test_operator_exp test_operator_flatten test_operator_max test_operator_maxpool
test_operator_min test_operator_pad test_operator_permute2 test_operator_pow test_operator_reduced_mean
test_operator_reduced_mean_keepdim test_operator_reduced_sum test_operator_reduced_sum_keepdim test_operator_selu
test_operator_sqrt test_operator_symbolic_override
""".split()

# One model per mapping or pattern the importer has, taken through re-export as well (a second or so each).
REEXPORTED = ["test_Conv2d_depthwise", "test_ConvTranspose2d", "test_Embedding", "test_GLU", "test_Softmin",
              "test_Softsign", "test_Softplus", "test_ReflectionPad2d", "test_ConstantPad2d", "test_PReLU_2d_multiparam",
              "test_Linear_no_bias", "test_PixelShuffle", "test_AvgPool1d", "test_BatchNorm2d_eval", "test_operator_clip",
              "test_operator_pow", "test_operator_max", "test_operator_reduced_sum_keepdim", "test_operator_addconstant",
              "test_operator_sqrt", "test_operator_symbolic_override"]


def _check(name: str, reexport: bool = False) -> tuple[bool, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the old exporters' deprecation notes
        return check_model(MODELS[name], reexport=reexport)


def test_the_two_suites_hold_the_117_models_the_issue_counts():
    assert len(MODELS) == 117
    assert set(COVERED) <= set(MODELS)
    assert len(COVERED) / len(MODELS) >= 0.85


@pytest.mark.parametrize("name", COVERED)
def test_covered_model_imports_and_matches_the_reference_outputs(name):
    ok, detail = _check(name)
    assert ok, detail


@pytest.mark.parametrize("name", REEXPORTED)
def test_reexported_model_matches_the_reference_outputs_in_onnxruntime(name):
    ok, detail = _check(name, reexport=True)
    assert ok, detail


@pytest.mark.parametrize("name", sorted(set(MODELS) - set(COVERED)))
def test_every_other_model_is_refused_with_the_reason_and_no_traceback(name):
    ok, detail = _check(name)  # any exception other than NetCanvas's own would fail here
    assert not ok, f"{name} imports now: add it to COVERED"
    assert detail and "Traceback" not in detail
