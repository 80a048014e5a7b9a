"""Clips with exact ground truth: boxes checked against boxes worked out by hand, and against
the pixels the clip shows."""

from __future__ import annotations

import numpy as np
import pytest

from maskdet.data import load_dataset
from maskdet.errors import MaskdetError
from maskdet.evaluation.tracking import MotRow, read_mot
from maskdet.video.clips import (
    ClipPlan,
    ground_truth,
    make_clips,
    plan_clip,
    read_clip,
    write_clip,
)
from tests.helpers import count_frames, write_voc_scenes

# A 200 x 100 photo with three faces, filmed at 160 x 120 in two frames worked out by hand:
# frame 1 at scale 2, shifted by (-80, -30); frame 2 at scale 1.5, shifted by (-60, -20), with
# a bar over x 25..45.
FACES = [((50, 20, 20, 10), "with_mask"), ((100, 40, 20, 20), "without_mask"),
         ((30, 20, 20, 10), "mask_weared_incorrect")]
PLAN = ClipPlan(size=(160, 120), scales=np.array([2.0, 1.5]),
                shifts=np.array([[-80.0, -30.0], [-60.0, -20.0]]), gains=np.ones(2),
                occluders=((), ((25.0, 0.0, 20.0, 120.0),)))


def test_boxes_move_with_the_camera():
    np.testing.assert_allclose(PLAN.boxes(0, [box for box, _ in FACES]),
                               [[20, 10, 40, 20], [120, 50, 40, 40], [-20, 10, 40, 20]])
    np.testing.assert_allclose(PLAN.boxes(1, [box for box, _ in FACES]),
                               [[15, 10, 30, 15], [90, 40, 30, 30], [-15, 10, 30, 15]])


def test_ground_truth_worked_by_hand():
    rows = ground_truth(PLAN, FACES, classes=("with_mask", "without_mask"), min_face=12)
    assert rows == [
        MotRow(1, 1, (20, 10, 40, 20), 1.0, "with_mask", 1.0),
        MotRow(1, 2, (120, 50, 40, 40), 1.0, "without_mask", 1.0),
        # Half out of the frame: cut to what is in view; its class is not the model's.
        MotRow(1, 3, (0, 10, 20, 20), 0.0, "mask_weared_incorrect", 0.5),
        # Two thirds behind the bar (x 25..45 of 15..45): ignored.
        MotRow(2, 1, (15, 10, 30, 15), 0.0, "with_mask", pytest.approx(1 / 3)),
        MotRow(2, 2, (90, 40, 30, 30), 1.0, "without_mask", 1.0),
        # Half in view again: x [0, 15) of [-15, 15), clear of the bar.
        MotRow(2, 3, (0, 10, 15, 15), 0.0, "mask_weared_incorrect", 0.5),
    ]
    # Below min_face a face is ignored too (frame 2's first face is 15 px high).
    small = ground_truth(PLAN, FACES[:1], min_face=16)
    assert [r.conf for r in small] == [1.0, 0.0]


def test_frames_show_the_faces_where_the_ground_truth_puts_them():
    photo = np.zeros((100, 200, 3), np.uint8)
    for (x, y, w, h), _ in FACES[:2]:
        photo[y:y + h, x:x + w] = 255
    for k in range(len(PLAN)):
        frame = PLAN.render(photo, k)
        assert frame.shape == (120, 160, 3)
        for row in ground_truth(PLAN, FACES[:2], min_face=0):
            if row.frame != k + 1 or row.visibility < 1:
                continue
            x, y, w, h = (int(round(v)) for v in row.box)
            white = frame[..., 0] > 127
            inside = white[y:y + h, x:x + w]
            assert inside.all()  # the face's every pixel, and nothing around it
            ring = white[max(0, y - 1):y + h + 1, max(0, x - 1):x + w + 1]
            assert ring.sum() == inside.sum()
    # Under the bar the face is hidden.
    assert PLAN.render(photo, 1)[10:25, 25:45].max() < 100


def test_brightness_gain_scales_the_frame():
    plan = ClipPlan(size=(20, 10), scales=np.ones(1), shifts=np.zeros((1, 2)),
                    gains=np.array([0.5]), occluders=((),))
    frame = plan.render(np.full((10, 20, 3), 200, np.uint8), 0)
    assert (frame == 100).all()


def test_planned_camera_stays_on_the_photo_and_drops_frames():
    rng = np.random.default_rng(0)
    plan = plan_clip((400, 300), rng, frames=60, occlusions=2, drops=3)
    assert len(plan) == 60 and len(plan.gains) == 60
    photo_w, photo_h = 400 * plan.scales, 300 * plan.scales
    assert (plan.shifts <= 1e-9).all()
    assert (plan.shifts[:, 0] + photo_w >= 640 - 1e-9).all()
    assert (plan.shifts[:, 1] + photo_h >= 480 - 1e-9).all()
    assert (plan.scales >= 640 / 400 * 1.05 - 1e-9).all()
    assert sum(1 for o in plan.occluders if o) >= 10  # bars cross for about a second each
    # The same seed plans the same clip.
    again = plan_clip((400, 300), np.random.default_rng(0), frames=60, occlusions=2, drops=3)
    np.testing.assert_array_equal(plan.shifts, again.shifts)
    np.testing.assert_array_equal(plan.scales, again.scales)


def test_dropped_frames_make_the_camera_jump():
    still = dict(shake=0.0, occlusions=0, brightness=0.0, zoom=(1.2, 1.2))
    smooth = plan_clip((400, 300), np.random.default_rng(1), frames=50, drops=0, **still)
    jumpy = plan_clip((400, 300), np.random.default_rng(1), frames=50, drops=3, **still)
    steps = np.abs(np.diff(smooth.shifts, axis=0)).max(axis=1)
    jumps = np.abs(np.diff(jumpy.shifts, axis=0)).max(axis=1)
    assert jumps.max() > 1.9 * steps.max()


def test_clip_round_trip(tmp_path):
    photo = np.full((100, 200, 3), 90, np.uint8)
    clip = write_clip(tmp_path / "c1", photo, FACES, PLAN,
                      labels=("mask_weared_incorrect", "with_mask", "without_mask"),
                      classes=("with_mask", "without_mask"), min_face=12)
    again = read_clip(tmp_path / "c1")
    assert again == clip and clip.frames == 2 and count_frames(clip.video) == 2
    rows = read_mot(clip.truth, clip.labels)
    expected = ground_truth(PLAN, FACES, ("with_mask", "without_mask"), min_face=12)
    assert [(r.frame, r.track, r.conf, r.label) for r in rows] == [
        (r.frame, r.track, r.conf, r.label) for r in expected]
    np.testing.assert_allclose([r.box for r in rows], [r.box for r in expected], atol=0.005)


def test_read_clip_names_what_is_missing(tmp_path):
    with pytest.raises(MaskdetError, match="not a clip folder"):
        read_clip(tmp_path)
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=x\n")
    with pytest.raises(MaskdetError, match=r"no video \(video.mp4\)"):
        read_clip(tmp_path)


def test_make_clips_of_a_voc_dataset(tmp_path):
    dataset = load_dataset(write_voc_scenes(tmp_path / "voc", 3))
    clips = make_clips(dataset, tmp_path / "clips", count=2, frames=8, seed=0,
                       classes=("with_mask", "without_mask"))
    assert len(clips) == 2 and len({c.folder.name for c in clips}) == 2
    for clip in clips:
        rows = read_mot(clip.truth, clip.labels)
        assert {r.frame for r in rows} <= set(range(1, 9))
        assert count_frames(clip.video) == 8
        # The 12 px face of each photo is below min_face: ignored wherever it is in view.
        assert {r.label for r in rows if r.conf == 0 and r.visibility == 1} <= {"without_mask"}


def test_faces_the_annotations_leave_out_are_ignored(tmp_path):
    # A face the photo's annotations miss (label None), given per photo to make_clips: in the
    # ground truth as an ignored face after the labelled ones, whose track ids do not change.
    rows = ground_truth(PLAN, [FACES[1], ((40, 50, 20, 20), None)], min_face=12)
    assert [(r.frame, r.track, r.conf, r.label) for r in rows] == [
        (1, 1, 1.0, "without_mask"), (1, 2, 0.0, None),
        (2, 1, 1.0, "without_mask"), (2, 2, 0.0, None)]
    np.testing.assert_allclose(rows[1].box, (0, 70, 40, 40))  # 2 * (40, 50) - (80, 30)

    dataset = load_dataset(write_voc_scenes(tmp_path / "voc", 2))
    stem = sorted({p.stem for p in dataset.paths})[0]
    plain = make_clips(dataset, tmp_path / "plain", frames=4, seed=0)
    reviewed = make_clips(dataset, tmp_path / "reviewed", frames=4, seed=0,
                          unlabelled={stem: [(5, 5, 40, 40)]})
    for a, b in zip(plain, reviewed):
        before, after = read_mot(a.truth, a.labels), read_mot(b.truth, b.labels)
        extra = [r for r in after if r not in before]
        if a.folder.name == stem:
            assert extra and all(r.ignored and r.label is None for r in extra)
            assert {r.track for r in extra} == {max(r.track for r in before) + 1}
        else:
            assert not extra
        assert [r for r in after if r in before] == before
