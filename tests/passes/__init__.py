"""Tests of tfc.passes: IR-text tests with FileCheck-like patterns and numeric tests."""
