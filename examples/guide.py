"""The API guide's models and inputs, shared by the examples."""

from __future__ import annotations

from typing import Any

IMAGE_TO_VIDEO = "ali-vilab/i2vgen-xl:5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4"
MISTRAL = "mistralai/mistral-7b-instruct-v0.1:5fe0a3d7ac2852264a25279d1dfb798acbc4d49711d126646594e212cb821749"
LLAMA = "meta/llama-2-7b-chat:f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"

VIDEO_INPUT: dict[str, Any] = {
    "image": "https://replicate.delivery/pbxt/KAaJWyluKBrWzbe5EhQArYZcVXdpOvcLyF81menWifyusgCe/1.jpeg",
    "prompt": (
        "Several statues made of porcelain chunks and gold mendings, the face of the statues have lips and eyes, "
        "the eyes are blinking, the lips are opening like the statues are talking, the head of the statues are "
        "turning towards the camera"
    ),
    "max_frames": 16,
    "guidance_scale": 9,
    "num_inference_steps": 50,
}

LLAMA_INPUT: dict[str, Any] = {
    "top_p": 1,
    "prompt": "Plan a day of sightseeing for me in San Francisco. ",
    "temperature": 0.75,
    "system_prompt": (
        "You are an old-timey gold prospector who came to San Francisco for the gold rush and then was "
        "teleported to the present day. Despite being from 1849, you have great knowledge of present-day "
        "San Francisco and its attractions. You are helpful, polite, and prone to rambling. "
    ),
    "max_new_tokens": 800,
    "repetition_penalty": 1,
}
