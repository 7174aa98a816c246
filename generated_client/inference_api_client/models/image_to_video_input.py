from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ImageToVideoInput")


@_attrs_define
class ImageToVideoInput:
    """Input of the image-to-video model (I2VGen-XL), version
    `5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4`.

        Attributes:
            image (str): The input image, as a URL or a `data:` URI.
            prompt (str): What the video should show.
            max_frames (int | Unset): Number of frames to generate. Default: 16.
            guidance_scale (float | Unset): Scale for classifier-free guidance. Default: 9.0.
            num_inference_steps (int | Unset): Number of denoising steps. Default: 50.
            seed (int | None | Unset): Random seed; random when omitted.
    """

    image: str
    prompt: str
    _max_frames: int | Unset = 16
    _guidance_scale: float | Unset = 9.0
    _num_inference_steps: int | Unset = 50
    _seed: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        image = self.image

        prompt = self.prompt

        max_frames = self._max_frames

        guidance_scale = self._guidance_scale

        num_inference_steps = self._num_inference_steps

        seed: int | None | Unset
        if isinstance(self._seed, Unset):
            seed = UNSET
        else:
            seed = self._seed

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "image": image,
                "prompt": prompt,
            }
        )
        if max_frames is not UNSET:
            field_dict["max_frames"] = max_frames
        if guidance_scale is not UNSET:
            field_dict["guidance_scale"] = guidance_scale
        if num_inference_steps is not UNSET:
            field_dict["num_inference_steps"] = num_inference_steps
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image = d.pop("image")

        prompt = d.pop("prompt")

        max_frames = d.pop("max_frames", UNSET)

        guidance_scale = d.pop("guidance_scale", UNSET)

        num_inference_steps = d.pop("num_inference_steps", UNSET)

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        image_to_video_input = cls(
            image=image,
            prompt=prompt,
            max_frames=max_frames,
            guidance_scale=guidance_scale,
            num_inference_steps=num_inference_steps,
            seed=seed,
        )

        return image_to_video_input

    @property
    def max_frames(self) -> int | None:
        """`max_frames`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._max_frames, Unset) else self._max_frames

    @max_frames.setter
    def max_frames(self, value: int | Unset) -> None:
        self._max_frames = value

    @property
    def guidance_scale(self) -> float | None:
        """`guidance_scale`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._guidance_scale, Unset) else self._guidance_scale

    @guidance_scale.setter
    def guidance_scale(self, value: float | Unset) -> None:
        self._guidance_scale = value

    @property
    def num_inference_steps(self) -> int | None:
        """`num_inference_steps`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._num_inference_steps, Unset) else self._num_inference_steps

    @num_inference_steps.setter
    def num_inference_steps(self, value: int | Unset) -> None:
        self._num_inference_steps = value

    @property
    def seed(self) -> int | None:
        """`seed`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._seed, Unset) else self._seed

    @seed.setter
    def seed(self, value: int | None | Unset) -> None:
        self._seed = value
