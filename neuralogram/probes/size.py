"""Effects of the embedding size (paper section 3.3, Fig. 3): the pitch probe for every shipped E, with eval mAP.

The paper: no significant loss of classification accuracy from E = 2000 to 500, and for a smaller E "the
activation for a particular frequency no longer gives high salience in a few disjoint dimensions ... the
activation is also spread across multiple bins", i.e. coarser tuning (a larger ``tuning_width``), more dimensions
on at once (a larger ``on_fraction``) and lower ``salience``.

Book: ``book/08_embedding_size.ipynb``.
"""
from __future__ import annotations

from .pitch import pitch_probe

__all__ = ["shared_validation", "shipped_by_size", "size_probe"]


def shipped_by_size(names=None) -> list[tuple[int, str]]:
    """``(E, name)`` of the shipped models of :data:`~neuralogram.checkpoints.DEFAULT_FAMILY` (or of ``names``),
    largest E first: the sizes the chapter compares are models trained the same way.

    Book: ``book/08_embedding_size.ipynb``.
    """
    from ..checkpoints import DEFAULT_FAMILY, available_models, load_model

    names = available_models(family=DEFAULT_FAMILY) if names is None else list(names)
    return sorted(((int(load_model(n)[0].embedding_size), n) for n in names), reverse=True)


def shared_validation(names, *, part: str = "largest") -> dict:
    """Each model's last validation score on one validation part that every one of them was scored on.

    A distilled student's crop plan can grow from one stage to the next (more views of the same sources, the same
    validation recordings), and with it the validation part, so the last numbers of two model cards may be
    measured on different crops. The part is identified by its number of crops (``val_n`` in each card's
    history); a model's score there is its last epoch on it (for a model that went on to a larger plan, the
    weights before that stage, not the shipped ones).

    Parameters
    ----------
    names : list of str
        Shipped model names or checkpoint paths with cards (:func:`~neuralogram.checkpoints.model_card`).
    part : {"largest", "smallest"}
        Which of the validation parts common to all of them.

    Returns
    -------
    dict
        ``val_n`` (crops), and lists in the order of ``names``: ``epoch`` (of the score, 1-based), ``last``
        (whether that epoch is the shipped one), ``mAP``, ``top1`` and ``loss``.

    Book: ``book/08_embedding_size.ipynb``.
    """
    from ..checkpoints import model_card

    if part not in ("largest", "smallest"):
        raise ValueError(f"part must be 'largest' or 'smallest', got {part!r}")
    names = list(names)
    if not names:
        raise ValueError("no models given")
    hists = []
    for n in names:
        h = [x for x in model_card(n).get("history", []) if "val_n" in x and "val_mAP" in x]
        if not h:
            raise ValueError(f"{n!r}: its model card has no validation history (only distilled students have one)")
        hists.append(h)
    common = set.intersection(*({int(x["val_n"]) for x in h} for h in hists))
    if not common:
        raise ValueError(f"{names} share no validation part (crops per part: "
                         f"{[sorted({int(x['val_n']) for x in h}) for h in hists]})")
    n = max(common) if part == "largest" else min(common)
    out = dict(val_n=n, epoch=[], last=[], mAP=[], top1=[], loss=[])
    for h in hists:
        k = max(i for i, x in enumerate(h) if int(x["val_n"]) == n)
        out["epoch"].append(int(h[k].get("epoch", k + 1)))
        out["last"].append(k == len(h) - 1)
        out["mAP"].append(float(h[k]["val_mAP"]))
        out["top1"].append(float(h[k].get("val_top1", float("nan"))))
        out["loss"].append(float(h[k].get("val_loss", float("nan"))))
    return out


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
