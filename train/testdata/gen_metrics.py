#!/usr/bin/env python3
"""Generates metrics_reference.json: UF1, UAR and ACC computed by
scikit-learn for seeded random label/prediction vectors, as fixtures for
train/metrics_test.ts.

The project's absent-class rule (train/metrics.ts) scores UF1 and UAR over the
classes PRESENT in the ground truth; in scikit-learn that is
`f1_score(..., labels=present, average="macro")` and
`recall_score(..., labels=present, average="macro")` (predictions of an
absent class still count as the true class's false negatives, because
`labels` only selects which per-class scores are averaged).

Run: /usr/bin/python3 train/testdata/gen_metrics.py  (Debian: python3-sklearn)
"""
import json
import os
import random

import sklearn
from sklearn.metrics import accuracy_score, f1_score, recall_score

rng = random.Random(20261203)
cases = []
for i in range(40):
    k = rng.choice([2, 3, 4, 5, 7])
    n = rng.randint(1, 60)
    # some cases leave classes out of the ground truth (absent classes)
    truth_classes = list(range(k)) if i % 3 else rng.sample(range(k), max(1, k - 2))
    truth = [rng.choice(truth_classes) for _ in range(n)]
    skill = rng.random()
    pred = [t if rng.random() < skill else rng.randrange(k) for t in truth]
    present = sorted(set(truth))
    cases.append({
        "k": k,
        "truth": truth,
        "pred": pred,
        "uf1": f1_score(truth, pred, labels=present, average="macro", zero_division=0),
        "uar": recall_score(truth, pred, labels=present, average="macro", zero_division=0),
        "acc": accuracy_score(truth, pred),
    })

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_reference.json")
with open(out, "w") as f:
    json.dump({"generator": "gen_metrics.py", "sklearn": sklearn.__version__, "cases": cases}, f)
    f.write("\n")
print(f"wrote {len(cases)} cases to {out}")
