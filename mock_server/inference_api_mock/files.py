"""The small video file the image-to-video model "produces".

A structurally valid MP4 (ISO base media) container, `ftyp` + `moov`/`mvhd` + `free`: players and
`file` recognise it as MP4, tools can read its duration. It has no frames: it stands in for a video
in download tests and is a few hundred bytes, built here rather than shipped as a binary.
"""

from __future__ import annotations

import struct
from functools import cache

MEDIA_TYPE = "video/mp4"


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


@cache
def fake_mp4(duration_ms: int = 2000) -> bytes:
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    identity_matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, duration_ms)  # version, flags, times, timescale, duration
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0
        + identity_matrix
        + bytes(24)  # pre_defined
        + struct.pack(">I", 1),  # next track id
    )
    notice = b"inference-api mock server: a stand-in video without frames"
    return ftyp + _box(b"moov", mvhd) + _box(b"free", notice)
