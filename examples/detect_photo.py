"""Find the faces in a photo, tell which wear masks, and save an annotated copy.

    python examples/detect_photo.py street.jpg annotated.jpg [MODEL]

MODEL is a bundled model's name (``cnn``, ``hog-svm``) or a bundle path; without it, the
bundled default model.
"""

from __future__ import annotations

import sys

import maskdet


def main(photo: str, output: str, model: str | None = None) -> None:
    mask_detector = maskdet.MaskDetector(model)
    image = maskdet.read_image(photo)
    faces = mask_detector.detect(image)
    for face in faces:
        print(f"{face.label:>14}  {face.score:.2f}  box {face.box}")
    unmasked = faces[faces.labels == "without_mask"] if len(faces) else faces
    print(f"{len(faces)} faces, {len(unmasked)} without a mask")
    maskdet.images.write_image(output, mask_detector.annotate(image, faces))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
