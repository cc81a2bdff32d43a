"""torchinfo's own test suite, call by call, through ``cnncalc.summary``, with torch as the judge.

Every ``summary(...)`` call of torchinfo's ``tests/torchinfo_test.py`` and ``tests/torchinfo_xl_test.py``
(TylerYep/torchinfo at 5c4164f; the fixture models are copied in ``tests/torchinfo_suite/``, MIT) is
made here with the same arguments. The numbers are compared with torch's own, never with torchinfo's
printed strings: parameters from ``model.parameters()`` (tied tensors once), shapes from a hooked
forward pass, MACs from ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2; an ``nn.LSTM``, which
the counter counts 0 for on the CPU, by its formula, itself checked against the counter on unrolled
``nn.LSTMCell`` steps). The calls of torchinfo's ``exceptions_test.py`` are made too: cnncalc refuses
only where torchinfo raises. ``python -m tests.test_torchinfo_suite`` prints the tally of docs/torchinfo.md.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils.flop_counter import FlopCounterMode

import cnncalc
from tests.torchinfo_suite import models as M
from tests.torchinfo_suite.genotype import GenotypeNetwork
from tests.torchinfo_suite.tmva_net import TMVANet

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


@dataclass
class Call:
    """One ``summary`` call of torchinfo's suite: its test, the model, the arguments."""

    test: str
    model: Callable[[], nn.Module]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    slow: bool = False
    needs: str | None = None  # an optional package

    @property
    def id(self) -> str:
        return self.test


def _pruned() -> nn.Module:
    model = M.SingleInputNet()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(module, "weight", 0.5)
    return model


def _shared_act() -> nn.Module:
    act = nn.LeakyReLU(inplace=True)
    return nn.Sequential(act, nn.Identity(), act, nn.Identity(), act)


def _hooked() -> nn.Module:
    net = M.ReuseLinearExtended()
    net.linear.register_forward_pre_hook(lambda m, i: None)
    net.linear.register_forward_hook(lambda m, i, o: None)
    return net


class ParameterA(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1024))


class ParameterB(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1024))
        self.conv = nn.Conv2d(3, 6, 3)


def _frozen_resnet18() -> nn.Module:
    import torchvision

    model = torchvision.models.resnet18()
    for i, p in enumerate(model.parameters()):
        p.requires_grad = i >= 30
    return model


def _tv(name: str, **kw: Any) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        import torchvision

        return getattr(torchvision.models, name)(**kw)

    return make


LENGTHS = torch.tensor([13, 12] + [11] * 8 + [10] * 14 + [9] * 14 + [8] * 9 + [7] * 19 + [6] * 27 + [5] * 20
                       + [4] * 15).long()  # torchinfo's test_pack_padded  # fmt: skip
COLS = ("kernel_size", "input_size", "output_size", "num_params", "params_percent", "mult_adds", "trainable")
DICT_X = {256: torch.randn(10, 1), 512: [torch.randn(10, 1)]}

CALLS = [
    Call("basic_summary", M.SingleInputNet),
    Call("string_result", M.SingleInputNet, kwargs={"input_size": (16, 1, 28, 28)}),
    Call("single_input", M.SingleInputNet, ((2, 1, 28, 28),)),
    Call("input_tensor", M.SingleInputNet, kwargs={"input_data": torch.randn(5, 1, 28, 28)}),
    Call("batch_size_optimization", M.SingleInputNet, ((1, 28, 28),), {"batch_dim": 0}),
    Call("single_linear_layer", lambda: nn.Linear(2, 5)),
    Call("single_linear_layer_2", lambda: nn.Linear(2, 5), kwargs={"input_size": (1, 2)}),
    Call("training_mode", lambda: nn.Linear(2, 5), kwargs={"input_data": torch.zeros(1, 2), "mode": "train"}),
    Call("uninitialized_tensor", M.UninitializedParameterModel),
    Call("uninitialized_tensor_2", M.UninitializedParameterModel, kwargs={"input_data": torch.randn(2, 2)}),
    Call(
        "multiple_input_types",
        M.MultipleInputNetDifferentDtypes,
        kwargs={"input_size": [(1, 300), (1, 300)], "dtypes": [torch.FloatTensor, torch.LongTensor]},
    ),
    Call(
        "single_input_all_cols",
        M.SingleInputNet,
        kwargs={"input_data": torch.randn(7, 1, 28, 28), "depth": 1, "col_names": COLS, "col_width": 20},
    ),
    Call(
        "groups",
        lambda: nn.Conv2d(16, 32, 3, groups=4),
        kwargs={
            "input_data": torch.randn(7, 16, 28, 28),
            "depth": 1,
            "col_width": 20,
            "col_names": ("kernel_size", "groups", "input_size", "output_size", "num_params", "mult_adds"),
        },
    ),
    Call(
        "linear",
        lambda: nn.Linear(8, 64),
        kwargs={
            "input_data": torch.randn(32, 16, 8),
            "depth": 1,
            "col_names": ("input_size", "output_size", "num_params", "mult_adds"),
            "col_width": 20,
        },
    ),
    Call(
        "single_input_batch_dim",
        M.SingleInputNet,
        kwargs={
            "input_size": (1, 28, 28),
            "depth": 1,
            "col_width": 20,
            "batch_dim": 0,
            "col_names": ("kernel_size", "input_size", "output_size", "num_params", "mult_adds"),
        },
    ),
    Call("pruning", _pruned, kwargs={"input_size": (16, 1, 28, 28)}),
    Call(
        "dict_input",
        M.MultipleInputNetDifferentDtypes,
        kwargs={"input_data": {"x1": torch.randn(1, 300), "x2": torch.randn(1, 300).long()}},
    ),
    Call("row_settings", M.SingleInputNet, kwargs={"input_size": (16, 1, 28, 28), "row_settings": ("var_names",)}),
    Call("formatting_options", M.SingleInputNet, kwargs={"input_size": (16, 1, 28, 28)}),
    Call("jit", M.LinearModel, kwargs={"input_data": torch.randn(64, 128)}),
    Call("jit_scripted", lambda: torch.jit.script(M.LinearModel()), kwargs={"input_data": torch.randn(64, 128)}),
    Call(
        "partial_jit", lambda: torch.jit.script(M.PartialJITModel()), kwargs={"input_data": torch.randn(2, 1, 28, 28)}
    ),
    Call("custom_parameter", lambda: M.CustomParameter(8, 4), kwargs={"input_size": (1,)}),
    Call(
        "parameter_list",
        M.ParameterListModel,
        kwargs={"input_size": (100, 100), "verbose": 2, "col_names": COLS, "col_width": 20},
    ),
    Call("dict_parameters_1", M.DictParameter, kwargs={"input_data": {"x": DICT_X, "scale_factor": 5}}),
    Call("dict_parameters_2", M.DictParameter, kwargs={"input_data": {"x": DICT_X}, "scale_factor": 5}),
    Call("dict_parameters_3", M.DictParameter, kwargs={"input_data": [DICT_X], "scale_factor": 5}),
    Call(
        "dict_with_string_value",
        M.DictWithNonTensorValues,
        kwargs={"input_data": [{"tensor": torch.rand(1, 3, 32, 32), "label": "cat"}]},
    ),
    Call(
        "dict_with_none_value",
        M.DictWithNonTensorValues,
        kwargs={"input_data": [{"tensor": torch.rand(1, 3, 32, 32), "mask": None}]},
    ),
    Call(
        "lstm",
        M.LSTMNet,
        kwargs={
            "input_size": (1, 100),
            "dtypes": [torch.long],
            "verbose": 2,
            "col_width": 20,
            "col_names": ("kernel_size", "output_size", "num_params", "mult_adds"),
            "row_settings": ("var_names",),
        },
    ),
    Call("lstm_custom_batch_size", M.LSTMNet, ((100,),), {"dtypes": [torch.long], "batch_dim": 1}),
    Call("recursive", M.RecursiveNet, kwargs={"input_size": (1, 64, 28, 28)}),
    Call("siamese_net", M.SiameseNets, kwargs={"input_size": [(1, 1, 88, 88), (1, 1, 88, 88)]}),
    Call("container", M.ContainerModule, kwargs={"input_size": (1, 5), "depth": 4}),
    Call("container_2", M.ContainerModule, kwargs={"input_size": (5,)}),
    Call("empty_module", M.EmptyModule),
    Call("device", M.SingleInputNet, kwargs={"input_size": (5, 1, 28, 28), "device": "cpu"}),
    Call("device_2", M.SingleInputNet, kwargs={"input_data": torch.randn(5, 1, 28, 28)}),
    Call("device_3", M.SingleInputNet, kwargs={"input_data": torch.randn(5, 1, 28, 28), "device": "cpu"}),
    Call("device_4", M.SingleInputNet, kwargs={"input_data": torch.randn(5, 1, 28, 28).to("cpu")}),
    Call("device_5", M.SingleInputNet, kwargs={"input_data": torch.randn(5, 1, 28, 28), "device": torch.device("cpu")}),
    Call(
        "pack_padded",
        M.PackPaddedLSTM,
        kwargs={"input_data": torch.ones([20, 128]).long(), "lengths": LENGTHS, "device": torch.device("cpu")},
    ),
    Call(
        "module_dict",
        M.ModuleDictModel,
        kwargs={"input_data": torch.randn(1, 10, 3, 3), "layer_type": "conv", "activation_type": "lrelu"},
    ),
    Call(
        "module_dict_2",
        M.ModuleDictModel,
        kwargs={"input_data": torch.randn(1, 10, 3, 3), "layer_type": "pool", "activation_type": "prelu"},
    ),
    Call("highly_nested_dict_model", M.HighlyNestedDictModel, kwargs={"input_data": torch.ones(10)}),
    Call("edgecase_input_output_model", M.EdgecaseInputOutputModel, kwargs={"input_data": [{}]}),
    Call("model_with_args", M.RecursiveNet, kwargs={"input_size": (1, 64, 28, 28), "args1": "args1", "args2": "args2"}),
    Call("input_size_possibilities", lambda: M.CustomParameter(2, 3), kwargs={"input_size": [(2,)]}),
    Call("input_size_possibilities_2", lambda: M.CustomParameter(2, 3), kwargs={"input_size": ((2,),)}),
    Call("input_size_possibilities_3", lambda: M.CustomParameter(2, 3), kwargs={"input_size": (2,)}),
    Call("input_size_possibilities_4", lambda: M.CustomParameter(2, 3), kwargs={"input_size": [2]}),
    Call(
        "multiple_input_tensor_args",
        M.MultipleInputNetDifferentDtypes,
        kwargs={"input_data": torch.randn(1, 300), "x2": torch.randn(1, 300).long()},
    ),
    Call(
        "multiple_input_tensor_dict",
        M.MultipleInputNetDifferentDtypes,
        kwargs={"input_data": {"x1": torch.randn(1, 300), "x2": torch.randn(1, 300).long()}},
    ),
    Call(
        "multiple_input_tensor_list",
        M.MultipleInputNetDifferentDtypes,
        kwargs={"input_data": [torch.randn(1, 300), torch.randn(1, 300).long()]},
    ),
    Call(
        "namedtuple",
        M.NamedTuple,
        kwargs={
            "input_size": [(2, 1, 28, 28), (2, 1, 28, 28)],
            "z": M.NamedTuple.Point((2, 1, 28, 28), (2, 1, 28, 28)),
            "device": torch.device("cpu"),
        },
    ),
    Call(
        "return_dict",
        M.ReturnDict,
        kwargs={"input_size": [torch.Size([1, 28, 28]), [12]], "col_width": 65, "batch_dim": 0},
    ),
    Call(
        "autoencoder",
        M.AutoEncoder,
        kwargs={"input_size": (1, 3, 64, 64), "col_names": ("output_size", "num_params", "kernel_size")},
    ),
    Call("reusing_activation_layers", _shared_act),
    Call(
        "reusing_activation_layers_2",
        lambda: nn.Sequential(
            nn.LeakyReLU(inplace=True),
            nn.Identity(),
            nn.LeakyReLU(inplace=True),
            nn.Identity(),
            nn.LeakyReLU(inplace=True),
        ),
    ),
    Call("mixed_trainable_parameters", M.MixedTrainableParameters, kwargs={"verbose": 2}),
    Call("too_many_linear", M.ReuseLinear, ((2, 10),)),
    Call("too_many_linear_plus_existing_hooks", M.ReuseLinearExtended, ((2, 10),)),
    Call("too_many_linear_plus_existing_hooks_2", _hooked, ((2, 10),)),
    Call("too_many_relus", M.ReuseReLU, ((4, 4, 64, 64),)),
    Call("pruned_adversary", lambda: M.PrunedLayerNameModel(8, 4), kwargs={"input_size": (1,)}),
    Call("pruned_adversary_2", lambda: M.FakePrunedLayerModel(8, 4), kwargs={"input_size": (1,)}),
    Call(
        "trainable_column",
        M.MixedTrainable,
        kwargs={"input_size": (1, 1, 1), "col_names": ("kernel_size", "input_size", "output_size", "trainable")},
    ),
    Call("empty_module_list", nn.ModuleList),
    Call("single_parameter_model", ParameterA),
    Call("single_parameter_model_2", ParameterB),
    Call("single_parameter_model_3", ParameterA, kwargs={"verbose": 2}),
    Call("single_parameter_model_4", ParameterB, kwargs={"verbose": 2}),
    Call("register_parameter", lambda: M.RegisterParameter(nn.Linear(2, 2), nn.Linear(2, 2))),
    Call(
        "parameters_with_other_layers",
        lambda: M.ParameterFCNet(128, 64, 32),
        kwargs={"input_data": torch.randn(3, 128), "verbose": 2},
    ),
    Call(
        "parameters_with_other_layers_2",
        lambda: M.ParameterFCNet(128, 64),
        kwargs={"input_data": torch.randn(3, 128), "verbose": 2},
    ),
    Call(
        "nested_leftover_params",
        M.InsideModel,
        kwargs={"input_data": [torch.zeros(100, 2)], "row_settings": ("var_names",)},
    ),
    Call(
        "recursive_with_missing_layers",
        M.RecursiveWithMissingLayers,
        kwargs={"input_data": [torch.rand((2, 3, 128, 128))], "row_settings": ("depth", "var_names")},
    ),
    Call("cnn_module_list", lambda: M.CNNModuleList(M.ConvLayerA), kwargs={"input_size": [1, 1, 10]}),
    Call("cnn_module_list_2", lambda: M.CNNModuleList(M.ConvLayerB), kwargs={"input_size": [1, 1, 10]}),
    Call("shared_module_in_nested_list", M.SharedModuleInNestedList, kwargs={"input_size": (1, 4), "depth": 4}),
    Call("tied_weights", M.TiedWeightsModel, kwargs={"input_data": torch.randint(0, 1000, (2, 8)), "depth": 2}),
    Call("hide_recursive_layers", M.SimpleRNN, kwargs={"input_size": (2, 3)}),
    Call(
        "hide_recursive_layers_2",
        M.SimpleRNN,
        kwargs={"input_size": (2, 3), "row_settings": ("depth", "hide_recursive_layers")},
    ),
    Call(
        "hide_recursive_layers_outside_loop",
        lambda: M.SimpleRNN(repeat_outside_loop=True),
        kwargs={"input_size": (2, 3)},
    ),
    Call(
        "hide_recursive_layers_outside_loop_2",
        lambda: M.SimpleRNN(repeat_outside_loop=True),
        kwargs={"input_size": (2, 3), "row_settings": ("depth", "hide_recursive_layers")},
    ),
    Call("tensor_kernel_size", M.TensorKernelSizeConv, kwargs={"input_size": (1, 1, 16)}),
    Call(
        "scalar_tensor_input_size",
        M.ScalarTensorInputNet,
        kwargs={"input_size": [[1, 10], []], "dtypes": [torch.float32, torch.float32]},
    ),
    Call(
        "scalar_tensor_input_size_2",
        M.ScalarTensorInputNet,
        kwargs={"input_data": [torch.rand([1, 10]), torch.rand([])]},
    ),
    Call(
        "categorical_distribution_output",
        lambda: M.CategoricalOutputModel(input_dim=10, output_dim=5),
        kwargs={"input_size": (1, 10)},
    ),
    Call(
        "normal_distribution_output",
        lambda: M.NormalOutputModel(input_dim=10, output_dim=5),
        kwargs={"input_size": (1, 10)},
    ),
    # torchinfo_xl_test.py
    Call("genotype", GenotypeNetwork, ((2, 3, 32, 32),), {"depth": 3, "cache_forward_pass": True}, slow=True),
    Call("genotype_2", GenotypeNetwork, ((2, 3, 32, 32),), {"depth": 7, "cache_forward_pass": True}, slow=True),
    *(
        Call(
            f"tmva_net_column_totals_{d}",
            lambda: TMVANet(n_classes=4, n_frames=5),
            kwargs={
                "input_data": [
                    torch.randn(1, 1, 5, 256, 64),
                    torch.randn(1, 1, 5, 256, 256),
                    torch.randn(1, 1, 5, 256, 64),
                ],
                "col_names": ["output_size", "num_params", "mult_adds"],
                "depth": d,
                "cache_forward_pass": True,
            },
            slow=True,
        )
        for d in (1, 3, 5)
    ),
    Call(
        "ascii_only",
        _tv("resnet18"),
        kwargs={"depth": 3, "input_size": (1, 3, 64, 64), "row_settings": ["ascii_only"]},
        needs="torchvision",
    ),
    Call(
        "frozen_layers",
        _frozen_resnet18,
        kwargs={
            "input_size": (1, 3, 64, 64),
            "depth": 3,
            "col_names": ("output_size", "num_params", "kernel_size", "mult_adds"),
        },
        needs="torchvision",
    ),
    Call("eval_order_doesnt_matter", _tv("resnet18"), kwargs={"input_size": (1, 3, 224, 224)}, needs="torchvision"),
    Call(
        "eval_order_doesnt_matter_2",
        _tv("resnet18"),
        kwargs={"input_size": (1, 3, 224, 224), "mode": "eval"},
        needs="torchvision",
    ),
    *(
        Call(
            f"resnet18_depth_consistency_{d}",
            _tv("resnet18"),
            ((1, 3, 64, 64),),
            {"col_names": ("output_size", "num_params", "params_percent"), "depth": d, "cache_forward_pass": True},
            needs="torchvision",
        )
        for d in (1, 2)
    ),
    Call("resnet50", _tv("resnet50"), kwargs={"input_size": (2, 3, 224, 224)}, slow=True, needs="torchvision"),
    Call("resnet152", _tv("resnet152"), ((1, 3, 224, 224),), {"depth": 3}, slow=True, needs="torchvision"),
    Call(
        "google",
        _tv("googlenet", init_weights=False),
        ((1, 3, 112, 112),),
        {"depth": 7, "mode": "eval"},
        slow=True,
        needs="torchvision",
    ),
    Call(
        "google_train",
        _tv("googlenet", init_weights=False),
        ((1, 3, 112, 112),),
        {"depth": 7, "mode": "train"},
        slow=True,
        needs="torchvision",
    ),
]
# torchinfo_xl_test.py's test_flan_t5_small downloads google/flan-t5-small: not run (no network in the tests).

SUMMARY_ARGS = ("input_size", "input_data", "batch_dim", "cache_forward_pass", "col_names", "col_width", "depth",
                "device", "dtypes", "mode", "row_settings", "verbose")  # fmt: skip


# --- torch's own numbers ---------------------------------------------------------------------------------------


def torch_inputs(call: Call) -> tuple[list[Any], dict[str, Any]]:
    """The tensors torchinfo would run the model on: input_size as each tensor's shape (a batch of 1
    inserted at batch_dim), dtypes by name or tensor type; input_data as given."""
    kw = dict(call.kwargs)
    forward = {k: v for k, v in kw.items() if k not in SUMMARY_ARGS}
    size = call.args[0] if call.args else kw.get("input_size")
    if size is None:
        data = kw.get("input_data")
        if isinstance(data, dict):
            return [], {**data, **forward}
        return (list(data) if isinstance(data, (list, tuple)) else [data]), forward
    sizes = [size] if all(isinstance(d, int) for d in size) else list(size)
    dtypes = kw.get("dtypes") or [torch.float] * len(sizes)
    dtypes = dtypes * len(sizes) if len(dtypes) == 1 else dtypes
    out = []
    for s, dt in zip(sizes, dtypes):
        shape = list(s)
        if kw.get("batch_dim") is not None:
            shape.insert(kw["batch_dim"], 1)
        out.append(torch.zeros(shape).type(dt) if isinstance(dt, type) else torch.zeros(shape, dtype=dt))
    return out, forward


def lstm_macs(m: nn.LSTM, tokens: int) -> int:
    """An LSTM's MACs: per token, layer and direction, 4 gates of H x (I + H) products."""
    total, size = 0, m.input_size
    for _ in range(m.num_layers):
        total += (2 if m.bidirectional else 1) * 4 * m.hidden_size * (size + m.hidden_size)
        size = m.hidden_size * (2 if m.bidirectional else 1)
    return total * tokens


@dataclass
class Truth:
    params: int
    trainable: int
    macs: int | None  # None: the model was not run
    outputs: dict[str, list[tuple[int, ...]]]  # module name -> first-output shape of each call


def truth(model: nn.Module, call: Call) -> Truth:
    """Parameters from ``model.parameters()``, shapes by hooks, MACs by ``FlopCounterMode`` (+ LSTM formula)."""
    params = sum(p.numel() for p in model.parameters() if not isinstance(p, nn.parameter.UninitializedParameter))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad
                    and not isinstance(p, nn.parameter.UninitializedParameter))  # fmt: skip
    if call.args == () and "input_size" not in call.kwargs and "input_data" not in call.kwargs:
        return Truth(params, trainable, None, {})
    xs, kw = torch_inputs(call)
    run = model
    run.train(call.kwargs.get("mode") == "train")
    names = {id(m): n for n, m in run.named_modules()}
    outputs: dict[str, list[tuple[int, ...]]] = {}
    lstms: list[tuple[str, int]] = []
    handles = []

    def first(out: Any) -> tuple[int, ...] | None:
        if isinstance(out, torch.Tensor):
            return tuple(out.shape)
        for v in out.values() if isinstance(out, dict) else out if isinstance(out, (list, tuple)) else ():
            got = first(v)
            if got is not None:
                return got
        return None

    def hook(m: nn.Module, i: Any, o: Any) -> None:
        shape = first(o)
        if shape is not None:
            outputs.setdefault(names[id(m)], []).append(shape)
        if isinstance(m, nn.LSTM):  # FlopCounterMode counts 0 for aten.lstm.input on the CPU (not .data)
            x = i[0].data if isinstance(i[0], nn.utils.rnn.PackedSequence) else i[0]
            lstms.append((names[id(m)], lstm_macs(m, x.numel() // m.input_size)))

    if not isinstance(run, torch.jit.ScriptModule):
        handles = [m.register_forward_hook(hook) for m in run.modules()]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run(*xs, **kw)
    for h in handles:
        h.remove()
    per_module = counter.get_flop_counts()
    root = type(run).__name__
    extra = sum(macs for name, macs in lstms if not sum(per_module.get(f"{root}.{name}", {}).values()))
    if trainable == 0 and params == 0:  # a lazy model: sized by the forward
        params = trainable = sum(p.numel() for p in run.parameters())
    return Truth(params, trainable, counter.get_total_flops() // 2 + extra, outputs)


def ours(call: Call, model: nn.Module) -> Any:
    return cnncalc.summary(model, *call.args, **{**call.kwargs, "verbose": 0})


# --- the suite -------------------------------------------------------------------------------------------------


def _params(call: Call) -> Any:
    marks = []
    if call.slow:
        marks.append(pytest.mark.slow)
    if call.needs == "torchvision" and not HAS_TORCHVISION:
        marks.append(pytest.mark.skip(reason="torchvision is not installed"))
    return pytest.param(call, id=call.id, marks=marks)


@pytest.mark.parametrize("call", [_params(c) for c in CALLS])
def test_torchinfo_call_gives_torchs_numbers(call: Call) -> None:
    torch.manual_seed(0)
    model = call.model()
    torch.manual_seed(0)
    want_model = call.model()  # the same weights (a pruned model cannot be deep-copied)
    result = ours(call, model)
    want = truth(want_model, call)
    assert result.total_params == want.params
    assert result.trainable_params == want.trainable
    if want.macs is None:
        assert result.total_mult_adds == 0 and not result.report.ran
        assert [r.num_params for r in result.summary_list[:1]] == [want.params]
        return
    assert result.report.crash is None
    assert result.total_mult_adds == want.macs
    seen: dict[str, int] = {}
    for layer in result.summary_list:  # every module call's first output, in call order
        k = seen.get(layer.name, 0)
        seen[layer.name] = k + 1
        shapes = want.outputs.get(layer.name)
        if shapes and layer.executed and k < len(shapes):
            assert tuple(layer.output_size) == shapes[k], layer.name
    assert sum(layer.macs for layer in result.summary_list if layer.depth == 0) == want.macs or \
        isinstance(model, torch.jit.ScriptModule) or not result.summary_list[0].executed  # fmt: skip
    if call.test.startswith(("tmva_net", "resnet50")):  # torchinfo_xl_test's own column-total checks
        assert result.total_params == sum(r.num_params for r in result.summary_list if r.is_leaf_layer)
        assert result.total_mult_adds == sum(r.macs for r in result.summary_list if r.is_leaf_layer)
    leaves = sum(r.macs for r in result.summary_list if r.is_leaf_layer and r.executed)
    assert leaves + sum(r.own_macs for r in result.summary_list if not r.is_leaf_layer) == want.macs or \
        isinstance(model, torch.jit.ScriptModule)  # every operation counted once, on the call running it  # fmt: skip
    assert result.total_param_bytes == sum(p.numel() * p.element_size() for p in model.parameters())
    given = call.kwargs.get("input_data", torch_inputs(call)[0])  # input_data or the made-up tensors, not **kwargs
    assert result.total_input == sum(t.numel() * t.element_size() for t in _tensors(given))


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def test_the_model_is_left_as_it_was_after_train_mode() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.ReLU())
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = cnncalc.summary(model, input_size=(2, 3, 8, 8), mode="train", verbose=0)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats and num_batches_tracked too
    assert not any(m.training for m in model.modules())
    model.train()
    cnncalc.summary(model, input_size=(2, 3, 8, 8), mode="eval", verbose=0)
    assert all(m.training for m in model.modules())
    cnncalc.summary(model, input_size=(2, 3, 8, 8), mode="same", verbose=0)  # runs in train mode, as it is
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before) and all(m.training for m in model.modules())


def test_train_mode_runs_in_train_mode() -> None:
    seen = []

    class Probe(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(self.training)
            return x

    cnncalc.summary(Probe(), input_size=(1, 2), mode="train", verbose=0)
    cnncalc.summary(Probe(), input_size=(1, 2), verbose=0)
    assert seen[0] is True and len(seen) > 1 and not any(seen[1:])  # fx tracing may run forward again, in eval


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_formula_is_torchs_counter_on_unrolled_cells(layers: int, bidirectional: bool) -> None:
    """The LSTM formula against FlopCounterMode on the same computation written with nn.LSTMCell."""
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 7, num_layers=layers, bidirectional=bidirectional)
    x = torch.randn(4, 3, 5)
    dirs = 2 if bidirectional else 1
    cells = [nn.LSTMCell(5 if k < dirs else 7 * dirs, 7) for k in range(layers * dirs)]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        for cell in cells:
            for _ in range(x.shape[0]):
                cell(torch.randn(3, cell.input_size))
    got = cnncalc.summary(lstm, input_data=x, verbose=0).total_mult_adds
    assert got == counter.get_total_flops() // 2


def test_functional_matmuls_are_counted_as_torch_counts_them() -> None:
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(16, 32))
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.k = nn.Parameter(torch.randn(32, 32, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.mm(x.flatten(0, 1), self.w.t()).view(*x.shape[:2], 16)
            y = torch.nn.functional.linear(y, self.w.t())
            y = torch.matmul(y, y.transpose(1, 2)) @ y
            y = torch.nn.functional.scaled_dot_product_attention(y, y, y)
            z = torch.nn.functional.conv1d(y.transpose(1, 2), self.k).transpose(1, 2)
            return self.attn(y, y, y)[0] + z

    model = Functional()
    x = torch.randn(2, 5, 32)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(x)
    result = cnncalc.summary(model, input_data=x, verbose=0)
    assert result.total_mult_adds == counter.get_total_flops() // 2 > 0
    assert result.total_macs == result.total_mult_adds / 2


def test_columns_and_rows_asked_for_are_shown_under_torchinfos_names(capsys: pytest.CaptureFixture[str]) -> None:
    model = M.SingleInputNet()
    result = cnncalc.summary(model, input_size=(16, 1, 28, 28), col_names=COLS, col_width=8,
                             row_settings=("depth", "var_names", "ascii_only"), verbose=0)  # fmt: skip
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing
    text = str(result)
    head = next(line for line in text.splitlines() if line.startswith("Layer"))
    assert head.split() == ["Layer", "(type", "(var_name):depth-idx)", "Kernel", "Shape", "Input", "Shape", "Output",
                            "Shape", "Param", "#", "Param", "%", "Mult-Adds", "Trainable"]  # fmt: skip
    assert text.isascii() and "+ conv1 (Conv2d): 1-1" in text
    conv1 = next(r for r in result.summary_list if r.name == "conv1")
    row = next(line for line in text.splitlines() if "conv1 (Conv2d)" in line)
    assert f"{conv1.macs:,}" in row and str(conv1.output_size) in row and "[5, 5]" in row  # never cut at width 8
    plain = str(cnncalc.summary(model, input_size=(16, 1, 28, 28), col_names=("num_params",), verbose=0))
    assert "Output Shape" not in plain and "Param #" in plain
    deep = str(cnncalc.summary(nn.Sequential(nn.Sequential(nn.Linear(2, 2))), input_size=(1, 2), depth=1,
                               row_settings=("depth",), verbose=0))  # fmt: skip
    assert "Sequential: 1-1" in deep and "Linear" not in deep


def test_verbose_1_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    cnncalc.summary(nn.Linear(2, 5), input_size=(1, 2), col_names=("output_size",), verbose=1)
    assert "[1, 5]" in capsys.readouterr().out


def test_cache_forward_pass_runs_the_model_once() -> None:
    runs = []

    class Counted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            runs.append(1)
            return self.fc(x)

    model = Counted()
    a = cnncalc.summary(model, (1, 3), cache_forward_pass=True, verbose=0)
    b = cnncalc.summary(model, (1, 3), cache_forward_pass=True, depth=1, verbose=0)
    assert len(runs) == 1 and a.total_mult_adds == b.total_mult_adds == 6
    cnncalc.summary(model, (2, 3), cache_forward_pass=True, verbose=0)
    assert len(runs) == 2  # other arguments: run again
    cnncalc.clear_cached_forward_pass()


def test_forward_keyword_arguments_reach_forward() -> None:
    got = {}

    class Keyed(nn.Module):
        def forward(self, x: torch.Tensor, scale: float = 1.0, *, mask: torch.Tensor | None = None) -> torch.Tensor:
            got.update(scale=scale, mask=mask)
            return x * scale

    mask = torch.ones(2)
    cnncalc.summary(Keyed(), input_size=(1, 2), scale=3.0, mask=mask, verbose=0)
    assert got["scale"] == 3.0 and got["mask"] is mask


@pytest.mark.parametrize(
    ("dtype", "want"),
    [
        (torch.FloatTensor, torch.float32),
        (torch.LongTensor, torch.int64),
        (torch.DoubleTensor, torch.float64),
        (torch.half, torch.float16),
    ],
)
def test_tensor_type_dtypes_make_inputs_of_that_dtype(dtype: Any, want: torch.dtype) -> None:
    seen = []

    class Probe(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.dtype)
            return x

    cnncalc.summary(Probe(), input_size=(1, 4), dtypes=[dtype], verbose=0)
    assert seen[0] == want


@pytest.mark.parametrize("batch_dim", [0, 1, 2, -1])
def test_batch_dim_puts_a_batch_of_one_there(batch_dim: int) -> None:
    seen = []

    class Probe(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(tuple(x.shape))
            return x.sum(-1)

    result = cnncalc.summary(Probe(), input_size=(3, 5), batch_dim=batch_dim, verbose=0)
    want = torch.zeros(3, 5).unsqueeze(batch_dim).shape
    assert seen[0] == tuple(want)
    assert result.summary_list[0].output_size == list(torch.zeros(want).sum(-1).shape)


def test_no_input_lists_every_module_with_its_parameters() -> None:
    model = M.LSTMNet()
    result = cnncalc.summary(model, verbose=0)
    assert [(r.name, r.num_params) for r in result.summary_list] == \
        [(n, sum(p.numel() for p in m.parameters())) for n, m in model.named_modules()]  # fmt: skip
    assert result.total_mult_adds == 0 and "no input" in str(result)


def test_lazy_modules_are_counted_after_the_forward_that_sizes_them() -> None:
    model = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyConv1d(2, 3))
    result = cnncalc.summary(model, input_size=(2, 5, 3), verbose=0)
    assert result.total_params == sum(p.numel() for p in model.parameters()) == 4 * 3 + 4 + 2 * 5 * 3 + 2
    assert "lazy, sized by this forward pass" in str(result)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(2, 5, 3))
    assert result.total_mult_adds == counter.get_total_flops() // 2


# --- where torchinfo raises ------------------------------------------------------------------------------------


REFUSED = [
    ("verbose=4", M.IdentityModel, (), {"verbose": 4}),
    ("invalid column", M.IdentityModel, (), {"input_size": (1, 28, 28), "col_names": ("invalid_name",)}),
    ("col_width=0", M.IdentityModel, (), {"col_width": 0}),
    ("invalid row setting", M.IdentityModel, (), {"row_settings": ("invalid_name",)}),
    ("output column without input", M.IdentityModel, (), {"col_names": ("output_size",)}),
    ("both inputs", M.IdentityModel, ((1, 28, 28), torch.randn(1, 28, 28)), {}),
    ("bad device", M.IdentityModel, (), {"input_size": (1, 28, 28), "device": "lol"}),
    ("zero size", lambda: M.CustomParameter(2, 3), (), {"input_size": [(3, 0)]}),
    ("dict size", lambda: M.CustomParameter(2, 3), (), {"input_size": {0: 1}}),
    ("bad mode", M.IdentityModel, (), {"input_size": (1, 2), "mode": "test"}),
    ("text size", lambda: M.CustomParameter(2, 3), (), {"input_size": "hello"}),
]
CRASHES = [
    ("throws", lambda: M.EdgeCaseModel(throw_error=True), (), {"input_size": (5, 1, 28, 28)}),
    (
        "throws, nested data",
        lambda: M.EdgeCaseModel(throw_error=True),
        (),
        {"input_data": [[[torch.randn(1, 28, 28)]]]},
    ),
]


@pytest.mark.parametrize(("what", "model", "args", "kwargs"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_where_torchinfo_raises(what: str, model: Callable[[], nn.Module], args: tuple[Any, ...],
                                        kwargs: dict[str, Any]) -> None:  # fmt: skip
    with pytest.raises(cnncalc.CnnCalcError):
        cnncalc.summary(model(), *args, **{"verbose": 0, **kwargs})


@pytest.mark.parametrize(("what", "model", "args", "kwargs"), CRASHES, ids=[r[0] for r in CRASHES])
def test_a_failing_forward_is_reported_where_torchinfo_raises(what: str, model: Callable[[], nn.Module],
                                                              args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:  # fmt: skip
    result = cnncalc.summary(model(), *args, **{"verbose": 0, **kwargs})
    assert result.report.crash is not None and result.verified is None


def test_forward_without_error_is_summarised() -> None:
    result = cnncalc.summary(M.EdgeCaseModel(throw_error=False), input_size=(1, 1, 28, 28), verbose=0)
    assert result.report.crash is None and result.summary_list[0].output_size == [1, 10, 24, 24]


@pytest.mark.parametrize(("flag", "kind"), [("return_str", "str"), ("return_class", "type")])
def test_a_forward_returning_no_tensor_is_summarised_with_a_note(flag: str, kind: str) -> None:
    """torchinfo raises here; cnncalc lists the module calls and says what came back."""
    model = M.EdgeCaseModel(**{flag: True})
    result = cnncalc.summary(model, input_size=(5, 1, 28, 28), verbose=0)
    assert result.report.crash is None and f"returned {kind}, no tensor" in str(result)
    conv1 = next(r for r in result.summary_list if r.name == "conv1")
    assert conv1.output_size == list(model.conv1(torch.zeros(5, 1, 28, 28)).shape)


# --- the tally of docs/torchinfo.md ----------------------------------------------------------------------------


def convention(model: nn.Module, call: Call) -> int:
    """What torchinfo's convention adds to torch's MACs, on torch's shapes: a bias add per output element
    of each leaf call, and BatchNorm's parameters times its output positions (for the tally only)."""
    xs, kw = torch_inputs(call)
    total = 0

    def hook(m: nn.Module, i: Any, o: Any) -> None:
        nonlocal total
        out = next(iter(_tensors(o)), None)
        if out is None or list(m.children()):
            return
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            total += sum(p.numel() for p in m.parameters()) * math.prod(out.shape[:1] + out.shape[2:])
        elif getattr(m, "bias", None) is not None and isinstance(m.bias, torch.Tensor):
            total += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model.eval()(*xs, **kw)
    finally:
        for h in handles:
            h.remove()
    return total


def tally() -> dict[str, list[str]]:
    """torchinfo against torch, call by call: "agree"; "convention" (the MACs differ only by torchinfo's
    convention: parameters times output positions); "torch-right" (torchinfo's numbers are wrong);
    "torchinfo raises"; "skipped" (torchvision absent). cnncalc gives torch's numbers on every call run."""
    import torchinfo

    kinds: dict[str, list[str]] = {"agree": [], "convention": [], "torch-right": [], "torchinfo raises": [],
                                   "skipped": []}  # fmt: skip
    for call in CALLS:
        if call.needs == "torchvision" and not HAS_TORCHVISION:
            kinds["skipped"].append(call.id)
            continue
        torch.manual_seed(0)
        model = call.model()
        torch.manual_seed(0)
        want = truth(call.model(), call)
        try:
            theirs = torchinfo.summary(model, *call.args, **{**call.kwargs, "verbose": 0})
        except Exception as e:
            kinds["torchinfo raises"].append(f"{call.id}: {type(e).__name__}")
            continue
        diffs = []
        if theirs.total_params != want.params:
            diffs.append(f"params {theirs.total_params:,} vs torch {want.params:,}")
        macs_differ = want.macs is not None and theirs.total_mult_adds != want.macs
        if macs_differ:
            diffs.append(f"MACs {theirs.total_mult_adds:,} vs torch {want.macs:,}")
        if not diffs:
            kinds["agree"].append(call.id)
            continue
        torch.manual_seed(0)
        adds = convention(call.model(), call) if macs_differ and not isinstance(model, torch.jit.ScriptModule) else -1
        kind = "convention" if len(diffs) == 1 and want.macs is not None and want.macs + adds == \
            theirs.total_mult_adds else "torch-right"  # fmt: skip
        kinds[kind].append(f"{call.id}: {'; '.join(diffs)}")
    return kinds


if __name__ == "__main__":
    for kind, ids in tally().items():
        print(f"{kind}: {len(ids)}")
        for i in ids:
            print(f"  {i}")
