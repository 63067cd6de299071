"""Modeling: the offline backbone conversion, the multi-task head, loading runs, and inference backends."""
