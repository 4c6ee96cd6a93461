"""Evaluation metrics against values computed by hand (the arithmetic is spelled out beside each case)."""

import math

import numpy as np
import pytest

from egx_notebook.eval.metrics import (GroundingScore, MatchCounts, MaskCounts, accuracy, average_precision,
                                       confusion_matrix, cumulative_iou, grounding_accuracy, mask_counts,
                                       match_boxes_ignoring, top1_ious)
from egx_notebook.eval.small_targets import SmallTargetCounts, small_target_counts

A, B = [0, 0, 10, 10], [20, 0, 30, 10]
FAR = [50, 50, 60, 60]


# -- one target per query ----------------------------------------------------------------------------------
def test_grounding_accuracy_and_mean_iou():
    # IoUs: identical 1.0; no answer 0.0; half of the box 50 / 100 = 0.5 (counts at >= 0.5)
    preds = [A, None, [0, 0, 5, 10]]
    score = grounding_accuracy(preds, [A, A, A])
    assert score == GroundingScore(acc=pytest.approx(2 / 3), mean_iou=pytest.approx(0.5), n=3)
    np.testing.assert_allclose(top1_ious(preds, [A, A, A]), [1.0, 0.0, 0.5])
    assert grounding_accuracy(preds, [A, A, A], iou=0.6).acc == pytest.approx(1 / 3)
    assert grounding_accuracy([], []).n == 0


# -- average precision -------------------------------------------------------------------------------------
def test_average_precision_all_point_hand_value():
    # ranked: A (TP) 0.9, FAR (FP) 0.8, B (TP) 0.7 -> recall .5 .5 1, precision 1 .5 2/3
    # envelope 1, 2/3, 2/3 -> AP = 0.5 * 1 + 0.5 * 2/3
    preds = [([A, FAR, B], [0.9, 0.8, 0.7])]
    assert average_precision(preds, [[A, B]]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # the false alarm ranked last costs nothing: recall 1 is reached at precision 1
    assert average_precision([([A, FAR, B], [0.9, 0.1, 0.7])], [[A, B]]) == pytest.approx(1.0)


def test_average_precision_duplicates_images_and_ignore():
    # two detections of A: the second (lower score) is a false positive; B never found -> recall tops at .5
    assert average_precision([([A, A], [0.9, 0.8])], [[A, B]]) == pytest.approx(0.5)
    # across images: ranking is global. img0: A 0.6 (TP); img1: FAR 0.9 (FP), B 0.5 (TP)
    # ranked FAR, A, B: precision 0, 1/2, 2/3 at recall 0, .5, 1 -> AP = .5 * 2/3 + .5 * 2/3
    preds = [([A], [0.6]), ([FAR, B], [0.9, 0.5])]
    assert average_precision(preds, [[A], [B]]) == pytest.approx(2 / 3)
    # the same false alarm on an ignored object is dropped
    assert average_precision(preds, [[A], [B]], ignore=[[], [FAR]]) == pytest.approx(1.0)
    assert average_precision([([], [])], [[]]) == 0.0
    assert average_precision([([], [])], [[A]]) == 0.0


def test_match_boxes_ignoring_drops_predictions_on_ignored_objects():
    c = match_boxes_ignoring([A, FAR, B], [A], ignore=[FAR], iou=0.5)
    assert c == MatchCounts(tp=1, fp=1, fn=0)  # FAR ignored, B a false alarm
    assert match_boxes_ignoring([], [A], ignore=[FAR]) == MatchCounts(0, 0, 1)
    assert match_boxes_ignoring([FAR], [], ignore=[FAR]) == MatchCounts(0, 0, 0)


# -- masks ---------------------------------------------------------------------------------------------------
def test_mask_counts_and_cumulative_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True
    b[1:3, 1:3] = True  # I = 1, U = 7
    c = np.zeros((4, 4), bool)
    c[:2, :] = True  # with itself: I = U = 8
    assert mask_counts(a, b) == MaskCounts(1, 7)
    assert mask_counts(a, b) + mask_counts(c, c) == MaskCounts(9, 15)
    # cIoU = (1 + 8) / (7 + 8), not the mean (1/7 + 1) / 2
    assert cumulative_iou([(a, b), (c, c)]) == pytest.approx(9 / 15)
    valid = np.ones((4, 4), bool)
    valid[2:] = False
    assert mask_counts(a, b, valid) == MaskCounts(1, 5)
    assert MaskCounts(0, 0).iou == 1.0
    with pytest.raises(ValueError):
        mask_counts(a, np.zeros((3, 3), bool))


# -- small targets -------------------------------------------------------------------------------------------
def test_pd_fa_centroid_rule_hand_counts():
    gt = np.zeros((20, 20), bool)
    gt[2:5, 2:5] = True  # target 1, centroid (3, 3)
    gt[10, 10] = True  # target 2, missed
    pred = np.zeros((20, 20), bool)
    pred[3:6, 3:6] = True  # centroid (4, 4): sqrt(2) px from target 1 -> detected
    pred[15:17, 15:17] = True  # 4 px false alarm
    c = small_target_counts(pred, gt)
    assert c == SmallTargetCounts(detected=1, targets=2, false_pixels=4, pixels=400)
    assert c.pd == 0.5 and c.fa == pytest.approx(4 / 400)
    total = c + SmallTargetCounts(1, 1, 0, 100)
    assert total.pd == pytest.approx(2 / 3) and total.fa == pytest.approx(4 / 500)


def test_pd_fa_overlap_rule_and_one_detection_per_prediction():
    gt = np.zeros((10, 10), bool)
    gt[5, 0:9] = True  # a line, centroid (5, 4)
    pred = np.zeros((10, 10), bool)
    pred[5, 0] = True  # centroid 4 px away, but overlapping
    assert small_target_counts(pred, gt) == SmallTargetCounts(0, 1, 1, 100)
    assert small_target_counts(pred, gt, max_distance=4) == SmallTargetCounts(1, 1, 0, 100)
    assert small_target_counts(pred, gt, rule="overlap") == SmallTargetCounts(1, 1, 0, 100)
    two = np.zeros((10, 10), bool)
    two[5, 5] = two[5, 7] = True  # two targets 1 px either side of one prediction
    one = np.zeros((10, 10), bool)
    one[5, 6] = True
    assert small_target_counts(one, two) == SmallTargetCounts(1, 2, 0, 100)
    with pytest.raises(ValueError):
        small_target_counts(one, two, rule="nearest")


# -- classification -----------------------------------------------------------------------------------------
def test_accuracy_and_confusion_matrix():
    y_true = ["ship", "ship", "person", "vehicle"]
    y_pred = ["ship", "water", "person", "person"]
    assert accuracy(y_true, y_pred) == 0.5
    labels, m = confusion_matrix(y_true, y_pred)
    assert labels == ["person", "ship", "vehicle", "water"]
    # rows = true (person, ship, vehicle, water), columns = named
    np.testing.assert_array_equal(m, [[1, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]])
    labels, m = confusion_matrix(y_true, y_pred, labels=["ship", "person"])
    np.testing.assert_array_equal(m, [[1, 0], [0, 1]])
    assert accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        accuracy(["a"], [])


# -- captions ------------------------------------------------------------------------------------------------
def test_tokenize():
    from egx_notebook.eval.captions import tokenize

    assert tokenize("A ship, near the Harbour!") == ["a", "ship", "near", "the", "harbour"]


def test_cider_d_hand_values():
    from egx_notebook.eval.captions import cider_d

    # Two items, every reference n-gram in one item only: idf = ln 2 - ln 1 = ln 2 for all of them.
    # item 1: hyp "a" vs ref "a b": 1-grams: dot ln2*ln2, norms ln2 and sqrt(2) ln2 -> 1/sqrt(2); no 2-grams in the
    #   hypothesis -> 0; length penalty exp(-(1 - 2)^2 / 72); score 10 * (1/sqrt 2) * exp(-1/72) / 4
    # item 2: identical "c d": 1-grams and 2-grams 1, 3/4-grams empty -> 10 * 2 / 4 = 5
    s1 = 10 * (1 / math.sqrt(2)) * math.exp(-1 / 72) / 4
    mean, per = cider_d({1: ["a b"], 2: ["c d"]}, {1: "a", 2: "c d"})
    assert per[1] == pytest.approx(s1) and per[2] == pytest.approx(5.0)
    assert mean == pytest.approx((s1 + 5.0) / 2)
    # clipping: hyp "a a" has tf 2 for "a", clipped to the reference's 1: dot ln2^2 / (2 ln2 * sqrt2 ln2)
    _, per = cider_d({1: ["a b"], 2: ["c d"]}, {1: "a a", 2: "c d"})
    assert per[1] == pytest.approx(10 * (1 / (2 * math.sqrt(2))) / 4)
    # references are averaged: against "c d" the 1- and 2-gram similarities are 1 (sum 2), against "x y" 0
    # -> 10 * (2 + 0) / (4 n-gram orders * 2 references) = 2.5
    _, per = cider_d({1: ["a b"], 2: ["c d", "x y"]}, {1: "a b", 2: "c d"})
    assert per[2] == pytest.approx(2.5)
    # an n-gram present in every item's references carries no information (idf 0)
    assert cider_d({1: ["ship"], 2: ["ship"]}, {1: "ship", 2: "ship"})[0] == 0.0


def test_cider_d_matches_coco_caption_reference_implementation():
    cider_mod = pytest.importorskip("pycocoevalcap.cider.cider", reason="pycocoevalcap not installed (optional)")
    from egx_notebook.eval.captions import cider_d, tokenize

    refs = {1: ["a white ship near the harbour", "a boat in the port"], 2: ["two cars on a road"],
            3: ["a large lake surrounded by forest", "water body"]}
    hyps = {1: "a white boat near the harbour", 2: "cars on the road", 3: "a lake with trees"}
    ref, per = cider_mod.Cider().compute_score({k: [" ".join(tokenize(r)) for r in v] for k, v in refs.items()},
                                               {k: [" ".join(tokenize(h))] for k, h in hyps.items()})
    mean, mine = cider_d(refs, hyps)
    assert mean == pytest.approx(float(ref))
    np.testing.assert_allclose([mine[k] for k in (1, 2, 3)], per)


def test_bleu4_hand_value():
    pytest.importorskip("nltk")
    from egx_notebook.eval.captions import bleu4

    # clipped n-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths -> no brevity penalty
    got = bleu4({1: ["the cat sat on a mat"]}, {1: "the cat sat on the mat"})
    assert got == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert bleu4({1: ["a ship in the harbour"]}, {1: "a ship in the harbour"}) == pytest.approx(1.0)


def test_rouge_l_hand_value():
    pytest.importorskip("rouge_score")
    from egx_notebook.eval.captions import rouge_l

    # LCS("a b c d", "a c d e") = "a c d": P = R = 3/4 -> F1 0.75; the better of two references counts
    assert rouge_l({1: ["a c d e"]}, {1: "a b c d"}) == pytest.approx(0.75)
    assert rouge_l({1: ["x y", "a c d e"], 2: ["b"]}, {1: "a b c d", 2: "b"}) == pytest.approx((0.75 + 1) / 2)


def test_meteor_nltk_exact_and_stem_matching():
    pytest.importorskip("nltk")
    from egx_notebook.eval.captions import meteor

    # P = R = 1 (Fmean 1); one chunk of 3 matches: penalty 0.5 * (1/3)^3
    score, impl = meteor({1: ["the cat sat"]}, {1: "the cat sat"}, implementation="nltk")
    assert impl.startswith("nltk") and score == pytest.approx(1 - 0.5 / 27)
    # "ships" matches "ship" by its Porter stem; 2 matches in 1 chunk: 1 - 0.5 * (1/2)^3
    assert meteor({1: ["two ship"]}, {1: "two ships"}, "nltk")[0] == pytest.approx(1 - 0.5 / 8)
    # reversed order: 2 chunks of 1 -> penalty 0.5 * 1^3
    assert meteor({1: ["cat the"]}, {1: "the cat"}, "nltk")[0] == pytest.approx(0.5)


def test_caption_inputs_are_checked():
    from egx_notebook.eval.captions import cider_d

    with pytest.raises(ValueError):
        cider_d({1: ["a"]}, {2: "a"})
    with pytest.raises(TypeError):
        cider_d({1: "a ship"}, {1: "a"})
