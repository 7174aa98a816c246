from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="MistralInstructInput")


@_attrs_define
class MistralInstructInput:
    """Input of `mistralai/mistral-7b-instruct-v0.1`, version
    `5fe0a3d7ac2852264a25279d1dfb798acbc4d49711d126646594e212cb821749`.

        Attributes:
            prompt (str): The prompt to send to the model.
            max_new_tokens (int | Unset): The most tokens the model should generate. Default: 128.
            min_new_tokens (int | Unset): The fewest tokens the model should generate; -1 disables. Default: -1.
            temperature (float | Unset): Randomness of the output; above 1 is random, 0 is deterministic. Default: 0.7.
            top_p (float | Unset): Sample from the top tokens whose probabilities add up to this. Default: 0.95.
            top_k (int | Unset): Sample from the `top_k` most likely tokens; -1 disables. Default: 50.
            repetition_penalty (float | Unset): Penalty for repeated words; 1 is no penalty. Default: 1.15.
            stop_sequences (str | Unset): Comma-separated sequences that stop the generation.
            seed (int | Unset): Random seed; random when omitted.
            prompt_template (str | Unset): Template for the prompt; `{prompt}` is replaced by `prompt`. Default: '<s>[INST]
                {prompt} [/INST] '.
    """

    prompt: str
    max_new_tokens: int | Unset = 128
    min_new_tokens: int | Unset = -1
    temperature: float | Unset = 0.7
    top_p: float | Unset = 0.95
    top_k: int | Unset = 50
    repetition_penalty: float | Unset = 1.15
    stop_sequences: str | Unset = UNSET
    seed: int | Unset = UNSET
    prompt_template: str | Unset = "<s>[INST] {prompt} [/INST] "

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        max_new_tokens = self.max_new_tokens

        min_new_tokens = self.min_new_tokens

        temperature = self.temperature

        top_p = self.top_p

        top_k = self.top_k

        repetition_penalty = self.repetition_penalty

        stop_sequences = self.stop_sequences

        seed = self.seed

        prompt_template = self.prompt_template

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if max_new_tokens is not UNSET:
            field_dict["max_new_tokens"] = max_new_tokens
        if min_new_tokens is not UNSET:
            field_dict["min_new_tokens"] = min_new_tokens
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if top_p is not UNSET:
            field_dict["top_p"] = top_p
        if top_k is not UNSET:
            field_dict["top_k"] = top_k
        if repetition_penalty is not UNSET:
            field_dict["repetition_penalty"] = repetition_penalty
        if stop_sequences is not UNSET:
            field_dict["stop_sequences"] = stop_sequences
        if seed is not UNSET:
            field_dict["seed"] = seed
        if prompt_template is not UNSET:
            field_dict["prompt_template"] = prompt_template

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        max_new_tokens = d.pop("max_new_tokens", UNSET)

        min_new_tokens = d.pop("min_new_tokens", UNSET)

        temperature = d.pop("temperature", UNSET)

        top_p = d.pop("top_p", UNSET)

        top_k = d.pop("top_k", UNSET)

        repetition_penalty = d.pop("repetition_penalty", UNSET)

        stop_sequences = d.pop("stop_sequences", UNSET)

        seed = d.pop("seed", UNSET)

        prompt_template = d.pop("prompt_template", UNSET)

        mistral_instruct_input = cls(
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            repetition_penalty=repetition_penalty,
            stop_sequences=stop_sequences,
            seed=seed,
            prompt_template=prompt_template,
        )

        return mistral_instruct_input
