"""Integrations of minirq with web frameworks, each an optional extra (``minirq[django]``)."""
