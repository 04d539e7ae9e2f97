"""Does centering the embeddings on the feed's mean place user topics better? (issue 36, item 1/2)

The distilled embedding head, like many sentence encoders, puts every financial text in one narrow
cone: a topic's centroid is close to everything, so its threshold must sit high and on-topic texts
fall under it. Subtracting a mean vector before the cosine spreads the cone. Which mean: the packaged
reference headlines', the whole feed's, or a 500-document sample of it (what a worker could keep)?
Same protocol and data as ``bench/user_topics.py`` (8 rule-labelled topics on the real stocknet
tweets, 8 examples drawn 10 times), for the classifier's head and the frozen base encoder.

    python -m bench.topic_centering
"""

from __future__ import annotations

from functools import partial

import numpy as np

from bench.user_topics import averaged, base_embeddings, read_feed, scores
from model_service.engine import InferenceEngine
from model_service.settings import ModelSettings
from model_service.user_topics import reference_headlines, unit

MEASURES = ("accuracy", "macro_f1", "off_topic_none", "on_topic_right", "open_macro_f1")


def run() -> list[tuple[str, dict[str, float]]]:
    settings = ModelSettings()
    feed = read_feed(settings.training_data_dir / "real" / "stocknet_tweets.jsonl.gz")
    engine = InferenceEngine.load(settings)
    reference = reference_headlines()
    rows = []
    for model, vectors, ref in (
        ("ours", engine.embed(feed.texts), engine.embed(reference)),
        ("frozen base encoder", base_embeddings(feed.texts), base_embeddings(reference)),
    ):
        sample = vectors[np.random.default_rng(1).choice(len(vectors), 500, replace=False)]
        means = {
            "none (shipped)": np.zeros(vectors.shape[1]),
            "the reference headlines' mean": ref.mean(axis=0),
            "the feed's mean": vectors.mean(axis=0),
            "a 500-document sample's mean": sample.mean(axis=0),
        }
        for name, mean in means.items():
            centered, centered_ref = unit(vectors - mean), unit(ref - mean)
            result = averaged(partial(scores, feed, centered, centered_ref))
            rows.append((f"{model}, centered on {name}", result))
    return rows


if __name__ == "__main__":
    print("| embedding | " + " | ".join(MEASURES) + " |")
    print("| --- |" + " ---: |" * len(MEASURES))
    for label, result in run():
        print(f"| {label} | " + " | ".join(f"{result[m]:.3f}" for m in MEASURES) + " |")
