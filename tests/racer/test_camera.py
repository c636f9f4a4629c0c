"""The front camera: the track in view, boxes drawn from afar until they pass beside the car."""

from __future__ import annotations

from pathlib import Path

from lensbox.racer.camera import Camera, CameraSpec, Look, TrackMap
from lensbox.racer.sim import Box
from lensbox.racer.track import load_track
from tests.helpers.tracks import write_track


def test_a_box_stays_in_the_picture_until_it_is_beside_the_car(tmp_path: Path) -> None:
    track = load_track(str(write_track(tmp_path / "stadium.npy", straight=4.0)))
    camera = Camera(TrackMap(track), CameraSpec(), Look(noise=0.0))
    s = 2.0  # on the bottom straight, heading +x
    point, heading = track.point_at(s)
    box = Box(float(point[0]), float(point[1]) + 0.19, heading, s, left=True)
    drawn, changed = {}, {}
    for ahead in (2.0, 0.6, 0.2, 0.0, -0.4):  # metres from the car's front to the box's middle
        front, yaw = track.point_at(s - ahead)
        with_box = camera.render(tuple(front), yaw, [box.corners()])
        without = camera.render(tuple(front), yaw, [])
        changed[ahead] = with_box != without
        drawn[ahead] = int(changed[ahead].sum())
    assert 0 < drawn[2.0] < drawn[0.6] < drawn[0.2]  # nearer is bigger
    assert drawn[0.0] > 1000  # beside the lens: half the box, still in the picture
    assert drawn[-0.4] == 0  # passed
    left, right = changed[0.2][:, :80].sum(), changed[0.2][:, 80:].sum()
    assert left > 3 * right  # a box in the left lane is seen on the left
