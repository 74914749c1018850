"""ONNX import of torch-exported models, checked against onnxruntime's float outputs."""
import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from edgesnn.errors import UnsupportedOpError
from edgesnn.compile.onnx_import import load_onnx


def export(model, shape, dynamic_batch=True, **kw):
    torch.manual_seed(0)
    for m in model.modules():  # non-trivial BN statistics so folding is really tested
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros((1,) + shape), f, dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}} if dynamic_batch else None, **kw)
    return onnx.load_from_string(f.getvalue())


def check_against_ort(proto, shape, n=6, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, size=(n,) + shape).astype(np.float32)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ref = np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(n)])
    graph = load_onnx(proto)
    np.testing.assert_allclose(graph.forward(x), ref, rtol=1e-5, atol=1e-5)
    return graph


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(64, 32), nn.Linear(32, 16), nn.Linear(16, 10)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.l3(F.relu(self.l2(self.drop(F.relu(self.l1(x))))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.c2, self.bn2 = nn.Conv2d(6, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8)
        self.pool = nn.AvgPool2d(2)
        self.fc, self.bnf = nn.Linear(8 * 2 * 2, 10), nn.BatchNorm1d(10)

    def forward(self, x):
        h = self.pool(F.relu(self.bn1(self.c1(x))))
        h = F.relu(self.bn2(self.c2(h)))
        return self.bnf(self.fc(torch.flatten(h, 1)))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        h = F.relu(self.c1(x))
        h = F.relu(self.bn2(self.c2(h)) + h)
        return self.fc(h.reshape(1, -1))  # Reshape to (1, -1)


class Clipped(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.l1, self.l2 = nn.Conv2d(1, 3, 3), nn.Linear(3 * 6 * 6, 12), nn.Linear(12, 4)

    def forward(self, x):
        h = F.relu6(self.c(x)).flatten(1)
        return self.l2(torch.clamp(self.l1(h), min=0, max=0.75))


def test_mlp_relu():
    g = check_against_ort(export(MLP(), (64,)), (64,))
    assert [n.op for n in g.nodes] == ["input", "dense", "act", "dense", "act", "dense"]


@pytest.mark.parametrize("fold", [True, False])
def test_cnn_conv_bn_relu_avgpool_flatten_gemm(fold):
    proto = export(CNN(), (1, 8, 8), do_constant_folding=fold)
    if not fold:  # the exporter leaves BN nodes (and casts) for us to fold
        assert "BatchNormalization" in {n.op_type for n in proto.graph.node}
    g = check_against_ort(proto, (1, 8, 8))
    assert [n.op for n in g.nodes] == ["input", "conv", "act", "avgpool", "conv", "act", "flatten", "dense"]


def test_residual_add():
    proto = export(Residual(), (2, 6, 6), dynamic_batch=False, do_constant_folding=False)
    g = check_against_ort(proto, (2, 6, 6))
    assert "add" in [n.op for n in g.nodes]


def test_clip_relu6():
    g = check_against_ort(export(Clipped(), (1, 8, 8)), (1, 8, 8))
    assert [(n.kind, n.max) for n in g.nodes if n.op == "act"] == [("clip", 6.0), ("clip", 0.75)]


def test_dynamo_exporter_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CNN().eval()
        prog = torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), dynamo=True, verbose=False)
    check_against_ort(prog.model_proto, (1, 8, 8))


def _model(nodes, inits, in_shape, out_shape, opset=17):
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def test_matmul_add_gemm_transb_alpha_beta_same_upper():
    rng = np.random.default_rng(1)
    inits = {
        "w": rng.normal(size=(3, 2, 3, 3)), "wb": rng.normal(size=3),
        "B": rng.normal(size=(3 * 3 * 3, 8)), "bias": rng.normal(size=8),
        "G": rng.normal(size=(4, 8)), "C": rng.normal(size=(1, 4)),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "wb"], ["c"], name="conv", auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "B"], ["m"], name="mm"),
        helper.make_node("Add", ["m", "bias"], ["a"], name="bias_add"),
        helper.make_node("Identity", ["a"], ["i"], name="id"),
        helper.make_node("Relu", ["i"], ["r2"], name="relu2"),
        helper.make_node("Gemm", ["r2", "G", "C"], ["y"], name="gemm", transB=1, alpha=0.5, beta=2.0),
    ]
    g = check_against_ort(_model(nodes, inits, ["N", 2, 5, 5], ["N", 4]), (2, 5, 5))
    assert g.shapes[g.nodes[1].output] == (3, 3, 3)


def test_unsupported_sigmoid_names_node():
    model = nn.Sequential(nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 2))
    proto = export(model, (8,))
    with pytest.raises(UnsupportedOpError) as exc:
        load_onnx(proto)
    msg = str(exc.value)
    assert "Sigmoid" in msg and '"/1/Sigmoid"' in msg and "supported:" in msg and "Gemm" in msg


def test_unsupported_grouped_conv():
    proto = export(nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU()), (2, 5, 5))
    with pytest.raises(UnsupportedOpError, match=r'"/0/Conv" \(op Conv\).*group=2'):
        load_onnx(proto)


def test_clip_with_nonzero_min_is_rejected():
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["g"], name="fc", transB=1),
        helper.make_node("Clip", ["g", "lo", "hi"], ["y"], name="hardtanh"),
    ]
    proto = _model(nodes, {"W": np.ones((2, 3)), "lo": np.array(-1.0), "hi": np.array(1.0)}, [1, 3], [1, 2])
    with pytest.raises(UnsupportedOpError, match=r'"hardtanh".*min=-1'):
        load_onnx(proto)


def test_dynamic_batch_view_gives_actionable_message():
    class ViewNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return F.relu(self.c(x)).view(x.size(0), -1)

    with pytest.raises(UnsupportedOpError, match="torch.flatten"):
        load_onnx(export(ViewNet(), (1, 5, 5)))


def test_batch_dim_must_be_dynamic_or_one():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    with pytest.raises(Exception, match="batch"):
        load_onnx(_model(nodes, {}, [4, 3], [4, 3]))


def test_clip_without_min():
    W = np.ones((2, 3))
    relu_clip = [
        helper.make_node("Gemm", ["x", "W"], ["g"], name="fc", transB=1),
        helper.make_node("Relu", ["g"], ["r"], name="relu"),
        helper.make_node("Clip", ["r", "", "hi"], ["y"], name="cap"),
    ]
    g = check_against_ort(_model(relu_clip, {"W": W, "hi": np.array(0.5)}, [1, 3], [1, 2]), (3,))
    assert [(n.kind, n.max) for n in g.nodes if n.op == "act"] == [("clip", 0.5)]
    bare = [relu_clip[0], helper.make_node("Clip", ["g", "", "hi"], ["y"], name="cap")]
    with pytest.raises(UnsupportedOpError, match='"cap".*no min'):
        load_onnx(_model(bare, {"W": W, "hi": np.array(0.5)}, [1, 3], [1, 2]))
