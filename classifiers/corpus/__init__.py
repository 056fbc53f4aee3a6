"""The model's training corpus: real message formats per category, varied by a seeded generator.

See ``signatures.py`` for the formats and their provenance and ``generate.py``
for how they become training texts. The evaluation set
(``shared/data/dev_real.jsonl``) is never part of it.
"""
