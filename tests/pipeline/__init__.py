"""Tests of kg.pipeline."""
