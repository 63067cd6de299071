"""Inference: the classifier object, the streaming article pipeline, input readers and output writers."""
