"""Hand-written layer over generated_client: streaming, waiting, errors, retries, CLI."""
