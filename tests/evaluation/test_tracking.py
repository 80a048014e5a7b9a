"""Tracking metrics on hand-made tracks whose switches, misses and counts are known."""

from __future__ import annotations

import pytest

from maskdet.errors import MaskdetError
from maskdet.evaluation.tracking import ClipTracks, MotRow, evaluate_tracks, read_mot, write_mot

pytest.importorskip("motmetrics", reason="tracking metrics need motmetrics (maskdet[tracking])")

A, B = (0, 0, 20, 20), (100, 0, 20, 20)  # two faces far apart, still for 10 frames
FRAMES = range(1, 11)


def truth(label_a="with_mask", label_b="without_mask"):
    return [MotRow(f, 1, A, label=label_a) for f in FRAMES] + [
        MotRow(f, 2, B, label=label_b) for f in FRAMES]


def found(ids_a, ids_b):
    """Tracker output: per frame, the track id on face A and on face B (None: not found)."""
    return [MotRow(f, i, A) for f, i in zip(FRAMES, ids_a) if i is not None] + [
        MotRow(f, i, B) for f, i in zip(FRAMES, ids_b) if i is not None]


@pytest.mark.parametrize("ids_a, ids_b, switches, fragments, idf1, mota", [
    ([5] * 10, [6] * 10, 0, 0, 1.0, 1.0),                          # perfect
    ([5] * 5 + [6] * 5, [6] * 5 + [5] * 5, 2, 0, 0.5, 0.9),        # the two ids swap once
    ([5] * 4 + [7] * 6, [6] * 10, 1, 0, 0.8, 0.95),                # face A gets a new id
    ([5, 5, None] + [5] * 7, [6] * 10, 0, 1, 38 / 39, 0.95),       # A missed once, same id
    ([5, 5, None] + [8] * 7, [6] * 10, 1, 1, 2 * 17 / 39, 0.9),    # missed, then a new id
])
def test_known_switches_and_fragments(ids_a, ids_b, switches, fragments, idf1, mota):
    m = evaluate_tracks([ClipTracks("clip", truth(), found(ids_a, ids_b))])
    assert (m.id_switches, m.fragmentations, m.gt_tracks) == (switches, fragments, 2)
    assert m.idf1 == pytest.approx(idf1)
    assert m.mota == pytest.approx(mota)
    assert m.switches_per_track == pytest.approx(switches / 2)


def test_a_track_on_an_ignored_face_is_neither_hit_nor_false_positive():
    ignored = [MotRow(f, 3, (200, 0, 20, 20), conf=0, label="without_mask") for f in FRAMES]
    stray = [MotRow(f, 9, (201, 1, 20, 20)) for f in FRAMES]  # on the ignored face
    ghost = [MotRow(f, 11, (300, 300, 20, 20)) for f in FRAMES[:2]]  # on nothing
    m = evaluate_tracks([ClipTracks("clip", truth() + ignored,
                                    found([5] * 10, [6] * 10) + stray + ghost,
                                    counted={5: "with_mask", 6: "without_mask",
                                             9: "without_mask", 11: "with_mask"})])
    assert m.gt_tracks == 2  # the ignored face is no face to find
    assert m.precision == pytest.approx(20 / 22)  # only the ghost's 2 boxes are false
    assert m.true_people == {"with_mask": 1, "without_mask": 1}
    # Track 9 was on the ignored face, so it is not counted; the ghost is.
    assert m.counted_people == {"with_mask": 2, "without_mask": 1}
    assert m.count_errors == {"with_mask": 1.0, "without_mask": 0.0}
    assert m.tracks_per_face == pytest.approx(1.5)


def test_clips_add_up():
    clips = [ClipTracks("a", truth(), found([5] * 10, [6] * 10), {5: "with_mask"}),
             ClipTracks("b", truth("without_mask"), found([5] * 5 + [7] * 5, [6] * 10),
                        {5: "without_mask", 6: "without_mask", 7: "without_mask"})]
    m = evaluate_tracks(clips)
    assert (m.clips, m.gt_tracks, m.id_switches) == (2, 4, 1)
    assert m.true_people == {"with_mask": 1, "without_mask": 3}
    assert m.counted_people == {"with_mask": 1, "without_mask": 3}
    assert m.tracks_per_face == pytest.approx(1.0)
    text = "\n".join(m.lines())
    assert "1 ID switches" not in text and "ID switches 1 (0.250 per face)" in text


def test_mot_files_round_trip(tmp_path):
    labels = ("with_mask", "without_mask")
    rows = [MotRow(2, 1, (1.5, 2.25, 30, 40), 1.0, "without_mask", 0.5),
            MotRow(1, 3, (0, 0, 10, 10), 0.0, None, 1.0)]
    path = write_mot(tmp_path / "gt" / "gt.txt", rows, labels)
    assert path.read_text().splitlines() == ["1,3,0.00,0.00,10.00,10.00,0,-1,1.000",
                                             "2,1,1.50,2.25,30.00,40.00,1,2,0.500"]
    assert read_mot(path, labels) == sorted(rows, key=lambda r: r.frame)


@pytest.mark.parametrize("text, message", [
    ("1,2,3\n", "gt.txt:1: not a MOTChallenge line"),
    ("1,1,0,0,10,10\nframe,id\n", "gt.txt:2: not a MOTChallenge line"),
])
def test_bad_mot_lines_are_named(tmp_path, text, message):
    (tmp_path / "gt.txt").write_text(text)
    with pytest.raises(MaskdetError, match=message):
        read_mot(tmp_path / "gt.txt")


def test_missing_mot_file(tmp_path):
    with pytest.raises(MaskdetError, match="nothing.txt: cannot read the track file"):
        read_mot(tmp_path / "nothing.txt")
