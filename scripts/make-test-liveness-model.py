#!/usr/bin/env python3
"""Writes the tiny ONNX model the anti-spoofing port is tested with.

It is not an anti-spoofing model. It averages each input channel over the image and returns
two logits, ["attack", "live"] = [(c2 - c0) / 50, (c0 - c2) / 50], where c0 and c2 are the
mean values of the first and third input channels. So the "live" probability rises with red
and falls with blue when the port feeds RGB, and the other way round for BGR, which lets the
tests check the crop, the channel order, the scaling and the choice of output.

Needs the `onnx` package (pip install onnx). Run from the repository root:
    python3 scripts/make-test-liveness-model.py idv-adapters/tests/fixtures/colour_liveness.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper


def main(path):
    weights = helper.make_tensor(
        "weights", TensorProto.FLOAT, [3, 2],
        [-0.02, 0.02, 0.0, 0.0, 0.02, -0.02],
    )
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    nodes = [
        helper.make_node("ReduceMean", ["input", "axes"], ["means"], keepdims=0),
        helper.make_node("MatMul", ["means", "weights"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "colour_liveness",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
        initializer=[weights, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


if __name__ == "__main__":
    main(sys.argv[1])
