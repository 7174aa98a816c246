from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LlamaChatInput")


@_attrs_define
class LlamaChatInput:
    """Input of `meta/llama-2-7b-chat`, version
    `f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4`.

        Attributes:
            prompt (str): The prompt to send to the model.
            system_prompt (str | Unset): Placed before the prompt to guide the model's behaviour. Default: 'You are a
                helpful assistant.'.
            max_new_tokens (int | Unset): The most tokens the model should generate. Default: 128.
            min_new_tokens (int | Unset): The fewest tokens the model should generate; -1 disables. Default: -1.
            temperature (float | Unset): Randomness of the output; above 1 is random, 0 is deterministic. Default: 0.7.
            top_p (float | Unset): Sample from the top tokens whose probabilities add up to this. Default: 0.95.
            top_k (int | Unset): Sample from the `top_k` most likely tokens; 0 or -1 disables. Default: 0.
            repetition_penalty (float | Unset): Penalty for repeated words; 1 is no penalty. Default: 1.15.
            stop_sequences (str | Unset): Comma-separated sequences that stop the generation.
            seed (int | Unset): Random seed; random when omitted.
    """

    prompt: str
    _system_prompt: str | Unset = "You are a helpful assistant."
    _max_new_tokens: int | Unset = 128
    _min_new_tokens: int | Unset = -1
    _temperature: float | Unset = 0.7
    _top_p: float | Unset = 0.95
    _top_k: int | Unset = 0
    _repetition_penalty: float | Unset = 1.15
    _stop_sequences: str | Unset = UNSET
    _seed: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        system_prompt = self._system_prompt

        max_new_tokens = self._max_new_tokens

        min_new_tokens = self._min_new_tokens

        temperature = self._temperature

        top_p = self._top_p

        top_k = self._top_k

        repetition_penalty = self._repetition_penalty

        stop_sequences = self._stop_sequences

        seed = self._seed

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if system_prompt is not UNSET:
            field_dict["system_prompt"] = system_prompt
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

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        system_prompt = d.pop("system_prompt", UNSET)

        max_new_tokens = d.pop("max_new_tokens", UNSET)

        min_new_tokens = d.pop("min_new_tokens", UNSET)

        temperature = d.pop("temperature", UNSET)

        top_p = d.pop("top_p", UNSET)

        top_k = d.pop("top_k", UNSET)

        repetition_penalty = d.pop("repetition_penalty", UNSET)

        stop_sequences = d.pop("stop_sequences", UNSET)

        seed = d.pop("seed", UNSET)

        llama_chat_input = cls(
            prompt=prompt,
            system_prompt=system_prompt,
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            repetition_penalty=repetition_penalty,
            stop_sequences=stop_sequences,
            seed=seed,
        )

        return llama_chat_input

    @property
    def system_prompt(self) -> str | None:
        """`system_prompt`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._system_prompt, Unset) else self._system_prompt

    @system_prompt.setter
    def system_prompt(self, value: str | Unset) -> None:
        self._system_prompt = value

    @property
    def max_new_tokens(self) -> int | None:
        """`max_new_tokens`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._max_new_tokens, Unset) else self._max_new_tokens

    @max_new_tokens.setter
    def max_new_tokens(self, value: int | Unset) -> None:
        self._max_new_tokens = value

    @property
    def min_new_tokens(self) -> int | None:
        """`min_new_tokens`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._min_new_tokens, Unset) else self._min_new_tokens

    @min_new_tokens.setter
    def min_new_tokens(self, value: int | Unset) -> None:
        self._min_new_tokens = value

    @property
    def temperature(self) -> float | None:
        """`temperature`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._temperature, Unset) else self._temperature

    @temperature.setter
    def temperature(self, value: float | Unset) -> None:
        self._temperature = value

    @property
    def top_p(self) -> float | None:
        """`top_p`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._top_p, Unset) else self._top_p

    @top_p.setter
    def top_p(self, value: float | Unset) -> None:
        self._top_p = value

    @property
    def top_k(self) -> int | None:
        """`top_k`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._top_k, Unset) else self._top_k

    @top_k.setter
    def top_k(self, value: int | Unset) -> None:
        self._top_k = value

    @property
    def repetition_penalty(self) -> float | None:
        """`repetition_penalty`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._repetition_penalty, Unset) else self._repetition_penalty

    @repetition_penalty.setter
    def repetition_penalty(self, value: float | Unset) -> None:
        self._repetition_penalty = value

    @property
    def stop_sequences(self) -> str | None:
        """`stop_sequences`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._stop_sequences, Unset) else self._stop_sequences

    @stop_sequences.setter
    def stop_sequences(self, value: str | Unset) -> None:
        self._stop_sequences = value

    @property
    def seed(self) -> int | None:
        """`seed`, or None when absent (reads never meet `Unset`)."""
        return None if isinstance(self._seed, Unset) else self._seed

    @seed.setter
    def seed(self, value: int | Unset) -> None:
        self._seed = value
