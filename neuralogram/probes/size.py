"""Effects of the embedding size (paper section 3.3, Fig. 3): the pitch probe for every shipped E, with eval mAP.

The paper: no significant loss of classification accuracy from E = 2000 to 500, and for a smaller E "the
activation for a particular frequency no longer gives high salience in a few disjoint dimensions ... the
activation is also spread across multiple bins", i.e. coarser tuning (a larger ``tuning_width``), more dimensions
on at once (a larger ``on_fraction``) and lower ``salience``.

Book: ``book/08_embedding_size.ipynb``.
"""
from __future__ import annotations

from .pitch import pitch_probe

__all__ = ["shipped_by_size", "size_probe"]


def shipped_by_size(names=None) -> list[tuple[int, str]]:
    """``(E, name)`` of the shipped models of :data:`~neuralogram.checkpoints.DEFAULT_FAMILY` (or of ``names``),
    largest E first: the sizes the chapter compares are models trained the same way.

    Book: ``book/08_embedding_size.ipynb``.
    """
    from ..checkpoints import DEFAULT_FAMILY, available_models, load_model

    names = available_models(family=DEFAULT_FAMILY) if names is None else list(names)
    return sorted(((int(load_model(n)[0].embedding_size), n) for n in names), reverse=True)


def size_probe(names=None, *, baseline: bool = True, corpus=None, seed: int = 0, layer=None, cache: bool = True,
               **params) -> dict:
    """Pitch numbers and eval mAP for each shipped model, largest embedding first.

    Parameters
    ----------
    names : list of str, optional
        Shipped model names (default: the shipped models of the default family, :func:`shipped_by_size`).
    baseline : bool
        Also run each model's fair random-initialised twin (:func:`~neuralogram.probes.baseline.random_init_model`).
    params
        Passed to :func:`~neuralogram.probes.pitch.pitch_probe` (signal and window parameters).

    Returns
    -------
    dict
        ``E`` (list of int), ``names``, ``mAP`` and ``chance_mAP`` (eval, from each model card's metrics),
        ``trained`` and (if ``baseline``) ``random``: lists of :func:`pitch_probe` dicts in the same order.

    Book: ``book/08_embedding_size.ipynb``.
    """
    from ..checkpoints import eval_map, load_model
    from .pitch import pitch_compare

    rows = shipped_by_size(names)
    if not rows:
        raise ValueError("no shipped models to compare (data/models is empty); pass names= of checkpoints")
    out = dict(E=[], names=[], mAP=[], chance_mAP=[], trained=[], random=[])
    for E, name in rows:
        model, info = load_model(name)
        try:
            m = eval_map(info)
        except KeyError:            # a checkpoint that records no eval mAP (e.g. one trained outside the package)
            m = {"mAP": float("nan"), "chance_mAP": float("nan")}
        out["E"].append(E)
        out["names"].append(name)
        out["mAP"].append(m["mAP"])
        out["chance_mAP"].append(m["chance_mAP"])
        if baseline:
            both = pitch_compare(model, info, corpus=corpus, seed=seed, layer=layer, cache=cache, **params)
            out["trained"].append(both["trained"])
            out["random"].append(both["random"])
        else:
            out["trained"].append(pitch_probe(model, info, layer=layer, cache=cache, **params))
    if not baseline:
        out.pop("random")
    return out
