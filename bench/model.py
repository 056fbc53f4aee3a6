"""The model's predict throughput on exception texts, in batches of 1000, cache cleared for each batch."""

from __future__ import annotations

import time

from classifiers.core import load_classifier
from classifiers.corpus.generate import corpus
from rules.loader import load_packs
from sparktriage.settings import Settings


def main(batch: int = 1000) -> None:
    model = load_classifier(Settings()).model
    assert model is not None, "no model shipped: run sparktriage train"
    texts = [t for t, _, _ in corpus(load_packs(None).rules, per_entry=6, seed=99)]
    t0 = time.perf_counter()
    for start in range(0, len(texts), batch):
        model._cache.clear()  # measure the model, not the cache
        model.predict(texts[start:start + batch])
    took = time.perf_counter() - t0
    print(f"model {model.version}: {len(texts) / took:,.0f} exception texts/s in batches of {batch} "
          f"({len(texts):,} texts, masking included, cache off)")


if __name__ == "__main__":
    main()
