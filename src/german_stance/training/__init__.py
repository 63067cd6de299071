"""Training: fine-tune the shared encoder and its task heads with the Hugging Face Trainer."""
