"""Find the faces in a photo, tell which wear masks, and save an annotated copy.

    python examples/detect_photo.py model.maskdet street.jpg annotated.jpg
"""

from __future__ import annotations

import sys

import maskdet


def main(model: str, photo: str, output: str) -> None:
    detector = maskdet.MaskDetector(model, face_detector="auto")
    image = maskdet.read_image(photo)
    faces = detector.detect(image)
    for face in faces:
        print(f"{face.label:>14}  {face.score:.2f}  box {face.box}")
    unmasked = faces[faces.labels == "without_mask"] if len(faces) else faces
    print(f"{len(faces)} faces, {len(unmasked)} without a mask")
    maskdet.images.write_image(output, detector.annotate(image, faces))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
