"""Evaluation: metrics and readers for labelled remote-sensing datasets."""
