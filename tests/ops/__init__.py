"""Tests of kg.ops."""
