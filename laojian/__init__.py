"""Laojian (劳鉴): the system a labour-capacity appraisal committee runs on."""

__version__ = "0.1.0"
