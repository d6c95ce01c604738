"""Freezing batch normalisation for fine-tuning and the end of a training run."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

_FROZEN_ATTR = "_cosmicbook_bn_frozen"
_HOOK_ATTR = "_cosmicbook_bn_hook"


def _keep_eval_pre_hook(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook of a frozen batch-norm layer: run it in eval mode, whatever
    ``model.train()`` said, so it normalises with (and never updates) its running stats."""
    if getattr(module, _FROZEN_ATTR, False):
        module.training = False


def _batchnorm_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from torch.nn.modules.batchnorm import _BatchNorm

    return [(name, m) for name, m in model.named_modules() if isinstance(m, _BatchNorm)]


def _freeze_layer(layer: nn.Module, freeze_affine: bool) -> None:
    if getattr(layer, _HOOK_ATTR, None) is None:
        setattr(layer, _HOOK_ATTR, layer.register_forward_pre_hook(_keep_eval_pre_hook))
    setattr(layer, _FROZEN_ATTR, True)
    layer.eval()
    if freeze_affine:
        for p in layer.parameters(recurse=False):
            p.requires_grad_(False)


def _unfreeze_layer(layer: nn.Module, training: bool) -> None:
    handle = getattr(layer, _HOOK_ATTR, None)
    if handle is not None:
        handle.remove()
    for attr in (_HOOK_ATTR, _FROZEN_ATTR):
        if attr in layer.__dict__:
            delattr(layer, attr)
    for p in layer.parameters(recurse=False):
        p.requires_grad_(True)
    layer.train(training)


def freeze_batchnorm(model: nn.Module, *, freeze_affine: bool = False) -> int:
    """Freeze every batch-norm layer of ``model``: fixed running statistics from now on.

    As in deepCR (Zhang & Bloom 2020), training a segmentation net for some epochs and then
    freezing batch normalisation makes the network behave identically in training and
    inference, and stops small late-training batches from corrupting the statistics.

    Mechanism: each ``BatchNorm*`` layer (including ``SyncBatchNorm`` and the lazy variants)
    gets a forward pre-hook that switches it to eval mode right before every forward call.
    The layer therefore normalises with its running mean/variance and never updates them (nor
    ``num_batches_tracked``), even after ``model.train()``, inside or outside :func:`fit`.
    All other layers keep training normally. The hook survives ``copy.deepcopy`` and pickling
    of the model; it is not part of the ``state_dict``, but :class:`Checkpoint` records which
    layers are frozen and re-freezes them on load, so a resumed run stays frozen.

    Parameters
    ----------
    model : torch.nn.Module
    freeze_affine : bool
        Also stop training the layers' learnable scale and shift (``weight``, ``bias``) by
        setting ``requires_grad=False``. deepCR keeps them trainable (the default).

    Returns
    -------
    int
        The number of batch-norm layers frozen (a ``UserWarning`` is issued when 0).

    Examples
    --------
    Freeze after the first 10 epochs of :func:`fit`:

    >>> def freeze_after_10(epoch, model, history):  # doctest: +SKIP
    ...     if epoch == 10:
    ...         freeze_batchnorm(model)
    >>> fit(model, loader, loss_fn, opt, epochs=40,  # doctest: +SKIP
    ...     options=FitOptions(epoch_callback=freeze_after_10))
    """
    layers = _batchnorm_layers(model)
    if not layers:
        warnings.warn("freeze_batchnorm: the model has no batch-norm layer", stacklevel=2)
    for _, layer in layers:
        _freeze_layer(layer, freeze_affine)
    return len(layers)


def unfreeze_batchnorm(model: nn.Module) -> int:
    """Undo :func:`freeze_batchnorm`: the layers follow ``model.train()/eval()`` again.

    Affine parameters get ``requires_grad=True`` back. Returns the number of layers unfrozen.
    """
    count = 0
    for _, layer in _batchnorm_layers(model):
        if getattr(layer, _FROZEN_ATTR, False):
            _unfreeze_layer(layer, model.training)
            count += 1
    return count


def frozen_batchnorm_layers(model: nn.Module) -> dict[str, bool]:
    """Names of the frozen batch-norm layers -> whether their affine parameters are frozen too.

    The root module, if it is itself a batch-norm layer, is named ``""``.
    """
    return {
        name: not any(p.requires_grad for p in layer.parameters(recurse=False))
        for name, layer in _batchnorm_layers(model)
        if getattr(layer, _FROZEN_ATTR, False)
    }


