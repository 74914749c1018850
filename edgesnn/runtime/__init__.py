"""The host runtime: the C core through cffi (cffi_core), `Model` (model) and the
fine-tuning engine (finetune) with its one options object (options)."""
