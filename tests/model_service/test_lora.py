from __future__ import annotations

import torch
from torch import nn

from model_service.lora import LoRALinear, add_lora, merge_lora


def test_merged_adapter_computes_the_same_function() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    names = {"0", "2"}
    assert add_lora(net, tuple(names), rank=2, alpha=4) == 2
    for module in net.modules():
        if isinstance(module, LoRALinear):
            nn.init.normal_(module.lora_b)  # a trained adapter is not zero
    x = torch.randn(5, 8)
    before = net(x)
    merge_lora(net)
    assert not any(isinstance(m, LoRALinear) for m in net.modules())
    assert torch.allclose(net(x), before, atol=1e-5)


def test_base_weights_are_frozen_and_adapters_train() -> None:
    layer = LoRALinear(nn.Linear(4, 4), rank=2, alpha=2)
    trainable = {name for name, p in layer.named_parameters() if p.requires_grad}
    assert trainable == {"lora_a", "lora_b"}
    x = torch.randn(3, 4)
    assert torch.equal(layer(x), layer.base(x))  # B starts at zero: training starts from the base model
