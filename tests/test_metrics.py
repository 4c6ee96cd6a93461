"""Metrics against hand-computed values."""

import numpy as np
import pytest

from egx_notebook.eval.metrics import MatchCounts, box_iou, mask_iou, match_boxes


def test_box_iou_hand_values():
    ious = box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2], [2, 0, 4, 2]])
    # overlap 1 px of 4 + 4 - 1 = 7; identical; touching edges (half-open) -> 0
    np.testing.assert_allclose(ious, [[1 / 7, 1.0, 0.0]])


def test_match_boxes_is_one_to_one_and_score_ordered():
    gt = [[0, 0, 10, 10]]
    pred = [[0, 0, 10, 9], [0, 0, 10, 10]]  # both overlap the one object; only one may match
    counts = match_boxes(pred, gt, iou=0.5, scores=[0.2, 0.9])
    assert counts == MatchCounts(tp=1, fp=1, fn=0)
    assert counts.precision == 0.5 and counts.recall == 1.0
    assert counts.f1 == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_match_boxes_threshold_and_empty_inputs():
    assert match_boxes([[0, 0, 10, 10]], [[5, 0, 15, 10]], iou=0.5) == MatchCounts(0, 1, 1)  # IoU 1/3
    assert match_boxes([[0, 0, 10, 10]], [[5, 0, 15, 10]], iou=0.3) == MatchCounts(1, 0, 0)
    assert match_boxes([], [[0, 0, 1, 1]]) == MatchCounts(0, 0, 1)
    assert match_boxes([[0, 0, 1, 1]], []) == MatchCounts(0, 1, 0)
    assert MatchCounts(0, 0, 0).f1 == 0.0
    assert MatchCounts(1, 2, 3) + MatchCounts(1, 0, 0) == MatchCounts(2, 2, 3)


def test_mask_iou_hand_values_and_valid_mask():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # 4 px
    b[1:3, 1:3] = True  # 4 px, 1 shared
    assert mask_iou(a, b) == pytest.approx(1 / 7)
    valid = np.ones((4, 4), bool)
    valid[2:, :] = False  # drops row 2: b keeps 2 px, union 4 + 2 - 1
    assert mask_iou(a, b, valid) == pytest.approx(1 / 5)
    assert mask_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
