"""inference_api.sse decodes event streams as the WHATWG HTML standard says."""
