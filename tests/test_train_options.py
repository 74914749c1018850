"""One frozen TrainOptions carries the fine-tuning options to every entry point: the
keyword form (Model.finetune(lr=...)) and the object form give the same run and the same
arena query, a bad option is refused by name before anything runs, and the object can
neither change nor take an unknown option."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import edgesnn
from edgesnn.runtime.options import DEFAULT_LR, TrainOptions


def test_options_are_frozen_and_resolve_the_default_rate():
    opts = TrainOptions(trainable="bias")
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.lr = 0.1
    assert opts.lr is None and opts.rate == DEFAULT_LR["bias"]
    assert TrainOptions(lr=0.01).rate == 0.01


def test_keywords_go_on_top_of_an_options_object():
    base = TrainOptions(trainable="all", batch=4)
    opts = TrainOptions.build(base, lr=0.02, steps=None)  # None keeps the object's value
    assert (opts.trainable, opts.batch, opts.lr, opts.steps) == ("all", 4, 0.02, None)
    assert TrainOptions.build(None) == TrainOptions()
    with pytest.raises(TypeError, match="unknown fine-tuning option"):
        TrainOptions.build(None, learning_rate=0.1)


@pytest.mark.parametrize("bad, words", [
    ({"mode": "fast"}, "mode must be one of"), ({"trainable": "everything"}, "trainable"),
    ({"surrogate": "relu"}, "surrogate"), ({"batch": 0}, "batch must be 1..65535"),
    ({"steps": 64}, "steps must be 1..63"), ({"lr": float("nan")}, "lr must be a finite"),
    ({"momentum": 1.0}, "momentum must be below 1"),
])
def test_a_bad_option_is_refused_by_name(bad, words):
    with pytest.raises(ValueError, match=words):
        TrainOptions(**bad)


def test_object_and_keyword_forms_train_the_same_model(digits):
    x, y = digits[0][:20], digits[1][:20]
    a, b = edgesnn.load_default(), edgesnn.load_default()
    kw = dict(trainable="all", lr=0.5, batch=5, momentum=0.5)
    ra = a.finetune(x, y, epochs=1, **kw)
    rb = b.finetune(x, y, epochs=1, options=TrainOptions(**kw))
    assert ra.blob == rb.blob == a.blob == b.blob
    assert ra.blob != edgesnn.load_default().blob  # the run changed the model
    assert a.finetune_memory("all") == a.finetune_memory(options=TrainOptions(trainable="all"))


def test_replace_blob_swaps_the_model_and_refuses_a_bad_blob(default_model, digits):
    m = edgesnn.load_default()
    before = m.predict(digits[0][:5])
    with pytest.raises(edgesnn.BlobError):
        m.replace_blob(m.blob[:-1] + bytes([m.blob[-1] ^ 1]))  # CRC no longer matches
    assert np.array_equal(m.predict(digits[0][:5]), before)  # unchanged after a refusal
    tuned = m.finetune(digits[0][:10], digits[1][:10], epochs=1, trainable="all", lr=0.5)
    m.replace_blob(default_model.blob)
    assert m.blob == default_model.blob and tuned.blob != m.blob
